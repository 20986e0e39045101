// Salt-and-pepper noise (Vincent et al., JMLR 2010, sec. 4.2): each entry is independently, with
// probability p, set to the minimum or the maximum value (each with probability 1/2); the rest
// are left untouched. min and max default to 0 and 1, the range of the trainer's images.
#pragma once

#include "nn/corruption/corruption.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class SaltPepperNoise : public Corruption {
 public:
  explicit SaltPepperNoise(Scalar p, Scalar minValue = 0, Scalar maxValue = 1);

  std::string name() const override { return "salt_pepper"; }
  void apply(const Tensor& clean, Tensor& noisy, Rng& rng) const override;
  Scalar p() const { return p_; }

 private:
  Scalar p_, min_, max_;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
