// Base class of every layer. A subclass implements:
//   type()          a short name ("Conv2d"), used in messages and by the ONNX exporter
//   outputShape()   shape inference from the input shapes; throws ShapeError when they do not fit
//   forward()       out = f(in)
//   backward()      dIn = dOut * df/din   (gradient w.r.t. the inputs only)
// and, when it has weights:
//   numParams()     how many scalars it owns in the model's flat parameter store
//   initialize()    fills its weight slice (w()) from the generator
//   gradient()      dW = dOut * df/dW     (written into its gradient slice dw(), overwriting it)
// backward() and gradient() may reuse workspace computed by the last forward() of this layer on
// the same input, so call forward() first. A layer with several inputs (Add, Concat) overrides
// numInputs().
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "nn/rng.hpp"
#include "nn/tensor.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

using Inputs = std::vector<const Tensor*>;
using InputGrads = std::vector<Tensor*>;  // an entry may be null: that gradient is not wanted

class Layer {
 public:
  virtual ~Layer() = default;

  virtual std::string type() const = 0;
  virtual int numInputs() const { return 1; }
  virtual Shape outputShape(const std::vector<Shape>& in) const = 0;
  virtual void forward(const Inputs& in, Tensor& out) = 0;
  virtual void backward(const Inputs& in, const Tensor& out, const Tensor& dOut,
                        const InputGrads& dIn) = 0;

  virtual std::size_t numParams() const { return 0; }
  virtual void initialize(Rng& /*rng*/) {}
  virtual void gradient(const Inputs& /*in*/, const Tensor& /*out*/, const Tensor& /*dOut*/) {}

  // The model points the layer at its slices of the flat parameter and gradient stores.
  void bind(Scalar* w, Scalar* dw) {
    w_ = w;
    dw_ = dw;
  }
  Scalar* w() { return w_; }
  const Scalar* w() const { return w_; }
  Scalar* dw() { return dw_; }
  const Scalar* dw() const { return dw_; }

  // Convenience for single-input layers.
  Shape outputShapeFor(const Shape& in) const { return outputShape(std::vector<Shape>{in}); }

 protected:
  Scalar* w_ = nullptr;
  Scalar* dw_ = nullptr;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
