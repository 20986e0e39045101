// The temporal rule of a live inspection (issue 12): raise the alarm on a frame only when at
// least k of the last n analysed frames, this one included, were above the threshold. One noisy
// frame then flags nothing, while a defect that stays in view is flagged from its k-th frame on.
//
//   KOfN rule(2, 3);            // 2 of the last 3
//   bool alarm = rule.push(frameAbove);
//   rule.reset();               // after a flush or a gap: the frames before do not count
#pragma once

#include <vector>

namespace cae::anomaly {

class KOfN {
 public:
  static constexpr int kMaxWindow = 1024;

  // InvalidArgument unless 1 <= k <= n <= kMaxWindow. KOfN(1, 1): every frame above is an alarm.
  KOfN(int k = 1, int n = 1);

  // Records one analysed frame; true when it is above and at least k of the last n frames
  // (it included) were: a frame that is not above itself is never an alarm.
  bool push(bool above);
  // Forgets the frames seen (a new stream, a flush, a gap).
  void reset();

  int k() const { return k_; }
  int n() const { return n_; }
  // Frames above among the last min(n, frames seen since reset) frames.
  int count() const { return count_; }

 private:
  int k_, n_;
  std::vector<char> ring_;  // the last n verdicts, oldest overwritten
  int next_ = 0, seen_ = 0, count_ = 0;
};

}  // namespace cae::anomaly
