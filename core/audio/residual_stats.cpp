#include "audio/residual_stats.hpp"

#include <Eigen/Dense>
#include <charconv>
#include <cmath>

#include "error.hpp"
#include "onnx/metadata.hpp"

namespace cae::audio {

ResidualStats ResidualStats::fit(const std::vector<std::vector<double>>& vectors,
                                 double shrinkage) {
  if (vectors.size() < 2) throw InvalidArgument("residual statistics need at least two windows");
  if (!(shrinkage > 0 && shrinkage <= 1))
    throw InvalidArgument("residual statistics: shrinkage must be in (0, 1]");
  const auto d = Eigen::Index(vectors.front().size());
  const auto n = Eigen::Index(vectors.size());
  Eigen::MatrixXd x(n, d);
  for (Eigen::Index i = 0; i < n; ++i) {
    if (Eigen::Index(vectors[std::size_t(i)].size()) != d || d == 0)
      throw InvalidArgument("residual statistics: windows of unequal or zero size");
    x.row(i) = Eigen::Map<const Eigen::RowVectorXd>(vectors[std::size_t(i)].data(), d);
  }
  const Eigen::RowVectorXd mean = x.colwise().mean();
  x.rowwise() -= mean;
  const Eigen::MatrixXd cov = x.transpose() * x / double(n);
  const double spread = cov.trace() / double(d);
  if (!(spread > 0)) throw InvalidArgument("residual statistics: the windows do not vary");
  const Eigen::MatrixXd shrunk =
      (1 - shrinkage) * cov + shrinkage * spread * Eigen::MatrixXd::Identity(d, d);
  // Shrunk towards a positive multiple of I, the matrix is positive definite: LLT inverts it.
  const Eigen::MatrixXd p = shrunk.llt().solve(Eigen::MatrixXd::Identity(d, d));
  ResidualStats s;
  s.mean_.assign(mean.data(), mean.data() + d);
  s.precision_.resize(std::size_t(d * d));
  for (Eigen::Index i = 0; i < d; ++i)
    for (Eigen::Index j = 0; j < d; ++j)  // symmetric by construction, made exact
      s.precision_[std::size_t(i * d + j)] = 0.5 * (p(i, j) + p(j, i));
  return s;
}

namespace {

// Comma-separated numbers, read and written by <charconv>: the same in every locale (a
// GStreamer application may have set one with a decimal comma). FormatError naming `key`.
std::vector<double> numbers(const std::string& text, const char* key) {
  std::vector<double> out;
  const char* p = text.data();
  const char* const last = text.data() + text.size();
  while (p != last) {
    double v = 0;
    const auto [end, ec] = std::from_chars(p, last, v);
    if (ec != std::errc() || !std::isfinite(v))
      throw FormatError(std::string(key) + ": not a list of numbers (at character " +
                        std::to_string(p - text.data()) + ")");
    out.push_back(v);
    p = end;
    if (p != last && *p == ',') {
      ++p;
      if (p == last) throw FormatError(std::string(key) + ": ends with a comma");
    } else if (p != last) {
      throw FormatError(std::string(key) + ": not a list of numbers (at character " +
                        std::to_string(p - text.data()) + ")");
    }
  }
  return out;
}

void append(std::string& s, double v) {
  char b[32];
  const auto r = std::to_chars(b, b + sizeof b, v);  // the shortest text that reads back as v
  if (!s.empty()) s += ',';
  s.append(b, r.ptr);
}

}  // namespace

ResidualStats ResidualStats::parse(const std::string& mean, const std::string& precision, int d) {
  constexpr const char* kMean = onnx::key::kResidualMean;
  constexpr const char* kPrecision = onnx::key::kResidualPrecision;
  if (d < 1) throw FormatError(std::string(kMean) + ": the model has no bands");
  ResidualStats s;
  s.mean_ = numbers(mean, kMean);
  if (int(s.mean_.size()) != d)
    throw FormatError(std::string(kMean) + ": " + std::to_string(s.mean_.size()) +
                      " numbers, the model has " + std::to_string(d) + " bands");
  const std::vector<double> lower = numbers(precision, kPrecision);
  const std::size_t want = std::size_t(d) * std::size_t(d + 1) / 2;
  if (lower.size() != want)
    throw FormatError(std::string(kPrecision) + ": " + std::to_string(lower.size()) +
                      " numbers, a lower triangle of " + std::to_string(d) + " x " +
                      std::to_string(d) + " has " + std::to_string(want));
  const auto n = std::size_t(d);
  s.precision_.assign(n * n, 0.0);
  std::size_t k = 0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j <= i; ++j, ++k) {
      s.precision_[i * n + j] = lower[k];
      s.precision_[j * n + i] = lower[k];
    }
  for (std::size_t i = 0; i < n; ++i)
    if (!(s.precision_[i * n + i] > 0))
      throw FormatError(std::string(kPrecision) + ": diagonal entry " + std::to_string(i) +
                        " is not positive");
  return s;
}

double ResidualStats::score(const double* x) const {
  const std::size_t d = mean_.size();
  double s = 0;
  for (std::size_t i = 0; i < d; ++i) {
    const double di = x[i] - mean_[i];
    double row = 0;
    for (std::size_t j = 0; j < d; ++j) row += precision_[i * d + j] * (x[j] - mean_[j]);
    s += di * row;
  }
  return d == 0 ? 0 : s / double(d);
}

std::string ResidualStats::meanText() const {
  std::string s;
  for (double v : mean_) append(s, v);
  return s;
}

std::string ResidualStats::precisionText() const {
  std::string s;
  const std::size_t d = mean_.size();
  for (std::size_t i = 0; i < d; ++i)
    for (std::size_t j = 0; j <= i; ++j) append(s, precision_[i * d + j]);
  return s;
}

}  // namespace cae::audio
