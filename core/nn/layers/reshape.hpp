// Shape-only layers: Flatten to {N, C*H*W, 1, 1} and Reshape to a per-sample {C, H, W}.
#pragma once

#include "nn/layer.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class Reshape : public Layer {
 public:
  // Target per-sample shape; its element count must equal the input's.
  Reshape(int c, int h, int w);
  std::string type() const override { return "Reshape"; }
  Shape outputShape(const std::vector<Shape>& in) const override;
  void forward(const Inputs& in, Tensor& out) override;
  void backward(const Inputs& in, const Tensor& out, const Tensor& dOut,
                const InputGrads& dIn) override;
  Shape target() const { return {1, c_, h_, w_}; }

 private:
  int c_, h_, w_;
};

class Flatten : public Layer {
 public:
  std::string type() const override { return "Flatten"; }
  Shape outputShape(const std::vector<Shape>& in) const override;
  void forward(const Inputs& in, Tensor& out) override;
  void backward(const Inputs& in, const Tensor& out, const Tensor& dOut,
                const InputGrads& dIn) override;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
