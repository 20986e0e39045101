// How a production line's camera sees one good surface differently from frame to frame (issue
// 12: "calibration on held-out data as varied as a line"): lighting (gain, offset, gamma), the
// view (a small homography: rotation, scale and perspective tilt), defocus and camera noise.
//
//   cae-train --calib-variation line   calibration crops of the held-out images drawn through
//                                      variedCrops, so that the threshold covers these changes
//   cae-train --lighting               training samples under random lighting (BatchSource),
//                                      so that the model learns the surface, not one exposure
//   cae-train --defocus S              training samples blurred in half the draws (sigma up to S),
//                                      as a camera's focus drifts
//   cae-train --calib-defocus S        calibration crops (--calib-variation) blurred the same way
//
// Values are the trainer's [0, 1] pixels; every variation keeps them in [0, 1]. The defect
// benchmark (bench/anomaly_defects) draws its clean "line" frames with its own, different code
// and ranges (an uneven illumination and defocus among them), so a calibration cannot be tuned to
// the benchmark's exact variation.
#pragma once

#include <cstdint>
#include <vector>

#include "nn/rng.hpp"
#include "nn/tensor.hpp"

namespace cae::train {

struct Image;  // train/dataset.hpp (which includes this header for LightingRange)

// Lighting: out = clamp(gain * in^gamma + offset, 0, 1), gain in [1 - gain, 1 + gain], offset in
// [-offset, offset], log(gamma) uniform in [-log(1 + gamma), log(1 + gamma)].
struct LightingRange {
  double gain = 0.15, offset = 0.05, gamma = 0.25;
  bool any() const { return gain > 0 || offset > 0 || gamma > 0; }
};

struct LineVariation {
  LightingRange lighting;
  double noise = 0.02;        // camera noise: Gaussian, sigma uniform in [0, noise]
  double rotationDeg = 4.0;   // view: rotation uniform in [-r, r] degrees
  double scale = 0.05;        // view: zoom uniform in [1 - s, 1 + s]
  double perspective = 0.03;  // view: each corner moved up to this share of the crop's size
  double defocus = 0.0;       // focus: applyDefocus's largest sigma in pixels (0: in focus)
};

// One random lighting drawn from `range`, applied to `count` pixels in place (all channels alike).
void applyLighting(nn::Scalar* pixels, std::size_t count, const LightingRange& range, nn::Rng& rng);

// Defocus of one sample ({channels, h, w} planes, in place): in half the draws a Gaussian blur
// of sigma uniform in [0, maxSigma] pixels (borders reflect), all channels alike. maxSigma 0
// leaves the sample as it is and draws nothing from rng, so adding the option to a recipe that
// has it at 0 changes nothing.
void applyDefocus(nn::Scalar* sample, int channels, int h, int w, double maxSigma, nn::Rng& rng);

// n crops of h x w ({n, C, h, w}) of `images` ({1, C, H, W} each), sample i from image
// i mod size(), each at a random place and seen through one random draw of `v` (view first, then
// defocus, lighting, noise). Deterministic for a seed. Images must be at least h x w; content the
// view reaches outside an image is its mirror (cv::BORDER_REFLECT_101).
nn::Tensor variedCrops(const std::vector<Image>& images, int n, int h, int w,
                       const LineVariation& v, std::uint64_t seed);

}  // namespace cae::train
