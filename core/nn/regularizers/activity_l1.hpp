// L1 activity penalty for sparse autoencoders (Goodfellow et al., Deep Learning, sec. 14.2.1):
//   penalty = lambda * (1/N) * sum |h|   over every entry of the code h of a batch of N samples,
// i.e. the per-sample L1 norm of the code, averaged over the batch. The gradient (subgradient 0
// at h == 0) is a seed for the code node in Model::backward(seeds).
#pragma once

#include "nn/tensor.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class ActivityL1 {
 public:
  explicit ActivityL1(double lambda);

  // Returns the penalty; when grad is non-null resizes it to activation's shape and writes
  // dPenalty/dActivation.
  double compute(const Tensor& activation, Tensor* grad) const;
  double lambda() const { return lambda_; }

 private:
  double lambda_;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
