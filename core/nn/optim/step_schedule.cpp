#include "nn/optim/step_schedule.hpp"

#include <cmath>

#include "error.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

StepSchedule::StepSchedule(double base, double gamma, std::uint64_t every)
    : base_(base), gamma_(gamma), every_(every) {
  if (!(base >= 0)) throw InvalidArgument("StepSchedule: base learning rate must be >= 0");
  if (!(gamma > 0)) throw InvalidArgument("StepSchedule: gamma must be > 0");
  if (every == 0) throw InvalidArgument("StepSchedule: the period must be at least 1");
}

double StepSchedule::lr(std::uint64_t t) const {
  const std::uint64_t periods = t / every_;  // whole periods: the rate drops in steps
  return base_ * std::pow(gamma_, double(periods));
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
