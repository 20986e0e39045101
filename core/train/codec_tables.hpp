// What a trained codec carries to its files besides weights: the coder's CDF tables, built from
// the learned densities, and the identifier that ties a bitstream to the model that made it.
#pragma once

#include <cstdint>
#include <vector>

#include "codec/cdf.hpp"
#include "nn/layers/entropy_bottleneck.hpp"
#include "nn/model.hpp"

namespace cae::train {

// One table per channel of eb: the integers from where the density's lower tail falls below
// tailMass / 2 up to where its upper tail does (at most codec::kMaxSymbols - 1 of them, around
// the median), the rest of the mass on the escape symbol.
std::vector<codec::CdfTable> codecTables(const nn::EntropyBottleneck& eb, double tailMass = 1e-6);

// The first 8 bytes of SHA-256 over the synthesis' weights (float32, little-endian) and the
// tables' text: a frame coded by another model (or another rate point) is told apart before it
// is decoded into noise.
std::uint64_t codecId(const nn::Model& synthesis, const std::vector<codec::CdfTable>& tables);

}  // namespace cae::train
