// The anomaly decision a model carries, as one value: which map the frame score is taken on
// (kind and smoothing), the calibrated threshold and the calibration's score statistics.
// cae-train writes it, core/onnx reads and writes it as the five cae.* keys
// (cae.anomaly_map, cae.map_sigma, cae.threshold, cae.score_mean, cae.score_std) in one place,
// and caeanomaly and the benchmark decide with it:
//
//   const cae::anomaly::Decision& d = engine.info().anomaly;
//   if (d.flagged(score)) post(score, d.z(score));
//
// Header-only (no OpenCV), so that core/onnx can hold one without linking core/anomaly.
#pragma once

#include <optional>
#include <string>

#include "error.hpp"

namespace cae::anomaly {

enum class MapKind {
  L2,       // squared residual per pixel
  Lowpass,  // squared residual after a Gaussian low-pass of kLowpassSigma (lowpassMap)
  Ssim,     // 1 - SSIM
  // The model's own output: a segmentation model (DRAEM-style, a discriminative head trained on
  // synthetic anomalies) writes the per-pixel anomaly probability as its one output channel.
  Segmentation,
};
inline constexpr double kLowpassSigma = 2.0;

// The one place map-kind names are read: "l2" | "lowpass" | "ssim" | "segmentation";
// InvalidArgument otherwise.
inline MapKind parseMapKind(const std::string& name) {
  if (name == "l2") return MapKind::L2;
  if (name == "lowpass") return MapKind::Lowpass;
  if (name == "ssim") return MapKind::Ssim;
  if (name == "segmentation") return MapKind::Segmentation;
  throw InvalidArgument("anomaly map kind '" + name +
                        "': expected l2, lowpass, ssim or segmentation");
}

// Whether the model's output is the map itself (one channel) rather than a reconstruction.
inline bool outputIsMap(MapKind kind) { return kind == MapKind::Segmentation; }

inline const char* mapKindName(MapKind kind) {
  switch (kind) {
    case MapKind::Lowpass:
      return "lowpass";
    case MapKind::Ssim:
      return "ssim";
    case MapKind::Segmentation:
      return "segmentation";
    default:
      return "l2";
  }
}

// The per-pixel map a frame score is the maximum of.
struct ScoreOptions {
  MapKind map = MapKind::L2;
  double smoothSigma = 0.0;  // pixels; 0: no smoothing
};

struct Decision {
  ScoreOptions map;                 // default: unsmoothed l2 (a model without cae.anomaly_map)
  std::optional<double> threshold;  // none: the model is not calibrated
  double scoreMean = 0.0;           // calibration statistics of normal frame scores
  double scoreStd = 1.0;

  bool calibrated() const { return threshold.has_value(); }
  // score > threshold; never true without a threshold.
  bool flagged(double score) const { return threshold && score > *threshold; }
  // How many calibration deviations above the calibration mean.
  double z(double score) const { return (score - scoreMean) / scoreStd; }
  // The same decision with another threshold (a user's override); calibration statistics kept.
  Decision withThreshold(double t) const {
    Decision d = *this;
    d.threshold = t;
    return d;
  }
};

}  // namespace cae::anomaly
