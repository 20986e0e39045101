// The entropy coder of caeenc/caedec: range asymmetric numeral systems (rANS; Duda 2013, in the
// byte-wise 32-bit form of Giesen's ryg_rans, which CompressAI also uses) over the 16-bit tables
// of core/codec/cdf.hpp. A value outside its table's range is coded as the table's escape symbol
// followed by the value itself in 4-bit chunks at uniform probability (Elias-gamma-like: first
// the number of chunks). Debian packages no coder that takes caller-supplied CDF tables, so this
// one is ours (ANCHORS.md).
//
//   RansEncoder enc;
//   for (...) enc.put(value, tables[channel]);
//   std::vector<std::uint8_t> bytes = enc.finish();
//   RansDecoder dec(bytes.data(), bytes.size());
//   for (...) value = dec.get(tables[channel]);   // the same tables, in the same order
//   dec.finish();                                 // FormatError unless the stream fit exactly
//
// Decoding damaged bytes ends in a FormatError or in wrong values, never in a crash or a loop:
// each get() reads at most a bounded number of bytes and never past the end, and finish() checks
// that the final state is the encoder's initial one and that every byte was used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "codec/cdf.hpp"

namespace cae::codec {

class RansEncoder {
 public:
  // Queues v under t; t must stay alive and unchanged until finish().
  void put(std::int32_t v, const CdfTable& t);
  // The stream of every value put so far (rANS codes in reverse, so nothing is written before
  // this); the encoder is empty afterwards.
  std::vector<std::uint8_t> finish();

 private:
  struct Op {
    std::uint32_t start, freq;
    int bits;
  };
  std::vector<Op> ops_;  // in decoding order
  void putBypass(std::uint32_t chunk);
};

class RansDecoder {
 public:
  // FormatError when the stream is too short to hold a state.
  RansDecoder(const std::uint8_t* data, std::size_t size);
  // The next value under t (the table it was put under). FormatError when the stream ends early
  // or an escaped value cannot be a 32-bit integer.
  std::int32_t get(const CdfTable& t);
  // FormatError unless the stream ended exactly here, in the encoder's first state.
  void finish() const;

 private:
  const std::uint8_t* data_;
  std::size_t size_, pos_ = 0;
  std::uint32_t x_ = 0;
  std::uint32_t decodeSlot(int bits) const { return x_ & ((1u << bits) - 1); }
  void advance(std::uint32_t start, std::uint32_t freq, int bits);
  std::uint32_t getBypass();
};

}  // namespace cae::codec
