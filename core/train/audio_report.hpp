// The final numbers of the audio tasks, beside task_report.hpp's for pictures:
//   --task audio-denoise  what the masks do to the validation frames, comparable across losses
//   --task audio-anomaly  the threshold, calibrated on the held-out clips' analysis windows
//   AudioAnomalyReport a = calibrateAudioAnomaly(heldOut, c, predict);
//   exportOptions.anomaly = a.decision;  a.addTo(metrics, summary);
#pragma once

#include <cstddef>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "anomaly/decision.hpp"
#include "nn/tensor.hpp"
#include "train/audio_data.hpp"
#include "train/task_report.hpp"

namespace cae::train {

// The newest frame's output error is |Y|^2 (m - PSM)^2 per bin plus the part of the clean bin no
// gain of Y reaches (the same for every mask), so 10 log10 of sum |Y|^2 (1 - PSM)^2 (the noisy
// frame, m = 1) over sum |Y|^2 (m - PSM)^2 is the gain in that error, in dB. input {N, bins, 1,
// K} (|Y| from its last column), target and masks {N, bins, 1, 1}; stftSize: the features' n.
double maskGainDb(const nn::Tensor& input, const nn::Tensor& target, const nn::Tensor& masks,
                  int stftSize);

struct AudioAnomalyReport {
  anomaly::Decision decision;  // threshold, mean and spread of the held-out window scores
  std::size_t windows = 0;
  double fpr = 0, windowSeconds = 0;
  void addTo(nlohmann::json& metrics, std::string& summary) const;
};

// The held-out clips' analysis-window scores (windows of windowSeconds every quarter of that;
// a context scores its mean squared reconstruction error), and the threshold at fpr: the score
// that (1 - fpr) of them stay at or below. InvalidArgument when there is no window.
AudioAnomalyReport calibrateAudioAnomaly(const MelWindowSource& heldOut, double windowSeconds,
                                         double fpr, const Predict& predict);

}  // namespace cae::train
