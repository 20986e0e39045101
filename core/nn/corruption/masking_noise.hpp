// Masking noise (Vincent et al. 2008): each entry is independently set to 0 with probability p,
// the rest are left untouched (no 1/(1-p) rescaling: the autoencoder must reconstruct the clean
// values, unlike inverted dropout). "Dropout noise" in the lecture notes.
#pragma once

#include "nn/corruption/corruption.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class MaskingNoise : public Corruption {
 public:
  explicit MaskingNoise(Scalar p);

  std::string name() const override { return "masking"; }
  void apply(const Tensor& clean, Tensor& noisy, Rng& rng) const override;
  Scalar p() const { return p_; }

 private:
  Scalar p_;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
