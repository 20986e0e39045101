#include "train/ct_projection.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <utility>

#include "error.hpp"

namespace cae::train {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kPad = 2;  // zero pixels each side of a padded line: interpolation never reads out

cv::Mat toFloat(const cv::Mat& image) {
  cv::Mat f;
  if (image.depth() == CV_32F && image.isContinuous()) return image;
  image.convertTo(f, CV_32F);
  return f;
}

// Adds to acc[b], for the bins b whose line position t = t0 + b * step lies in (-1, n), the
// linear interpolation of line (n values, kPad zeros readable on each side) at t.
void addLine(float* acc, int bins, const float* line, int n, double t0, double step) {
  double lo = (-1 - t0) / step, hi = (n - t0) / step;
  if (step < 0) std::swap(lo, hi);
  const int b0 = std::max(0, int(std::ceil(lo)));
  const int b1 = std::min(bins - 1, int(std::floor(hi)));
  const float* p = line - kPad;  // p[k] for k in [0, n + 2 * kPad)
  const auto base = float(t0 + kPad), dt = float(step);
  for (int b = b0; b <= b1; ++b) {
    const float t = base + float(b) * dt;  // > kPad - 1 - rounding, so int() is floor()
    const int k = int(t);
    const float f = t - float(k);
    acc[b] += p[k] + f * (p[k + 1] - p[k]);
  }
}

// The ramp filter's real response, windowed, at the DFT frequencies m / length, m = 0..length/2,
// laid out as cv::dft's packed rows (CCS): [H0, H1, H1, H2, H2, ..., H(length/2)].
cv::Mat packedRampResponse(int length, FbpFilter window) {
  cv::Mat kernel = cv::Mat::zeros(1, length, CV_32F);
  auto* k = kernel.ptr<float>();
  k[0] = 0.25F;
  for (int m = 1; m <= length / 2; m += 2) {
    const auto v = float(-1.0 / (kPi * kPi * double(m) * double(m)));
    k[m] = v;
    k[length - m] = v;
  }
  cv::Mat spectrum;
  cv::dft(kernel, spectrum);  // CCS: [Re0, Re1, Im1, ..., Re(length/2)]; Im = 0 (even kernel)
  auto* s = spectrum.ptr<float>();
  auto weight = [&](int m) {
    const double f = double(m) / length;  // cycles per pixel, 0..1/2
    switch (window) {
      case FbpFilter::SheppLogan:
        return m == 0 ? 1.0 : std::sin(kPi * f) / (kPi * f);
      case FbpFilter::Hann:
        return 0.5 * (1 + std::cos(2 * kPi * f));
      case FbpFilter::RamLak:
        break;
    }
    return 1.0;
  };
  s[0] = float(s[0] * weight(0));
  for (std::ptrdiff_t m = 1; 2 * m < length; ++m) {
    const auto h = float(s[2 * m - 1] * weight(int(m)));
    s[2 * m - 1] = h;
    s[2 * m] = h;
  }
  s[length - 1] = float(s[length - 1] * weight(length / 2));
  return spectrum;
}

}  // namespace

std::vector<double> parallelAngles(int count) {
  if (count < 1) throw InvalidArgument("parallelAngles: need at least one angle");
  std::vector<double> a(std::size_t(count), 0.0);
  for (int k = 0; k < count; ++k) a[std::size_t(k)] = kPi * k / count;
  return a;
}

int detectorBins(cv::Size image) {
  const double cx = (image.width - 1) / 2.0, cy = (image.height - 1) / 2.0;
  // Even for an even width: bin centres then fall on the half-integer pixel centres at theta = 0.
  return 2 * int(std::ceil(std::hypot(cx, cy) + 1)) + 1 + (image.width % 2 == 0 ? 1 : 0);
}

ParallelBeam::ParallelBeam(cv::Size image, std::vector<double> angles, FbpFilter filter)
    : size_(image), angles_(std::move(angles)) {
  if (image.width < 1 || image.height < 1) throw InvalidArgument("ParallelBeam: empty image size");
  if (angles_.empty()) throw InvalidArgument("ParallelBeam: no projection angles");
  bins_ = detectorBins(image);
  padded_ = cv::getOptimalDFTSize(2 * bins_);
  while (padded_ % 2) padded_ = cv::getOptimalDFTSize(padded_ + 1);  // CCS layout below: even
  packedResponse_ = packedRampResponse(padded_, filter);
}

cv::Mat ParallelBeam::project(const cv::Mat& image) const {
  if (image.channels() != 1 || image.size() != size_)
    throw InvalidArgument("ParallelBeam::project: expected one channel of " +
                          std::to_string(size_.width) + "x" + std::to_string(size_.height));
  const cv::Mat img = toFloat(image);
  const int h = size_.height, w = size_.width;
  // Rows of the image and of its transpose, zero-padded, so that both ray families read lines.
  cv::Mat rows, cols;
  cv::copyMakeBorder(img, rows, 0, 0, kPad, kPad, cv::BORDER_CONSTANT, 0);
  cv::copyMakeBorder(img.t(), cols, 0, 0, kPad, kPad, cv::BORDER_CONSTANT, 0);
  const double cb = (bins_ - 1) / 2.0, cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
  cv::Mat sino = cv::Mat::zeros(int(angles_.size()), bins_, CV_32F);
  for (int a = 0; a < sino.rows; ++a) {
    const double c = std::cos(angles_[std::size_t(a)]), s = std::sin(angles_[std::size_t(a)]);
    auto* out = sino.ptr<float>(a);
    double perStep = 0;                // path length of the ray between two lines
    if (std::abs(c) >= std::abs(s)) {  // steep rays: one step per row, x = (s_b - y sin) / cos
      for (int i = 0; i < h; ++i) {
        const double y = cy - i;
        addLine(out, bins_, rows.ptr<float>(i) + kPad, w, (-cb - y * s) / c + cx, 1 / c);
      }
      perStep = 1 / std::abs(c);
    } else {  // flat rays: one step per column, y = (s_b - x cos) / sin, row = cy - y
      for (int j = 0; j < w; ++j) {
        const double x = j - cx;
        addLine(out, bins_, cols.ptr<float>(j) + kPad, h, cy + (cb + x * c) / s, -1 / s);
      }
      perStep = 1 / std::abs(s);
    }
    for (int b = 0; b < bins_; ++b) out[b] = float(out[b] * perStep);
  }
  return sino;
}

void ParallelBeam::checkSinogram(const cv::Mat& sinogram) const {
  if (sinogram.channels() != 1 || sinogram.rows != int(angles_.size()) || sinogram.cols != bins_)
    throw InvalidArgument("ParallelBeam: expected a one-channel sinogram of " +
                          std::to_string(angles_.size()) + " angles x " + std::to_string(bins_) +
                          " bins");
}

cv::Mat ParallelBeam::filter(const cv::Mat& sinogram) const {
  checkSinogram(sinogram);
  cv::Mat padded = cv::Mat::zeros(sinogram.rows, padded_, CV_32F);
  sinogram.convertTo(padded.colRange(0, bins_), CV_32F);
  cv::Mat spectrum, out;
  cv::dft(padded, spectrum, cv::DFT_ROWS);
  for (int a = 0; a < spectrum.rows; ++a) {
    cv::Mat row = spectrum.row(a);
    cv::multiply(row, packedResponse_, row);  // a real, even response: CCS entries scale alike
  }
  cv::dft(spectrum, out, cv::DFT_INVERSE | cv::DFT_ROWS | cv::DFT_REAL_OUTPUT | cv::DFT_SCALE);
  return out.colRange(0, bins_).clone();
}

cv::Mat ParallelBeam::backproject(const cv::Mat& filtered) const {
  checkSinogram(filtered);
  const cv::Mat q = toFloat(filtered);
  const int h = size_.height, w = size_.width;
  const double cb = (bins_ - 1) / 2.0, cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
  cv::Mat image = cv::Mat::zeros(size_, CV_32F);
  for (int a = 0; a < q.rows; ++a) {
    const double c = std::cos(angles_[std::size_t(a)]), s = std::sin(angles_[std::size_t(a)]);
    const auto* p = q.ptr<float>(a);
    const auto dt = float(c);
    for (int i = 0; i < h; ++i) {
      // Bin position of pixel (i, j): cb + (j - cx) cos + y sin, within [1, bins - 2] by
      // detectorBins' margin, so int() is floor() and k + 1 is a bin.
      const auto t0 = float(cb - cx * c + (cy - i) * s);
      auto* o = image.ptr<float>(i);
      for (int j = 0; j < w; ++j) {
        const float t = t0 + float(j) * dt;
        const int k = int(t);
        const float f = t - float(k);
        o[j] += p[k] + f * (p[k + 1] - p[k]);
      }
    }
  }
  image *= kPi / double(q.rows);
  return image;
}

cv::Mat radon(const cv::Mat& image, const std::vector<double>& angles) {
  return ParallelBeam(image.size(), angles).project(image);
}

cv::Mat fbp(const cv::Mat& sinogram, const std::vector<double>& angles, cv::Size size,
            FbpFilter filter) {
  return ParallelBeam(size, angles, filter).reconstruct(sinogram);
}

}  // namespace cae::train
