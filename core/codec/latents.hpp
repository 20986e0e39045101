// The payload of a cae frame coded with a factorized entropy model (Ballé et al. 2018, "Variational
// image compression with a scale hyperprior", the "factorized prior" model): the integer latents
// of one picture, channel by channel, row by row, in one rANS stream, each channel under its own
// CDF table.
//
//   LatentShape s = latentShapeFor(641, 479, /*stride=*/16, /*channels=*/64);   // 64 x 30 x 41
//   std::vector<std::uint8_t> p = encodeLatents(q, s, tables);
//   std::vector<std::int32_t> back = decodeLatents(p.data(), p.size(), s, tables);  // == q
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "codec/cdf.hpp"

namespace cae::codec {

struct LatentShape {
  int channels = 0, height = 0, width = 0;
  std::size_t size() const {
    return std::size_t(channels) * std::size_t(height) * std::size_t(width);
  }
};

// The latents of a width x height picture padded up to a multiple of stride.
LatentShape latentShapeFor(int width, int height, int stride, int channels);

// InvalidArgument when q does not have s's size or tables are not one per channel.
std::vector<std::uint8_t> encodeLatents(const std::vector<std::int32_t>& q, const LatentShape& s,
                                        const std::vector<CdfTable>& tables);

// FormatError when the payload is not s's latents coded under these tables (truncated, damaged,
// bytes left over); InvalidArgument when tables are not one per channel.
std::vector<std::int32_t> decodeLatents(const std::uint8_t* payload, std::size_t size,
                                        const LatentShape& s, const std::vector<CdfTable>& tables);

}  // namespace cae::codec
