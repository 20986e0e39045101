#include "nn/optim/cosine_schedule.hpp"

#include <cmath>

#include "error.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

namespace {
constexpr double kPi = 3.14159265358979323846;
}

CosineSchedule::CosineSchedule(double base, std::uint64_t total, std::uint64_t warmup, double minLr)
    : base_(base), min_(minLr), total_(total), warmup_(warmup) {
  if (!(base >= 0) || !(minLr >= 0) || minLr > base)
    throw InvalidArgument("CosineSchedule: need 0 <= minLr <= base");
  if (warmup >= total) throw InvalidArgument("CosineSchedule: warmup must be shorter than total");
}

double CosineSchedule::lr(std::uint64_t t) const {
  if (t < warmup_) return base_ * double(t + 1) / double(warmup_);
  if (t >= total_) return min_;
  const double progress = double(t - warmup_) / double(total_ - warmup_);
  return min_ + (base_ - min_) * 0.5 * (1 + std::cos(kPi * progress));
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
