#include "audio/denoiser.hpp"

#include <algorithm>
#include <cmath>
#include <opencv2/dnn.hpp>
#include <utility>

#include "audio/model_file.hpp"
#include "error.hpp"
#include "onnx/graph.hpp"

namespace cae::audio {

struct MaskModel::Net {
  cv::dnn::Net net;
};

MaskModel::MaskModel(const std::string& path) {
  info_ = readAudioModelInfo(path, onnx::Task::AudioDenoise);
  stft_ = *info_.stft;
  if (stft_.nFft / stft_.hop < 2)
    throw InvalidArgument(path + ": cae.stft " + onnx::formatStft(stft_) +
                          " is not an overlap-add STFT (the hop must divide the size twice)");
  try {
    if (const auto it = info_.unknown.find(onnx::key::kNoiseFloor); it != info_.unknown.end())
      floor_ = parseNoiseFloor(it->second);
    if (const auto it = info_.unknown.find(onnx::key::kEnvelope); it != info_.unknown.end())
      envelope_ = envelopeOptions(parseEnvelope(it->second));
  } catch (const FormatError& e) {
    throw FormatError(path + ": " + e.what());
  }
  if (const auto it = info_.unknown.find(onnx::key::kLookahead); it != info_.unknown.end()) {
    std::size_t used = 0;
    int l = -1;
    try {
      l = std::stoi(it->second, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != it->second.size() || l < 0)
      throw FormatError(path + ": " + onnx::key::kLookahead + " '" + it->second +
                        "' is not a whole number of frames >= 0");
    lookahead_ = l;
  }
  if (envelope_ && !floor_)
    throw FormatError(path + ": " + onnx::key::kEnvelope + " without " + onnx::key::kNoiseFloor +
                      " (the envelope is the third input plane, after the floor's)");
  net_ = std::make_unique<Net>();
  net_->net = readAudioNet(path);
  bins_ = stft_.nFft / 2 + 1;
  columns_ = ColumnNet::fromGraph(onnx::readGraph(path));
  // The frames the model reads: its receptive field along time (cae.receptive_field, which the
  // exporter computes from the graph), confirmed by one run that gives one mask.
  context_ = info_.receptiveField;
  if (context_ >= 1) {
    std::vector<float> zeros(std::size_t(rows()) * std::size_t(context_), 0.0f);
    std::vector<float> mask(static_cast<std::size_t>(bins_));
    try {
      run(zeros.data(), mask.data());
    } catch (const Error&) {
      context_ = 0;
    }
  }
  if (context_ == 0)
    throw InvalidArgument(path + ": the model does not map {" + std::to_string(rows()) +
                          ", 1, K} frames (K = cae.receptive_field) to one mask of " +
                          std::to_string(bins_) + " bins");
  if (lookahead_ >= context_)
    throw FormatError(path + ": " + onnx::key::kLookahead + " " + std::to_string(lookahead_) +
                      " is not less than the frames the model reads (" + std::to_string(context_) +
                      ")");
  if (columns_ &&
      (columns_->rows != rows() || columns_->outputs != bins_ || columns_->context != context_))
    columns_ = nullptr;
}

MaskModel::~MaskModel() = default;

void MaskModel::run(const float* features, float* mask, int count) {
  const int dims[4] = {count, rows(), 1, context_};
  const cv::Mat blob(4, dims, CV_32F, const_cast<float*>(features));
  try {
    net_->net.setInput(blob);
    const cv::Mat out = net_->net.forward();
    if (out.total() != std::size_t(count) * std::size_t(bins_))
      throw Error("audio-denoise model gave " + std::to_string(out.total()) + " values for " +
                  std::to_string(count) + " x " + std::to_string(bins_));
    std::copy(out.ptr<float>(), out.ptr<float>() + out.total(), mask);
  } catch (const cv::Exception& e) {
    throw Error(std::string("OpenCV DNN failed on the audio-denoise model: ") + e.err);
  }
}

namespace {

// The stream's hop and STFT size for a model's STFT: the same durations at `rate`.
int scaledHop(const onnx::Stft& s, int rate) {
  if (rate <= 0) throw InvalidArgument("audio stream rate must be positive");
  return std::max(1, int(std::lround(double(s.hop) * rate / s.sampleRate)));
}

}  // namespace

StreamDenoiser::StreamDenoiser(std::shared_ptr<MaskModel> model, int rate)
    : model_(std::move(model)),
      rate_(rate),
      stft_(model_->stft().nFft / model_->stft().hop * scaledHop(model_->stft(), rate),
            scaledHop(model_->stft(), rate)) {
  const onnx::Stft& s = model_->stft();
  // Stream bin j is at j * rate / n_stream Hz; model bin k at k * modelRate / n_model.
  binRatio_ = double(rate) / stft_.size() / (double(s.sampleRate) / s.nFft);
  magScale_ = float(double(s.nFft) / stft_.size());
  history_.assign(std::size_t(model_->rows()) * std::size_t(model_->context()), 0.0f);
  mask_.assign(std::size_t(model_->bins()), 1.0f);
  newest_.assign(std::size_t(model_->rows()), 0.0f);
  if (model_->noiseFloor()) floor_.emplace(model_->bins(), *model_->noiseFloor());
  if (model_->envelope()) envelope_.emplace(model_->bins(), *model_->envelope());
  if (model_->columns()) columns_.emplace(model_->columns());
  delay_.assign(std::size_t(model_->lookahead()) * std::size_t(stft_.size() / 2 + 1), {});
  partial_ = stft_.size() / stft_.hop() - 1;
}

void StreamDenoiser::reset() {
  stft_.reset();
  std::fill(history_.begin(), history_.end(), 0.0f);
  if (floor_) floor_->reset();
  if (envelope_) envelope_->reset();
  if (columns_) columns_->reset();
  columnsStale_ = false;
  std::fill(delay_.begin(), delay_.end(), std::complex<float>{});
  delayAt_ = 0;
  partial_ = stft_.size() / stft_.hop() - 1;
}

// The mask of the window in history_ through the ColumnNet: the newest frame alone, or after
// frames it missed (strength 0, the whole-window path) the window's frames from a reset, which
// gives the same state.
void StreamDenoiser::runColumns() {
  if (!columnsStale_) {
    columns_->push(newest_.data(), mask_.data());
    return;
  }
  const int k = model_->context(), rows = model_->rows();
  columns_->reset();
  std::vector<float> column(std::size_t(rows), 0.0f);
  for (int t = 0; t < k; ++t) {
    for (int f = 0; f < rows; ++f)
      column[std::size_t(f)] = history_[std::size_t(f) * std::size_t(k) + std::size_t(t)];
    columns_->push(column.data(), mask_.data());
  }
  columnsStale_ = false;
}

void StreamDenoiser::process(const float* in, float* out, std::size_t count) {
  stft_.process(in, out, count, [this](std::complex<float>* b, int n) { frame(b, n); });
}

void StreamDenoiser::frame(std::complex<float>* bins, int count) {
  const int mb = model_->bins(), k = model_->context(), n = model_->stft().nFft;
  for (int f = 0; f < mb; ++f) {
    const long j = std::lround(f / binRatio_);
    newest_[std::size_t(f)] = j < count ? magnitudeToUnit(std::abs(bins[j]) * magScale_, n) : 0.0f;
  }
  // The first n / hop - 1 frames after a start hold the silence before it in all but their
  // last hops: the trackers start at the first whole frame, as in training (where a mixture's
  // first frame is whole), not at a near-silent one they would take seconds to rise from.
  if (partial_ > 0) {
    --partial_;
    std::fill(newest_.begin() + mb, newest_.end(), 0.0f);
  } else {
    if (floor_) floor_->update(newest_.data(), newest_.data() + mb);
    if (envelope_) envelope_->update(newest_.data(), newest_.data() + std::ptrdiff_t(2) * mb);
  }
  // Shift the history one frame left, then the newest frame's features in the last column.
  for (int f = 0; f < model_->rows(); ++f) {
    float* row = &history_[std::size_t(f) * std::size_t(k)];
    std::copy(row + 1, row + k, row);
    row[k - 1] = newest_[std::size_t(f)];
  }
  // With look-ahead, the frame sent on is the one L hops back: swap it with the newest.
  if (!delay_.empty()) {
    std::complex<float>* held = &delay_[std::size_t(delayAt_) * std::size_t(count)];
    std::swap_ranges(bins, bins + count, held);
    delayAt_ = (delayAt_ + 1) % model_->lookahead();
  }
  if (strength_ <= 0.0f || !streaming()) columnsStale_ = true;
  if (strength_ <= 0.0f) return;  // a passthrough still keeps its history current
  if (streaming())
    runColumns();
  else
    model_->run(history_.data(), mask_.data());
  const int topFrom = mb - std::max(1, mb / 8);
  float top = 0;
  for (int f = topFrom; f < mb; ++f) top += mask_[std::size_t(f)];
  top /= float(mb - topFrom);
  for (int j = 0; j < count; ++j) {
    const long f = std::lround(j * binRatio_);
    const float g = f < mb ? mask_[std::size_t(f)] : top;
    bins[j] *= 1.0f - strength_ * (1.0f - g);
  }
}

}  // namespace cae::audio
