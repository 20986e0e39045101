// Multi-scale SSIM (Wang, Simoncelli, Bovik, "Multiscale structural similarity for image quality
// assessment", Asilomar 2003) as the learned-compression literature reports it (CompressAI's
// pytorch_msssim): 8-bit data range, an 11x11 Gaussian window of sigma 1.5 applied without
// padding, five scales with 2x2 average pooling between them, weights 0.0448, 0.2856, 0.3001,
// 0.2363, 0.1333; colour pictures: the mean over channels. No Debian package computes it for C++
// (scikit-image has single-scale SSIM only), so it is ours, for the benchmark only.
#pragma once

#include <opencv2/core.hpp>

namespace cae::bench {

// a, b: CV_8UC1 or CV_8UC3 of one size, each side at least 161 pixels (the fifth scale must
// still hold a window). Returns a value in [0, 1] (1: identical).
double msssim(const cv::Mat& a, const cv::Mat& b);

}  // namespace cae::bench
