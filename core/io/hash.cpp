#include "io/hash.hpp"

#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

#include "error.hpp"

namespace cae::io {

namespace {

struct Digest {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
  Digest() {
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
      throw Error("SHA-256: OpenSSL could not start a digest");
  }
  void update(const void* data, std::size_t size) {
    if (EVP_DigestUpdate(ctx.get(), data, size) != 1) throw Error("SHA-256: OpenSSL update failed");
  }
  Sha256 finish() {
    Sha256 out{};
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(ctx.get(), out.data(), &n) != 1 || n != out.size())
      throw Error("SHA-256: OpenSSL final failed");
    return out;
  }
};

}  // namespace

Sha256 sha256(const void* data, std::size_t size) {
  Digest d;
  d.update(data, size);
  return d.finish();
}

Sha256 sha256File(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw IoError("cannot read '" + path + "': " + std::strerror(errno));
  Digest d;
  std::vector<char> block(1 << 20);
  while (f) {
    f.read(block.data(), std::streamsize(block.size()));
    if (f.gcount() > 0) d.update(block.data(), std::size_t(f.gcount()));
  }
  if (f.bad()) throw IoError("error reading '" + path + "'");
  return d.finish();
}

std::string hex(const Sha256& digest) {
  static const char* digits = "0123456789abcdef";
  std::string s(64, '0');
  for (std::size_t i = 0; i < digest.size(); ++i) {
    s[2 * i] = digits[digest[i] >> 4];
    s[2 * i + 1] = digits[digest[i] & 15];
  }
  return s;
}

}  // namespace cae::io
