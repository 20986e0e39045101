#include "train/codec_tables.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "io/hash.hpp"

namespace cae::train {

namespace {

double medianOf(const nn::EntropyBottleneck& eb, int c) {
  double lo = -1e4, hi = 1e4;
  for (int i = 0; i < 80; ++i) {
    const double mid = 0.5 * (lo + hi);
    (eb.cumulative(c, mid) < 0.5 ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

codec::CdfTable tableOf(const nn::EntropyBottleneck& eb, int c, double tailMass) {
  const auto centre = std::int64_t(std::llround(medianOf(eb, c)));
  const std::int64_t maxHalf = (codec::kMaxSymbols - 2) / 2;
  std::int64_t lo = centre, hi = centre;
  while (centre - lo < maxHalf && eb.cumulative(c, double(lo) - 0.5) > tailMass / 2) --lo;
  while (hi - centre < maxHalf && 1 - eb.cumulative(c, double(hi) + 0.5) > tailMass / 2) ++hi;
  std::vector<double> pmf;
  for (std::int64_t k = lo; k <= hi; ++k)
    pmf.push_back(
        std::max(0.0, eb.cumulative(c, double(k) + 0.5) - eb.cumulative(c, double(k) - 0.5)));
  const double tail = eb.cumulative(c, double(lo) - 0.5) + (1 - eb.cumulative(c, double(hi) + 0.5));
  return codec::quantizeCdf(pmf, std::max(tail, 0.0), std::int32_t(lo));
}

}  // namespace

std::vector<codec::CdfTable> codecTables(const nn::EntropyBottleneck& eb, double tailMass) {
  std::vector<codec::CdfTable> t;
  t.reserve(std::size_t(eb.channels()));
  for (int c = 0; c < eb.channels(); ++c) t.push_back(tableOf(eb, c, tailMass));
  return t;
}

std::uint64_t codecId(const nn::Model& synthesis, const std::vector<codec::CdfTable>& tables) {
  std::string bytes;
  for (Eigen::Index i = 0; i < synthesis.params().size(); ++i) {
    const auto f = static_cast<float>(synthesis.params()[i]);
    std::uint32_t u = 0;
    static_assert(sizeof u == sizeof f);
    std::memcpy(&u, &f, sizeof u);
    for (int b = 0; b < 4; ++b) bytes.push_back(char(u >> (8 * b)));
  }
  bytes += codec::formatTables(tables);
  const io::Sha256 d = io::sha256(bytes);
  std::uint64_t id = 0;
  for (int b = 0; b < 8; ++b) id = (id << 8) | d[std::size_t(b)];
  return id;
}

}  // namespace cae::train
