#include "nn/losses/bce_loss.hpp"

#include <algorithm>
#include <cmath>

#include "error.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

BceLoss::BceLoss(Reduction r, double eps) : Loss(r), eps_(eps) {
  if (!(eps > 0 && eps < 0.5)) throw InvalidArgument("BceLoss: eps must be in (0, 0.5)");
}

double BceLoss::compute(const Tensor& pred, const Tensor& target, Tensor* grad) const {
  const double scale = prepare(pred, target, grad);
  const std::size_t n = pred.size();
  const Scalar* p = pred.data();
  const Scalar* t = target.data();
  Scalar* g = grad ? grad->data() : nullptr;
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double q = std::clamp(double(p[i]), eps_, 1 - eps_);
    const double y = t[i];
    // log1p(-q) keeps precision for q near 0, where 1 - q would round.
    sum -= y * std::log(q) + (1 - y) * std::log1p(-q);
    if (g) g[i] = Scalar(scale * (q - y) / (q * (1 - q)));
  }
  return sum * scale;
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
