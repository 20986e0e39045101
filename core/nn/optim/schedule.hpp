// A learning-rate schedule: lr as a function of a counter that the caller advances — steps or
// epochs, whichever the schedule was built for. Apply with opt.setLearningRate(s.lr(t)).
#pragma once

#include <cstdint>

#include "nn/scalar.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class Schedule {
 public:
  virtual ~Schedule() = default;
  virtual double lr(std::uint64_t t) const = 0;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
