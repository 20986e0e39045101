// Speech denoising with a mask model (cae.task audio-denoise, trained by cae-train --task
// audio-denoise): each channel's stream goes through a StreamingStft; every hop the model reads
// the log-magnitudes of the last K frames (and, for a model with cae.noise_floor, their noise
// floors, audio/noise_floor.hpp; with cae.envelope also their envelopes) and gives a gain per
// bin for the newest one (with cae.lookahead L, for the frame L hops before it: the stream then
// waits L hops more, a delay line of frames).
//
// Streams at other rates than the model's run an STFT of the same duration (size and hop scaled
// by rate / model rate, hop kept a quarter of the size as trained), so the bins keep the model's
// spacing; the model reads the stream's bins up to the model's Nyquist frequency (magnitudes
// rescaled by model size / stream size, as the same sound would measure at the model's rate),
// bins a slower stream lacks read as silence, and above the model's band the gain continues as
// the mean gain of the model's top eighth. strength s blends: gain' = 1 - s (1 - gain), so 0
// leaves the stream as it was (delayed). Each hop runs the model one column per layer where its
// graph allows (audio/column_net.hpp: about 4 x fewer multiply-adds than the whole window).
//
//   auto model = std::make_shared<cae::audio::MaskModel>("models/audio-denoise.onnx");
//   cae::audio::StreamDenoiser d(model, 48000);   // latency(): samples at 48 kHz
//   d.process(in, out, count);                    // any block size, in place allowed
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audio/column_net.hpp"
#include "audio/noise_floor.hpp"
#include "audio/stft.hpp"
#include "onnx/metadata.hpp"

namespace cae::audio {

// A loaded audio-denoise model, run by OpenCV DNN (the reference path; the model is small).
// IoError for a missing file, FormatError for a file that is no model (truncated, corrupt),
// InvalidArgument for a model of another task or one without cae.stft, or whose input is not
// {bins, 1, K} with bins = n_fft / 2 + 1 ({2 bins, 1, K} with cae.noise_floor, {3 bins, 1, K}
// with cae.envelope too; a FormatError when either key is malformed, or for an envelope without
// a floor, or for a cae.lookahead that is not a whole number 0 <= L < K).
class MaskModel {
 public:
  explicit MaskModel(const std::string& path);
  ~MaskModel();
  MaskModel(const MaskModel&) = delete;
  MaskModel& operator=(const MaskModel&) = delete;

  const onnx::ModelInfo& info() const { return info_; }
  const onnx::Stft& stft() const { return stft_; }
  int bins() const { return bins_; }
  int context() const { return context_; }
  // Frames of look-ahead: the mask is of the frame this many before the newest (cae.lookahead).
  int lookahead() const { return lookahead_; }
  // The noise floor's options when the model reads one.
  const std::optional<NoiseFloorOptions>& noiseFloor() const { return floor_; }
  // The envelope's options when the model reads one (always with a noise floor).
  const std::optional<NoiseFloorOptions>& envelope() const { return envelope_; }
  // Input rows per frame: the bins, the floors', the envelope's.
  int rows() const { return bins_ * (1 + (floor_ ? 1 : 0) + (envelope_ ? 1 : 0)); }
  // features: count samples of rows() x context() values (row f, column t, oldest first: the
  // log-magnitudes, then the floors, then the envelopes); mask: count x bins() gains in [0, 1].
  void run(const float* features, float* mask, int count = 1);
  // The model's layers for streaming inference (audio/column_net.hpp), or null when its graph is
  // not a chain ColumnNet runs; then streams run the whole window through run().
  const std::shared_ptr<const ColumnNet::Weights>& columns() const { return columns_; }

 private:
  struct Net;
  std::shared_ptr<const ColumnNet::Weights> columns_;
  onnx::ModelInfo info_;
  onnx::Stft stft_;
  int bins_ = 0, context_ = 0, lookahead_ = 0;
  std::optional<NoiseFloorOptions> floor_, envelope_;
  std::unique_ptr<Net> net_;
};

class StreamDenoiser {
 public:
  // rate: the stream's sample rate (> 0; InvalidArgument otherwise).
  StreamDenoiser(std::shared_ptr<MaskModel> model, int rate);
  int rate() const { return rate_; }
  int fftSize() const { return stft_.size(); }
  int hop() const { return stft_.hop(); }
  // samples at rate(): the STFT's, and the model's look-ahead in hops
  int latency() const { return stft_.latency() + model_->lookahead() * stft_.hop(); }
  void setStrength(float s) { strength_ = s; }
  float strength() const { return strength_; }
  // in and out may be the same memory.
  void process(const float* in, float* out, std::size_t count);
  // Forget the past (a discontinuity, a flush): silence before, as at the start.
  void reset();
  // Whether each hop runs one column per layer (ColumnNet, the default where the model allows
  // it) or the model's whole window (MaskModel::run, OpenCV DNN); the masks are the same to
  // float rounding. false where the model has no ColumnNet.
  bool streaming() const { return columns_.has_value() && !wholeWindow_; }
  void setWholeWindow(bool whole) { wholeWindow_ = whole; }

 private:
  void frame(std::complex<float>* bins, int count);
  std::shared_ptr<MaskModel> model_;
  int rate_;
  StreamingStft stft_;
  float strength_ = 1.0f;
  double binRatio_;                     // model bins per stream bin
  float magScale_;                      // stream magnitudes to the model's
  std::optional<NoiseFloor> floor_;     // the model's, when it reads one
  std::optional<NoiseFloor> envelope_;  // likewise
  std::vector<float> history_, mask_;   // rows x K, newest column last; bins
  std::vector<float> newest_;           // the newest frame's log-magnitudes, floors, envelopes
  // With look-ahead L: the last L frames' bins, oldest first (count each), in a ring from
  // delayAt_; the frame L hops back is the one masked and sent on.
  std::vector<std::complex<float>> delay_;
  int delayAt_ = 0;
  int partial_ = 0;                   // frames left that hold the silence before the start
  std::optional<ColumnNet> columns_;  // the model's layers, with this stream's state
  bool columnsStale_ = false;         // frames went by without a push (strength 0)
  bool wholeWindow_ = false;
  void runColumns();
};

}  // namespace cae::audio
