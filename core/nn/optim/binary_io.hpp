// Little-endian binary reading and writing over iostreams, shared by optimizer state and
// checkpoints. Every read is checked: a short or implausible stream throws FormatError, and
// vectors are read in bounded chunks so a corrupt length never triggers a huge allocation.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <istream>
#include <ostream>
#include <string>

#include "error.hpp"
#include "nn/scalar.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class BinaryWriter {
 public:
  explicit BinaryWriter(std::ostream& os) : os_(os) {}

  void u32(std::uint32_t v) { uint(v, 4); }
  void u64(std::uint64_t v) { uint(v, 8); }
  void f64(double v) {
    std::uint64_t bits;
    std::memcpy(&bits, &v, 8);
    u64(bits);
  }
  void bytes(const void* p, std::size_t n) {
    os_.write(static_cast<const char*>(p), std::streamsize(n));
    if (!os_) throw IoError("write failed");
  }
  void str(const std::string& s) {
    u64(s.size());
    bytes(s.data(), s.size());
  }
  // Scalars are stored in the host's IEEE-754 layout, which is little-endian on every target.
  void scalars(const Scalar* p, std::size_t n) {
    u64(n);
    bytes(p, n * sizeof(Scalar));
  }

 private:
  void uint(std::uint64_t v, int n) {
    char b[8];
    for (int i = 0; i < n; ++i) b[i] = char((v >> (8 * i)) & 0xff);
    bytes(b, std::size_t(n));
  }
  std::ostream& os_;
};

class BinaryReader {
 public:
  // what names the thing being read, for messages ("checkpoint", "Adam state").
  BinaryReader(std::istream& is, std::string what) : is_(is), what_(std::move(what)) {}

  std::uint32_t u32() { return std::uint32_t(uint(4)); }
  std::uint64_t u64() { return uint(8); }
  double f64() {
    const std::uint64_t bits = u64();
    double v;
    std::memcpy(&v, &bits, 8);
    return v;
  }
  void bytes(void* p, std::size_t n, const char* field) {
    is_.read(static_cast<char*>(p), std::streamsize(n));
    if (std::size_t(is_.gcount()) != n) throw FormatError(what_ + ": truncated in " + field);
  }
  std::string str(std::size_t maxLen, const char* field) {
    const std::uint64_t n = u64();
    if (n > maxLen) throw FormatError(what_ + ": implausible length of " + field);
    std::string s;
    readChunked(s, std::size_t(n), field);
    return s;
  }
  // Reads a length-prefixed scalar vector into out (resized).
  template <class Container>
  void scalars(Container& out, const char* field) {
    const std::uint64_t n = u64();
    if (n > (std::uint64_t(1) << 40) / sizeof(Scalar))
      throw FormatError(what_ + ": implausible length of " + field);
    std::string raw;
    readChunked(raw, std::size_t(n) * sizeof(Scalar), field);
    out.resize(std::size_t(n));
    if (n) std::memcpy(out.data(), raw.data(), raw.size());
  }

 private:
  std::uint64_t uint(int n) {
    unsigned char b[8];
    bytes(b, std::size_t(n), "an integer field");
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= std::uint64_t(b[i]) << (8 * i);
    return v;
  }
  // Grows the buffer only as data actually arrives, so a corrupt length fails at end of stream.
  void readChunked(std::string& s, std::size_t n, const char* field) {
    constexpr std::size_t kChunk = std::size_t(1) << 20;
    s.clear();
    while (s.size() < n) {
      const std::size_t k = std::min(kChunk, n - s.size());
      const std::size_t at = s.size();
      s.resize(at + k);
      bytes(&s[at], k, field);
    }
  }

  std::istream& is_;
  std::string what_;
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
