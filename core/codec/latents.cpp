#include "codec/latents.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "codec/rans.hpp"
#include "error.hpp"

namespace cae::codec {

namespace {

void requireTables(const LatentShape& s, const std::vector<CdfTable>& tables) {
  if (s.channels <= 0 || s.height <= 0 || s.width <= 0)
    throw InvalidArgument("latents of " + std::to_string(s.channels) + "x" +
                          std::to_string(s.height) + "x" + std::to_string(s.width));
  if (tables.size() != std::size_t(s.channels))
    throw InvalidArgument(std::to_string(tables.size()) + " CDF tables for " +
                          std::to_string(s.channels) + " latent channels");
}

}  // namespace

LatentShape latentShapeFor(int width, int height, int stride, int channels) {
  if (width <= 0 || height <= 0 || stride <= 0 || channels <= 0)
    throw InvalidArgument("latent shape of a " + std::to_string(width) + "x" +
                          std::to_string(height) + " picture at stride " + std::to_string(stride));
  return {channels, (height + stride - 1) / stride, (width + stride - 1) / stride};
}

std::vector<std::uint8_t> encodeLatents(const std::vector<std::int32_t>& q, const LatentShape& s,
                                        const std::vector<CdfTable>& tables) {
  requireTables(s, tables);
  if (q.size() != s.size())
    throw InvalidArgument(std::to_string(q.size()) + " latents for a shape of " +
                          std::to_string(s.size()));
  RansEncoder enc;
  const std::size_t plane = std::size_t(s.height) * std::size_t(s.width);
  for (std::size_t i = 0; i < q.size(); ++i) enc.put(q[i], tables[i / plane]);
  return enc.finish();
}

std::vector<std::int32_t> decodeLatents(const std::uint8_t* payload, std::size_t size,
                                        const LatentShape& s, const std::vector<CdfTable>& tables) {
  requireTables(s, tables);
  // Every symbol costs at least -log2 of its table's largest frequency share, and the coder's
  // stream holds those bits plus its 32-bit final state: a payload too short for the shape (a
  // forged header claiming a huge picture) is refused before the latents are allocated.
  const double cells = double(s.height) * double(s.width);
  double fewestBits = 0;
  for (const CdfTable& t : tables) {
    std::uint32_t most = 1;
    for (int k = 0; k < t.symbols(); ++k) most = std::max(most, t.freq(k));
    fewestBits += cells * -std::log2(double(most) / double(kCdfTotal));
  }
  if (fewestBits > 8.0 * double(size) + 64)
    throw FormatError("a payload of " + std::to_string(size) + " bytes cannot hold " +
                      std::to_string(s.channels) + "x" + std::to_string(s.height) + "x" +
                      std::to_string(s.width) + " latents (at least " +
                      std::to_string(std::uint64_t(fewestBits / 8)) + " bytes)");
  RansDecoder dec(payload, size);
  std::vector<std::int32_t> q(s.size());
  const std::size_t plane = std::size_t(s.height) * std::size_t(s.width);
  for (std::size_t i = 0; i < q.size(); ++i) q[i] = dec.get(tables[i / plane]);
  dec.finish();
  return q;
}

}  // namespace cae::codec
