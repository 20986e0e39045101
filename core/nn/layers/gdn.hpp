// Generalized divisive normalization (Ballé, Laparra, Simoncelli, "Density modeling of images
// using a generalized normalization transformation", ICLR 2016; the simplified form of their
// 2017 codec and of CompressAI's GDN), at every pixel over the channels:
//   GDN   y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2)
//   IGDN  y_i = x_i * sqrt(beta_i + sum_j gamma_ij x_j^2)     (the synthesis side's inverse)
// beta and gamma stay positive through their parametrisation: beta = b^2 + 1e-6, gamma = g^2
// (b, g the stored weights; gamma starts at 0.1 on the diagonal and 1e-4 off it, beta at 1, as
// CompressAI). Weights: g (C x C, row i: gamma_i.), then b (C).
#pragma once

#include "nn/layer.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class Gdn : public Layer {
 public:
  explicit Gdn(int channels, bool inverse = false);

  std::string type() const override { return inverse_ ? "IGDN" : "GDN"; }
  Shape outputShape(const std::vector<Shape>& in) const override;
  void forward(const Inputs& in, Tensor& out) override;
  void backward(const Inputs& in, const Tensor& out, const Tensor& dOut,
                const InputGrads& dIn) override;
  std::size_t numParams() const override;
  void initialize(Rng& rng) override;
  void gradient(const Inputs& in, const Tensor& out, const Tensor& dOut) override;

  int channels() const { return channels_; }
  bool inverse() const { return inverse_; }
  // The effective beta (C) and gamma (C x C, row-major), for export.
  std::vector<Scalar> beta() const;
  std::vector<Scalar> gamma() const;

 private:
  int channels_;
  bool inverse_;
  Tensor norm_;  // beta + gamma x^2 of the last forward()
  // t = dOut * x * e * s^(e-1), per element (e = -1/2 or 1/2): shared by backward and gradient.
  void pullback(const Tensor& x, const Tensor& dOut, Tensor& t) const;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
