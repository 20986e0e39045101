// Clean frames of a test strip as a production line's camera might see it from frame to frame,
// for the defect benchmark's false-alarm count (issue 12: "the false-alarm rate per 1,000 clean
// 640x480 frames at the calibrated threshold"). The benchmark's own variation, written apart from
// the trainer's (core/train/line_variation, cae-train --calib-variation line) and wider than it:
//   view      a homography: rotation up to 5 degrees, zoom up to 6 %, each corner moved up to
//             3 % of the frame
//   lighting  gain 0.85-1.15 with a linear ramp of up to +-10 % across the frame in a random
//             direction (uneven illumination), offset up to 0.04, gamma 0.8-1.25
//   optics    defocus in half of the frames (Gaussian blur, sigma up to 0.8 pixels)
//   sensor    signal-dependent noise: sigma^2 = a x + b^2, a up to 4e-4, b up to 0.01
// Values are float [0, 1], gray or RGB (all channels alike), the strip's size.
#pragma once

#include <opencv2/core.hpp>

namespace cae::bench {

cv::Mat lineFrame(const cv::Mat& strip, cv::RNG& rng);

}  // namespace cae::bench
