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

}  // namespace cae::audio
