// Fully connected layer, y = W x + b, on the flattened sample (C*H*W features).
// Output shape {N, outFeatures, 1, 1}. Weights W[out][in] then bias[out] (ONNX Gemm, transB=1).
#pragma once

#include "nn/layer.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class Dense : public Layer {
 public:
  Dense(int inFeatures, int outFeatures, bool bias = true);

  std::string type() const override { return "Dense"; }
  Shape outputShape(const std::vector<Shape>& in) const override;
  void forward(const Inputs& in, Tensor& out) override;
  void backward(const Inputs& in, const Tensor& out, const Tensor& dOut,
                const InputGrads& dIn) override;
  std::size_t numParams() const override;
  void initialize(Rng& rng) override;  // Glorot uniform, zero bias
  void gradient(const Inputs& in, const Tensor& out, const Tensor& dOut) override;

  int inFeatures() const { return in_; }
  int outFeatures() const { return out_; }
  bool hasBias() const { return bias_; }

 private:
  int in_, out_;
  bool bias_;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
