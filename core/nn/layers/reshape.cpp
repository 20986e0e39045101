#include "nn/layers/reshape.hpp"

#include <algorithm>

#include "error.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {
namespace {
void copyAs(const Tensor& src, Shape s, Tensor& dst) {
  dst.resize(s);
  std::copy(src.data(), src.data() + src.size(), dst.data());
}
}  // namespace

Reshape::Reshape(int c, int h, int w) : c_(c), h_(h), w_(w) {
  if (c < 1 || h < 1 || w < 1) throw InvalidArgument("Reshape: target dims must be positive");
}

Shape Reshape::outputShape(const std::vector<Shape>& in) const {
  const Shape& s = in.at(0);
  if (s.perSample() != std::size_t(c_) * h_ * w_)
    throw ShapeError("Reshape to [" + std::to_string(c_) + "," + std::to_string(h_) + "," +
                     std::to_string(w_) + "] does not fit input " + s.str());
  return {s.n, c_, h_, w_};
}

void Reshape::forward(const Inputs& in, Tensor& out) {
  copyAs(*in[0], outputShape({in[0]->shape()}), out);
}

void Reshape::backward(const Inputs& in, const Tensor&, const Tensor& dOut, const InputGrads& dIn) {
  if (dIn[0]) copyAs(dOut, in[0]->shape(), *dIn[0]);
}

Shape Flatten::outputShape(const std::vector<Shape>& in) const {
  const Shape& s = in.at(0);
  return {s.n, int(s.perSample()), 1, 1};
}

void Flatten::forward(const Inputs& in, Tensor& out) {
  copyAs(*in[0], outputShape({in[0]->shape()}), out);
}

void Flatten::backward(const Inputs& in, const Tensor&, const Tensor& dOut, const InputGrads& dIn) {
  if (dIn[0]) copyAs(dOut, in[0]->shape(), *dIn[0]);
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
