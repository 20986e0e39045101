// The learned factorized entropy model of a compression autoencoder (Ballé, Minnen, Singh, Hwang,
// Johnston, "Variational image compression with a scale hyperprior", ICLR 2018, appendix 6.1;
// CompressAI's EntropyBottleneck): each latent channel c has its own cumulative density
//   c_c(x) = sigmoid(F_c(x)),  F_c = L_K o ... o L_1,  L_k(h) = g_k(softplus(H_k) h + b_k),
//   g_k(z) = z + tanh(a_k) * tanh(z) for k < K, g_K the identity,
// monotone by construction (softplus(H) > 0, tanh(a) > -1). Layer widths 1-3-3-3-3-1.
// Given the noisy or rounded latents v (one input, N x C x H x W), forward() writes the bits of
// each, -log2 P(v), with P(v) = c(v + 1/2) - c(v - 1/2) bounded below by 1e-9 (as CompressAI;
// the bound passes the gradient through, as its LowerBound does). Summed and divided by the
// picture's pixels, that is the rate term R of the loss lambda*D + R (bits per pixel); backward()
// gives dR/dv for the analysis transform, gradient() trains the densities.
// cumulative() evaluates c_c for building the coder's CDF tables (core/codec) after training.
#pragma once

#include <array>

#include "nn/layer.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class EntropyBottleneck : public Layer {
 public:
  static constexpr int kLayers = 5;
  static constexpr std::array<int, kLayers + 1> kWidths{1, 3, 3, 3, 3, 1};
  static constexpr double kLikelihoodBound = 1e-9;

  // initScale: the initial density's spread (CompressAI's init_scale, 10).
  explicit EntropyBottleneck(int channels, double initScale = 10.0);

  std::string type() const override { return "EntropyBottleneck"; }
  Shape outputShape(const std::vector<Shape>& in) const override;
  void forward(const Inputs& in, Tensor& out) override;
  void backward(const Inputs& in, const Tensor& out, const Tensor& dOut,
                const InputGrads& dIn) override;
  std::size_t numParams() const override;
  void initialize(Rng& rng) override;
  void gradient(const Inputs& in, const Tensor& out, const Tensor& dOut) override;

  int channels() const { return channels_; }
  static std::size_t paramsPerChannel();
  // c_c(x): the learned probability that channel c's latent is below x.
  double cumulative(int channel, double x) const;
  // F_c(x), the logit of cumulative().
  double logit(int channel, double x) const;

 private:
  int channels_;
  double initScale_;
  // Per element of the last forward(): dBits/dv, for backward().
  Tensor dBits_;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
