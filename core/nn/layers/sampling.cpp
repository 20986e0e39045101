#include "nn/layers/sampling.hpp"

#include <random>

#include "error.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

Shape Sampling::outputShape(const std::vector<Shape>& in) const {
  if (in.at(0) != in.at(1))
    throw ShapeError("Sampling needs mu and logvar of equal shape, got " + in[0].str() + " and " +
                     in[1].str());
  return in[0];
}

void Sampling::forward(const Inputs& in, Tensor& out) {
  const Tensor& mu = *in[0];
  const Tensor& logvar = *in[1];
  const Shape s = outputShape({mu.shape(), logvar.shape()});
  eps_.resize(s);
  if (!training_) {
    eps_.setZero();
    out = mu;
    return;
  }
  // A fresh distribution per call: its cached second variate would otherwise live outside rng_
  // and a checkpoint of rng_ alone could not repeat the draw.
  std::normal_distribution<Scalar> normal;
  Scalar* e = eps_.data();
  for (std::size_t i = 0; i < eps_.size(); ++i) e[i] = normal(rng_.engine());
  out.resize(s);
  out.vec() = mu.vec().array() + (Scalar(0.5) * logvar.vec().array()).exp() * eps_.vec().array();
}

void Sampling::backward(const Inputs& in, const Tensor&, const Tensor& dOut,
                        const InputGrads& dIn) {
  if (dOut.shape() != eps_.shape())
    throw ShapeError("Sampling: backward() without a matching forward(), dOut " +
                     dOut.shape().str() + ", eps " + eps_.shape().str());
  if (dIn[0]) *dIn[0] = dOut;
  if (dIn[1]) {
    dIn[1]->resize(dOut.shape());
    dIn[1]->vec() = dOut.vec().array() * Scalar(0.5) * (Scalar(0.5) * in[1]->vec().array()).exp() *
                    eps_.vec().array();
  }
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
