// Global motion between the frames of a video, estimated and undone, so that a temporal model
// (cae.frames > 1 with cae.align = translation) reads the older frames where the current frame
// shows the same scene: what a pan or a shaking camera moves, the model then no longer has to
// find. The trainer (cae-train --align) and caedenoise call these same functions on noisy frames,
// so a model is trained on exactly what the element will feed it.
//
//   const Shift s = estimateShift(current, older);   // 2-D CV_32F planes of one size
//   applyShift(older, s, aligned);                    // older moved onto current
#pragma once

#include <opencv2/core.hpp>

namespace cae::infer {

// Bounds of a plausible estimate: a weaker correlation peak than kMinResponse, a shift longer
// than kMaxShift pixels, or one that does not make the two frames agree better than no shift
// (unrelated frames: a scene cut, noise) is not trusted, and the older frame is left where it is.
inline constexpr double kMinResponse = 0.03;
inline constexpr double kMaxShift = 32.0;

// The estimate reads the centre of large frames: kCoarseSide pixels each way at half
// resolution, kFineSide at full resolution (frames up to these sizes are read whole).
inline constexpr int kCoarseSide = 512;
inline constexpr int kFineSide = 256;

struct Shift {
  double dx = 0, dy = 0;  // older(x + dx, y + dy) shows what current(x, y) shows
  double response = 0;    // the phase-correlation peak (0..1)
  bool found = false;     // false: no trusted estimate, dx = dy = 0
};

// The global translation of `older` relative to `current` (2-D single-channel CV_32F of one
// size, at least 16x16), by phase correlation (cv::phaseCorrelate, Hann window): coarse at half
// resolution, refined at full resolution, on the frame's centre (kCoarseSide, kFineSide);
// ~25 ms of CPU for a 640x480 pair on this machine under load (cv::phaseCorrelate works in
// double precision: ~7 ms per 256x240 call). Estimates need context: on whole frames (320x240 and
// up) at sigma 25, under 1 % are off by more than a pixel; on 64x64 patches, most are at sigma
// 50. Throws cae::InvalidArgument for other inputs.
Shift estimateShift(const cv::Mat& current, const cv::Mat& older);

// `older` moved by s onto the current frame's grid (bicubic, borders replicated) into `out`
// (reallocated only when its size or type differs); a copy when !s.found.
void applyShift(const cv::Mat& older, const Shift& s, cv::Mat& out);

}  // namespace cae::infer
