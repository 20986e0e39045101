#include "nn/losses/l1_loss.hpp"

#include <cmath>

namespace cae::nn {
inline namespace CAE_NN_ABI {

double L1Loss::compute(const Tensor& pred, const Tensor& target, Tensor* grad) const {
  const double scale = prepare(pred, target, grad);
  const std::size_t n = pred.size();
  const Scalar* p = pred.data();
  const Scalar* t = target.data();
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += std::abs(double(p[i]) - double(t[i]));
  if (grad) {
    Scalar* g = grad->data();
    for (std::size_t i = 0; i < n; ++i) {
      const double d = double(p[i]) - double(t[i]);
      g[i] = Scalar(d > 0 ? scale : d < 0 ? -scale : 0.0);
    }
  }
  return sum * scale;
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
