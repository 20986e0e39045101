#include "train/audio_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <vector>

#include "audio/stft.hpp"
#include "error.hpp"
#include "onnx/metadata.hpp"

namespace cae::train {

using nn::Tensor;

double maskGainDb(const Tensor& input, const Tensor& target, const Tensor& masks, int stftSize,
                  int lookahead) {
  double noisy = 0, denoised = 0;
  const nn::Shape sh = input.shape();
  const int bins = target.shape().c;     // the input's first rows (a noise floor's follow)
  const int outputs = target.shape().w;  // masks per sample, of the input's last frames
  for (int i = 0; i < sh.n; ++i)
    for (int o = 0; o < outputs; ++o) {
      const int frame = sh.w - outputs - lookahead + o;
      const auto col = static_cast<std::size_t>(frame);
      for (int f = 0; f < bins; ++f) {
        const double mag = audio::unitToMagnitude(
            float(input.sample(i)[std::size_t(f) * std::size_t(sh.w) + col]), stftSize);
        const std::size_t at = std::size_t(f) * std::size_t(outputs) + std::size_t(o);
        const double t = target.sample(i)[at], m = masks.sample(i)[at];
        noisy += mag * mag * (1 - t) * (1 - t);
        denoised += mag * mag * (m - t) * (m - t);
      }
    }
  return 10 * std::log10(noisy / std::max(denoised, 1e-30));
}

namespace {

// Per context: its mean squared error, then its mean signed residual per band.
std::vector<double> contextValues(const Tensor& x, const Tensor& y) {
  const nn::Shape sh = x.shape();  // {N, 1, mels, K}
  const auto m = std::size_t(sh.h), k = std::size_t(sh.w), per = m * k;
  std::vector<double> v;
  v.reserve(std::size_t(sh.n) * (m + 1));
  for (int i = 0; i < sh.n; ++i) {
    double d = 0;
    const std::size_t head = v.size();
    v.push_back(0);
    for (std::size_t b = 0; b < m; ++b) {
      double band = 0;
      for (std::size_t t = 0; t < k; ++t) {
        const double r = double(y.sample(i)[b * k + t]) - double(x.sample(i)[b * k + t]);
        d += r * r;
        band += r;
      }
      v.push_back(band / double(k));
    }
    v[head] = d / double(per);
  }
  return v;
}

// The threshold at fpr and the scores' mean and spread.
anomaly::Decision decide(const std::vector<double>& scores, double fpr) {
  std::vector<double> sorted = scores;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t at =
      std::min(sorted.size() - 1, std::size_t(std::ceil((1 - fpr) * double(sorted.size()))) - 1);
  double mean = 0, var = 0;
  for (double v : scores) mean += v;
  mean /= double(scores.size());
  for (double v : scores) var += (v - mean) * (v - mean);
  anomaly::Decision d;
  d.threshold = sorted[at];
  d.scoreMean = mean;
  d.scoreStd = std::max(std::sqrt(var / double(scores.size())), 1e-12);
  return d;
}

}  // namespace

AudioAnomalyReport calibrateAudioAnomaly(const MelWindowSource& heldOut, double windowSeconds,
                                         double fpr, WindowScore score, const Predict& predict) {
  const MelOptions& o = heldOut.options();
  const int window = std::max(1, int(std::lround(windowSeconds * o.rate / o.hop)));
  const std::vector<ClipWindow> windows =
      windowMeans(heldOut.clips(), o, window, std::max(1, window / 4), o.mels + 1,
                  [&](const Tensor& x) { return contextValues(x, predict(x)); });
  AudioAnomalyReport r;
  std::vector<double> scores;
  if (score == WindowScore::Mse) {
    for (const ClipWindow& w : windows) scores.push_back(w.mean.front());
  } else {
    std::vector<std::vector<double>> fit;
    for (const ClipWindow& w : windows)
      if (w.clip % 2 == 0) fit.emplace_back(w.mean.begin() + 1, w.mean.end());
    if (fit.size() < 2 || fit.size() + 2 > windows.size())
      throw InvalidArgument(
          "audio-anomaly: the Mahalanobis window score needs two held-out clips or more (raise "
          "--val-fraction), or use --window-score mse");
    r.stats = audio::ResidualStats::fit(fit, kResidualShrinkage);
    r.fitWindows = fit.size();
    for (const ClipWindow& w : windows)
      if (w.clip % 2 == 1) scores.push_back(r.stats.score(w.mean.data() + 1));
  }
  if (scores.empty()) throw InvalidArgument("audio-anomaly: no held-out clip to calibrate on");
  r.decision = decide(scores, fpr);
  r.windows = scores.size();
  r.fpr = fpr;
  r.windowSeconds = windowSeconds;
  return r;
}

void AudioAnomalyReport::addTo(nlohmann::json& metrics, std::string& summary,
                               std::map<std::string, std::string>& metadata) const {
  metrics["window_score"] = stats.empty() ? "mse" : "mahalanobis";
  metrics["calibration_windows"] = windows;
  metrics["score_mean"] = decision.scoreMean;
  metrics["score_std"] = decision.scoreStd;
  metrics["threshold"] = *decision.threshold;
  metrics["fpr"] = fpr;
  char line[200];
  if (!stats.empty()) {
    metrics["residual_fit_windows"] = fitWindows;
    metadata[onnx::key::kResidualMean] = stats.meanText();
    metadata[onnx::key::kResidualPrecision] = stats.precisionText();
    std::snprintf(line, sizeof line,
                  "window score: Mahalanobis distance of the mean residual per band, fitted on "
                  "%zu held-out windows\n",
                  fitWindows);
    summary += line;
  }
  std::snprintf(line, sizeof line,
                "threshold %.6g at %g %% of %zu held-out %g s windows (mean %.6g)\n",
                *decision.threshold, 100 * fpr, windows, windowSeconds, decision.scoreMean);
  summary += line;
}

}  // namespace cae::train
