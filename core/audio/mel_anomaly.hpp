// Machine-sound anomaly scoring with a log-mel autoencoder (cae.task audio-anomaly, trained by
// cae-train --task audio-anomaly): every frame of the stream's log-mel features (MelStream at the
// model's STFT, scaled to the stream's rate) completes a context of the last K frames, whose
// reconstruction error (mean squared, in feature units) is that context's error, and its signed
// residual (reconstruction - input) averaged over the K frames, one per mel band, its residual.
// An analysis window of W seconds (cae.analysis_window, 1 s by default) holds the contexts that
// end in it. It scores the Mahalanobis distance of their mean residual from normal windows'
// (residual_stats.hpp; models that carry cae.residual_mean and cae.residual_precision, trained
// since session 17), else their mean error; the model's calibrated decision (cae.threshold)
// flags it.
//
//   auto m = std::make_shared<cae::audio::MelAnomalyModel>("models/audio-anomaly.onnx");
//   cae::audio::AnomalyStream s(m, 48000);
//   s.push(mono, count, [](const cae::audio::AnomalyStream::Window& w) { ... w.score ... });
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "audio/mel.hpp"
#include "audio/residual_stats.hpp"
#include "onnx/metadata.hpp"

namespace cae::audio {

// IoError for a missing file, FormatError for a file that is no model, InvalidArgument for a
// model of another task, without cae.stft, or whose input is not {1, mels, K} fixed; FormatError
// for malformed residual statistics or only one of their two keys.
class MelAnomalyModel {
 public:
  explicit MelAnomalyModel(const std::string& path);
  ~MelAnomalyModel();
  MelAnomalyModel(const MelAnomalyModel&) = delete;
  MelAnomalyModel& operator=(const MelAnomalyModel&) = delete;

  const onnx::ModelInfo& info() const { return info_; }
  const onnx::Stft& stft() const { return stft_; }
  int mels() const { return mels_; }
  int context() const { return context_; }
  double windowSeconds() const { return window_; }  // cae.analysis_window, default 1
  double melTop() const { return fmax_; }  // cae.mel_fmax, Hz; default the model's rate / 2
  const ResidualStats& residualStats() const { return stats_; }  // empty: scores mean errors
  // contexts: count x mels x K (row m, column t, oldest first); errors: count mean squared
  // errors; residuals: count x mels mean signed residuals (nullptr: not wanted).
  void residuals(const float* contexts, int count, double* errors, double* residuals);
  // A window's score from its contexts' mean error and mean residual (mels values).
  double windowScore(double meanError, const double* meanResidual) const {
    return stats_.empty() ? meanError : stats_.score(meanResidual);
  }

 private:
  struct Net;
  onnx::ModelInfo info_;
  onnx::Stft stft_;
  int mels_ = 0, context_ = 0;
  double window_ = 1.0, fmax_ = 0;
  ResidualStats stats_;
  std::unique_ptr<Net> net_;
};

class AnomalyStream {
 public:
  struct Window {
    double score = 0;                  // MelAnomalyModel::windowScore
    double error = 0;                  // the contexts' mean reconstruction error
    std::uint64_t start = 0, end = 0;  // samples since the start (or the last reset)
    int contexts = 0;                  // contexts in the window
  };
  // rate: the stream's (>= the model's); windowSeconds 0: the model's window.
  AnomalyStream(std::shared_ptr<MelAnomalyModel> model, int rate, double windowSeconds = 0);
  std::uint64_t windowSamples() const { return windowSamples_; }
  void push(const float* mono, std::size_t count, const std::function<void(const Window&)>& f);
  // The last window, however short, if it has a context (end of stream).
  void flush(const std::function<void(const Window&)>& f);
  void reset();

 private:
  std::shared_ptr<MelAnomalyModel> model_;
  MelStream mel_;
  std::uint64_t windowSamples_;
  std::vector<float> history_, context_;  // frames x mels (newest last); mels x K
  std::vector<double> residual_, sum_;    // the context's; the window's sum
  int frames_ = 0;                        // frames seen since the reset
  std::uint64_t samples_ = 0;
  Window current_;

  void close(Window& w) const;  // from sums to means and the score
};

}  // namespace cae::audio
