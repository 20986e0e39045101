#include "anomaly/calibration.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>

#include "error.hpp"

namespace cae::anomaly {

Calibration calibrate(std::vector<double> scores, double fpr) {
  if (scores.empty()) throw InvalidArgument("anomaly calibration needs at least one score");
  if (!(fpr >= 0 && fpr < 1))
    throw InvalidArgument("anomaly calibration: false-positive rate must be in [0, 1), got " +
                          std::to_string(fpr));
  for (double s : scores)
    if (!std::isfinite(s)) throw InvalidArgument("anomaly calibration: a score is not finite");
  const std::size_t n = scores.size();
  std::sort(scores.begin(), scores.end());
  double sum = 0, sq = 0;
  for (double s : scores) sum += s;
  const double mean = sum / double(n);
  for (double s : scores) sq += (s - mean) * (s - mean);
  Calibration c;
  c.mean = mean;
  c.std = n > 1 ? std::sqrt(sq / double(n - 1)) : 0.0;
  // Index of the (1 - fpr) quantile: at most floor(n * fpr) scores lie above it.
  const auto allowed = std::size_t(std::floor(double(n) * fpr + 1e-9));
  const std::size_t idx = n - 1 - std::min(allowed, n - 1);
  c.threshold = scores[idx];
  const auto above =
      std::size_t(scores.end() - std::upper_bound(scores.begin(), scores.end(), c.threshold));
  c.fpr = double(above) / double(n);
  return c;
}

namespace {
constexpr double kEulerGamma = 0.5772156649015329;
constexpr double kPi = 3.14159265358979323846;
}  // namespace

FrameModel fitFrameModel(const std::vector<double>& scores, double area, double fpr, bool logit) {
  if (scores.size() < 2) throw InvalidArgument("frame model: needs at least two scores");
  if (!(area > 0)) throw InvalidArgument("frame model: the crop area must be positive");
  if (!(fpr > 0 && fpr < 1))
    throw InvalidArgument("frame model: the false-alarm rate must be in (0, 1), got " +
                          std::to_string(fpr));
  FrameModel m;
  m.logit = logit;
  std::vector<double> v;
  v.reserve(scores.size());
  for (double s : scores) {
    if (!std::isfinite(s)) throw InvalidArgument("frame model: a score is not finite");
    v.push_back(m.toScale(s));
  }
  double sum = 0, sq = 0;
  for (double x : v) sum += x;
  const double mean = sum / double(v.size());
  for (double x : v) sq += (x - mean) * (x - mean);
  const double sd = std::sqrt(sq / double(v.size() - 1));
  if (!(sd > 0)) throw InvalidArgument("frame model: the scores do not vary");
  m.beta = sd * std::sqrt(6.0) / kPi;
  m.mu = mean - kEulerGamma * m.beta;
  m.area = area;
  m.fpr = fpr;
  return m;
}

}  // namespace cae::anomaly
