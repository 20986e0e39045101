#include "anomaly/alarm.hpp"

#include <algorithm>
#include <string>

#include "error.hpp"

namespace cae::anomaly {

KOfN::KOfN(int k, int n) : k_(k), n_(n) {
  if (!(k >= 1 && k <= n && n <= kMaxWindow))
    throw InvalidArgument("k-of-n alarm: need 1 <= k <= n <= " + std::to_string(kMaxWindow) +
                          ", got k = " + std::to_string(k) + ", n = " + std::to_string(n));
  ring_.assign(std::size_t(n), 0);
}

bool KOfN::push(bool above) {
  if (seen_ == n_) count_ -= ring_[std::size_t(next_)];  // the frame leaving the window
  ring_[std::size_t(next_)] = above ? 1 : 0;
  count_ += above ? 1 : 0;
  next_ = (next_ + 1) % n_;
  seen_ = std::min(seen_ + 1, n_);
  return above && count_ >= k_;
}

void KOfN::reset() {
  std::fill(ring_.begin(), ring_.end(), 0);
  next_ = seen_ = count_ = 0;
}

}  // namespace cae::anomaly
