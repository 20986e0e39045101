// The frames before the current one, as a temporal model reads them (cae.frames = K: the current
// frame and the K-1 before it, stacked along the channels, newest first). A FrameHistory keeps
// the last K-1 *input* (noisy) frames of one group of planes of one size, in model units, and
// writes them into a model's input blob behind the current frame, each moved onto the current
// frame by a global translation when the model was trained that way (cae.align = translation,
// core/infer/align.hpp). Where fewer than K-1 frames are kept, the oldest one kept fills the
// remaining places, and the current frame itself while none is (a still scene: what
// bench_temporal_denoise and the trainer's still clips feed at the start of a clip).
//
//   FrameHistory h;
//   h.configure(2, n, 1, H, W);                 // K = 3; n gray images of H x W
//   // blob: n x 3 x H x W, frame 0 of every image holding the current frame
//   h.estimateShifts(blob, shifts);             // aligned models only, else shifts stay empty
//   h.fill(blob, shifts);                       // frames 1, 2 from the history
//   h.push(blob);                               // the current frame becomes frame 1 of the next
//
// Buffers are allocated by configure() (and only when the shape changes): a stream of frames of
// one size allocates nothing in fill() or push() (estimateShift and applyShift allocate inside
// OpenCV: phase correlation's transforms).
#pragma once

#include <opencv2/core.hpp>
#include <vector>

#include "infer/align.hpp"

namespace cae::infer {

class FrameHistory {
 public:
  // Keeps up to `depth` older frames (K - 1, >= 0) of `images` images of `channels` channels of
  // height x width; forgets what it kept when the shape changes. InvalidArgument for sizes < 1
  // or a negative depth.
  void configure(int depth, int images, int channels, int height, int width);
  void clear() { size_ = 0; }  // the frames kept are forgotten; the buffers stay

  int depth() const { return depth_; }
  int size() const { return size_; }  // older frames kept, 0..depth()
  int images() const { return images_; }
  int channels() const { return channels_; }

  // Channel c of image n of older frame j (1: the frame before the current one, ..., size()),
  // a view of the stored samples (valid until the next push or configure).
  cv::Mat plane(int j, int n, int c) const;
  // The shift of every older frame kept onto the current frame (frame 0 of blob, shaped as for
  // fill) into shifts (size() of them), by estimateShift on the mean of the frame's planes (all
  // images, all channels; the plane itself for one gray image) in model units. Planes under
  // kMinAlignSide pixels a side get no trusted shift (found = false: not moved).
  void estimateShifts(const cv::Mat& blob, std::vector<Shift>& shifts);

  // Writes frames 1..depth() of every image of `blob` (images x (depth()+1)*channels x H x W,
  // CV_32F, frame 0 of each image already holding the current frame): older frame j where it
  // is kept, else the oldest kept, else the current frame. Each older frame is moved by
  // shifts[j-1] (applyShift, channel by channel) when shifts is not empty; shifts of another
  // size than size() are an InvalidArgument, and so is a blob of another shape.
  void fill(cv::Mat& blob, const std::vector<Shift>& shifts) const;

  // Frame 0 of every image of blob (the current frame) becomes older frame 1; the oldest one is
  // dropped beyond depth(). Copies only.
  void push(const cv::Mat& blob);

 private:
  void checkBlob(const cv::Mat& blob) const;
  const float* frame(int j) const;  // older frame j's images x channels x H x W samples
  std::size_t frameSamples() const;
  // The mean of the images x channels planes of one frame (image n's channels contiguous from
  // frame + n * imageStride) as an H x W plane: a view for a single plane, else into scratch.
  cv::Mat meanOf(const float* frame, std::size_t imageStride, cv::Mat& scratch) const;

  int depth_ = 0, images_ = 0, channels_ = 0, height_ = 0, width_ = 0;
  std::vector<cv::Mat> ring_;  // depth_ frames, each 1 x (images*channels*H*W) CV_32F
  int newest_ = 0;             // ring_ index of older frame 1
  int size_ = 0;
  cv::Mat currentMean_, olderMean_;  // estimateShifts' scratch planes
};

// The smallest plane side whose shift is estimated: estimateShift's own limit.
inline constexpr int kMinAlignSide = 16;

// A shift estimated on a plane of one size, for a plane of another (chroma planes of
// I420/NV12 at half the luma's size): dx scaled by the width ratio, dy by the height ratio.
Shift scaleShift(const Shift& s, double sx, double sy);

}  // namespace cae::infer
