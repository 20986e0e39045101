#include "nn/regularizers/activity_l1.hpp"

#include <cmath>

#include "error.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

ActivityL1::ActivityL1(double lambda) : lambda_(lambda) {
  if (!(lambda >= 0)) throw InvalidArgument("ActivityL1: lambda must be >= 0");
}

double ActivityL1::compute(const Tensor& activation, Tensor* grad) const {
  const int N = activation.shape().n;
  if (N < 1) throw ShapeError("ActivityL1: empty batch " + activation.shape().str());
  const double scale = lambda_ / N;
  const std::size_t n = activation.size();
  const Scalar* a = activation.data();
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += std::abs(double(a[i]));
  if (grad) {
    grad->resize(activation.shape());
    Scalar* g = grad->data();
    for (std::size_t i = 0; i < n; ++i) g[i] = Scalar(a[i] > 0 ? scale : a[i] < 0 ? -scale : 0.0);
  }
  return scale * sum;
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
