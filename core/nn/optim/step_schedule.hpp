// Step decay: lr(t) = base * gamma^floor(t / every).
#pragma once

#include "nn/optim/schedule.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class StepSchedule : public Schedule {
 public:
  StepSchedule(double base, double gamma, std::uint64_t every);
  double lr(std::uint64_t t) const override;

 private:
  double base_, gamma_;
  std::uint64_t every_;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
