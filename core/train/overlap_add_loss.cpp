#include "train/overlap_add_loss.hpp"

#include <complex>
#include <string>
#include <vector>

#include "audio/stft.hpp"
#include "error.hpp"

namespace cae::train {

using nn::Scalar;
using nn::Tensor;

OverlapAddLoss::OverlapAddLoss(int n, int hop) : Loss(nn::Reduction::Mean), n_(n), hop_(hop) {
  if (n < 2 || hop < 1 || n % hop != 0 || n / hop < 2)
    throw InvalidArgument("overlap-add loss: hop " + std::to_string(hop) + " must divide n " +
                          std::to_string(n) + " at least twice");
  fft_ = std::make_unique<audio::RealFft>(n);
}

OverlapAddLoss::~OverlapAddLoss() = default;

double OverlapAddLoss::compute(const Tensor& pred, const Tensor& target, Tensor* grad) const {
  const nn::Shape p = pred.shape(), t = target.shape();
  const int bins = n_ / 2 + 1, frames = p.w;
  if (p.c != bins || p.h != 1 || t.n != p.n || t.c != bins || t.h != 4 || t.w != frames ||
      frames < minFrames())
    throw ShapeError("overlap-add loss: masks " + p.str() + " and spectra " + t.str() +
                     " are not {N, " + std::to_string(bins) + ", 1, L} and {N, " +
                     std::to_string(bins) + ", 4, L} with L >= " + std::to_string(minFrames()));
  if (grad) grad->resize(p);
  const auto n = std::size_t(n_), hop = std::size_t(hop_), L = std::size_t(frames);
  const std::size_t length = (L - 1) * hop + n;
  const std::size_t first = n - hop, end = L * hop;  // the samples under every window
  const double covered = double(end - first);
  const float norm = float(n_) / (2.0f * float(hop_));
  static thread_local std::vector<float> w;
  if (w.size() != n) w = audio::sqrtHannWindow(n_);
  std::vector<float> e(length), z(n), g(n);
  const auto nb = static_cast<std::size_t>(bins);
  std::vector<std::complex<float>> d(nb), G(nb);
  const auto at = [&](int f, int plane, std::size_t l) {
    return (std::size_t(f) * 4 + std::size_t(plane)) * L + l;
  };
  double total = 0;
  for (int i = 0; i < p.n; ++i) {
    const Scalar* m = pred.sample(i);
    const Scalar* s = target.sample(i);
    std::fill(e.begin(), e.end(), 0.0f);
    for (std::size_t l = 0; l < L; ++l) {
      for (int f = 0; f < bins; ++f) {
        const float mk = float(m[std::size_t(f) * L + l]);
        d[std::size_t(f)] = {mk * float(s[at(f, 0, l)]) - float(s[at(f, 2, l)]),
                             mk * float(s[at(f, 1, l)]) - float(s[at(f, 3, l)])};
      }
      fft_->inverse(d.data(), z.data());
      for (std::size_t j = 0; j < n; ++j) e[l * hop + j] += w[j] * z[j] / norm;
    }
    double sum = 0;
    for (std::size_t k = first; k < end; ++k) sum += double(e[k]) * double(e[k]);
    total += sum / covered;
    if (!grad) continue;
    // dLoss/de = 2 e / (T N) on the covered samples; each frame's share through its window.
    const double scale = 2.0 / (covered * double(p.n));
    Scalar* gm = grad->sample(i);
    for (std::size_t l = 0; l < L; ++l) {
      for (std::size_t j = 0; j < n; ++j) {
        const std::size_t k = l * hop + j;
        g[j] = k >= first && k < end ? float(scale * double(e[k]) * double(w[j]) / norm) : 0.0f;
      }
      fft_->forward(g.data(), G.data());
      for (int f = 0; f < bins; ++f) {
        const std::complex<float> y{float(s[at(f, 0, l)]), float(s[at(f, 1, l)])};
        const double a = f == 0 || (n % 2 == 0 && f == bins - 1) ? 1.0 : 2.0;
        gm[std::size_t(f) * L + l] =
            Scalar(a / double(n) * double((y * std::conj(G[std::size_t(f)])).real()));
      }
    }
  }
  return total / double(p.n);
}

}  // namespace cae::train
