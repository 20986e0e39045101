// 2-D transposed convolution (the adjoint of Conv2d), as ONNX ConvTranspose with group 1.
// Output size: (in - 1)*stride - 2*padding + dilation*(kernel - 1) + outputPadding + 1.
// Weights are stored as ONNX orders them: W[inC][outC][kh][kw], then bias[outC].
#pragma once

#include "nn/im2col.hpp"
#include "nn/layer.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

struct ConvTranspose2dOptions {
  int inChannels = 1, outChannels = 1;
  int kernel = 4;
  int stride = 2;
  int padding = 1;
  int outputPadding = 0;
  int dilation = 1;
  bool bias = true;
};

class ConvTranspose2d : public Layer {
 public:
  explicit ConvTranspose2d(const ConvTranspose2dOptions& o);

  std::string type() const override { return "ConvTranspose2d"; }
  Shape outputShape(const std::vector<Shape>& in) const override;
  void forward(const Inputs& in, Tensor& out) override;
  void backward(const Inputs& in, const Tensor& out, const Tensor& dOut,
                const InputGrads& dIn) override;
  std::size_t numParams() const override;
  void initialize(Rng& rng) override;  // He (Kaiming) normal over the fan-in of each output
  void gradient(const Inputs& in, const Tensor& out, const Tensor& dOut) override;

  const ConvTranspose2dOptions& options() const { return o_; }

 private:
  ConvGeometry geometry(const Shape& in) const;
  // Unfolds dOut for every sample into dcols_ (shared by gradient() and backward()).
  void unfoldGradient(const Tensor& dOut, const ConvGeometry& g, int n);

  ConvTranspose2dOptions o_;
  Mat dcols_;
  const Scalar* dcolsOf_ = nullptr;  // data pointer of the dOut that dcols_ holds, if any
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
