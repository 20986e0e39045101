// Stochastic contractive penalty for any encoder, convolutional ones included (Rifai et al.,
// "Higher order contractive auto-encoder", ECML PKDD 2011, sec. 3): the squared Frobenius norm
// of the encoder Jacobian is estimated by finite differences along random Gaussian directions,
//   ||J_f(x)||_F^2 ~= (1/K) sum_k ||f(x + sigma eps_k) - f(x)||^2 / sigma^2,  eps_k ~ N(0, I),
// which is unbiased as sigma -> 0 since E[||J eps||^2] = ||J||_F^2. Over a batch of N samples:
//   penalty = lambda * (1/N) sum_n (1/K) sum_k ||f(x_n + sigma eps_nk) - f(x_n)||^2 / sigma^2.
// Its gradient w.r.t. the encoder parameters is exact for the drawn noise: both f(x + sigma eps)
// and f(x) depend on them. We stack the clean batch and its K noisy copies into one batch of
// (K+1)N samples, so one forward and one backward give both paths (the seed of a clean sample is
// minus the sum of its noisy copies' seeds). This relies on samples not interacting inside the
// model, which holds for every layer of the engine (there is no batch normalisation).
// sigma is in the input's units; it trades bias (large sigma) against variance (small sigma).
#pragma once

#include "nn/model.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class ContractiveEstimate {
 public:
  ContractiveEstimate(double lambda, double sigma, int samples = 4);

  // f is node codeNode of model (-1: the model's output), for example the bottleneck of a whole
  // autoencoder; only the nodes up to codeNode are evaluated. Draws the noise from rng (K*N*C*H*W
  // normals, in order), so a fixed rng state gives a fixed estimate. Returns the penalty. When
  // addGradient, adds dPenalty/dParams into model.grads(), keeping what was there (backward
  // overwrites grads(), so the previous content is saved and added back). The model's
  // activations are left from this call's own pass: run it after the main loss's backward.
  double compute(Model& model, const Tensor& x, Rng& rng, bool addGradient = true,
                 int codeNode = -1) const;

  double lambda() const { return lambda_; }
  double sigma() const { return sigma_; }
  int samples() const { return samples_; }

 private:
  double lambda_, sigma_;
  int samples_;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
