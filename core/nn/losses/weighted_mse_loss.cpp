#include "nn/losses/weighted_mse_loss.hpp"

#include <cmath>

#include "error.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

void WeightedMseLoss::setWeights(const Tensor& w) {
  double s = 0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double v = double(w[i]);
    if (!(v >= 0) || !std::isfinite(v))
      throw InvalidArgument("weighted MSE: weights must be finite and >= 0");
    s += v;
  }
  if (!(s > 0)) throw InvalidArgument("weighted MSE: the weights sum to 0");
  w_ = w;
  sum_ = s;
}

double WeightedMseLoss::compute(const Tensor& pred, const Tensor& target, Tensor* grad) const {
  if (pred.shape() != target.shape() || w_.shape() != target.shape())
    throw ShapeError("weighted MSE: prediction " + pred.shape().str() + ", target " +
                     target.shape().str() + " and weights " + w_.shape().str() + " differ");
  if (grad) grad->resize(pred.shape());
  const std::size_t n = pred.size();
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double d = double(pred[i]) - double(target[i]);
    sum += double(w_[i]) * d * d;
    if (grad) (*grad)[i] = Scalar(2 * double(w_[i]) * d / sum_);
  }
  return sum / sum_;
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
