#include "nn/losses/mse_loss.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

double MseLoss::compute(const Tensor& pred, const Tensor& target, Tensor* grad) const {
  const double scale = prepare(pred, target, grad);
  const std::size_t n = pred.size();
  const Scalar* p = pred.data();
  const Scalar* t = target.data();
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double d = double(p[i]) - double(t[i]);
    sum += d * d;
  }
  if (grad) {
    Scalar* g = grad->data();
    for (std::size_t i = 0; i < n; ++i) g[i] = Scalar(2 * scale * (double(p[i]) - double(t[i])));
  }
  return sum * scale;
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
