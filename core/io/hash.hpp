// SHA-256 of files and bytes (OpenSSL's EVP interface): how cae-enhance names a model in the
// derived series and checks outputs against its manifest.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace cae::io {

using Sha256 = std::array<std::uint8_t, 32>;

Sha256 sha256(const void* data, std::size_t size);
inline Sha256 sha256(const std::string& bytes) { return sha256(bytes.data(), bytes.size()); }
// The file's digest, read in blocks. IoError when it cannot be read.
Sha256 sha256File(const std::string& path);
// Lower-case hex, 64 characters.
std::string hex(const Sha256& digest);

}  // namespace cae::io
