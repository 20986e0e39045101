#include "nn/layers/merge.hpp"

#include <algorithm>

#include "error.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

Shape Add::outputShape(const std::vector<Shape>& in) const {
  if (in.at(0) != in.at(1))
    throw ShapeError("Add needs equal shapes, got " + in[0].str() + " and " + in[1].str());
  return in[0];
}

void Add::forward(const Inputs& in, Tensor& out) {
  out.resize(outputShape({in[0]->shape(), in[1]->shape()}));
  out.vec() = in[0]->vec() + in[1]->vec();
}

void Add::backward(const Inputs&, const Tensor&, const Tensor& dOut, const InputGrads& dIn) {
  for (Tensor* d : dIn)
    if (d) *d = dOut;
}

Shape Concat::outputShape(const std::vector<Shape>& in) const {
  const Shape& a = in.at(0);
  const Shape& b = in.at(1);
  if (a.n != b.n || a.h != b.h || a.w != b.w)
    throw ShapeError("Concat needs equal N, H, W, got " + a.str() + " and " + b.str());
  return {a.n, a.c + b.c, a.h, a.w};
}

void Concat::forward(const Inputs& in, Tensor& out) {
  const Tensor& a = *in[0];
  const Tensor& b = *in[1];
  out.resize(outputShape({a.shape(), b.shape()}));
  const std::size_t na = a.shape().perSample(), nb = b.shape().perSample();
  for (int n = 0; n < a.shape().n; ++n) {
    std::copy(a.sample(n), a.sample(n) + na, out.sample(n));
    std::copy(b.sample(n), b.sample(n) + nb, out.sample(n) + na);
  }
}

void Concat::backward(const Inputs& in, const Tensor&, const Tensor& dOut, const InputGrads& dIn) {
  std::size_t offset = 0;
  for (int k = 0; k < 2; ++k) {
    const Shape s = in[k]->shape();
    const std::size_t ns = s.perSample();
    if (dIn[k]) {
      dIn[k]->resize(s);
      for (int n = 0; n < s.n; ++n)
        std::copy(dOut.sample(n) + offset, dOut.sample(n) + offset + ns, dIn[k]->sample(n));
    }
    offset += ns;
  }
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
