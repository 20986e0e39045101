#include "nn/layers/dense.hpp"

#include <cmath>

#include "error.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

Dense::Dense(int inFeatures, int outFeatures, bool bias)
    : in_(inFeatures), out_(outFeatures), bias_(bias) {
  if (in_ < 1 || out_ < 1) throw InvalidArgument("Dense: feature counts must be positive");
}

Shape Dense::outputShape(const std::vector<Shape>& in) const {
  const Shape& s = in.at(0);
  if (int(s.perSample()) != in_)
    throw ShapeError("Dense expects " + std::to_string(in_) + " features per sample, got " +
                     s.str());
  return {s.n, out_, 1, 1};
}

std::size_t Dense::numParams() const { return std::size_t(in_) * out_ + (bias_ ? out_ : 0); }

void Dense::initialize(Rng& rng) {
  // Glorot & Bengio 2010: U(-a, a), a = sqrt(6 / (fan_in + fan_out)).
  const Scalar a = std::sqrt(Scalar(6) / Scalar(in_ + out_));
  const std::size_t nw = std::size_t(in_) * out_;
  for (std::size_t i = 0; i < nw; ++i) w_[i] = rng.uniform(-a, a);
  for (std::size_t i = nw; i < numParams(); ++i) w_[i] = 0;
}

void Dense::forward(const Inputs& in, Tensor& out) {
  const Tensor& x = *in[0];
  out.resize(outputShapeFor(x.shape()));
  const int N = x.shape().n;
  ConstMatMap W(w_, out_, in_);
  MatMap Y(out.data(), N, out_);
  Y.noalias() = ConstMatMap(x.data(), N, in_) * W.transpose();
  if (bias_) Y.rowwise() += ConstVecMap(w_ + std::size_t(in_) * out_, out_).transpose();
}

void Dense::backward(const Inputs& in, const Tensor& /*out*/, const Tensor& dOut,
                     const InputGrads& dIn) {
  if (!dIn[0]) return;
  const Tensor& x = *in[0];
  dIn[0]->resize(x.shape());
  const int N = x.shape().n;
  MatMap(dIn[0]->data(), N, in_).noalias() =
      ConstMatMap(dOut.data(), N, out_) * ConstMatMap(w_, out_, in_);
}

void Dense::gradient(const Inputs& in, const Tensor& /*out*/, const Tensor& dOut) {
  const Tensor& x = *in[0];
  const int N = x.shape().n;
  ConstMatMap dY(dOut.data(), N, out_);
  MatMap(dw_, out_, in_).noalias() = dY.transpose() * ConstMatMap(x.data(), N, in_);
  if (bias_) VecMap(dw_ + std::size_t(in_) * out_, out_) = dY.colwise().sum().transpose();
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
