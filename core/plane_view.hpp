// PlaneView: one component of a frame as GStreamer (or any image buffer) stores it, stride-aware.
// The seam between frames and core: core/infer reads and writes model inputs through it,
// core/anomaly draws its overlay through it; neither knows GStreamer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace cae {

// Sample (x, y) is the 8- or 16-bit (native-endian) unsigned value at
// data + y * rowStride + x * pixelStride bytes.
struct PlaneView {
  std::uint8_t* data = nullptr;
  int width = 0, height = 0;
  int rowStride = 0;    // bytes between rows
  int pixelStride = 1;  // bytes between samples of a row (e.g. 3 for R of packed RGB)
  int depth = 8;        // bits per sample: 8 or 16

  std::uint8_t* at(int x, int y) const {
    return data + std::ptrdiff_t(y) * rowStride + std::ptrdiff_t(x) * pixelStride;
  }
  unsigned get(int x, int y) const {
    if (depth == 8) return *at(x, y);
    std::uint16_t v;
    std::memcpy(&v, at(x, y), 2);
    return v;
  }
  // Stores v truncated to the sample width (callers round and clamp).
  void set(int x, int y, unsigned v) const {
    if (depth == 8) {
      *at(x, y) = std::uint8_t(v);
      return;
    }
    const std::uint16_t s = std::uint16_t(v);
    std::memcpy(at(x, y), &s, 2);
  }
  unsigned maxValue() const { return depth == 8 ? 255u : 65535u; }
};

}  // namespace cae
