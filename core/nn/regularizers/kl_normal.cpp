#include "nn/regularizers/kl_normal.hpp"

#include <cmath>

#include "error.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

KlNormal::KlNormal(double weight) : weight_(weight) {
  if (!(weight >= 0)) throw InvalidArgument("KlNormal: weight must be >= 0");
}

double KlNormal::compute(const Tensor& mu, const Tensor& logvar, Tensor* dMu,
                         Tensor* dLogvar) const {
  const Shape s = mu.shape();
  if (logvar.shape() != s)
    throw ShapeError("KlNormal needs mu and logvar of equal shape, got " + s.str() + " and " +
                     logvar.shape().str());
  if (s.size() == 0) throw ShapeError("KlNormal: empty code " + s.str());
  const double scale = weight_ / s.n;
  if (dMu) dMu->resize(s);
  if (dLogvar) dLogvar->resize(s);
  // Summed in double: a float sum over a large batch of small terms would lose the penalty.
  double sum = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const double m = mu[i], lv = logvar[i], var = std::exp(lv);
    sum += -0.5 * (1 + lv - m * m - var);
    if (dMu) (*dMu)[i] = Scalar(scale * m);
    if (dLogvar) (*dLogvar)[i] = Scalar(scale * 0.5 * (var - 1));
  }
  return scale * sum;
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
