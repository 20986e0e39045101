// Binary cross-entropy on probabilities: -(t log p + (1 - t) log(1 - p)), reduced. pred must
// come from a Sigmoid (values in [0,1]); target in [0,1] (soft targets such as normalised pixel
// intensities are fine: the minimum is then at p = t, not 0).
// pred is clamped to [eps, 1 - eps] so log never sees 0; the gradient (p - t) / (p (1 - p)) is
// taken at the clamped p, so a saturated output still gets a finite push back towards the target.
// For a model whose last layer is linear, prefer BceWithLogitsLoss: it is exact for any logit.
#pragma once

#include "nn/losses/loss.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class BceLoss : public Loss {
 public:
  static constexpr double kDefaultEps = 1e-7;

  explicit BceLoss(Reduction r = Reduction::Mean, double eps = kDefaultEps);

  std::string name() const override { return "bce"; }
  double compute(const Tensor& pred, const Tensor& target, Tensor* grad) const override;
  double eps() const { return eps_; }

 private:
  double eps_;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
