// The options of cae-train's --task anomaly (the Objective group of --help): threshold
// calibration, the anomaly map, the segmentation head and its synthetic anomalies. Split from
// cae-train-options.cpp (the other tasks' options), which calls addAnomalyOptions.
#include "cae-train-anomaly-options.hpp"

#include <cstdio>
#include <string>

namespace cae::train::cli {

namespace {
void addSegmentationAndCalibrationOptions(CLI::App& app, TrainConfig& c);
}  // namespace

// Objective options of --task anomaly (the same help group).
void addAnomalyOptions(CLI::App& app, Options& o) {
  TrainConfig& c = o.c;
  app.add_option("--fpr", c.fpr, "anomaly: false-positive rate of the stored threshold")
      ->check(CLI::Range(0.0, 0.5))
      ->capture_default_str()
      ->group("Objective");
  app.add_option("--anomaly-map", c.anomalyMap,
                 "anomaly: per-pixel map the frame score is the maximum of: l2 (squared "
                 "residual) | lowpass (squared residual low-passed by sigma 2: texture "
                 "residuals cancel, coherent defects stay) | ssim (1 - SSIM) | segmentation "
                 "(with --seg-width: the head's anomaly probability) | segmentation-logit (its "
                 "logit, log(p / (1 - p)): ranks where probabilities saturate near 1)")
      ->check(CLI::IsMember({"l2", "lowpass", "ssim", "segmentation", "segmentation-logit"}))
      ->capture_default_str()
      ->group("Objective");
  app.add_option("--map-sigma", c.mapSigma,
                 "anomaly: Gaussian smoothing of the map before the maximum, pixels (0: none)")
      ->check(CLI::Range(0.0, 50.0))
      ->capture_default_str()
      ->group("Objective");
  app.add_option("--frame-fpr", c.frameFpr,
                 "anomaly: false alarms per frame the threshold is set for, at every frame size "
                 "(an extreme-value fit of the crop scores, stored in the model; caeanomaly "
                 "follows the frame size); 0: the crop quantile at --fpr")
      ->check(CLI::Range(0.0, 0.5))
      ->capture_default_str()
      ->group("Objective");
  app.add_option_function<std::string>(
         "--deploy-size",
         [&c](const std::string& v) {
           if (std::sscanf(v.c_str(), "%dx%d", &c.deployW, &c.deployH) != 2 || c.deployW < 1 ||
               c.deployH < 1)
             throw CLI::ValidationError("--deploy-size", "expected WxH, e.g. 640x480");
         },
         "anomaly, --frame-fpr: the frame size cae.threshold is stored for (default 640x480)")
      ->group("Objective");
  addSegmentationAndCalibrationOptions(app, c);
}

namespace {

// The segmentation head and its synthetic anomalies; where and how the calibration crops are
// drawn (split from addAnomalyOptions for its length).
void addSegmentationAndCalibrationOptions(CLI::App& app, TrainConfig& c) {
  app.add_option("--seg-width", c.arch.segWidth,
                 "anomaly, conv: a segmentation head of this base width (DRAEM): it reads the "
                 "input beside the reconstruction and outputs the anomaly probability per pixel, "
                 "trained on synthetic anomalies; implies --anomaly-map segmentation (0: none)")
      ->check(CLI::Range(0, 256))
      ->capture_default_str()
      ->group("Objective");
  app.add_option("--seg-stem", c.arch.segStem,
                 "anomaly: the segmentation head runs at 1/this resolution (1, 2 or 4)")
      ->check(CLI::IsMember({1, 2, 4}))
      ->capture_default_str()
      ->group("Objective");
  app.add_option("--anomaly-source", c.anomalySources,
                 "anomaly, --seg-width: pictures (files or folders) the synthetic anomalies are "
                 "filled from, besides warps of the sample itself (repeatable)")
      ->group("Objective");
  app.add_option("--anomaly-share", c.anomalyShare,
                 "anomaly, --seg-width: share of training samples given a synthetic anomaly")
      ->check(CLI::Range(0.05, 1.0))
      ->capture_default_str()
      ->group("Objective");
  app.add_option("--calib-size", c.calibSize,
                 "anomaly: largest side of the held-out normal crops the threshold is "
                 "calibrated on (each side at most 3/4 of the held-out images'; the frame "
                 "score is a maximum, so the larger the better)")
      ->check(CLI::Range(8, 4096))
      ->capture_default_str()
      ->group("Objective");
  app.add_option("--calib-variation", c.calibVariation,
                 "anomaly: how the held-out calibration crops are seen: none (as they are) | "
                 "line (as a line's camera varies: lighting gain 15 %, offset 0.05, gamma 25 %, "
                 "view rotation 4 degrees, zoom 5 %, perspective 3 %, noise up to 0.02) | "
                 "lighting (a fixed camera: the lighting and noise of line, no view change), so "
                 "that the threshold covers those changes")
      ->check(CLI::IsMember({"none", "line", "lighting"}))
      ->capture_default_str()
      ->group("Objective");
  app.add_option("--calib-defocus", c.calibDefocus,
                 "anomaly, with --calib-variation: half the calibration (and validation) crops "
                 "blurred by a Gaussian of sigma drawn up to this many pixels, as a line "
                 "camera's focus drifts; 0: none")
      ->check(CLI::Range(0.0, 8.0))
      ->capture_default_str()
      ->group("Objective");
}

}  // namespace

}  // namespace cae::train::cli
