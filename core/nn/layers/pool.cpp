#include "nn/layers/pool.hpp"

#include <algorithm>
#include <limits>

#include "error.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

MaxPool2d::MaxPool2d(int kernel, int stride) : k_(kernel), s_(stride > 0 ? stride : kernel) {
  if (k_ < 1 || stride < 0)
    throw InvalidArgument("MaxPool2d: kernel must be positive and stride positive (0: kernel)");
}

Shape MaxPool2d::outputShape(const std::vector<Shape>& in) const {
  const Shape& s = in.at(0);
  if (s.h < k_ || s.w < k_)
    throw ShapeError("MaxPool2d: input " + s.str() + " is smaller than the kernel");
  return {s.n, s.c, (s.h - k_) / s_ + 1, (s.w - k_) / s_ + 1};
}

void MaxPool2d::forward(const Inputs& in, Tensor& out) {
  const Tensor& x = *in[0];
  const Shape is = x.shape();
  const Shape os = outputShape({is});
  out.resize(os);
  argmax_.resize(os.size());
  const long planes = long(is.n) * is.c;
#pragma omp parallel for if (os.size() > (1 << 16)) schedule(static)
  for (long p = 0; p < planes; ++p) {
    const std::size_t inBase = std::size_t(p) * is.plane();
    const std::size_t outBase = std::size_t(p) * os.plane();
    for (int oy = 0; oy < os.h; ++oy) {
      for (int ox = 0; ox < os.w; ++ox) {
        std::size_t best = inBase + std::size_t(oy * s_) * is.w + std::size_t(ox) * s_;
        for (int ky = 0; ky < k_; ++ky) {
          const std::size_t row = inBase + std::size_t(oy * s_ + ky) * is.w + std::size_t(ox) * s_;
          for (int kx = 0; kx < k_; ++kx)
            if (x[row + kx] > x[best]) best = row + kx;
        }
        out[outBase + std::size_t(oy) * os.w + ox] = x[best];
        argmax_[outBase + std::size_t(oy) * os.w + ox] = best;
      }
    }
  }
}

void MaxPool2d::backward(const Inputs& in, const Tensor&, const Tensor& dOut,
                         const InputGrads& dIn) {
  if (!dIn[0]) return;
  dIn[0]->resize(in[0]->shape());
  dIn[0]->setZero();
  for (std::size_t i = 0; i < dOut.size(); ++i) (*dIn[0])[argmax_[i]] += dOut[i];
}

Upsample::Upsample(int scale) : s_(scale) {
  if (s_ < 1) throw InvalidArgument("Upsample: scale must be positive");
}

Shape Upsample::outputShape(const std::vector<Shape>& in) const {
  const Shape& s = in.at(0);
  return {s.n, s.c, s.h * s_, s.w * s_};
}

void Upsample::forward(const Inputs& in, Tensor& out) {
  const Tensor& x = *in[0];
  const Shape is = x.shape();
  const Shape os = outputShape({is});
  out.resize(os);
  const long planes = long(is.n) * is.c;
#pragma omp parallel for if (os.size() > (1 << 16)) schedule(static)
  for (long p = 0; p < planes; ++p) {
    const Scalar* src = x.data() + std::size_t(p) * is.plane();
    Scalar* dst = out.data() + std::size_t(p) * os.plane();
    for (int oy = 0; oy < os.h; ++oy) {
      const Scalar* row = src + std::size_t(oy / s_) * is.w;
      for (int ox = 0; ox < os.w; ++ox) dst[std::size_t(oy) * os.w + ox] = row[ox / s_];
    }
  }
}

void Upsample::backward(const Inputs& in, const Tensor&, const Tensor& dOut,
                        const InputGrads& dIn) {
  if (!dIn[0]) return;
  const Shape is = in[0]->shape();
  const Shape os = dOut.shape();
  dIn[0]->resize(is);
  dIn[0]->setZero();
  const long planes = long(is.n) * is.c;
  for (long p = 0; p < planes; ++p) {
    const Scalar* src = dOut.data() + std::size_t(p) * os.plane();
    Scalar* dst = dIn[0]->data() + std::size_t(p) * is.plane();
    for (int oy = 0; oy < os.h; ++oy)
      for (int ox = 0; ox < os.w; ++ox)
        dst[std::size_t(oy / s_) * is.w + ox / s_] += src[std::size_t(oy) * os.w + ox];
  }
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
