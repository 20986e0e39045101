// Mean squared error: sum (pred - target)^2, reduced. Gradient 2 (pred - target) * scale.
#pragma once

#include "nn/losses/loss.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class MseLoss : public Loss {
 public:
  explicit MseLoss(Reduction r = Reduction::Mean) : Loss(r) {}

  std::string name() const override { return "mse"; }
  double compute(const Tensor& pred, const Tensor& target, Tensor* grad) const override;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
