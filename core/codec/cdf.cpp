#include "codec/cdf.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <exception>
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
  if (t.cdf.size() < 3 || t.cdf.size() > std::size_t(kMaxSymbols) + 1)
    throw FormatError(what + ": needs 2 to " + std::to_string(kMaxSymbols) +
                      " symbols (a value and the escape at least), has " +
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

std::string formatTables(const std::vector<CdfTable>& tables) {
  std::string out;
  for (const CdfTable& t : tables) {
    if (!out.empty()) out += ';';
    out += std::to_string(t.offset) + ':';
    for (std::size_t i = 1; i + 1 < t.cdf.size(); ++i)
      out += (i > 1 ? "," : "") + std::to_string(t.cdf[i]);
  }
  return out;
}

namespace {

// A whole decimal integer in [lo, hi] from s[from, to); FormatError (what) otherwise.
std::int64_t integerIn(const std::string& s, std::size_t from, std::size_t to, std::int64_t lo,
                       std::int64_t hi, const std::string& what) {
  const std::string part = s.substr(from, to - from);
  std::size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(part, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (part.empty() || used != part.size() || v < lo || v > hi)
    throw FormatError(what + ": '" + part + "' is not an integer in [" + std::to_string(lo) + ", " +
                      std::to_string(hi) + "]");
  return v;
}

CdfTable parseTable(const std::string& s, std::size_t from, std::size_t to,
                    const std::string& what) {
  const std::size_t colon = s.find(':', from);
  if (colon == std::string::npos || colon >= to) throw FormatError(what + ": no 'offset:'");
  CdfTable t;
  t.offset = std::int32_t(integerIn(s, from, colon, INT32_MIN, INT32_MAX, what));
  t.cdf.push_back(0);
  for (std::size_t at = colon + 1; at < to;) {
    const std::size_t comma = std::min(s.find(',', at), to);
    if (t.cdf.size() > std::size_t(kMaxSymbols))
      throw FormatError(what + ": more than " + std::to_string(kMaxSymbols) + " symbols");
    t.cdf.push_back(std::uint32_t(integerIn(s, at, comma, 1, kCdfTotal - 1, what)));
    at = comma + 1;
  }
  t.cdf.push_back(kCdfTotal);
  validate(t, what);
  return t;
}

}  // namespace

std::vector<CdfTable> parseTables(const std::string& text) {
  std::vector<CdfTable> tables;
  if (text.empty()) throw FormatError("CDF tables: empty");
  for (std::size_t at = 0; at <= text.size();) {
    const std::size_t end = std::min(text.find(';', at), text.size());
    tables.push_back(parseTable(text, at, end, "CDF table " + std::to_string(tables.size())));
    at = end + 1;
  }
  return tables;
}

double bitsOf(const CdfTable& t, std::int32_t v) {
  const std::int64_t s = std::int64_t(v) - t.offset;
  const int sym = s >= 0 && s < t.escape() ? int(s) : t.escape();
  return kCdfPrecision - std::log2(double(t.freq(sym)));
}

}  // namespace cae::codec
