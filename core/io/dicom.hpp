// DICOM pixel data as engine tensors, read with DCMTK (uncompressed, JPEG, JPEG-LS and RLE
// transfer syntaxes). DCMTK stays inside dicom.cpp.
#pragma once

#include <string>
#include <vector>

#include "nn/tensor.hpp"

namespace cae::io {

// How stored pixel values become [0, 1].
enum class DicomScaling {
  // The file's own stored min..max (all frames together) maps to [0, 1]: 16-bit CT/MR scans
  // often use a few thousand of 65,536 codes, so this keeps their contrast for training.
  MinMax,
  // The full range the stored bits can hold (0..2^B-1, or -2^(B-1)..2^(B-1)-1 when signed)
  // maps to [0, 1]: the same mapping for every file of one bit depth.
  StoredRange,
};

struct DicomImageData {
  // One {1, C, H, W} tensor per frame: C = 1 for MONOCHROME1/2 (values as stored, MONOCHROME1
  // not inverted, no modality LUT or rescale), C = 3 (RGB) for colour images.
  std::vector<nn::Tensor> frames;
  int bitsStored = 0;
  bool isSigned = false;
  // The stored values that 0 and 1 stand for (monochrome): stored = lo + value * (hi - lo).
  // Colour frames are always scaled by their full bit range.
  double lo = 0, hi = 1;
};

// Throws IoError when the file cannot be opened, FormatError (naming the file) when it is not
// DICOM, is truncated or corrupt, holds no image, or uses a transfer syntax DCMTK cannot decode.
DicomImageData readDicom(const std::string& path, DicomScaling scaling = DicomScaling::MinMax);

// True when the file carries the DICOM Part 10 preamble ("DICM" at byte 128): how extension-less
// files in a folder are recognised.
bool hasDicomMagic(const std::string& path);

}  // namespace cae::io
