#include "nn/losses/bce_with_logits_loss.hpp"

#include <algorithm>
#include <cmath>

namespace cae::nn {
inline namespace CAE_NN_ABI {

double BceWithLogitsLoss::compute(const Tensor& pred, const Tensor& target, Tensor* grad) const {
  const double scale = prepare(pred, target, grad);
  const std::size_t n = pred.size();
  const Scalar* p = pred.data();
  const Scalar* t = target.data();
  Scalar* g = grad ? grad->data() : nullptr;
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = p[i];
    const double y = t[i];
    const double e = std::exp(-std::abs(x));  // in (0, 1]
    sum += std::max(x, 0.0) - x * y + std::log1p(e);
    if (g) {
      const double sig = x >= 0 ? 1 / (1 + e) : e / (1 + e);
      g[i] = Scalar(scale * (sig - y));
    }
  }
  return sum * scale;
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
