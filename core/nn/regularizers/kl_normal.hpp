// KL divergence of a diagonal Gaussian code from the standard normal prior, the regularizer of a
// variational autoencoder (Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014,
// appendix B), weighted as in beta-VAE (Higgins et al., ICLR 2017):
//   penalty = weight * (1/N) * sum_{n, j} -0.5 * (1 + logvar_nj - mu_nj^2 - exp(logvar_nj)),
// i.e. KL(N(mu, exp(logvar)) || N(0, I)) summed over the latent dimensions of each sample (all of
// C*H*W for a conv code) and averaged over the batch of N. To weigh it as in the ELBO, pair it
// with a reconstruction loss that is also summed per sample and averaged over N (MseLoss with
// Reduction::Sum, divided by N); with Reduction::Mean, scale weight down by C*H*W of the image.
// The gradients are seeds for the mu and logvar nodes in Model::backward(seeds).
#pragma once

#include "nn/tensor.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class KlNormal {
 public:
  explicit KlNormal(double weight = 1.0);

  // Returns the penalty; a non-null dMu / dLogvar is resized to mu's shape and receives
  // dPenalty/dMu = weight * mu / N, dPenalty/dLogvar = weight * 0.5 * (exp(logvar) - 1) / N.
  // ShapeError when mu and logvar differ in shape or are empty.
  double compute(const Tensor& mu, const Tensor& logvar, Tensor* dMu, Tensor* dLogvar) const;

  double weight() const { return weight_; }

 private:
  double weight_;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
