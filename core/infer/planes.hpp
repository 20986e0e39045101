// Image-to-image inference on frame planes as a video frame stores them (any row stride, any
// pixel stride, 8- or 16-bit samples): gathers them into model units, runs the Engine, blends
// with the input and writes samples back, rounded and clamped. What caedenoise runs per frame.
#pragma once

#include <cstdint>
#include <vector>

namespace cae::infer {

class Engine;

// One component of a frame: sample (x, y) is the 8- or 16-bit (native-endian) unsigned value at
// data + y * rowStride + x * pixelStride bytes.
struct PlaneView {
  std::uint8_t* data = nullptr;
  int width = 0, height = 0;
  int rowStride = 0;    // bytes between rows
  int pixelStride = 1;  // bytes between samples of a row (e.g. 3 for R of packed RGB)
  int depth = 8;        // bits per sample: 8 or 16
};

// Runs the engine's model on `in` and writes `out` = strength * model + (1 - strength) * input.
// A 1-channel model denoises each plane on its own (planes of one size in one batch); a
// 3-channel model reads in[0..2] as the R, G, B planes of one image. in[i] and out[i] share size
// and depth; out may be the same memory as in. strength is clamped to [0, 1]; 0 copies the input
// exactly without running the model. Throws InvalidArgument for mismatched planes, cae::Error
// when the model fails.
void runPlanes(Engine& engine, const std::vector<PlaneView>& in, const std::vector<PlaneView>& out,
               double strength);

}  // namespace cae::infer
