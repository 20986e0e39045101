#include "nn/corruption/gaussian_noise.hpp"

#include <algorithm>
#include <random>

#include "error.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

GaussianNoise::GaussianNoise(Scalar sigma, bool clip) : GaussianNoise(sigma, sigma, clip) {}

GaussianNoise::GaussianNoise(Scalar sigmaLo, Scalar sigmaHi, bool clip)
    : lo_(sigmaLo), hi_(sigmaHi), clip_(clip) {
  if (!(sigmaLo >= 0 && sigmaHi >= sigmaLo))
    throw InvalidArgument("GaussianNoise: need 0 <= sigma lo <= sigma hi");
}

void GaussianNoise::apply(const Tensor& clean, Tensor& noisy, Rng& rng) const {
  apply(clean, noisy, rng, nullptr);
}

void GaussianNoise::apply(const Tensor& clean, Tensor& noisy, Rng& rng,
                          std::vector<Scalar>* sigmas) const {
  const Shape s = clean.shape();
  noisy.resize(s);
  if (sigmas) sigmas->resize(std::size_t(s.n));
  const std::size_t per = s.perSample();
  // One distribution for the whole call: it may cache a second normal between draws, which is
  // still a pure function of the generator state on entry.
  std::normal_distribution<Scalar> normal(0, 1);
  for (int n = 0; n < s.n; ++n) {
    const Scalar sigma = lo_ == hi_ ? lo_ : rng.uniform(lo_, hi_);
    if (sigmas) (*sigmas)[std::size_t(n)] = sigma;
    const Scalar* c = clean.sample(n);
    Scalar* y = noisy.sample(n);
    for (std::size_t i = 0; i < per; ++i) {
      const Scalar v = c[i] + sigma * normal(rng.engine());
      y[i] = clip_ ? std::clamp(v, Scalar(0), Scalar(1)) : v;
    }
  }
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
