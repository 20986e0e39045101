// Frames as a video frame stores them (any row stride, any pixel stride, 8- or 16-bit samples)
// to and from model units: the one frame reader both elements use, and image-to-image
// inference that writes the result back into the planes (what caedenoise runs per frame).
//
//   std::vector<PlaneView> rgb = {r, g, b};            // component views of one frame
//   cv::Mat x = readFrame(engine, rgb);                 // 1×C×H×W: R, G, B or their luma
//   runPlanes(engine, in, out, 0.8);                    // denoise planes, 80 % strength
#pragma once

#include <opencv2/core.hpp>
#include <vector>

#include "plane_view.hpp"

namespace cae::infer {

class Engine;
struct Normalisation;

using cae::PlaneView;  // core/plane_view.hpp: the frame seam, shared with core/anomaly

// How a frame's planes become a model's input channels.
enum class Feed {
  Channels,  // one channel per plane, in the order given
  Luma,      // one channel: the BT.601 luma 0.299 R + 0.587 G + 0.114 B of three planes R, G, B
};

// Planes (all of one size and depth) as a 1×C×H×W CV_32F blob in model units, sample * n.scale +
// n.offset. InvalidArgument for no planes, planes that differ in size or depth, a depth other
// than 8 or 16, or Luma without exactly three planes.
cv::Mat gatherPlanes(const std::vector<PlaneView>& planes, const Normalisation& n, Feed feed);

// A frame's planes as the 1×C×H×W blob the engine's model reads (C = engine.channels()): one
// plane per channel when the counts match, the luma when a 1-channel model reads three R, G, B
// planes. Planes given R, G, B are read B, G, R for a model whose cae.format starts with BGR.
// InvalidArgument when the planes cannot feed the model.
cv::Mat readFrame(const Engine& engine, std::vector<PlaneView> planes);

// Runs the engine's model on `in` and writes `out` = strength * model + (1 - strength) * input.
// A 1-channel model denoises each plane on its own (planes of one size in one batch); a
// 3-channel model reads in[0..2] as the R, G, B planes of one image. in[i] and out[i] share size
// and depth; out may be the same memory as in. strength is clamped to [0, 1]; 0 copies the input
// exactly without running the model. Throws InvalidArgument for mismatched planes, cae::Error
// when the model fails.
void runPlanes(Engine& engine, const std::vector<PlaneView>& in, const std::vector<PlaneView>& out,
               double strength);

}  // namespace cae::infer
