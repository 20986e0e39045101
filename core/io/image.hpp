// Still images as engine tensors: read an 8/16-bit gray or colour file into a float {1, C, H, W}
// tensor scaled to [0, 1] (colour in RGB order), write one back as PNG, and small helpers the
// tools need around them (crop, side-by-side montage). OpenCV stays inside image.cpp.
#pragma once

#include <string>
#include <vector>

#include "nn/tensor.hpp"

namespace cae::io {

enum class ColorMode {
  Unchanged,  // channels as stored: 1 (gray), 3 (RGB) or 4 (RGBA)
  Gray,       // 1 channel
  Color,      // 3 channels, RGB
};

// Throws IoError when the file is missing or unreadable, FormatError when it is not an image
// OpenCV can decode or has an unsupported sample type. 8-bit data is divided by 255, 16-bit by
// 65535; float files are taken as they are.
nn::Tensor readImage(const std::string& path, ColorMode mode = ColorMode::Unchanged);

// A one-channel image's samples as stored, unscaled (0..65535 for 16-bit files), as a
// {1, 1, H, W} tensor (float holds every 16-bit value exactly), with their bits per sample: 8
// or 16 (unsigned), 32 (float). IoError / FormatError as readImage, and FormatError for colour
// files and other sample types.
struct GraySamples {
  nn::Tensor samples;
  int bitDepth = 0;
};
GraySamples readGraySamples(const std::string& path);

// Writes sample 0 of a {N, C, H, W} tensor with C = 1, 3 (RGB) or 4 (RGBA) as an 8- or 16-bit
// PNG, clamping to [0, 1]. Throws InvalidArgument for other shapes, IoError when writing fails.
void writePng(const std::string& path, const nn::Tensor& image, int bitDepth = 8);

// The h×w window of sample 0 at (y, x), all channels. Throws InvalidArgument outside the image.
nn::Tensor crop(const nn::Tensor& image, int y, int x, int h, int w);

// Sample 0 resized by factor in (0, 1] with area averaging (OpenCV INTER_AREA): the image seen
// from further away. Throws InvalidArgument for other factors.
nn::Tensor resizeArea(const nn::Tensor& image, double factor);

// Sample 0 of each image placed left to right with gap pixels of value background between them;
// images are top-aligned and must share the channel count.
nn::Tensor sideBySide(const std::vector<nn::Tensor>& images, int gap = 8,
                      nn::Scalar background = 1);

}  // namespace cae::io
