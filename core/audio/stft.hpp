// Short-time Fourier transforms of mono audio (FFTW through audio/fft.hpp):
// - stftMagnitude / logSpectrogramChunks: the log-magnitude "images" the spectrogram
//   autoencoders train on (Hann window, frames start at sample 0, no padding);
// - Stft / istft: analysis and overlap-add synthesis with perfect reconstruction;
// - StreamingStft: the same, block by block, at a fixed delay (what an element runs).
#pragma once

#include <complex>
#include <cstddef>
#include <functional>
#include <vector>

#include "audio/fft.hpp"
#include "nn/tensor.hpp"

namespace cae::audio {

// Periodic Hann window, w[i] = 0.5 - 0.5 cos(2πi/n): overlap-adds to a constant at hop n/2.
std::vector<double> hannWindow(int n);
// Its square root: used for analysis and again for synthesis, the product is Hann, which adds
// up to n / (2 hop) at any hop that divides n / 2 (n / hop >= 2).
std::vector<float> sqrtHannWindow(int n);

// |STFT| with a Hann window: frames × (n/2 + 1) magnitudes, row-major (mag[t * bins + f]).
struct Spectrogram {
  int frames = 0, bins = 0;
  std::vector<float> mag;
};
// n: a power of two >= 2 (the spectrogram models' sizes); InvalidArgument otherwise.
Spectrogram stftMagnitude(const std::vector<float>& samples, int n, int hop);

// The fixed normalisation: v = log1p(|X| / a) / log1p((n/2) / a) with a = kMagnitudeFloor.
// A signal in [-1, 1] has |X| <= sum(w) = n/2, so v lies in [0, 1] for every file alike (no
// per-file statistics to carry around); a = 1e-3 makes v roughly linear in dB above -60 dB,
// where plain log1p(|X|) would leave typical speech bins (|X| ~ 0.01) all near 0.
constexpr double kMagnitudeFloor = 1e-3;
float magnitudeToUnit(float mag, int n);
float unitToMagnitude(float v, int n);

// Log-magnitude spectrogram cut into consecutive chunks of `chunk` frames, each a
// {1, 1, n/2 + 1, chunk} tensor (row f = frequency bin f, DC first; column = time). A tail
// shorter than a chunk is dropped, except that a signal with fewer than `chunk` frames gives one
// chunk padded with zeros (silence). Throws InvalidArgument for bad sizes.
std::vector<nn::Tensor> logSpectrogramChunks(const std::vector<float>& samples, int n, int hop,
                                             int chunk);

// Complex STFT with the sqrt-Hann window for analysis and synthesis. Frame t covers samples
// [t hop - (n - hop), t hop + hop) (the signal padded with n - hop zeros in front and zeros at the
// end), so every sample lies under n / hop frames and istft() gives the signal back exactly (to
// float rounding). n >= 2 any size, hop must divide n with n / hop >= 2: InvalidArgument else.
struct ComplexSpectrogram {
  int n = 0, hop = 0, frames = 0, bins = 0;
  std::vector<std::complex<float>> x;  // x[t * bins + f]
};
ComplexSpectrogram stft(const std::vector<float>& samples, int n, int hop);
// Overlap-add synthesis of `length` samples (the analysed signal's length).
std::vector<float> istft(const ComplexSpectrogram& s, std::size_t length);

// Streaming STFT processing: samples in, as many samples out, delayed by latency() = n - 1
// samples whatever the block sizes (the last sample of a hop waits for nothing; the first
// waits n - 1). Each hop, the latest n samples are analysed (sqrt-Hann), handed to the callback,
// which may change the bins in place, synthesised and overlap-added. With a callback that
// leaves the bins alone, out[i] = in[i - latency()] to float rounding (zeros before the start).
class StreamingStft {
 public:
  using Callback = std::function<void(std::complex<float>* bins, int count)>;
  StreamingStft(int n, int hop);  // InvalidArgument as stft()
  int size() const { return n_; }
  int hop() const { return hop_; }
  int latency() const { return n_ - 1; }
  // in and out may be the same memory.
  void process(const float* in, float* out, std::size_t count, const Callback& f);
  void reset();  // back to the start: silence before, nothing pending

 private:
  int n_, hop_;
  RealFft fft_;
  std::vector<float> window_, frame_, acc_, pending_, ready_, tmp_;
  std::vector<std::complex<float>> bins_;
  std::size_t filled_ = 0, readyAt_ = 0;  // samples in pending_; next of ready_ to hand out
  float norm_;
};

}  // namespace cae::audio
