// Log-mel features of the machine-sound models (DCASE 2020 task 2 baseline family): power
// spectrum (Hann window) through a bank of triangular filters equally spaced on the HTK mel
// scale, mel(f) = 2595 log10(1 + f / 700), then 10 log10(power + eps).
#pragma once

#include <vector>

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
