// Binary cross-entropy on logits x (the Sigmoid is folded into the loss):
//   loss = max(x, 0) - x t + log(1 + exp(-|x|)),  dloss/dx = sigmoid(x) - t,
// the numerically stable form (as in TensorFlow's sigmoid_cross_entropy_with_logits): exp only
// ever sees a non-positive argument, so any finite logit gives a finite loss and gradient.
#pragma once

#include "nn/losses/loss.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class BceWithLogitsLoss : public Loss {
 public:
  explicit BceWithLogitsLoss(Reduction r = Reduction::Mean) : Loss(r) {}

  std::string name() const override { return "bce_with_logits"; }
  double compute(const Tensor& pred, const Tensor& target, Tensor* grad) const override;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
