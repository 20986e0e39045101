#include "audio/mel_anomaly.hpp"

#include <algorithm>
#include <cmath>
#include <opencv2/dnn.hpp>
#include <utility>

#include "audio/model_file.hpp"
#include "error.hpp"
#include "onnx/graph_info.hpp"

namespace cae::audio {

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
  if (auto it = info_.unknown.find("cae.analysis_window"); it != info_.unknown.end()) {
    try {
      window_ = std::stod(it->second);
    } catch (const std::exception&) {
      throw FormatError(path + ": cae.analysis_window '" + it->second + "' is not a number");
    }
    if (!(window_ > 0)) throw FormatError(path + ": cae.analysis_window must be positive");
  }
  net_ = std::make_unique<Net>();
  net_->net = readAudioNet(path);
}

MelAnomalyModel::~MelAnomalyModel() = default;

void MelAnomalyModel::errors(const float* contexts, int count, double* out) {
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
    for (int i = 0; i < count; ++i) {
      double d = 0;
      for (std::size_t k = 0; k < per; ++k) {
        const double e =
            double(r[std::size_t(i) * per + k]) - double(contexts[std::size_t(i) * per + k]);
        d += e * e;
      }
      out[i] = d / double(per);
    }
  } catch (const cv::Exception& e) {
    throw Error(std::string("OpenCV DNN failed on the audio-anomaly model: ") + e.err);
  }
}

AnomalyStream::AnomalyStream(std::shared_ptr<MelAnomalyModel> model, int rate, double windowSeconds)
    : model_(std::move(model)),
      mel_(model_->stft().nFft, model_->stft().hop, model_->stft().sampleRate, model_->mels(),
           rate),
      windowSamples_(std::max<std::uint64_t>(
          1, std::uint64_t(std::llround(
                 (windowSeconds > 0 ? windowSeconds : model_->windowSeconds()) * rate)))) {
  history_.assign(std::size_t(model_->mels()) * std::size_t(model_->context()), 0.0f);
  context_.assign(history_.size(), 0.0f);
  reset();
}

void AnomalyStream::reset() {
  mel_.reset();
  frames_ = 0;
  samples_ = 0;
  current_ = Window{};
  current_.end = windowSamples_;
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
        current_.score /= current_.contexts;
        f(current_);
      }
      const std::uint64_t start = current_.end;
      current_ = Window{};
      current_.start = start;
      current_.end = start + windowSamples_;
    }
    for (int t = 0; t < k; ++t)
      for (int b = 0; b < m; ++b)
        context_[std::size_t(b) * std::size_t(k) + std::size_t(t)] =
            history_[std::size_t(t) * std::size_t(m) + std::size_t(b)];
    double e = 0;
    model_->errors(context_.data(), 1, &e);
    current_.score += e;
    ++current_.contexts;
  });
  samples_ += count;
}

void AnomalyStream::flush(const std::function<void(const Window&)>& f) {
  if (current_.contexts > 0) {
    Window w = current_;
    w.score /= w.contexts;
    w.end = std::min(w.end, samples_);
    f(w);
  }
  current_.contexts = 0;
  current_.score = 0;
}

}  // namespace cae::audio
