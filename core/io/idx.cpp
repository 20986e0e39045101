#include "io/idx.hpp"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "error.hpp"

namespace cae::io {

using nn::Scalar;
using nn::Shape;
using nn::Tensor;

namespace {

// gzopen reads plain files too (transparently), so one path serves .gz and raw IDX files.
class GzFile {
 public:
  explicit GzFile(const std::string& path) : path_(path), f_(gzopen(path.c_str(), "rb")) {
    if (f_ == nullptr)
      throw IoError("cannot open IDX file '" + path + "': " + std::strerror(errno));
    gzbuffer(f_, 1 << 20);
  }
  ~GzFile() { gzclose(f_); }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;

  // Reads exactly n bytes; false when the stream ends first.
  bool read(void* dst, std::size_t n) {
    auto* p = static_cast<unsigned char*>(dst);
    while (n > 0) {
      const unsigned chunk = unsigned(std::min<std::size_t>(n, 1u << 30));
      const int got = gzread(f_, p, chunk);
      if (got < 0) {
        int code = 0;
        throw FormatError("cannot decompress IDX file '" + path_ + "': " + gzerror(f_, &code));
      }
      if (got == 0) return false;
      p += got;
      n -= std::size_t(got);
    }
    return true;
  }

 private:
  std::string path_;
  gzFile f_;
};

std::uint32_t bigEndian(const unsigned char* b) {
  return std::uint32_t(b[0]) << 24 | std::uint32_t(b[1]) << 16 | std::uint32_t(b[2]) << 8 | b[3];
}

}  // namespace

Tensor readIdxImages(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw IoError("cannot open IDX file '" + path + "': " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw IoError("cannot open IDX file '" + path + "': it is a folder");
  GzFile f(path);
  unsigned char head[16];
  if (!f.read(head, 4)) throw FormatError("IDX file '" + path + "' is empty or truncated");
  if (head[0] != 0 || head[1] != 0)
    throw FormatError("'" + path + "' is not an IDX file (bad magic)");
  if (head[2] != 0x08)
    throw FormatError("IDX file '" + path + "' holds type code " + std::to_string(head[2]) +
                      "; only unsigned bytes (8) are supported");
  if (head[3] != 3)
    throw FormatError("IDX file '" + path + "' has " + std::to_string(head[3]) +
                      " dimensions; images need 3 (N, H, W)");
  if (!f.read(head + 4, 12)) throw FormatError("IDX file '" + path + "' has a truncated header");
  const std::uint32_t n = bigEndian(head + 4), h = bigEndian(head + 8), w = bigEndian(head + 12);
  if (n == 0 || h == 0 || w == 0 || h > 65536 || w > 65536 ||
      std::uint64_t(n) * h * w > (1ull << 34))
    throw FormatError("IDX file '" + path + "' has implausible dimensions");
  std::vector<unsigned char> bytes(std::size_t(n) * h * w);
  if (!f.read(bytes.data(), bytes.size()))
    throw FormatError("IDX file '" + path + "' is shorter than its header says (" +
                      std::to_string(n) + " images of " + std::to_string(h) + "x" +
                      std::to_string(w) + ")");
  Tensor t(Shape{int(n), 1, int(h), int(w)});
  for (std::size_t i = 0; i < bytes.size(); ++i) t[i] = Scalar(bytes[i]) * Scalar(1.0 / 255);
  return t;
}

}  // namespace cae::io
