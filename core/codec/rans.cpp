#include "codec/rans.hpp"

#include <algorithm>

#include "error.hpp"

namespace cae::codec {

namespace {

constexpr std::uint32_t kLow = 1u << 23;  // the state lives in [kLow, 2^32)
constexpr int kBypassBits = 4;
constexpr std::uint32_t kBypassMax = (1u << kBypassBits) - 1;
// An escaped value's raw form has at most 33 bits: 9 chunks of 4.
constexpr std::uint32_t kMaxChunks = 9;

// The raw (non-negative) form of a value outside the table: below the range 2|d|-1, above it
// 2d (d: the distance from the range's edge).
std::uint64_t rawOf(std::int64_t s, int escape) {
  return s < 0 ? std::uint64_t(-2 * s - 1) : std::uint64_t(2 * (s - escape));
}

}  // namespace

void RansEncoder::putBypass(std::uint32_t chunk) { ops_.push_back({chunk, 1, kBypassBits}); }

void RansEncoder::put(std::int32_t v, const CdfTable& t) {
  const std::int64_t s = std::int64_t(v) - t.offset;
  const int esc = t.escape();
  if (s >= 0 && s < esc) {
    ops_.push_back({t.start(int(s)), t.freq(int(s)), kCdfPrecision});
    return;
  }
  ops_.push_back({t.start(esc), t.freq(esc), kCdfPrecision});
  const std::uint64_t raw = rawOf(s, esc);
  std::uint32_t chunks = 0;
  while (chunks < kMaxChunks && (raw >> (chunks * kBypassBits)) != 0) ++chunks;
  for (std::uint32_t n = chunks;; n -= kBypassMax) {  // the count, as 15 + 15 + ... + rest
    putBypass(std::min(n, kBypassMax));
    if (n < kBypassMax) break;
  }
  for (std::uint32_t j = 0; j < chunks; ++j) putBypass((raw >> (j * kBypassBits)) & kBypassMax);
}

std::vector<std::uint8_t> RansEncoder::finish() {
  std::vector<std::uint8_t> out;  // written back to front, reversed at the end
  out.reserve(ops_.size() / 2 + 8);
  std::uint32_t x = kLow;
  for (auto op = ops_.rbegin(); op != ops_.rend(); ++op) {
    const std::uint64_t xMax = std::uint64_t((kLow >> op->bits) << 8) * op->freq;
    while (x >= xMax) {
      out.push_back(std::uint8_t(x & 0xff));
      x >>= 8;
    }
    x = ((x / op->freq) << op->bits) + (x % op->freq) + op->start;
  }
  for (int b = 0; b < 4; ++b) out.push_back(std::uint8_t(x >> (8 * b)));
  std::reverse(out.begin(), out.end());
  ops_.clear();
  return out;
}

RansDecoder::RansDecoder(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {
  if (size < 4) throw FormatError("entropy-coded stream of " + std::to_string(size) + " bytes");
  for (; pos_ < 4; ++pos_) x_ = (x_ << 8) | data_[pos_];
  if (x_ < kLow) throw FormatError("entropy-coded stream does not start with a coder state");
}

void RansDecoder::advance(std::uint32_t start, std::uint32_t freq, int bits) {
  x_ = freq * (x_ >> bits) + decodeSlot(bits) - start;
  while (x_ < kLow) {
    if (pos_ >= size_) throw FormatError("entropy-coded stream ends early");
    x_ = (x_ << 8) | data_[pos_++];
  }
}

std::uint32_t RansDecoder::getBypass() {
  const std::uint32_t chunk = decodeSlot(kBypassBits);
  advance(chunk, 1, kBypassBits);
  return chunk;
}

std::int32_t RansDecoder::get(const CdfTable& t) {
  const std::uint32_t slot = decodeSlot(kCdfPrecision);
  const int s = int(std::upper_bound(t.cdf.begin(), t.cdf.end(), slot) - t.cdf.begin()) - 1;
  advance(t.start(s), t.freq(s), kCdfPrecision);
  const int esc = t.escape();
  if (s < esc) return std::int32_t(std::int64_t(t.offset) + s);
  std::uint32_t chunks = 0;
  for (std::uint32_t c = kBypassMax; c == kBypassMax;) {
    c = getBypass();
    chunks += c;
    if (chunks > kMaxChunks) throw FormatError("entropy-coded stream: escape too long");
  }
  std::uint64_t raw = 0;
  for (std::uint32_t j = 0; j < chunks; ++j) raw |= std::uint64_t(getBypass()) << (j * kBypassBits);
  const std::int64_t d = std::int64_t(raw >> 1);  // raw < 2^36, so this fits
  const std::int64_t v =
      (raw & 1) ? std::int64_t(t.offset) - 1 - d : std::int64_t(t.offset) + esc + d;
  if (v < INT32_MIN || v > INT32_MAX)
    throw FormatError("entropy-coded stream: escaped value out of range");
  return std::int32_t(v);
}

void RansDecoder::finish() const {
  if (pos_ != size_ || x_ != kLow)
    throw FormatError("entropy-coded stream is corrupt (" + std::to_string(size_ - pos_) +
                      " bytes left, state " + std::to_string(x_) + ")");
}

}  // namespace cae::codec
