// Parallel-beam CT on the pixel grid: the Radon transform (forward projection) and filtered
// back-projection (FBP), as used to simulate low-dose CT (train/ct_lowdose.hpp) and by the
// medical benchmark. Written here because Debian packages no C++ Radon/FBP library (scikit-image's
// radon/iradon are Python only; RTK and ASTRA are not packaged).
//
//   ParallelBeam beam({512, 512}, parallelAngles(360), FbpFilter::SheppLogan);
//   cv::Mat sino = beam.project(slice);         // 360 x beam.bins(), CV_32F
//   cv::Mat back = beam.reconstruct(sino);      // 512 x 512, CV_32F
//   // or, for one call: radon(slice, angles); fbp(sino, angles, slice.size(), filter)
//
// Geometry (all lengths in pixels, so a line integral is sum(value x path length in pixels)):
// - The pixel in row i, column j has its centre at x = j - (w - 1) / 2, y = (h - 1) / 2 - i: the
//   rotation centre is the centre of the image, x to the right, y up.
// - Angle theta (radians; parallelAngles(A) gives k * pi / A, k = 0..A-1, i.e. 180 degrees)
//   projects onto the detector coordinate s = x cos(theta) + y sin(theta): theta = 0 sums each
//   column (vertical rays, s = x), theta = pi/2 sums each row (s = y, upwards). A point at (x0, y0)
//   traces the sinusoid s(theta) = x0 cos(theta) + y0 sin(theta).
// - Detector: bins() bins of one pixel width covering the image's diagonal plus one pixel of
//   interpolation margin each side; bin b is centred at s = b - (bins() - 1) / 2. The count has
//   the parity of the width, so that at theta = 0 each column falls on one bin (the centre of an
//   even image lies between pixels, and then between bins).
// - project(): Joseph's method (P. M. Joseph, "An improved algorithm for reprojecting rays through
//   pixel images", IEEE TMI 1982): each ray steps one row (or column, whichever the ray crosses
//   more steeply) at a time and interpolates linearly between the two pixels it passes, weighted
//   by the path length per step, 1 / max(|cos|, |sin|). Pixels outside the image are 0.
// - filter(): the ramp filter of Kak & Slaney ("Principles of Computerized Tomographic Imaging",
//   1988, ch. 3, eq. 61): the band-limited spatial kernel h(0) = 1/4, h(k) = -1/(pi k)^2 for odd
//   k, 0 for even k, applied by cv::dft on rows zero-padded to at least twice the bins (no
//   circular wrap-around); its DFT, rather than a sampled |f|, keeps the DC term right (no
//   cupping). Optional windows of f in cycles per pixel: Shepp-Logan sin(pi f)/(pi f), Hann
//   (1 + cos(2 pi f)) / 2, as scikit-image's iradon. The FFT costs O(n log n) per projection
//   where the spatial kernel's direct convolution costs O(n^2), ~20x more at 512 pixels.
// - backproject(): pixel-driven, linear interpolation between the two nearest bins, scaled by
//   pi / A, so that reconstruct(project(f)) ~ f (the discrete inverse Radon formula).
// The transform is linear: reconstruct(a) - reconstruct(b) = reconstruct(a - b).
#pragma once

#include <opencv2/core.hpp>
#include <vector>

namespace cae::train {

enum class FbpFilter { RamLak, SheppLogan, Hann };

// k * pi / count for k = 0..count-1 (radians). InvalidArgument unless count >= 1.
std::vector<double> parallelAngles(int count);

// The detector bins of an image of this size: the smallest count of the width's parity that
// covers the diagonal plus one pixel each side (727 for 511 x 511, 728 for 512 x 512).
int detectorBins(cv::Size image);

class ParallelBeam {
 public:
  // InvalidArgument: an empty size or no angles.
  ParallelBeam(cv::Size image, std::vector<double> angles, FbpFilter filter = FbpFilter::RamLak);

  cv::Size imageSize() const { return size_; }
  const std::vector<double>& angles() const { return angles_; }
  int bins() const { return bins_; }

  // image: one channel of imageSize(), any depth (converted to float). Returns the sinogram,
  // angles().size() x bins(), CV_32F. InvalidArgument for another size or more channels.
  cv::Mat project(const cv::Mat& image) const;
  // The ramp-filtered sinogram (windowed as constructed), same shape, CV_32F.
  cv::Mat filter(const cv::Mat& sinogram) const;
  // Back-projection of a (filtered) sinogram onto imageSize(), CV_32F.
  cv::Mat backproject(const cv::Mat& filtered) const;
  // backproject(filter(sinogram)): the FBP reconstruction.
  cv::Mat reconstruct(const cv::Mat& sinogram) const { return backproject(filter(sinogram)); }

 private:
  void checkSinogram(const cv::Mat& sinogram) const;

  cv::Size size_;
  std::vector<double> angles_;
  int bins_ = 0;
  int padded_ = 0;          // the DFT length of filter()
  cv::Mat packedResponse_;  // 1 x padded_, the filter's real response in cv::dft's CCS layout
};

// ParallelBeam(image.size(), angles).project(image).
cv::Mat radon(const cv::Mat& image, const std::vector<double>& angles);
// ParallelBeam(size, angles, filter).reconstruct(sinogram).
cv::Mat fbp(const cv::Mat& sinogram, const std::vector<double>& angles, cv::Size size,
            FbpFilter filter = FbpFilter::RamLak);

}  // namespace cae::train
