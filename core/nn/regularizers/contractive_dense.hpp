// Exact contractive penalty for a dense encoder h = act(a), a = W x + b (Rifai et al., "Contractive
// auto-encoders: explicit invariance during feature extraction", ICML 2011, eq. 5):
//   penalty = lambda * (1/N) sum_n ||dh_n/dx_n||_F^2
//           = lambda * (1/N) sum_n sum_j act'(a_nj)^2 * sum_i W_ji^2,
// where x is the Dense layer's own input (the Jacobian of the code w.r.t. the model input when
// the Dense node reads the input directly). act is Sigmoid, Tanh or ReLU (act'' = 0 there).
//
// The gradient has two paths:
//   dPre: dPenalty/da_nj = lambda/N * 2 act'(a_nj) act''(a_nj) ||W_j||^2, a seed for the Dense
//         node in Model::backward(seeds), which carries it on to W, b and x;
//   dW:   the direct term lambda/N * 2 W_ji sum_n act'(a_nj)^2, added into a weight gradient.
// Model::backward overwrites grads(), so add the direct term after it. compute() is cheap
// (O(N*out + out*in)), so the intended use is two calls:
//   const Tensor& pre = model.activation(denseNode);
//   double p = cr.compute(enc, pre, &dPre, nullptr);
//   model.backward({{model.output(), &dLoss}, {denseNode, &dPre}});
//   cr.compute(enc, pre, nullptr, enc.dw());   // adds the direct term into the W slice
#pragma once

#include "nn/layers/dense.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class ContractiveDense {
 public:
  enum class Activation { Sigmoid, Tanh, ReLU };

  ContractiveDense(double lambda, Activation act = Activation::Sigmoid);

  // The Activation matching a layer's type(); throws InvalidArgument for any other layer.
  static Activation activationOf(const Layer& layer);

  // preActivation: the Dense node's output {N, outFeatures, 1, 1}. Returns the penalty. When dPre
  // is non-null it is resized and overwritten with dPenalty/dPre; when dW is non-null the direct
  // term is added into dW[0 .. out*in) (W's layout, row-major out x in; the bias has none).
  double compute(const Dense& encoder, const Tensor& preActivation, Tensor* dPre, Scalar* dW) const;

  double lambda() const { return lambda_; }
  Activation activation() const { return act_; }

 private:
  double lambda_;
  Activation act_;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
