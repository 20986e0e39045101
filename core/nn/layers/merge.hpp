// Layers that join two branches: residual Add (same shapes) and skip Concat (along channels).
#pragma once

#include "nn/layer.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class Add : public Layer {
 public:
  std::string type() const override { return "Add"; }
  int numInputs() const override { return 2; }
  Shape outputShape(const std::vector<Shape>& in) const override;
  void forward(const Inputs& in, Tensor& out) override;
  void backward(const Inputs& in, const Tensor& out, const Tensor& dOut,
                const InputGrads& dIn) override;
};

class Concat : public Layer {
 public:
  std::string type() const override { return "Concat"; }
  int numInputs() const override { return 2; }
  Shape outputShape(const std::vector<Shape>& in) const override;
  void forward(const Inputs& in, Tensor& out) override;
  void backward(const Inputs& in, const Tensor& out, const Tensor& dOut,
                const InputGrads& dIn) override;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
