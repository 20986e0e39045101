// Frames as a video frame stores them (any row stride, any pixel stride, 8- or 16-bit samples)
// to and from model units: the one frame reader both elements use, and image-to-image
// inference that writes the result back into the planes (what caedenoise runs per frame).
//
//   std::vector<PlaneView> rgb = {r, g, b};            // component views of one frame
//   cv::Mat x = readFrame(engine, rgb);                 // 1×C×H×W: R, G, B or their luma
//   runPlanes(engine, in, out, 0.8);                    // denoise planes, 80 % strength
//   PlaneWorkspace w;                                   // a stream: buffers and history kept
//   for (each frame) runPlanes(engine, w, in, out, 1.0);
#pragma once

#include <cstddef>
#include <memory>
#include <opencv2/core.hpp>
#include <vector>

#include "plane_view.hpp"

namespace cae::infer {

class Engine;
struct Normalisation;

using cae::PlaneView;  // core/plane_view.hpp: the frame seam, shared with core/anomaly

// Component c of an 8- or 16-bit cv::Mat of interleaved channels (CV_8UC1..4, CV_16UC1..4) as a
// plane view on its memory: how tools, tests and benchmarks hand OpenCV images to runPlanes.
// InvalidArgument for other depths or a component out of range.
PlaneView viewOf(cv::Mat& m, int c = 0);

// How a frame's planes become a model's input channels.
enum class Feed {
  Channels,  // one channel per plane, in the order given
  Luma,      // one channel: the BT.601 luma 0.299 R + 0.587 G + 0.114 B of three planes R, G, B
};

// Planes (all of one size and depth) as a 1×C×H×W CV_32F blob in model units, sample * n.scale +
// n.offset. InvalidArgument for no planes, planes that differ in size or depth, a depth other
// than 8 or 16, or Luma without exactly three planes.
cv::Mat gatherPlanes(const std::vector<PlaneView>& planes, const Normalisation& n, Feed feed);
// The same into `blob`, whose memory is kept when it already has the shape (a stream's frames).
void gatherPlanes(const std::vector<PlaneView>& planes, const Normalisation& n, Feed feed,
                  cv::Mat& blob);

// A frame's planes as the 1×C×H×W blob the engine's model reads (C = engine.channels()): one
// plane per channel when the counts match, the luma when a 1-channel model reads three R, G, B
// planes. Planes given R, G, B are read B, G, R for a model whose cae.format starts with BGR.
// InvalidArgument when the planes cannot feed the model.
cv::Mat readFrame(const Engine& engine, std::vector<PlaneView> planes);
// The same into `blob` (memory kept from frame to frame, as gatherPlanes).
void readFrame(const Engine& engine, std::vector<PlaneView> planes, cv::Mat& blob);

// How a 1-channel model reads the three R, G, B planes of an RGB-type frame (runPlanes).
enum class Colour {
  PerPlane,  // R, G and B, each as a gray image
  // The frame turned into luma Y = (R+G+B)/3 and two opponent channels C1 = (R-B)/2 + mid,
  // C2 = (R-2G+B)/4 + mid (mid: half the model's range), each denoised as a gray image, and
  // turned back. Each carries a share of the three channels' noise (sigma/sqrt3, /sqrt2,
  // *sqrt6/4 for independent channel noise) and the opponent ones little structure, so the same
  // gray model removes more: +0.92 dB at sigma 25 with denoise-gray on the colour test images
  // (bench/reports/colour.md) — CBM3D's decorrelation, without an RGB model. Used for a
  // single-frame model given exactly three planes of one size; otherwise PerPlane.
  Opponent,
};

// What runPlanes keeps from one frame to the next, for one engine and one stream:
//  - the model's input and output blobs of every group of planes runPlanes batches together
//    (planes of one size and depth), allocated on the first frame and reused while the frames
//    keep their layout: frames of one size allocate nothing large;
//  - for a temporal model (Engine::framesIn() = K > 1), the last K-1 input (noisy) frames of
//    every group in model units (FrameHistory, core/infer/frame_history.hpp), which the model
//    reads behind the current frame, newest first; with fewer kept, the oldest kept repeats,
//    and the current frame itself while none is (the first frame of a stream).
// A model with cae.align = translation reads every older frame moved onto the current one, as
// the trainer aligns its clips: the shift of each older frame is estimated once per frame, by
// estimateShift on the mean of the first group's planes (the gray plane; Y of YUV; R, G, B of
// RGB frames, whether a gray model reads them one by one or an RGB model as channels: the
// trainer's estimate on the mean of a clip's channels), and the planes of smaller groups (U, V
// of I420/NV12) take it scaled by their size ratio.
// The history starts again when forget() is called (the stream is not continuous: the caller
// knows), and when the planes given change in number, size or depth.
class PlaneWorkspace {
 public:
  PlaneWorkspace();
  ~PlaneWorkspace();
  PlaneWorkspace(const PlaneWorkspace&) = delete;
  PlaneWorkspace& operator=(const PlaneWorkspace&) = delete;

  // The next frame has no history (the buffers stay).
  void forget();
  // Older frames kept (the same for every group): 0 before the first frame and after forget(),
  // then up to K-1.
  int historySize() const;
  // The groups of the last frame and their blobs: N×(K·C)×H×W in, N×C×H×W out (for tests:
  // their memory stays from frame to frame).
  std::size_t groups() const;
  const cv::Mat& input(std::size_t group) const;
  const cv::Mat& output(std::size_t group) const;

 private:
  friend void runPlanes(Engine&, PlaneWorkspace&, const std::vector<PlaneView>&,
                        const std::vector<PlaneView>&, double, Colour);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Runs the engine's model on `in` and writes `out` = strength * model + (1 - strength) * input.
// A 1-channel model denoises each plane on its own (planes of one size in one batch); a
// 3-channel model reads in[0..2] as the R, G, B planes of one image. in[i] and out[i] share size
// and depth; out may be the same memory as in. strength is clamped to [0, 1]; 0 copies the input
// exactly without running the model (a temporal model's history still takes the frame). The
// workspace keeps the buffers and a temporal model's history (above); use one per engine and
// stream. `colour`: how a 1-channel model reads R, G, B planes (above; in must then be R, G, B).
// Throws InvalidArgument for mismatched planes, cae::Error when the model fails.
void runPlanes(Engine& engine, PlaneWorkspace& workspace, const std::vector<PlaneView>& in,
               const std::vector<PlaneView>& out, double strength,
               Colour colour = Colour::PerPlane);

// The same with a workspace of its own: no history (a temporal model reads the current frame
// in every place), buffers allocated per call.
void runPlanes(Engine& engine, const std::vector<PlaneView>& in, const std::vector<PlaneView>& out,
               double strength, Colour colour = Colour::PerPlane);

}  // namespace cae::infer
