// Rician noise, the noise of magnitude MR images (Gudbjartsson & Patz, "The Rician distribution of
// noisy MRI data", Magn. Reson. Med. 1995): the real and imaginary channels each carry white
// Gaussian noise of the same sigma, and the image is their magnitude,
//   noisy = sqrt((clean + sigma * n1)^2 + (sigma * n2)^2),  n1, n2 ~ N(0, 1) independent.
// The noise is signal-dependent: Rayleigh (mean sigma * sqrt(pi / 2)) where clean = 0, close to
// Gaussian with mean sqrt(clean^2 + sigma^2) where clean >> sigma. sigma is fixed or, for blind
// denoisers, drawn uniformly from [lo, hi] once per sample (as GaussianNoise). Each entry draws
// n1 then n2, entries in order.
#pragma once

#include <vector>

#include "nn/corruption/corruption.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class RicianNoise : public Corruption {
 public:
  // InvalidArgument unless 0 <= sigmaLo <= sigmaHi.
  explicit RicianNoise(Scalar sigma);
  RicianNoise(Scalar sigmaLo, Scalar sigmaHi);

  std::string name() const override { return "rician"; }
  void apply(const Tensor& clean, Tensor& noisy, Rng& rng) const override;
  // As apply(); sigmas (when non-null) receives the sigma used for each sample.
  void apply(const Tensor& clean, Tensor& noisy, Rng& rng, std::vector<Scalar>* sigmas) const;

  Scalar sigmaLo() const { return lo_; }
  Scalar sigmaHi() const { return hi_; }

 private:
  Scalar lo_, hi_;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
