// Cosine annealing without restarts (Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with
// Warm Restarts", ICLR 2017), after an optional linear warmup (Goyal et al. 2017):
//   t < warmup:         lr = base * (t + 1) / warmup
//   warmup <= t < total: lr = min + (base - min) (1 + cos(pi (t - warmup) / (total - warmup))) / 2
//   t >= total:         lr = min
#pragma once

#include "nn/optim/schedule.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class CosineSchedule : public Schedule {
 public:
  CosineSchedule(double base, std::uint64_t total, std::uint64_t warmup = 0, double minLr = 0);
  double lr(std::uint64_t t) const override;

 private:
  double base_, min_;
  std::uint64_t total_, warmup_;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
