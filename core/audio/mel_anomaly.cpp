#include "audio/mel_anomaly.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <opencv2/dnn.hpp>
#include <utility>

#include "audio/model_file.hpp"
#include "error.hpp"
#include "onnx/graph_info.hpp"

namespace cae::audio {

namespace {

// A number-valued key of the model (from_chars: the same in every locale), or `otherwise` when
// the model does not have it. FormatError naming the key for a value that is not a number.
double number(const onnx::ModelInfo& info, const std::string& key, double otherwise,
              const std::string& path) {
  const auto it = info.unknown.find(key);
  if (it == info.unknown.end()) return otherwise;
  const std::string& text = it->second;
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v))
    throw FormatError(path + ": " + key + " '" + text + "' is not a number");
  return v;
}

}  // namespace

struct MelAnomalyModel::Net {
  cv::dnn::Net net;
};

MelAnomalyModel::MelAnomalyModel(const std::string& path) {
  info_ = readAudioModelInfo(path, onnx::Task::AudioAnomaly);
  stft_ = *info_.stft;
  const onnx::GraphInfo g = onnx::readGraphInfo(path);
  if (g.inputChannels != 1 || g.inputHeight < 1 || g.inputWidth < 1)
    throw InvalidArgument(path + ": the model's input is not {1, mels, frames} of fixed size");
  mels_ = g.inputHeight;
  context_ = g.inputWidth;
  window_ = number(info_, onnx::key::kAnalysisWindow, 1.0, path);
  if (!(window_ > 0)) throw FormatError(path + ": cae.analysis_window must be positive");
  fmax_ = number(info_, onnx::key::kMelFmax, stft_.sampleRate / 2.0, path);
  if (!(fmax_ > 0 && fmax_ <= stft_.sampleRate / 2.0))
    throw FormatError(path + ": cae.mel_fmax must be above 0 and at most half the model's rate");
  const auto mean = info_.unknown.find(onnx::key::kResidualMean);
  const auto precision = info_.unknown.find(onnx::key::kResidualPrecision);
  if ((mean == info_.unknown.end()) != (precision == info_.unknown.end()))
    throw FormatError(path + ": cae.residual_mean and cae.residual_precision come together");
  if (mean != info_.unknown.end()) {
    try {
      stats_ = ResidualStats::parse(mean->second, precision->second, mels_);
    } catch (const FormatError& e) {
      throw FormatError(path + ": " + e.what());
    }
  }
  net_ = std::make_unique<Net>();
  net_->net = readAudioNet(path);
}

MelAnomalyModel::~MelAnomalyModel() = default;

void MelAnomalyModel::residuals(const float* contexts, int count, double* errors,
                                double* residuals) {
  const int dims[4] = {count, 1, mels_, context_};
  const cv::Mat blob(4, dims, CV_32F, const_cast<float*>(contexts));
  const std::size_t per = std::size_t(mels_) * std::size_t(context_);
  try {
    net_->net.setInput(blob);
    const cv::Mat y = net_->net.forward();
    if (y.total() != std::size_t(count) * per)
      throw Error("audio-anomaly model gave " + std::to_string(y.total()) + " values for " +
                  std::to_string(count) + " x " + std::to_string(per));
    const float* r = y.ptr<float>();
    const auto k = std::size_t(context_);
    for (int i = 0; i < count; ++i) {
      double d = 0;
      for (std::size_t b = 0; b < std::size_t(mels_); ++b) {
        double band = 0;
        for (std::size_t t = 0; t < k; ++t) {
          const std::size_t at = std::size_t(i) * per + b * k + t;
          const double e = double(r[at]) - double(contexts[at]);
          d += e * e;
          band += e;
        }
        if (residuals != nullptr)
          residuals[std::size_t(i) * std::size_t(mels_) + b] = band / double(k);
      }
      errors[i] = d / double(per);
    }
  } catch (const cv::Exception& e) {
    throw Error(std::string("OpenCV DNN failed on the audio-anomaly model: ") + e.err);
  }
}

AnomalyStream::AnomalyStream(std::shared_ptr<MelAnomalyModel> model, int rate, double windowSeconds)
    : model_(std::move(model)),
      mel_(model_->stft().nFft, model_->stft().hop, model_->stft().sampleRate, model_->mels(), rate,
           model_->melTop()),
      windowSamples_(std::max<std::uint64_t>(
          1, std::uint64_t(std::llround(
                 (windowSeconds > 0 ? windowSeconds : model_->windowSeconds()) * rate)))) {
  history_.assign(std::size_t(model_->mels()) * std::size_t(model_->context()), 0.0f);
  context_.assign(history_.size(), 0.0f);
  residual_.assign(std::size_t(model_->mels()), 0.0);
  reset();
}

void AnomalyStream::reset() {
  mel_.reset();
  frames_ = 0;
  samples_ = 0;
  current_ = Window{};
  current_.end = windowSamples_;
  sum_.assign(std::size_t(model_->mels()), 0.0);
}

void AnomalyStream::close(Window& w) const {
  std::vector<double> mean(sum_.size());
  for (std::size_t b = 0; b < sum_.size(); ++b) mean[b] = sum_[b] / w.contexts;
  w.error /= w.contexts;
  w.score = model_->windowScore(w.error, mean.data());
}

void AnomalyStream::push(const float* mono, std::size_t count,
                         const std::function<void(const Window&)>& f) {
  const int m = model_->mels(), k = model_->context();
  const std::uint64_t n = std::uint64_t(mel_.size()), hop = std::uint64_t(mel_.hop());
  mel_.push(mono, count, [&](const float* frame) {
    // history_: frames x mels, newest last.
    std::copy(history_.begin() + m, history_.end(), history_.begin());
    std::copy(frame, frame + m, history_.end() - m);
    const std::uint64_t last = std::uint64_t(frames_) * hop + n - 1;  // the frame's last sample
    ++frames_;
    if (frames_ < k) return;
    while (last >= current_.end) {  // the context ends in a later window: close this one
      if (current_.contexts > 0) {
        close(current_);
        f(current_);
      }
      const std::uint64_t start = current_.end;
      current_ = Window{};
      current_.start = start;
      current_.end = start + windowSamples_;
      std::fill(sum_.begin(), sum_.end(), 0.0);
    }
    for (int t = 0; t < k; ++t)
      for (int b = 0; b < m; ++b)
        context_[std::size_t(b) * std::size_t(k) + std::size_t(t)] =
            history_[std::size_t(t) * std::size_t(m) + std::size_t(b)];
    double e = 0;
    model_->residuals(context_.data(), 1, &e, residual_.data());
    current_.error += e;
    for (std::size_t b = 0; b < sum_.size(); ++b) sum_[b] += residual_[b];
    ++current_.contexts;
  });
  samples_ += count;
}

void AnomalyStream::flush(const std::function<void(const Window&)>& f) {
  if (current_.contexts > 0) {
    Window w = current_;
    close(w);
    w.end = std::min(w.end, samples_);
    f(w);
  }
  current_.contexts = 0;
  current_.error = 0;
  std::fill(sum_.begin(), sum_.end(), 0.0);
}

}  // namespace cae::audio
