#include "nn/layers/gdn.hpp"

#include <cmath>

#include "error.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

namespace {
constexpr Scalar kBetaFloor = Scalar(1e-6);
}

Gdn::Gdn(int channels, bool inverse) : channels_(channels), inverse_(inverse) {
  if (channels <= 0) throw InvalidArgument("GDN needs at least one channel");
}

std::size_t Gdn::numParams() const {
  return std::size_t(channels_) * std::size_t(channels_) + std::size_t(channels_);
}

Shape Gdn::outputShape(const std::vector<Shape>& in) const {
  if (in.at(0).c != channels_)
    throw ShapeError(type() + " of " + std::to_string(channels_) + " channels got " +
                     in.at(0).str());
  return in.at(0);
}

void Gdn::initialize(Rng& /*rng*/) {
  const auto c = std::size_t(channels_);
  for (std::size_t i = 0; i < c; ++i)
    for (std::size_t j = 0; j < c; ++j)
      w()[i * c + j] = i == j ? std::sqrt(Scalar(0.1)) : Scalar(0.01);
  for (std::size_t i = 0; i < c; ++i) w()[c * c + i] = 1;
}

std::vector<Scalar> Gdn::gamma() const {
  std::vector<Scalar> g(w(), w() + std::size_t(channels_) * std::size_t(channels_));
  for (Scalar& v : g) v *= v;
  return g;
}

std::vector<Scalar> Gdn::beta() const {
  const std::size_t c = std::size_t(channels_);
  std::vector<Scalar> b(w() + c * c, w() + c * c + c);
  for (Scalar& v : b) v = v * v + kBetaFloor;
  return b;
}

void Gdn::forward(const Inputs& in, Tensor& out) {
  const Tensor& x = *in.at(0);
  const Shape s = outputShape({x.shape()});
  out.resize(s);
  norm_.resize(s);
  const Eigen::Index c = s.c, p = Eigen::Index(s.plane());
  const std::vector<Scalar> g = gamma(), b = beta();
  const ConstMatMap G(g.data(), c, c);
  const Eigen::Map<const Vec> B(b.data(), c);
  for (int n = 0; n < s.n; ++n) {
    const ConstMatMap X(x.sample(n), c, p);
    MatMap S(norm_.sample(n), c, p);
    S.noalias() = G * X.cwiseAbs2();
    S.colwise() += B;
    MatMap Y(out.sample(n), c, p);
    if (inverse_)
      Y = X.cwiseProduct(S.cwiseSqrt());
    else
      Y = X.cwiseQuotient(S.cwiseSqrt());
  }
}

void Gdn::pullback(const Tensor& x, const Tensor& dOut, Tensor& t) const {
  t.resize(x.shape());
  const Scalar e = inverse_ ? Scalar(0.5) : Scalar(-0.5);
  for (std::size_t i = 0; i < x.size(); ++i) t[i] = dOut[i] * x[i] * e * std::pow(norm_[i], e - 1);
}

void Gdn::backward(const Inputs& in, const Tensor& /*out*/, const Tensor& dOut,
                   const InputGrads& dIn) {
  if (!dIn.at(0)) return;
  const Tensor& x = *in.at(0);
  Tensor& dx = *dIn[0];
  dx.resize(x.shape());
  Tensor t;
  pullback(x, dOut, t);
  const Shape s = x.shape();
  const Eigen::Index c = s.c, p = Eigen::Index(s.plane());
  const std::vector<Scalar> g = gamma();
  const ConstMatMap G(g.data(), c, c);
  for (int n = 0; n < s.n; ++n) {
    const ConstMatMap X(x.sample(n), c, p), S(norm_.sample(n), c, p), D(dOut.sample(n), c, p),
        T(t.sample(n), c, p);
    MatMap DX(dx.sample(n), c, p);
    if (inverse_)
      DX = D.cwiseProduct(S.cwiseSqrt());
    else
      DX = D.cwiseQuotient(S.cwiseSqrt());
    DX += 2 * X.cwiseProduct(G.transpose() * T);
  }
}

void Gdn::gradient(const Inputs& in, const Tensor& /*out*/, const Tensor& dOut) {
  const Tensor& x = *in.at(0);
  Tensor t;
  pullback(x, dOut, t);
  const Shape s = x.shape();
  const Eigen::Index c = s.c, p = Eigen::Index(s.plane());
  Mat dGamma = Mat::Zero(c, c);
  Vec dBeta = Vec::Zero(c);
  for (int n = 0; n < s.n; ++n) {
    const ConstMatMap X(x.sample(n), c, p), T(t.sample(n), c, p);
    dGamma.noalias() += T * X.cwiseAbs2().transpose();
    dBeta += T.rowwise().sum();
  }
  // Through the parametrisation: d/dg = 2 g dGamma, d/db = 2 b dBeta.
  const ConstMatMap Graw(w(), c, c);
  MatMap(dw(), c, c) = 2 * Graw.cwiseProduct(dGamma);
  Eigen::Map<Vec>(dw() + c * c, c) = 2 * Eigen::Map<const Vec>(w() + c * c, c).cwiseProduct(dBeta);
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
