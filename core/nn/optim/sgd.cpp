#include "nn/optim/sgd.hpp"

#include "error.hpp"
#include "nn/optim/binary_io.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

Sgd::Sgd(const SgdOptions& o) : Optimizer(o.learningRate), o_(o) {
  if (!(o.momentum >= 0 && o.momentum < 1))
    throw InvalidArgument("Sgd: momentum must be in [0, 1)");
  if (o.nesterov && o.momentum == 0) throw InvalidArgument("Sgd: Nesterov needs momentum > 0");
}

void Sgd::update(VecMap params, ConstVecMap grads) {
  const Scalar lr = Scalar(learningRate());
  if (o_.momentum == 0) {
    params.array() -= lr * grads.array();
    return;
  }
  const Scalar mu = Scalar(o_.momentum);
  if (velocity_.size() == 0) {
    velocity_ = grads;  // PyTorch: the first step's velocity is the gradient itself
  } else {
    if (velocity_.size() != params.size())
      throw ShapeError("Sgd: state holds " + std::to_string(velocity_.size()) +
                       " parameters, model has " + std::to_string(params.size()));
    velocity_.array() = mu * velocity_.array() + grads.array();
  }
  if (o_.nesterov)
    params.array() -= lr * (grads.array() + mu * velocity_.array());
  else
    params.array() -= lr * velocity_.array();
}

void Sgd::saveSlots(BinaryWriter& w) const {
  w.scalars(velocity_.data(), std::size_t(velocity_.size()));
}

void Sgd::loadSlots(BinaryReader& r) { r.scalars(loaded_, "the velocity"); }

void Sgd::commitSlots() {
  velocity_.swap(loaded_);
  loaded_.resize(0);
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
