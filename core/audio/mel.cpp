#include "audio/mel.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "audio/stft.hpp"
#include "error.hpp"

namespace cae::audio {

double hzToMel(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }
double melToHz(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }

MelFilterbank::MelFilterbank(int n, int rate, int mels, double fmin, double fmax)
    : bins_(n / 2 + 1), mels_(mels) {
  if (fmax <= 0) fmax = rate / 2.0;
  if (n < 2 || rate <= 0 || mels < 1 || fmin < 0 || fmax <= fmin || fmax > rate / 2.0 + 1e-9)
    throw InvalidArgument("mel filterbank: bad sizes (n " + std::to_string(n) + ", rate " +
                          std::to_string(rate) + ", mels " + std::to_string(mels) + ")");
  w_.assign(std::size_t(mels) * std::size_t(bins_), 0.0f);
  const double lo = hzToMel(fmin), hi = hzToMel(fmax);
  std::vector<double> edge(std::size_t(mels) + 2);
  for (std::size_t i = 0; i < edge.size(); ++i)
    edge[i] = melToHz(lo + (hi - lo) * double(i) / double(mels + 1));
  for (int m = 0; m < mels; ++m) {
    const double a = edge[std::size_t(m)], c = edge[std::size_t(m) + 1],
                 b = edge[std::size_t(m) + 2];
    for (int f = 0; f < bins_; ++f) {
      const double hz = double(f) * rate / n;
      const double v = hz <= a || hz >= b ? 0.0 : hz <= c ? (hz - a) / (c - a) : (b - hz) / (b - c);
      w_[std::size_t(m) * std::size_t(bins_) + std::size_t(f)] = float(v);
    }
  }
}

void MelFilterbank::apply(const float* power, float* out) const {
  for (int m = 0; m < mels_; ++m) {
    const float* w = &w_[std::size_t(m) * std::size_t(bins_)];
    double s = 0;
    for (int f = 0; f < bins_; ++f) s += double(w[f]) * double(power[f]);
    out[m] = float(s);
  }
}

LogMel logMelSpectrogram(const std::vector<float>& samples, int rate, int n, int hop, int mels) {
  const Spectrogram s = stftMagnitude(samples, n, hop);
  const MelFilterbank bank(n, rate, mels);
  LogMel out;
  out.frames = s.frames;
  out.mels = mels;
  out.db.resize(std::size_t(s.frames) * std::size_t(mels));
  std::vector<float> power(std::size_t(s.bins));
  std::vector<float> mel(static_cast<std::size_t>(mels));
  for (int t = 0; t < s.frames; ++t) {
    for (int f = 0; f < s.bins; ++f) {
      const float m = s.mag[std::size_t(t) * std::size_t(s.bins) + std::size_t(f)];
      power[std::size_t(f)] = m * m;
    }
    bank.apply(power.data(), mel.data());
    for (int m = 0; m < mels; ++m)
      out.db[std::size_t(t) * std::size_t(mels) + std::size_t(m)] =
          float(10.0 * std::log10(double(mel[std::size_t(m)]) + 1e-10));
  }
  return out;
}

float melPowerToUnit(double normalisedPower) {
  return float((10.0 * std::log10(normalisedPower + 1e-10) + 100.0) / 100.0);
}

namespace {
int scaledHop(int hop, int modelRate, int streamRate) {
  if (modelRate <= 0 || streamRate < modelRate)
    throw InvalidArgument("log-mel features: a stream at " + std::to_string(streamRate) +
                          " Hz is below the model's rate (" + std::to_string(modelRate) + " Hz)");
  return std::max(1, int(std::lround(double(hop) * streamRate / modelRate)));
}
}  // namespace

MelStream::MelStream(int n, int hop, int modelRate, int mels, int streamRate, double fmax)
    : n_(n / std::max(hop, 1) * scaledHop(hop, modelRate, streamRate)),
      hop_(scaledHop(hop, modelRate, streamRate)),
      bank_(n_, streamRate, mels, 0, fmax > 0 ? fmax : modelRate / 2.0) {
  if (n < 2 || hop < 1 || n % hop != 0)
    throw InvalidArgument("log-mel features: the hop must divide the window");
  if (fmax > modelRate / 2.0)
    throw InvalidArgument("log-mel features: the top of the band (" + std::to_string(fmax) +
                          " Hz) is above the model's Nyquist frequency");
  fft_ = std::make_unique<RealFft>(n_);
  const std::vector<double> w = hannWindow(n_);
  window_.assign(w.begin(), w.end());
  ring_.assign(std::size_t(n_), 0.0f);
  frame_.assign(std::size_t(n_), 0.0f);
  power_.assign(std::size_t(n_) / 2 + 1, 0.0f);
  mel_.assign(std::size_t(mels), 0.0f);
  spec_.assign(std::size_t(n_) / 2 + 1, {});
}

void MelStream::reset() { filled_ = 0; }

void MelStream::push(const float* x, std::size_t count,
                     const std::function<void(const float*)>& onFrame) {
  const std::size_t n = std::size_t(n_), hop = std::size_t(hop_);
  const double norm = 4.0 / (double(n_) * double(n_));  // 1 / (n/2)^2
  for (std::size_t i = 0; i < count; ++i) {
    ring_[filled_++] = x[i];
    if (filled_ < n) continue;
    // ring_ holds frame k's n samples: analyse them, keep the last n - hop for frame k + 1.
    for (std::size_t k = 0; k < n; ++k) frame_[k] = ring_[k] * window_[k];
    fft_->forward(frame_.data(), spec_.data());
    for (std::size_t k = 0; k < spec_.size(); ++k) power_[k] = float(std::norm(spec_[k]) * norm);
    bank_.apply(power_.data(), mel_.data());
    for (float& v : mel_) v = melPowerToUnit(double(v));
    onFrame(mel_.data());
    std::copy(ring_.begin() + std::ptrdiff_t(hop), ring_.end(), ring_.begin());
    filled_ = n - hop;
  }
}

std::vector<float> melFrames(const std::vector<float>& x, int n, int hop, int rate, int mels,
                             int& frames, double fmax) {
  MelStream s(n, hop, rate, mels, rate, fmax);
  std::vector<float> out;
  frames = 0;
  s.push(x.data(), x.size(), [&](const float* v) {
    out.insert(out.end(), v, v + mels);
    ++frames;
  });
  return out;
}

}  // namespace cae::audio
