#include "codec/cdf.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "error.hpp"

namespace cae::codec {

namespace {

// Moves the counts' sum to kCdfTotal by changing the largest counts, none below one.
void fixTotal(std::vector<std::int64_t>& counts) {
  std::int64_t diff =
      std::accumulate(counts.begin(), counts.end(), std::int64_t{0}) - std::int64_t{kCdfTotal};
  std::vector<std::size_t> order(counts.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return counts[a] > counts[b]; });
  for (std::size_t i : order) {
    if (diff == 0) break;
    const std::int64_t change = diff > 0 ? std::min(diff, counts[i] - 1) : diff;
    counts[i] -= change;
    diff -= change;
  }
}

}  // namespace

CdfTable quantizeCdf(const std::vector<double>& pmf, double tailMass, std::int32_t offset) {
  if (pmf.empty() || pmf.size() + 1 > std::size_t(kMaxSymbols))
    throw InvalidArgument("a CDF table needs 1 to " + std::to_string(kMaxSymbols - 1) +
                          " values, not " + std::to_string(pmf.size()));
  std::vector<double> p(pmf);
  p.push_back(tailMass);
  double total = 0;
  for (double v : p) {
    if (!std::isfinite(v) || v < 0)
      throw InvalidArgument("a CDF table needs finite, non-negative probabilities");
    total += v;
  }
  if (!(total > 0)) throw InvalidArgument("a CDF table needs some probability mass");
  std::vector<std::int64_t> counts(p.size());
  for (std::size_t i = 0; i < p.size(); ++i)
    counts[i] = std::max<std::int64_t>(1, std::llround(p[i] / total * kCdfTotal));
  fixTotal(counts);
  CdfTable t;
  t.offset = offset;
  t.cdf.assign(p.size() + 1, 0);
  for (std::size_t i = 0; i < p.size(); ++i) t.cdf[i + 1] = t.cdf[i] + std::uint32_t(counts[i]);
  return t;
}

void validate(const CdfTable& t, const std::string& what) {
  if (t.cdf.size() < 2 || t.cdf.size() > std::size_t(kMaxSymbols) + 1)
    throw FormatError(what + ": needs 1 to " + std::to_string(kMaxSymbols) + " symbols, has " +
                      std::to_string(int(t.cdf.size()) - 1));
  if (t.cdf.front() != 0 || t.cdf.back() != kCdfTotal)
    throw FormatError(what + ": must run from 0 to " + std::to_string(kCdfTotal));
  for (std::size_t i = 1; i < t.cdf.size(); ++i)
    if (t.cdf[i] <= t.cdf[i - 1])
      throw FormatError(what + ": every symbol needs a count (entry " + std::to_string(i) +
                        " does not rise)");
  const std::int64_t last = std::int64_t(t.offset) + t.symbols() - 2;
  if (last > std::int64_t(INT32_MAX))
    throw FormatError(what + ": its values pass the largest 32-bit integer");
}

double bitsOf(const CdfTable& t, std::int32_t v) {
  const std::int64_t s = std::int64_t(v) - t.offset;
  const int sym = s >= 0 && s < t.escape() ? int(s) : t.escape();
  return kCdfPrecision - std::log2(double(t.freq(sym)));
}

}  // namespace cae::codec
