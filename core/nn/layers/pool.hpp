// Spatial resampling layers: max pooling and nearest-neighbour upsampling.
#pragma once

#include <vector>

#include "nn/layer.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

// Max pooling over kernel×kernel windows with a stride (default: the kernel) and no padding.
// Output size floor((in - kernel) / stride) + 1, as ONNX MaxPool with ceil_mode 0.
class MaxPool2d : public Layer {
 public:
  explicit MaxPool2d(int kernel = 2, int stride = 0);
  std::string type() const override { return "MaxPool2d"; }
  Shape outputShape(const std::vector<Shape>& in) const override;
  void forward(const Inputs& in, Tensor& out) override;
  void backward(const Inputs& in, const Tensor& out, const Tensor& dOut,
                const InputGrads& dIn) override;
  int kernel() const { return k_; }
  int stride() const { return s_; }

 private:
  int k_, s_;
  std::vector<std::size_t> argmax_;  // forward's winner per output element (index into input)
};

// Nearest-neighbour upsampling by an integer factor (ONNX Resize, mode nearest).
class Upsample : public Layer {
 public:
  explicit Upsample(int scale = 2);
  std::string type() const override { return "Upsample"; }
  Shape outputShape(const std::vector<Shape>& in) const override;
  void forward(const Inputs& in, Tensor& out) override;
  void backward(const Inputs& in, const Tensor& out, const Tensor& dOut,
                const InputGrads& dIn) override;
  int scale() const { return s_; }

 private:
  int s_;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
