// Training checkpoints: everything a run needs to continue exactly where it stopped — the flat
// parameter vector, the optimizer's state, the random generator's state, step and epoch
// counters, and free string key/values (the recipe, the data list).
//
// File layout (integers little-endian):
//   "CAECKPT\0"  u32 version  u32 sizeof(Scalar)  u64 payload bytes  u32 CRC-32 of the payload
//   payload: u64 step, u64 epoch, params, optimizer state, rng state, u32 count, key/values
// Loading checks magic, version, precision, length and CRC before parsing, and every length
// while parsing, so a truncated or damaged file throws FormatError instead of crashing.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "nn/scalar.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class Model;
class Optimizer;
class Rng;

struct Checkpoint {
  std::vector<Scalar> params;
  std::string optimizerState;  // bytes from Optimizer::saveState()
  std::string rngState;        // Rng::state()
  std::uint64_t step = 0, epoch = 0;
  std::map<std::string, std::string> meta;
};

// Snapshot of a training run; restoreCheckpoint() is its inverse.
Checkpoint makeCheckpoint(const Model& model, const Optimizer& opt, const Rng& rng,
                          std::uint64_t step, std::uint64_t epoch,
                          std::map<std::string, std::string> meta = {});
// Installs a checkpoint into a compiled model of the same architecture, an optimizer of the same
// type and a generator. Throws FormatError (parameter count, optimizer type, corrupt state)
// before changing any of the three.
void restoreCheckpoint(const Checkpoint& ck, Model& model, Optimizer& opt, Rng& rng);

std::string serializeCheckpoint(const Checkpoint& ck);
// what names the source in error messages (usually the path).
Checkpoint parseCheckpoint(const std::string& bytes, const std::string& what = "checkpoint");

// Writes to a temporary file in the same folder, syncs it, then renames it over path, so a crash
// mid-write leaves the previous checkpoint intact. Throws IoError.
void saveCheckpoint(const std::string& path, const Checkpoint& ck);
// Throws IoError when the file cannot be read, FormatError when it is not a valid checkpoint.
Checkpoint loadCheckpoint(const std::string& path);

// CRC-32 (IEEE 802.3, as zlib's crc32), exposed for tests.
std::uint32_t crc32(const void* data, std::size_t n);

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
