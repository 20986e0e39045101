// DICOM pixel data as engine tensors, read with DCMTK (uncompressed, JPEG, JPEG-LS and RLE
// transfer syntaxes). DCMTK stays inside dicom.cpp.
#pragma once

#include <string>
#include <vector>

#include "io/modality.hpp"
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
  // Modality values (stored * Rescale Slope + Rescale Intercept: HU for CT) through a window:
  // u = (value - lo) / (hi - lo), not clipped, so one window means the same for every file.
  Window,
};

struct DicomImageData {
  // One {1, C, H, W} tensor per frame: C = 1 for MONOCHROME1/2 (values as stored, rescaled
  // only by DicomScaling::Window, MONOCHROME1 not inverted, no modality LUT), C = 3 (RGB) for
  // colour images.
  std::vector<nn::Tensor> frames;
  int bitsStored = 0;
  bool isSigned = false;
  // Rescale Slope / Intercept (0028,1053) / (0028,1052): stored -> modality values; 1 and 0
  // when the file has none (MR, most non-CT images). Recorded whatever the scaling.
  Rescale rescale;
  // The stored values that 0 and 1 stand for (monochrome): stored = lo + value * (hi - lo).
  // With DicomScaling::Window: the window's ends as stored values ((lo - intercept) / slope).
  // Colour frames are always scaled by their full bit range.
  double lo = 0, hi = 1;
};

// Throws IoError when the file cannot be opened, FormatError (naming the file) when it is not
// DICOM, is truncated or corrupt, holds no image, uses a transfer syntax DCMTK cannot decode,
// or (DicomScaling::Window) has a zero Rescale Slope. `window` is read by DicomScaling::Window
// only (InvalidArgument unless lo < hi); colour frames ignore it.
DicomImageData readDicom(const std::string& path, DicomScaling scaling = DicomScaling::MinMax,
                         const Window& window = {});

// True when the file carries the DICOM Part 10 preamble ("DICM" at byte 128): how extension-less
// files in a folder are recognised.
bool hasDicomMagic(const std::string& path);

}  // namespace cae::io
