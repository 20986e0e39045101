#include "nn/corruption/masking_noise.hpp"

#include <random>

#include "error.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

MaskingNoise::MaskingNoise(Scalar p) : p_(p) {
  if (!(p >= 0 && p <= 1)) throw InvalidArgument("MaskingNoise: p must be in [0, 1]");
}

void MaskingNoise::apply(const Tensor& clean, Tensor& noisy, Rng& rng) const {
  noisy.resize(clean.shape());
  std::bernoulli_distribution drop(static_cast<double>(p_));
  const std::size_t n = clean.size();
  for (std::size_t i = 0; i < n; ++i) noisy[i] = drop(rng.engine()) ? Scalar(0) : clean[i];
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
