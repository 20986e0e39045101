// A PatchCore-style baseline without pretrained networks (issue 12), for bench_anomaly_defects:
// a memory of local descriptors of the defect-free training images, thinned by greedy k-centre
// selection, and per pixel the distance to the nearest descriptor in memory.
//
// Roth et al. 2022 ("Towards total recall in industrial anomaly detection") take their
// descriptors from an ImageNet WideResNet; this baseline uses no pretrained network, so the
// descriptors are hand-made and multi-scale: per channel, the intensity (Gaussian sigma 1) and
// its two Sobel derivatives at full and at half resolution, each standardised by its training
// mean and deviation, sampled on a 3x3 grid around the pixel (spacing 2 at full resolution, 4 at
// half), so a descriptor sees a 9x9 (and 17x17) neighbourhood: 9 x 6 values per channel.
// Memory: the descriptors of every 2nd pixel of every training image, thinned to kMemoryShare of
// them (at most kMemoryCap) by greedy k-centre selection on a random projection to 32 dimensions
// (the paper's approximate coreset, as in amazon-science/patchcore-inspection's sampler). Map:
// the Euclidean distance of every 2nd pixel's descriptor to its nearest memory entry (brute
// force, by matrix products), resized bilinearly to the image. Written here: OpenCV has no
// k-centre selection, and its FLANN index is approximate.
#pragma once

#include <opencv2/core.hpp>
#include <vector>

namespace cae::bench {

class PatchMemory {
 public:
  static constexpr double kMemoryShare = 0.1;
  static constexpr int kMemoryCap = 8000;
  static constexpr int kStride = 2;

  // train: float images in [0, 1] (CV_32FC1 or CV_32FC3), all with the same channel count.
  explicit PatchMemory(const std::vector<cv::Mat>& train, unsigned seed = 1);

  // Per-pixel distance to the nearest memory descriptor (CV_32F, img's size).
  cv::Mat map(const cv::Mat& img) const;

  int memorySize() const { return memory_.rows; }
  int dims() const { return memory_.cols; }

 private:
  // The feature maps of img (6 per channel, standardised) and the descriptors of the pixels on
  // the stride grid as rows; gridW x gridH is that grid's size.
  cv::Mat descriptors(const cv::Mat& img, int& gridW, int& gridH) const;
  std::vector<cv::Mat> featureMaps(const cv::Mat& img) const;

  std::vector<double> mean_, dev_;  // per feature map, from the training images
  cv::Mat memory_;                  // rows: descriptors
  cv::Mat memoryNorm2_;             // 1 x rows: squared norms
};

}  // namespace cae::bench
