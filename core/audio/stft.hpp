// Short-time Fourier transform of mono audio and the log-magnitude "images" the audio
// autoencoders train on. Frames start at sample 0 and advance by hop (no centring padding);
// a signal shorter than one window is zero-padded to one frame.
#pragma once

#include <complex>
#include <vector>

#include "nn/tensor.hpp"

namespace cae::audio {

// In-place radix-2 FFT; x.size() must be a power of two (InvalidArgument otherwise).
// Forward: X[k] = sum_n x[n] e^{-2πikn/N}; inverse uses e^{+2πikn/N} and divides by N.
void fft(std::vector<std::complex<double>>& x, bool inverse = false);

// Periodic Hann window, w[i] = 0.5 - 0.5 cos(2πi/n): overlap-adds to a constant at hop n/2.
std::vector<double> hannWindow(int n);

// |STFT| with a Hann window: frames × (n/2 + 1) magnitudes, row-major (mag[t * bins + f]).
struct Spectrogram {
  int frames = 0, bins = 0;
  std::vector<float> mag;
};
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

}  // namespace cae::audio
