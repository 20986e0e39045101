// Weighted mean squared error: sum w (pred - target)^2 / sum w, per-element weights w >= 0 of
// the target's shape set before each compute(). Gradient 2 w (pred - target) / sum w. The speech
// denoiser's phase-sensitive spectrum approximation (Erdogan et al., ICASSP 2015): the mask's
// error weighted by the noisy bin's (compressed) power, so the loss follows the output's error
// rather than treating silent bins like loud ones.
#pragma once

#include "nn/losses/loss.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class WeightedMseLoss : public Loss {
 public:
  WeightedMseLoss() : Loss(Reduction::Mean) {}
  // ShapeError in compute() when the weights' shape is not the target's; InvalidArgument here
  // for a negative or non-finite weight, or weights that sum to 0.
  void setWeights(const Tensor& w);
  const Tensor& weights() const { return w_; }

  std::string name() const override { return "weighted_mse"; }
  double compute(const Tensor& pred, const Tensor& target, Tensor* grad) const override;

 private:
  Tensor w_;
  double sum_ = 0;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
