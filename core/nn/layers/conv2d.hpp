// 2-D convolution (cross-correlation) with stride, symmetric zero padding and dilation.
// Weights are stored as ONNX orders them: W[outC][inC][kh][kw], then bias[outC].
#pragma once

#include "nn/im2col.hpp"
#include "nn/layer.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

struct Conv2dOptions {
  int inChannels = 1, outChannels = 1;
  int kernel = 3;  // kh = kw = kernel unless kernelH/kernelW are set
  int kernelH = 0, kernelW = 0;
  int stride = 1;
  int padding = 0;
  int dilation = 1;
  bool bias = true;
};

class Conv2d : public Layer {
 public:
  explicit Conv2d(const Conv2dOptions& o);

  std::string type() const override { return "Conv2d"; }
  Shape outputShape(const std::vector<Shape>& in) const override;
  void forward(const Inputs& in, Tensor& out) override;
  void backward(const Inputs& in, const Tensor& out, const Tensor& dOut,
                const InputGrads& dIn) override;
  std::size_t numParams() const override;
  void initialize(Rng& rng) override;  // He (Kaiming) normal, zero bias
  void gradient(const Inputs& in, const Tensor& out, const Tensor& dOut) override;

  const Conv2dOptions& options() const { return o_; }
  int kernelH() const { return kh_; }
  int kernelW() const { return kw_; }

 private:
  ConvGeometry geometry(const Shape& in) const;
  // Few output channels: im2col would move K times more memory than the FLOPs it feeds, so
  // such convolutions run directly as shifted multiply-adds over rows.
  bool direct() const { return o_.outChannels <= kDirectMaxOut; }
  static constexpr int kDirectMaxOut = 4;

  Conv2dOptions o_;
  int kh_, kw_;
  Mat cols_;  // forward's unfolded input, one block of rows()×cols() per sample
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
