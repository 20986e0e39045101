#include "nn/layers/conv_transpose2d.hpp"

#include <cmath>
#include <vector>

#include "error.hpp"
#include "nn/parallel.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

ConvTranspose2d::ConvTranspose2d(const ConvTranspose2dOptions& o) : o_(o) {
  if (o.inChannels < 1 || o.outChannels < 1 || o.kernel < 1 || o.stride < 1 || o.padding < 0 ||
      o.dilation < 1 || o.outputPadding < 0 || o.outputPadding >= std::max(o.stride, o.dilation))
    throw InvalidArgument(
        "ConvTranspose2d: channels, kernel, stride, dilation must be positive and "
        "outputPadding < max(stride, dilation)");
}

// The geometry of the equivalent Conv2d that maps the output image onto the input grid.
ConvGeometry ConvTranspose2d::geometry(const Shape& in) const {
  ConvGeometry g;
  g.c = o_.outChannels;
  g.kh = g.kw = o_.kernel;
  g.sh = g.sw = o_.stride;
  g.ph = g.pw = o_.padding;
  g.dh = g.dw = o_.dilation;
  g.h = (in.h - 1) * o_.stride - 2 * o_.padding + o_.dilation * (o_.kernel - 1) + o_.outputPadding +
        1;
  g.w = (in.w - 1) * o_.stride - 2 * o_.padding + o_.dilation * (o_.kernel - 1) + o_.outputPadding +
        1;
  g.oh = in.h;
  g.ow = in.w;
  return g;
}

Shape ConvTranspose2d::outputShape(const std::vector<Shape>& in) const {
  const Shape& s = in.at(0);
  if (s.c != o_.inChannels)
    throw ShapeError("ConvTranspose2d expects " + std::to_string(o_.inChannels) +
                     " input channels, got " + s.str());
  const ConvGeometry g = geometry(s);
  if (g.h < 1 || g.w < 1) throw ShapeError("ConvTranspose2d: empty output for input " + s.str());
  return {s.n, o_.outChannels, g.h, g.w};
}

std::size_t ConvTranspose2d::numParams() const {
  return std::size_t(o_.inChannels) * o_.outChannels * o_.kernel * o_.kernel +
         (o_.bias ? o_.outChannels : 0);
}

void ConvTranspose2d::initialize(Rng& rng) {
  // He et al. 2015: each output sums inC*k*k/stride² inputs on average.
  const std::size_t nw = std::size_t(o_.inChannels) * o_.outChannels * o_.kernel * o_.kernel;
  const Scalar fanIn = std::max<Scalar>(
      1, Scalar(o_.inChannels * o_.kernel * o_.kernel) / Scalar(o_.stride * o_.stride));
  const Scalar std = std::sqrt(Scalar(2) / fanIn);
  for (std::size_t i = 0; i < nw; ++i) w_[i] = rng.normal(0, std);
  for (std::size_t i = nw; i < numParams(); ++i) w_[i] = 0;
}

void ConvTranspose2d::forward(const Inputs& in, Tensor& out) {
  const Tensor& x = *in[0];
  out.resize(outputShapeFor(x.shape()));
  dcolsOf_ = nullptr;
  const ConvGeometry g = geometry(x.shape());
  const int K = g.rows(), P = g.cols(), N = x.shape().n, C = o_.inChannels;
  ConstMatMap W(w_, C, K);
  const Scalar* bias = o_.bias ? w_ + std::size_t(C) * K : nullptr;
  const std::size_t plane = std::size_t(g.h) * g.w;
  const bool batchParallel = N > 1 && threads() > 1;
#pragma omp parallel if (batchParallel)
  {
    Mat cols(K, P);
#pragma omp for schedule(static)
    for (int n = 0; n < N; ++n) {
      cols.noalias() = W.transpose() * ConstMatMap(x.sample(n), C, P);
      Scalar* y = out.sample(n);
      for (int c = 0; c < o_.outChannels; ++c)
        std::fill(y + c * plane, y + (c + 1) * plane, bias ? bias[c] : Scalar(0));
      col2im(cols.data(), g, y);
    }
  }
}

void ConvTranspose2d::unfoldGradient(const Tensor& dOut, const ConvGeometry& g, int n) {
  im2col(dOut.sample(n), g, dcols_.data() + std::size_t(n) * g.rows() * g.cols());
}

void ConvTranspose2d::gradient(const Inputs& in, const Tensor& /*out*/, const Tensor& dOut) {
  const Tensor& x = *in[0];
  const ConvGeometry g = geometry(x.shape());
  const int K = g.rows(), P = g.cols(), N = x.shape().n, C = o_.inChannels;
  dcols_.resize(Eigen::Index(N) * K, P);
  MatMap dW(dw_, C, K);
  dW.setZero();
  Scalar* dbias = o_.bias ? dw_ + std::size_t(C) * K : nullptr;
  const std::size_t plane = std::size_t(g.h) * g.w;
  const bool batchParallel = N > 1 && threads() > 1;
  const int T = batchParallel ? threads() : 1;
  std::vector<Mat> partW(T, Mat::Zero(C, K));
  std::vector<Vec> partB(T, Vec::Zero(o_.outChannels));
#pragma omp parallel for if (batchParallel) schedule(static)
  for (int n = 0; n < N; ++n) {
    const int t = batchParallel ? threadIndex() : 0;
    unfoldGradient(dOut, g, n);
    partW[t].noalias() += ConstMatMap(x.sample(n), C, P) *
                          ConstMatMap(dcols_.data() + std::size_t(n) * K * P, K, P).transpose();
    const Scalar* dy = dOut.sample(n);
    for (int c = 0; c < o_.outChannels; ++c)
      partB[t][c] += ConstVecMap(dy + c * plane, Eigen::Index(plane)).sum();
  }
  for (int t = 0; t < T; ++t) dW += partW[t];
  if (dbias) {
    VecMap db(dbias, o_.outChannels);
    db.setZero();
    for (int t = 0; t < T; ++t) db += partB[t];
  }
  dcolsOf_ = dOut.data();
}

void ConvTranspose2d::backward(const Inputs& in, const Tensor& /*out*/, const Tensor& dOut,
                               const InputGrads& dIn) {
  if (!dIn[0]) return;
  const Tensor& x = *in[0];
  Tensor& dx = *dIn[0];
  dx.resize(x.shape());
  const ConvGeometry g = geometry(x.shape());
  const int K = g.rows(), P = g.cols(), N = x.shape().n, C = o_.inChannels;
  const bool reuse = dcolsOf_ == dOut.data() && dcols_.rows() == Eigen::Index(N) * K;
  if (!reuse) dcols_.resize(Eigen::Index(N) * K, P);
  ConstMatMap W(w_, C, K);
  const bool batchParallel = N > 1 && threads() > 1;
#pragma omp parallel for if (batchParallel) schedule(static)
  for (int n = 0; n < N; ++n) {
    if (!reuse) unfoldGradient(dOut, g, n);
    MatMap(dx.sample(n), C, P).noalias() =
        W * ConstMatMap(dcols_.data() + std::size_t(n) * K * P, K, P);
  }
  dcolsOf_ = nullptr;
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
