// Element-wise activations. Each is its own layer with no weights.
#pragma once

#include "nn/layer.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

// Shared plumbing: shape is unchanged; subclasses give f(x) and f'(x) from x and y = f(x).
class Activation : public Layer {
 public:
  Shape outputShape(const std::vector<Shape>& in) const override { return in.at(0); }
  void forward(const Inputs& in, Tensor& out) override;
  void backward(const Inputs& in, const Tensor& out, const Tensor& dOut,
                const InputGrads& dIn) override;

 protected:
  virtual void apply(const Scalar* x, Scalar* y, std::size_t n) const = 0;
  // dx = dy * f'(x), with y = f(x) available for activations whose derivative uses it.
  virtual void derive(const Scalar* x, const Scalar* y, const Scalar* dy, Scalar* dx,
                      std::size_t n) const = 0;
};

class ReLU : public Activation {
 public:
  std::string type() const override { return "ReLU"; }

 protected:
  void apply(const Scalar* x, Scalar* y, std::size_t n) const override;
  void derive(const Scalar* x, const Scalar* y, const Scalar* dy, Scalar* dx,
              std::size_t n) const override;
};

class LeakyReLU : public Activation {
 public:
  explicit LeakyReLU(Scalar alpha = Scalar(0.01)) : alpha_(alpha) {}
  std::string type() const override { return "LeakyReLU"; }
  Scalar alpha() const { return alpha_; }

 protected:
  void apply(const Scalar* x, Scalar* y, std::size_t n) const override;
  void derive(const Scalar* x, const Scalar* y, const Scalar* dy, Scalar* dx,
              std::size_t n) const override;

 private:
  Scalar alpha_;
};

class Sigmoid : public Activation {
 public:
  std::string type() const override { return "Sigmoid"; }

 protected:
  void apply(const Scalar* x, Scalar* y, std::size_t n) const override;
  void derive(const Scalar* x, const Scalar* y, const Scalar* dy, Scalar* dx,
              std::size_t n) const override;
};

class Tanh : public Activation {
 public:
  std::string type() const override { return "Tanh"; }

 protected:
  void apply(const Scalar* x, Scalar* y, std::size_t n) const override;
  void derive(const Scalar* x, const Scalar* y, const Scalar* dy, Scalar* dx,
              std::size_t n) const override;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
