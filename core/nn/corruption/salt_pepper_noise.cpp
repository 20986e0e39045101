#include "nn/corruption/salt_pepper_noise.hpp"

#include <random>

#include "error.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

SaltPepperNoise::SaltPepperNoise(Scalar p, Scalar minValue, Scalar maxValue)
    : p_(p), min_(minValue), max_(maxValue) {
  if (!(p >= 0 && p <= 1)) throw InvalidArgument("SaltPepperNoise: p must be in [0, 1]");
  if (!(minValue <= maxValue)) throw InvalidArgument("SaltPepperNoise: min must be <= max");
}

void SaltPepperNoise::apply(const Tensor& clean, Tensor& noisy, Rng& rng) const {
  noisy.resize(clean.shape());
  // One uniform per entry: u < p/2 is pepper, p/2 <= u < p is salt.
  std::uniform_real_distribution<double> u01(0, 1);
  const double half = double(p_) / 2;
  const std::size_t n = clean.size();
  for (std::size_t i = 0; i < n; ++i) {
    const double u = u01(rng.engine());
    noisy[i] = u < half ? min_ : u < 2 * half ? max_ : clean[i];
  }
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
