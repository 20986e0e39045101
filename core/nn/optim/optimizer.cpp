#include "nn/optim/optimizer.hpp"

#include <cmath>

#include "error.hpp"
#include "nn/optim/binary_io.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

namespace {
constexpr char kStateMagic[8] = {'C', 'A', 'E', 'O', 'P', 'T', '1', '\0'};
}

Optimizer::Optimizer(double learningRate) { setLearningRate(learningRate); }

void Optimizer::setLearningRate(double lr) {
  if (!(lr >= 0) || !std::isfinite(lr))
    throw InvalidArgument("optimizer: learning rate must be finite and >= 0");
  lr_ = lr;
}

void Optimizer::step(VecMap params, ConstVecMap grads) {
  if (params.size() != grads.size())
    throw ShapeError(type() + ": " + std::to_string(params.size()) + " parameters but " +
                     std::to_string(grads.size()) + " gradients");
  ++step_;
  try {
    update(params, grads);
  } catch (...) {
    --step_;
    throw;
  }
}

void Optimizer::saveState(std::ostream& os) const {
  BinaryWriter w(os);
  w.bytes(kStateMagic, sizeof kStateMagic);
  w.str(type());
  w.u32(std::uint32_t(sizeof(Scalar)));
  w.u64(step_);
  w.f64(lr_);
  saveSlots(w);
}

void Optimizer::loadState(std::istream& is) {
  BinaryReader r(is, type() + " state");
  char magic[sizeof kStateMagic];
  r.bytes(magic, sizeof magic, "the header");
  if (std::string(magic, sizeof magic) != std::string(kStateMagic, sizeof kStateMagic))
    throw FormatError(type() + " state: not an optimizer state (bad magic)");
  const std::string t = r.str(64, "the optimizer type");
  if (t != type()) throw FormatError(type() + " state: holds the state of a " + t + " optimizer");
  if (r.u32() != sizeof(Scalar))
    throw FormatError(type() + " state: saved with a different scalar precision");
  const std::uint64_t step = r.u64();
  const double lr = r.f64();
  if (!(lr >= 0) || !std::isfinite(lr)) throw FormatError(type() + " state: bad learning rate");
  loadSlots(r);
  step_ = step;
  lr_ = lr;
  commitSlots();
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
