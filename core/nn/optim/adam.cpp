#include "nn/optim/adam.hpp"

#include <cmath>

#include "error.hpp"
#include "nn/optim/binary_io.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

Adam::Adam(const AdamOptions& o) : Optimizer(o.learningRate), o_(o) {
  if (!(o.beta1 >= 0 && o.beta1 < 1) || !(o.beta2 >= 0 && o.beta2 < 1))
    throw InvalidArgument("Adam: betas must be in [0, 1)");
  if (!(o.eps > 0)) throw InvalidArgument("Adam: eps must be > 0");
  if (!(o.weightDecay >= 0)) throw InvalidArgument("Adam: weight decay must be >= 0");
}

void Adam::update(VecMap params, ConstVecMap grads) {
  if (m_.size() == 0) {
    m_ = Vec::Zero(params.size());
    v_ = Vec::Zero(params.size());
  } else if (m_.size() != params.size()) {
    throw ShapeError("Adam: state holds " + std::to_string(m_.size()) + " parameters, model has " +
                     std::to_string(params.size()));
  }
  const double t = double(steps());
  // Bias corrections in double, once per step for the whole vector.
  const double c1 = 1 - std::pow(o_.beta1, t);
  const double c2 = 1 - std::pow(o_.beta2, t);
  const Scalar b1 = Scalar(o_.beta1), b2 = Scalar(o_.beta2);
  const Scalar stepSize = Scalar(learningRate() / c1);
  const Scalar invSqrtC2 = Scalar(1 / std::sqrt(c2));
  const Scalar eps = Scalar(o_.eps);

  m_.array() = b1 * m_.array() + (1 - b1) * grads.array();
  v_.array() = b2 * v_.array() + (1 - b2) * grads.array().square();
  if (o_.weightDecay > 0) params.array() *= Scalar(1 - learningRate() * o_.weightDecay);
  params.array() -= stepSize * m_.array() / (v_.array().sqrt() * invSqrtC2 + eps);
}

void Adam::saveSlots(BinaryWriter& w) const {
  w.scalars(m_.data(), std::size_t(m_.size()));
  w.scalars(v_.data(), std::size_t(v_.size()));
}

void Adam::loadSlots(BinaryReader& r) {
  r.scalars(loadedM_, "the first moment");
  r.scalars(loadedV_, "the second moment");
  if (loadedM_.size() != loadedV_.size())
    throw FormatError("Adam state: first and second moments differ in length");
}

void Adam::commitSlots() {
  m_.swap(loadedM_);
  v_.swap(loadedV_);
  loadedM_.resize(0);
  loadedV_.resize(0);
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
