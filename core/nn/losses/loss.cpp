#include "nn/losses/loss.hpp"

#include "error.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

double Loss::prepare(const Tensor& pred, const Tensor& target, Tensor* grad) const {
  if (pred.shape() != target.shape())
    throw ShapeError(name() + " loss: prediction " + pred.shape().str() + " and target " +
                     target.shape().str() + " differ");
  if (grad) grad->resize(pred.shape());
  if (reduction_ == Reduction::Sum || pred.size() == 0) return 1.0;
  return 1.0 / double(pred.size());
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
