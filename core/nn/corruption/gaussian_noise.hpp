// Additive white Gaussian noise, noisy = clean + sigma * N(0, 1). sigma is either fixed or, for
// blind denoisers (Zhang et al., "Beyond a Gaussian denoiser: residual learning of deep CNN for
// image denoising" (DnCNN), IEEE TIP 2017), drawn uniformly from [lo, hi] once per sample.
// Optionally clips the result to [0, 1], as a real sensor's output would be.
#pragma once

#include <vector>

#include "nn/corruption/corruption.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class GaussianNoise : public Corruption {
 public:
  explicit GaussianNoise(Scalar sigma, bool clip = false);
  GaussianNoise(Scalar sigmaLo, Scalar sigmaHi, bool clip = false);

  std::string name() const override { return "gaussian"; }
  void apply(const Tensor& clean, Tensor& noisy, Rng& rng) const override;
  // As apply(); sigmas (when non-null) receives the sigma used for each sample.
  void apply(const Tensor& clean, Tensor& noisy, Rng& rng, std::vector<Scalar>* sigmas) const;

  Scalar sigmaLo() const { return lo_; }
  Scalar sigmaHi() const { return hi_; }
  bool clip() const { return clip_; }

 private:
  Scalar lo_, hi_;
  bool clip_;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
