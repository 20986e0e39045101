#include "nn/corruption/rician_noise.hpp"

#include <cmath>
#include <random>

#include "error.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

RicianNoise::RicianNoise(Scalar sigma) : RicianNoise(sigma, sigma) {}

RicianNoise::RicianNoise(Scalar sigmaLo, Scalar sigmaHi) : lo_(sigmaLo), hi_(sigmaHi) {
  if (!(sigmaLo >= 0 && sigmaHi >= sigmaLo))
    throw InvalidArgument("RicianNoise: need 0 <= sigma lo <= sigma hi");
}

void RicianNoise::apply(const Tensor& clean, Tensor& noisy, Rng& rng) const {
  apply(clean, noisy, rng, nullptr);
}

void RicianNoise::apply(const Tensor& clean, Tensor& noisy, Rng& rng,
                        std::vector<Scalar>* sigmas) const {
  const Shape s = clean.shape();
  noisy.resize(s);
  if (sigmas) sigmas->resize(std::size_t(s.n));
  const std::size_t per = s.perSample();
  // One distribution for the whole call, as GaussianNoise: still a pure function of the
  // generator state on entry.
  std::normal_distribution<Scalar> normal(0, 1);
  for (int n = 0; n < s.n; ++n) {
    const Scalar sigma = lo_ == hi_ ? lo_ : rng.uniform(lo_, hi_);
    if (sigmas) (*sigmas)[std::size_t(n)] = sigma;
    const Scalar* c = clean.sample(n);
    Scalar* y = noisy.sample(n);
    for (std::size_t i = 0; i < per; ++i) {
      const Scalar re = c[i] + sigma * normal(rng.engine());
      const Scalar im = sigma * normal(rng.engine());
      y[i] = std::sqrt(re * re + im * im);
    }
  }
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
