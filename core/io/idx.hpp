// IDX files (the MNIST / Fashion-MNIST format): a big-endian header, then unsigned bytes.
// Gzip-compressed files (.gz) are read through zlib, which stays inside idx.cpp.
#pragma once

#include <string>

#include "nn/tensor.hpp"

namespace cae::io {

// The N images of an IDX3 unsigned-byte file (magic 0x00000803, dims N, H, W) as one
// {N, 1, H, W} tensor divided by 255. Throws IoError when the file cannot be opened or read,
// FormatError (naming the file) on a wrong magic, a type other than unsigned byte, or a file
// shorter than its header says.
nn::Tensor readIdxImages(const std::string& path);

}  // namespace cae::io
