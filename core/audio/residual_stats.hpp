// Statistics of normal analysis windows for scoring machine-sound anomalies by how far a
// window's mean vector lies from the normal ones (a Mahalanobis distance), beside the plain mean
// reconstruction error. audio-anomaly models carry them for the window's mean signed residual per
// mel band (reconstruction - input, averaged over each context's frames and the window's
// contexts): a fault that shifts a few bands steadily (a missing harmonic, a modulation's
// sidebands) moves that mean far in units of its normal spread, while it changes the mean
// squared error of 640 values little. The benchmark's classical baseline uses the same distance
// on the window's mean log-mel frame.
//   ResidualStats s = ResidualStats::fit(normalWindows, 0.1);  // held-out normal windows
//   double score = s.score(window.data());                     // mean squared distance per band
//   metadata: s.meanText() -> cae.residual_mean, s.precisionText() -> cae.residual_precision
#pragma once

#include <string>
#include <vector>

namespace cae::audio {

class ResidualStats {
 public:
  ResidualStats() = default;
  // The mean and the inverse of the covariance shrunk towards its mean variance,
  // (1 - shrinkage) S + shrinkage tr(S)/d I (Ledoit-Wolf's target; 0 < shrinkage <= 1) of the
  // vectors, all of one size d. InvalidArgument for fewer than two vectors, unequal sizes, a
  // shrinkage outside (0, 1] or vectors that do not vary at all.
  static ResidualStats fit(const std::vector<std::vector<double>>& vectors, double shrinkage);
  // From a model's metadata: `mean` d numbers, `precision` the lower triangle of the d x d
  // inverse covariance row by row (d (d + 1) / 2 numbers), comma-separated (meanText and
  // precisionText write each number so that it reads back exactly). FormatError naming
  // the key for a malformed list, a size that is not d or a diagonal that is not positive.
  static ResidualStats parse(const std::string& mean, const std::string& precision, int d);

  int size() const { return int(mean_.size()); }
  bool empty() const { return mean_.empty(); }
  // (x - mean)' P (x - mean) / d for a vector x of size() values.
  double score(const double* x) const;
  std::string meanText() const;
  std::string precisionText() const;

 private:
  std::vector<double> mean_;
  std::vector<double> precision_;  // d x d, row-major, symmetric
};

}  // namespace cae::audio
