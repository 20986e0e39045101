#include "train/audio_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <vector>

#include "audio/stft.hpp"
#include "error.hpp"

namespace cae::train {

using nn::Tensor;

double maskGainDb(const Tensor& input, const Tensor& target, const Tensor& masks, int stftSize) {
  double noisy = 0, denoised = 0;
  const nn::Shape sh = input.shape();
  for (int i = 0; i < sh.n; ++i)
    for (int f = 0; f < sh.c; ++f) {
      const double mag = audio::unitToMagnitude(
          float(input.sample(i)[std::size_t(f) * std::size_t(sh.w) + std::size_t(sh.w - 1)]),
          stftSize);
      const double t = target.sample(i)[f], m = masks.sample(i)[f];
      noisy += mag * mag * (1 - t) * (1 - t);
      denoised += mag * mag * (m - t) * (m - t);
    }
  return 10 * std::log10(noisy / std::max(denoised, 1e-30));
}

AudioAnomalyReport calibrateAudioAnomaly(const MelWindowSource& heldOut, double windowSeconds,
                                         double fpr, const Predict& predict) {
  const MelOptions& o = heldOut.options();
  const int window = std::max(1, int(std::lround(windowSeconds * o.rate / o.hop)));
  const std::vector<double> scores =
      windowScores(heldOut.clips(), o, window, std::max(1, window / 4), [&](const Tensor& x) {
        const Tensor y = predict(x);
        std::vector<double> e(std::size_t(x.shape().n));
        const std::size_t per = x.shape().perSample();
        for (int i = 0; i < x.shape().n; ++i) {
          double d = 0;
          for (std::size_t k = 0; k < per; ++k) {
            const double r = double(y.sample(i)[k]) - double(x.sample(i)[k]);
            d += r * r;
          }
          e[std::size_t(i)] = d / double(per);
        }
        return e;
      });
  if (scores.empty()) throw InvalidArgument("audio-anomaly: no held-out clip to calibrate on");
  std::vector<double> sorted = scores;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t at =
      std::min(sorted.size() - 1, std::size_t(std::ceil((1 - fpr) * double(sorted.size()))) - 1);
  double mean = 0, var = 0;
  for (double v : scores) mean += v;
  mean /= double(scores.size());
  for (double v : scores) var += (v - mean) * (v - mean);
  AudioAnomalyReport r;
  r.decision.threshold = sorted[at];
  r.decision.scoreMean = mean;
  r.decision.scoreStd = std::max(std::sqrt(var / double(scores.size())), 1e-12);
  r.windows = scores.size();
  r.fpr = fpr;
  r.windowSeconds = windowSeconds;
  return r;
}

void AudioAnomalyReport::addTo(nlohmann::json& metrics, std::string& summary) const {
  metrics["calibration_windows"] = windows;
  metrics["score_mean"] = decision.scoreMean;
  metrics["score_std"] = decision.scoreStd;
  metrics["threshold"] = *decision.threshold;
  metrics["fpr"] = fpr;
  char line[200];
  std::snprintf(line, sizeof line,
                "threshold %.6g at %g %% of %zu held-out %g s windows (mean %.6g)\n",
                *decision.threshold, 100 * fpr, windows, windowSeconds, decision.scoreMean);
  summary += line;
}

}  // namespace cae::train
