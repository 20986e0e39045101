#include "audio/stft.hpp"

#include <algorithm>
#include <cmath>
#include <string>
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

// stft() / StreamingStft: hop divides n, at least two frames over each sample.
void checkOverlapAdd(int n, int hop) {
  if (n < 2 || hop < 1 || n % hop != 0 || n / hop < 2)
    throw InvalidArgument(
        "STFT overlap-add needs a hop that divides the size at least twice, got "
        "size " +
        std::to_string(n) + " hop " + std::to_string(hop));
}

}  // namespace

std::vector<double> hannWindow(int n) {
  std::vector<double> w(std::size_t(std::max(n, 0)));
  for (int i = 0; i < n; ++i) w[std::size_t(i)] = 0.5 - 0.5 * std::cos(2 * kPi * i / n);
  return w;
}

std::vector<float> sqrtHannWindow(int n) {
  const std::vector<double> h = hannWindow(n);
  std::vector<float> w(h.size());
  std::transform(h.begin(), h.end(), w.begin(), [](double v) { return float(std::sqrt(v)); });
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
  RealFft fft(n);
  std::vector<float> buf(static_cast<std::size_t>(n));
  std::vector<std::complex<float>> spec(std::size_t(s.bins));
  for (int t = 0; t < s.frames; ++t) {
    const std::size_t start = std::size_t(t) * std::size_t(hop);
    for (std::size_t i = 0; i < std::size_t(n); ++i)
      buf[i] = start + i < len ? float(double(samples[start + i]) * w[i]) : 0.0f;
    fft.forward(buf.data(), spec.data());
    for (int f = 0; f < s.bins; ++f)
      s.mag[std::size_t(t) * std::size_t(s.bins) + std::size_t(f)] = std::abs(spec[std::size_t(f)]);
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

ComplexSpectrogram stft(const std::vector<float>& samples, int n, int hop) {
  checkOverlapAdd(n, hop);
  ComplexSpectrogram s;
  s.n = n;
  s.hop = hop;
  s.bins = n / 2 + 1;
  const long len = long(samples.size());
  s.frames = len == 0 ? 0 : int((len - 1 + n - hop) / hop + 1);
  s.x.resize(std::size_t(s.frames) * std::size_t(s.bins));
  const std::vector<float> w = sqrtHannWindow(n);
  RealFft fft(n);
  std::vector<float> buf(std::size_t(n), 0.0f);
  for (int t = 0; t < s.frames; ++t) {
    const long start = long(t) * hop - (n - hop);
    for (long i = 0; i < n; ++i) {
      const long j = start + i;
      buf[std::size_t(i)] = j >= 0 && j < len ? samples[std::size_t(j)] * w[std::size_t(i)] : 0.0f;
    }
    fft.forward(buf.data(), &s.x[std::size_t(t) * std::size_t(s.bins)]);
  }
  return s;
}

std::vector<float> istft(const ComplexSpectrogram& s, std::size_t length) {
  checkOverlapAdd(s.n, s.hop);
  if (s.bins != s.n / 2 + 1 || s.x.size() != std::size_t(s.frames) * std::size_t(s.bins))
    throw InvalidArgument("istft: the spectrogram's sizes do not agree");
  std::vector<double> acc(length, 0.0);
  const std::vector<float> w = sqrtHannWindow(s.n);
  RealFft fft(s.n);
  std::vector<float> buf(std::size_t(s.n));
  const long len = long(length);
  for (int t = 0; t < s.frames; ++t) {
    fft.inverse(&s.x[std::size_t(t) * std::size_t(s.bins)], buf.data());
    const long start = long(t) * s.hop - (s.n - s.hop);
    for (long i = 0; i < s.n; ++i) {
      const long j = start + i;
      if (j >= 0 && j < len) acc[std::size_t(j)] += double(buf[std::size_t(i)] * w[std::size_t(i)]);
    }
  }
  const double norm = double(s.n) / (2.0 * s.hop);
  std::vector<float> out(length);
  for (std::size_t j = 0; j < length; ++j) out[j] = float(acc[j] / norm);
  return out;
}

StreamingStft::StreamingStft(int n, int hop)
    : n_(n), hop_(hop), fft_((checkOverlapAdd(n, hop), n)), norm_(float(n) / (2.0f * float(hop))) {
  window_ = sqrtHannWindow(n);
  frame_.assign(std::size_t(n), 0.0f);
  acc_.assign(std::size_t(n), 0.0f);
  pending_.assign(std::size_t(hop), 0.0f);
  tmp_.assign(std::size_t(n), 0.0f);
  bins_.assign(std::size_t(n) / 2 + 1, {});
  reset();
}

void StreamingStft::reset() {
  std::fill(frame_.begin(), frame_.end(), 0.0f);
  std::fill(acc_.begin(), acc_.end(), 0.0f);
  filled_ = 0;
  // hop - 1 samples of silence come out before the first frame is complete; from then on each
  // frame adds hop samples as the hop's last sample arrives: the delay is n - 1 throughout.
  ready_.assign(std::size_t(hop_ - 1), 0.0f);
  readyAt_ = 0;
}

void StreamingStft::process(const float* in, float* out, std::size_t count, const Callback& f) {
  const std::size_t n = std::size_t(n_), hop = std::size_t(hop_);
  for (std::size_t i = 0; i < count; ++i) {
    pending_[filled_++] = in[i];
    if (filled_ == hop) {
      filled_ = 0;
      std::copy(frame_.begin() + std::ptrdiff_t(hop), frame_.end(), frame_.begin());
      std::copy(pending_.begin(), pending_.end(), frame_.begin() + std::ptrdiff_t(n - hop));
      for (std::size_t k = 0; k < n; ++k) tmp_[k] = frame_[k] * window_[k];
      fft_.forward(tmp_.data(), bins_.data());
      if (f) f(bins_.data(), int(bins_.size()));
      fft_.inverse(bins_.data(), tmp_.data());
      for (std::size_t k = 0; k < n; ++k) acc_[k] += tmp_[k] * window_[k] / norm_;
      ready_.erase(ready_.begin(), ready_.begin() + std::ptrdiff_t(readyAt_));
      readyAt_ = 0;
      ready_.insert(ready_.end(), acc_.begin(), acc_.begin() + std::ptrdiff_t(hop));
      std::copy(acc_.begin() + std::ptrdiff_t(hop), acc_.end(), acc_.begin());
      std::fill(acc_.end() - std::ptrdiff_t(hop), acc_.end(), 0.0f);
    }
    out[i] = ready_[readyAt_++];
  }
}

}  // namespace cae::audio
