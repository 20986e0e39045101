// The final numbers of the audio tasks, beside task_report.hpp's for pictures:
//   --task audio-denoise  what the masks do to the validation frames, comparable across losses
//   --task audio-anomaly  the window statistics and the threshold, from the held-out clips'
//                         analysis windows
//   AudioAnomalyReport a = calibrateAudioAnomaly(heldOut, 1.0, 0.01, WindowScore::Mahalanobis,
//                                                predict);
//   exportOptions.anomaly = a.decision;  a.addTo(metrics, summary, exportOptions.extra);
#pragma once

#include <cstddef>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "anomaly/decision.hpp"
#include "audio/residual_stats.hpp"
#include "nn/tensor.hpp"
#include "train/audio_data.hpp"
#include "train/task_report.hpp"

namespace cae::train {

// The newest frame's output error is |Y|^2 (m - PSM)^2 per bin plus the part of the clean bin no
// gain of Y reaches (the same for every mask), so 10 log10 of sum |Y|^2 (1 - PSM)^2 (the noisy
// frame, m = 1) over sum |Y|^2 (m - PSM)^2 is the gain in that error, in dB. target and masks
// {N, bins, 1, L}: the masks of the input's last L frames; input {N, bins, 1, K + L - 1} (|Y|
// of mask o from column K - 1 + o, or with look-ahead A the column A before it); stftSize: the
// features' n.
double maskGainDb(const nn::Tensor& input, const nn::Tensor& target, const nn::Tensor& masks,
                  int stftSize, int lookahead = 0);

// How an analysis window is scored (cae-train --window-score; audio/mel_anomaly.hpp):
//   Mse          the mean squared reconstruction error of its contexts
//   Mahalanobis  the distance of its mean signed residual per mel band from the normal windows'
//                (audio/residual_stats.hpp), covariance shrunk by kResidualShrinkage
enum class WindowScore { Mse, Mahalanobis };
inline constexpr double kResidualShrinkage = 0.1;

struct AudioAnomalyReport {
  anomaly::Decision decision;  // threshold, mean and spread of the held-out window scores
  audio::ResidualStats stats;  // Mahalanobis: the normal windows' statistics; else empty
  std::size_t windows = 0;     // the windows the threshold was calibrated on
  std::size_t fitWindows = 0;  // Mahalanobis: the windows the statistics come from
  double fpr = 0, windowSeconds = 0;
  // The metrics and summary lines, and the statistics' metadata keys for the model file.
  void addTo(nlohmann::json& metrics, std::string& summary,
             std::map<std::string, std::string>& metadata) const;
};

// The held-out clips' analysis windows (windowSeconds long, every quarter of that), scored as
// `score` says, and the threshold at fpr: the score that (1 - fpr) of them stay at or below.
// Mahalanobis fits the statistics on the even held-out clips' windows and calibrates on the odd
// ones' (a distance is smaller on the windows it was fitted to). InvalidArgument when there is
// no window (Mahalanobis: fewer than two clips, or two windows on either side).
AudioAnomalyReport calibrateAudioAnomaly(const MelWindowSource& heldOut, double windowSeconds,
                                         double fpr, WindowScore score, const Predict& predict);

}  // namespace cae::train
