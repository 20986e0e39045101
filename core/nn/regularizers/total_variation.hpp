// Anisotropic total variation of an image batch {N, C, H, W} (Rudin, Osher & Fatemi 1992; the
// anisotropic form sums the absolute vertical and horizontal neighbour differences):
//   TV = lambda * scale * sum_{n,c} [ sum phi(x[h+1,w] - x[h,w]) + sum phi(x[h,w+1] - x[h,w]) ].
// phi(d) = sqrt(d^2 + eps^2) - eps, the smooth (Charbonnier) form, is the default (eps = 1e-3 in
// the image's units): |d| has no derivative at 0, where flat regions sit, and training needs one.
// eps = 0 gives the exact L1 form with subgradient 0 at d == 0. The "- eps" makes a constant
// image score 0 in both forms. scale is 1/(N*C*H*W) for Reduction::Mean (lambda then does not
// depend on image or batch size), 1 for Reduction::Sum.
#pragma once

#include "nn/losses/loss.hpp"
#include "nn/tensor.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class TotalVariation {
 public:
  static constexpr double kDefaultEps = 1e-3;

  explicit TotalVariation(double lambda, double eps = kDefaultEps, Reduction r = Reduction::Mean);

  // Returns the penalty; when grad is non-null resizes it to img's shape and writes dTV/dImg.
  double compute(const Tensor& img, Tensor* grad) const;

  double lambda() const { return lambda_; }
  double eps() const { return eps_; }

 private:
  double lambda_, eps_;
  Reduction reduction_;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
