// Base class of the optimizers. An optimizer updates the model's flat parameter vector from the
// matching gradient vector (Model::params() / Model::grads()), one call per training step.
// A subclass implements:
//   type()        a short name ("Adam"), stored in its state so states cannot be swapped
//   update()      the update itself; steps() already counts the current step (1 on the first)
//   saveSlots()   / loadSlots(): its per-parameter buffers (momentum, moments)
#pragma once

#include <cstdint>
#include <istream>
#include <ostream>
#include <string>

#include "nn/scalar.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class BinaryReader;
class BinaryWriter;

class Optimizer {
 public:
  explicit Optimizer(double learningRate);
  virtual ~Optimizer() = default;

  virtual std::string type() const = 0;

  // One update of params from grads (same length). Advances steps() by exactly one.
  void step(VecMap params, ConstVecMap grads);
  // For opt.step(model.params(), model.grads()) on a non-const model.
  void step(VecMap params, VecMap grads) { step(params, ConstVecMap(grads.data(), grads.size())); }

  // Number of step() calls so far (restored by loadState()).
  std::uint64_t steps() const { return step_; }
  double learningRate() const { return lr_; }
  void setLearningRate(double lr);

  // Binary state: type, step counter, learning rate and per-parameter buffers. loadState()
  // throws FormatError on a truncated or foreign state and leaves the optimizer unchanged then.
  void saveState(std::ostream& os) const;
  void loadState(std::istream& is);

 protected:
  virtual void update(VecMap params, ConstVecMap grads) = 0;
  virtual void saveSlots(BinaryWriter& w) const = 0;
  // Reads buffers into temporaries; commitSlots() installs them once the whole state parsed.
  virtual void loadSlots(BinaryReader& r) = 0;
  virtual void commitSlots() = 0;

 private:
  double lr_;
  std::uint64_t step_ = 0;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
