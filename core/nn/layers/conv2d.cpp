#include "nn/layers/conv2d.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "error.hpp"
#include "nn/layers/conv2d_direct.hpp"
#include "nn/parallel.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

Conv2d::Conv2d(const Conv2dOptions& o)
    : o_(o), kh_(o.kernelH > 0 ? o.kernelH : o.kernel), kw_(o.kernelW > 0 ? o.kernelW : o.kernel) {
  if (o.inChannels < 1 || o.outChannels < 1 || kh_ < 1 || kw_ < 1 || o.stride < 1 ||
      o.padding < 0 || o.dilation < 1)
    throw InvalidArgument("Conv2d: channels, kernel, stride and dilation must be positive");
}

ConvGeometry Conv2d::geometry(const Shape& in) const {
  ConvGeometry g;
  g.c = in.c;
  g.h = in.h;
  g.w = in.w;
  g.kh = kh_;
  g.kw = kw_;
  g.sh = g.sw = o_.stride;
  g.ph = g.pw = o_.padding;
  g.dh = g.dw = o_.dilation;
  g.oh = (in.h + 2 * o_.padding - o_.dilation * (kh_ - 1) - 1) / o_.stride + 1;
  g.ow = (in.w + 2 * o_.padding - o_.dilation * (kw_ - 1) - 1) / o_.stride + 1;
  return g;
}

Shape Conv2d::outputShape(const std::vector<Shape>& in) const {
  const Shape& s = in.at(0);
  if (s.c != o_.inChannels)
    throw ShapeError("Conv2d expects " + std::to_string(o_.inChannels) + " input channels, got " +
                     s.str());
  ConvGeometry g = geometry(s);
  if (s.h + 2 * o_.padding < o_.dilation * (kh_ - 1) + 1 ||
      s.w + 2 * o_.padding < o_.dilation * (kw_ - 1) + 1)
    throw ShapeError("Conv2d: input " + s.str() + " is smaller than the kernel");
  return {s.n, o_.outChannels, g.oh, g.ow};
}

std::size_t Conv2d::numParams() const {
  return std::size_t(o_.outChannels) * o_.inChannels * kh_ * kw_ + (o_.bias ? o_.outChannels : 0);
}

void Conv2d::initialize(Rng& rng) {
  // He et al. 2015, "Delving Deep into Rectifiers": std = sqrt(2 / fan_in).
  const std::size_t nw = std::size_t(o_.outChannels) * o_.inChannels * kh_ * kw_;
  const Scalar std = std::sqrt(Scalar(2) / Scalar(o_.inChannels * kh_ * kw_));
  for (std::size_t i = 0; i < nw; ++i) w_[i] = rng.normal(0, std);
  for (std::size_t i = nw; i < numParams(); ++i) w_[i] = 0;
}

void Conv2d::forward(const Inputs& in, Tensor& out) {
  const Tensor& x = *in[0];
  const Shape os = outputShapeFor(x.shape());
  out.resize(os);
  const ConvGeometry g = geometry(x.shape());
  const int K = g.rows(), P = g.cols(), N = x.shape().n, M = o_.outChannels;
  ConstMatMap W(w_, M, K);
  const Scalar* bias = o_.bias ? w_ + std::size_t(M) * K : nullptr;
  const bool batchParallel = N > 1 && threads() > 1;
  if (direct()) {
#pragma omp parallel for if (batchParallel) schedule(static)
    for (int n = 0; n < N; ++n) {
      Scalar* y = out.sample(n);
      for (int o = 0; o < M; ++o)
        std::fill(y + std::size_t(o) * P, y + std::size_t(o + 1) * P, bias ? bias[o] : Scalar(0));
      directConvForward(x.sample(n), w_, M, g, y);
    }
    return;
  }
  cols_.resize(Eigen::Index(N) * K, P);
#pragma omp parallel for if (batchParallel) schedule(static)
  for (int n = 0; n < N; ++n) {
    Scalar* cols = cols_.data() + std::size_t(n) * K * P;
    im2col(x.sample(n), g, cols);
    MatMap Y(out.sample(n), M, P);
    Y.noalias() = W * ConstMatMap(cols, K, P);
    if (bias) Y.colwise() += ConstVecMap(bias, M);
  }
}

void Conv2d::backward(const Inputs& in, const Tensor& /*out*/, const Tensor& dOut,
                      const InputGrads& dIn) {
  if (!dIn[0]) return;
  const Tensor& x = *in[0];
  Tensor& dx = *dIn[0];
  dx.resize(x.shape());
  dx.setZero();
  const ConvGeometry g = geometry(x.shape());
  const int K = g.rows(), P = g.cols(), N = x.shape().n, M = o_.outChannels;
  ConstMatMap W(w_, M, K);
  const bool batchParallel = N > 1 && threads() > 1;
  if (direct()) {
#pragma omp parallel for if (batchParallel) schedule(static)
    for (int n = 0; n < N; ++n) directConvBackward(dOut.sample(n), w_, M, g, dx.sample(n));
    return;
  }
#pragma omp parallel if (batchParallel)
  {
    Mat dcols(K, P);
#pragma omp for schedule(static)
    for (int n = 0; n < N; ++n) {
      dcols.noalias() = W.transpose() * ConstMatMap(dOut.sample(n), M, P);
      col2im(dcols.data(), g, dx.sample(n));
    }
  }
}

void Conv2d::gradient(const Inputs& in, const Tensor& /*out*/, const Tensor& dOut) {
  const Tensor& x = *in[0];
  const ConvGeometry g = geometry(x.shape());
  const int K = g.rows(), P = g.cols(), N = x.shape().n, M = o_.outChannels;
  MatMap dW(dw_, M, K);
  dW.setZero();
  Scalar* dbias = o_.bias ? dw_ + std::size_t(M) * K : nullptr;
  if (dbias) VecMap(dbias, M).setZero();
  const bool batchParallel = N > 1 && threads() > 1;
  if (direct()) {
    const int T = batchParallel ? threads() : 1;
    std::vector<Mat> partW(T, Mat::Zero(M, K));
#pragma omp parallel for if (batchParallel) schedule(static)
    for (int n = 0; n < N; ++n)
      directConvGradient(x.sample(n), dOut.sample(n), M, g, partW[threadIndex()].data());
    for (int t = 0; t < T; ++t) dW += partW[t];
    if (dbias)
      for (int n = 0; n < N; ++n)
        VecMap(dbias, M) += ConstMatMap(dOut.sample(n), M, P).rowwise().sum();
    return;
  }
  if (!batchParallel) {
    for (int n = 0; n < N; ++n) {
      ConstMatMap dY(dOut.sample(n), M, P);
      dW.noalias() += dY * ConstMatMap(cols_.data() + std::size_t(n) * K * P, K, P).transpose();
      if (dbias) VecMap(dbias, M) += dY.rowwise().sum();
    }
    return;
  }
  std::vector<Mat> partW(threads(), Mat::Zero(M, K));
  std::vector<Vec> partB(threads(), Vec::Zero(M));
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const int t = threadIndex();
    ConstMatMap dY(dOut.sample(n), M, P);
    partW[t].noalias() += dY * ConstMatMap(cols_.data() + std::size_t(n) * K * P, K, P).transpose();
    partB[t] += dY.rowwise().sum();
  }
  for (std::size_t t = 0; t < partW.size(); ++t) {
    dW += partW[t];
    if (dbias) VecMap(dbias, M) += partB[t];
  }
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
