#include "audio/stft.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "error.hpp"

namespace cae::audio {

using nn::Scalar;
using nn::Shape;
using nn::Tensor;

namespace {

constexpr double kPi = 3.14159265358979323846;

bool isPowerOfTwo(std::size_t n) { return n > 0 && (n & (n - 1)) == 0; }

void checkSizes(int n, int hop) {
  if (n < 2 || !isPowerOfTwo(std::size_t(n)))
    throw InvalidArgument("STFT size must be a power of two >= 2, got " + std::to_string(n));
  if (hop < 1) throw InvalidArgument("STFT hop must be >= 1, got " + std::to_string(hop));
}

}  // namespace

void fft(std::vector<std::complex<double>>& x, bool inverse) {
  const std::size_t n = x.size();
  if (!isPowerOfTwo(n)) throw InvalidArgument("fft: length must be a power of two");
  // Bit-reversal permutation, then iterative Cooley-Tukey butterflies.
  for (std::size_t i = 1, j = 0; i < n; ++i) {
    std::size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(x[i], x[j]);
  }
  const double sign = inverse ? 1.0 : -1.0;
  for (std::size_t len = 2; len <= n; len <<= 1) {
    const double ang = sign * 2 * kPi / double(len);
    for (std::size_t i = 0; i < n; i += len)
      for (std::size_t k = 0; k < len / 2; ++k) {
        // Twiddles computed directly rather than by repeated multiplication: no drift at n=2^16.
        const std::complex<double> wk = std::polar(1.0, ang * double(k));
        const std::complex<double> u = x[i + k], v = x[i + k + len / 2] * wk;
        x[i + k] = u + v;
        x[i + k + len / 2] = u - v;
      }
  }
  if (inverse)
    for (auto& v : x) v /= double(n);
}

std::vector<double> hannWindow(int n) {
  std::vector<double> w(std::size_t(std::max(n, 0)));
  for (int i = 0; i < n; ++i) w[std::size_t(i)] = 0.5 - 0.5 * std::cos(2 * kPi * i / n);
  return w;
}

Spectrogram stftMagnitude(const std::vector<float>& samples, int n, int hop) {
  checkSizes(n, hop);
  const std::size_t len = samples.size();
  Spectrogram s;
  s.bins = n / 2 + 1;
  s.frames = len <= std::size_t(n) ? 1 : 1 + int((len - std::size_t(n)) / std::size_t(hop));
  s.mag.resize(std::size_t(s.frames) * std::size_t(s.bins));
  const std::vector<double> w = hannWindow(n);
  std::vector<std::complex<double>> buf(static_cast<std::size_t>(n));
  for (int t = 0; t < s.frames; ++t) {
    const std::size_t start = std::size_t(t) * std::size_t(hop);
    for (std::size_t i = 0; i < std::size_t(n); ++i)
      buf[i] = start + i < len ? double(samples[start + i]) * w[i] : 0.0;
    fft(buf);
    for (int f = 0; f < s.bins; ++f)
      s.mag[std::size_t(t) * std::size_t(s.bins) + std::size_t(f)] =
          float(std::abs(buf[std::size_t(f)]));
  }
  return s;
}

float magnitudeToUnit(float mag, int n) {
  return float(std::log1p(double(mag) / kMagnitudeFloor) / std::log1p(n / 2.0 / kMagnitudeFloor));
}

float unitToMagnitude(float v, int n) {
  return float(kMagnitudeFloor * std::expm1(double(v) * std::log1p(n / 2.0 / kMagnitudeFloor)));
}

std::vector<Tensor> logSpectrogramChunks(const std::vector<float>& samples, int n, int hop,
                                         int chunk) {
  checkSizes(n, hop);
  if (chunk < 1) throw InvalidArgument("STFT chunk must be >= 1 frame");
  const Spectrogram s = stftMagnitude(samples, n, hop);
  const int count = std::max(1, s.frames / chunk);
  std::vector<Tensor> out;
  out.reserve(std::size_t(count));
  for (int c = 0; c < count; ++c) {
    Tensor t(Shape{1, 1, s.bins, chunk}, Scalar(0));
    for (int j = 0; j < chunk; ++j) {
      const int frame = c * chunk + j;
      if (frame >= s.frames) break;
      for (int f = 0; f < s.bins; ++f)
        t.at(0, 0, f, j) = Scalar(
            magnitudeToUnit(s.mag[std::size_t(frame) * std::size_t(s.bins) + std::size_t(f)], n));
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace cae::audio
