// Log-mel features of the machine-sound models (DCASE 2020 task 2 baseline family): power
// spectrum (Hann window) through a bank of triangular filters equally spaced on the HTK mel
// scale, mel(f) = 2595 log10(1 + f / 700), then 10 log10(power + eps).
#pragma once

#include <complex>
#include <functional>
#include <memory>
#include <vector>

#include "audio/fft.hpp"

namespace cae::audio {

class MelFilterbank {
 public:
  // n: the FFT size (n/2 + 1 bins); mels >= 1 filters between fmin and fmax (fmax <= rate / 2;
  // 0: rate / 2). InvalidArgument for impossible combinations.
  MelFilterbank(int n, int rate, int mels, double fmin = 0, double fmax = 0);
  int mels() const { return mels_; }
  int bins() const { return bins_; }
  // Filter m's weight of bin f (peak 1 at its centre frequency).
  float weight(int m, int f) const {
    return w_[std::size_t(m) * std::size_t(bins_) + std::size_t(f)];
  }
  // power: bins() values; out: mels() values, sum_f weight(m, f) * power[f].
  void apply(const float* power, float* out) const;

 private:
  int bins_, mels_;
  std::vector<float> w_;
};

double hzToMel(double hz);
double melToHz(double mel);

// frames x mels log-mel energies in dB (10 log10(mel power + 1e-10)), row-major, of the signal's
// STFT (Hann window, frames from sample 0 as stftMagnitude; n a power of two).
struct LogMel {
  int frames = 0, mels = 0;
  std::vector<float> db;
};
LogMel logMelSpectrogram(const std::vector<float>& samples, int rate, int n, int hop, int mels);

}  // namespace cae::audio

namespace cae::audio {

// The features of the machine-sound models: log-mel power of Hann-windowed frames, the power
// normalised by (n/2)^2 (a full-scale sine reads about -6 dB whatever n), in dB, mapped by
// v = (dB + 100) / 100 (about 0.2 .. 0.8 for machines at -40 .. -10 dBFS).
float melPowerToUnit(double normalisedPower);

// Streaming log-mel frames for a model made at modelRate with an n-sample Hann window every hop
// samples and `mels` filters up to fmax (0: modelRate / 2), at a stream's rate >= modelRate: the
// window and hop scaled by streamRate / modelRate (hop rounded, window = hop * n / hop), the
// filters over the same band, so the same sound gives the same features at any rate. Frame k
// covers samples [k hop, k hop + n) and is handed on when its last sample arrives.
// InvalidArgument for a stream rate below the model's, fmax above modelRate / 2 or bad sizes.
class MelStream {
 public:
  MelStream(int n, int hop, int modelRate, int mels, int streamRate, double fmax = 0);
  int size() const { return n_; }
  int hop() const { return hop_; }
  int mels() const { return bank_.mels(); }
  // onFrame(v): v holds mels() values, valid during the call.
  void push(const float* x, std::size_t count, const std::function<void(const float*)>& onFrame);
  void reset();

 private:
  int n_, hop_;
  MelFilterbank bank_;
  std::unique_ptr<RealFft> fft_;
  std::vector<float> window_, ring_, frame_, power_, mel_;
  std::vector<std::complex<float>> spec_;
  std::size_t filled_ = 0;  // samples of the next frame in ring_
};

// A whole signal's frames (rows) as MelStream gives them, frames x mels row-major.
std::vector<float> melFrames(const std::vector<float>& x, int n, int hop, int rate, int mels,
                             int& frames, double fmax = 0);

}  // namespace cae::audio
