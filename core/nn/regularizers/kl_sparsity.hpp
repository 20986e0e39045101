// KL-divergence sparsity penalty (Ng, "Sparse autoencoder", CS294A lecture notes, 2011):
//   rho_hat_j = mean activation of unit j over the batch (for a conv code {N, C, H, W}: unit j
//               is channel j, averaged over the batch and all spatial positions),
//   penalty   = beta * sum_j KL(rho || rho_hat_j)
//             = beta * sum_j [rho log(rho / rho_hat_j)
//                             + (1 - rho) log((1 - rho) / (1 - rho_hat_j))].
// The activations must lie in (0, 1), i.e. come after a Sigmoid. rho_hat is clamped to
// [eps, 1 - eps] so the logs stay finite; the gradient is taken at the clamped value so a
// saturated unit is still pushed back towards rho. The gradient w.r.t. the activation is a seed
// for the code node in Model::backward(seeds).
#pragma once

#include "nn/tensor.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class KlSparsity {
 public:
  static constexpr double kDefaultEps = 1e-6;

  KlSparsity(double rho, double beta, double eps = kDefaultEps);

  // Returns the penalty; when grad is non-null resizes it to activation's shape and writes
  // dPenalty/dActivation.
  double compute(const Tensor& activation, Tensor* grad) const;

  double rho() const { return rho_; }
  double beta() const { return beta_; }

 private:
  double rho_, beta_, eps_;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
