#include "nn/regularizers/contractive_dense.hpp"

#include <cmath>
#include <string>
#include <vector>

#include "error.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

namespace {

struct Derivs {
  double d1, d2;  // act'(a), act''(a)
};

Derivs derivs(ContractiveDense::Activation act, double a) {
  switch (act) {
    case ContractiveDense::Activation::Sigmoid: {
      const double s = 1 / (1 + std::exp(-a));
      const double d1 = s * (1 - s);
      return {d1, d1 * (1 - 2 * s)};
    }
    case ContractiveDense::Activation::Tanh: {
      const double t = std::tanh(a);
      const double d1 = 1 - t * t;
      return {d1, -2 * t * d1};
    }
    case ContractiveDense::Activation::ReLU:
      return {a > 0 ? 1.0 : 0.0, 0.0};
  }
  return {0, 0};
}

}  // namespace

ContractiveDense::ContractiveDense(double lambda, Activation act) : lambda_(lambda), act_(act) {
  if (!(lambda >= 0)) throw InvalidArgument("ContractiveDense: lambda must be >= 0");
}

ContractiveDense::Activation ContractiveDense::activationOf(const Layer& layer) {
  const std::string t = layer.type();
  if (t == "Sigmoid") return Activation::Sigmoid;
  if (t == "Tanh") return Activation::Tanh;
  if (t == "ReLU") return Activation::ReLU;
  throw InvalidArgument("ContractiveDense: no exact Jacobian for activation " + t +
                        " (use ContractiveEstimate)");
}

double ContractiveDense::compute(const Dense& encoder, const Tensor& preActivation, Tensor* dPre,
                                 Scalar* dW) const {
  const Shape s = preActivation.shape();
  const int in = encoder.inFeatures(), out = encoder.outFeatures();
  if (s.n < 1 || int(s.perSample()) != out)
    throw ShapeError("ContractiveDense: pre-activation " + s.str() + " does not match Dense with " +
                     std::to_string(out) + " outputs");
  const double scale = lambda_ / s.n;
  ConstMatMap W(encoder.w(), out, in);
  std::vector<double> rowNorm(static_cast<std::size_t>(out));  // ||W_j||^2
  for (int j = 0; j < out; ++j) rowNorm[std::size_t(j)] = W.row(j).cast<double>().squaredNorm();

  std::vector<double> d1Sum(std::size_t(out), 0.0);  // sum_n act'(a_nj)^2
  if (dPre) dPre->resize(s);
  double penalty = 0;
  for (int n = 0; n < s.n; ++n) {
    const Scalar* a = preActivation.sample(n);
    for (int j = 0; j < out; ++j) {
      const Derivs d = derivs(act_, a[j]);
      const double d1sq = d.d1 * d.d1;
      penalty += d1sq * rowNorm[std::size_t(j)];
      d1Sum[std::size_t(j)] += d1sq;
      if (dPre) dPre->sample(n)[j] = Scalar(scale * 2 * d.d1 * d.d2 * rowNorm[std::size_t(j)]);
    }
  }
  if (dW) {
    MatMap G(dW, out, in);
    for (int j = 0; j < out; ++j) G.row(j) += Scalar(scale * 2 * d1Sum[std::size_t(j)]) * W.row(j);
  }
  return scale * penalty;
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
