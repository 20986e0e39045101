// Mean absolute error: sum |pred - target|, reduced. Gradient sign(pred - target) * scale, with
// the subgradient 0 where pred == target (PyTorch's choice too).
#pragma once

#include "nn/losses/loss.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class L1Loss : public Loss {
 public:
  explicit L1Loss(Reduction r = Reduction::Mean) : Loss(r) {}

  std::string name() const override { return "l1"; }
  double compute(const Tensor& pred, const Tensor& target, Tensor* grad) const override;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
