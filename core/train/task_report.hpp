// The end-of-run numbers of cae-train's tasks, as values: each goes into the model's metrics
// (cae.metrics) and into the summary lines cae-train prints.
//   denoise: PSNR of the noisy validation samples, of the model's output and of OpenCV NLM.
//   anomaly: the frame score calibrated on held-out normal crops, as the anomaly::Decision the
//            model carries (map, threshold at the requested false-positive rate, statistics).
//
//   AnomalyReport a = calibrateAnomaly(heldOut, spec, config, predict);
//   exportOptions.anomaly = a.decision;  a.addTo(metrics, summary);
#pragma once

#include <cstddef>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <utility>
#include <vector>

#include "anomaly/calibration.hpp"
#include "anomaly/decision.hpp"
#include "nn/tensor.hpp"
#include "train/architecture.hpp"
#include "train/dataset.hpp"
#include "train/denoise_metrics.hpp"
#include "train/trainer.hpp"

namespace cae::train {

struct DenoiseReport {
  DenoiseScores scores;
  int samples = 0;
  bool windowed = false;  // model units are a window of modality values: PSNR unclamped
  void addTo(nlohmann::json& metrics, std::string& summary) const;
};

// clean, noisy: the validation samples and their fixed corruption; output: the model's output on
// noisy. sigma: the noise level (NLM runs only when runNlm: Gaussian or Rician noise on 8-bit
// samples). windowed: a cae-train --window model (denoiseScores' clampToUnit false, no NLM).
DenoiseReport denoiseReport(const nn::Tensor& clean, const nn::Tensor& noisy,
                            const nn::Tensor& output, double sigma, bool runNlm, bool windowed);

struct AnomalyReport {
  anomaly::Decision decision;  // what the model carries
  anomaly::Calibration calibration;
  std::size_t samples = 0;  // calibration crops
  int cropWidth = 0, cropHeight = 0;
  double fpr = 0;                    // the requested false-positive rate
  int deployW = 0, deployH = 0;      // with a frame model: the size cae.threshold is for
  std::string variation;             // TrainConfig::calibVariation
  std::vector<std::string> heldOut;  // the held-out images' sources
  // Validation of the operating point (-1: not measured): held-out crops with one synthetic
  // anomaly each (train/synthetic_anomaly, warps only) against the normal crops: AUROC of the
  // frame scores, and the share flagged at the threshold for the crops' area.
  double validationAuroc = -1, validationDetection = -1;
  void addTo(nlohmann::json& metrics, std::string& summary) const;
};

// The model's reconstruction of samples (any number, any size the model takes).
using Predict = std::function<nn::Tensor(const nn::Tensor&)>;

// Scores max(c.valSamples, 200) held-out crops of calibrationSize() with the map of c.anomalyMap
// smoothed by c.mapSigma, and sets the threshold at c.fpr. Crops are forwarded as many at a time
// as a training batch has pixels.
AnomalyReport calibrateAnomaly(const std::vector<Image>& heldOut, const ArchSpec& spec,
                               const TrainConfig& c, const Predict& predict);

// Height and width of the held-out crops the anomaly threshold is calibrated on: up to
// calibSize, and up to 3/4 of the smallest held-out image on each side, so that the crops vary
// (whole images would all be one sample when one image is held out); rounded down to the
// model's size multiple (conv). A frame's maximum grows with its area: the larger the crops,
// the better the threshold carries over to whole frames. Models of one input size use the
// patch.
std::pair<int, int> calibrationSize(const ArchSpec& spec, const std::vector<Image>& heldOut,
                                    int calibSize);

}  // namespace cae::train
