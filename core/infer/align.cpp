#include "infer/align.hpp"

#include <cmath>
#include <opencv2/imgproc.hpp>

#include "error.hpp"

namespace cae::infer {

namespace {

cv::Point2d correlate(const cv::Mat& a, const cv::Mat& b, double* response) {
  thread_local cv::Mat win;  // per size; a stream's frames keep theirs
  if (win.size() != a.size()) cv::createHanningWindow(win, a.size(), CV_32F);
  // phaseCorrelate multiplies its inputs by the window in place when they need no padding.
  return cv::phaseCorrelate(a.clone(), b.clone(), win, response);
}

// The centre of a frame, at most `side` pixels each way: the part of a large frame the estimate
// reads (a global translation shows as well in the middle 512 or 256 pixels as in the whole
// frame, and the Fourier transforms cost a fraction). Smaller frames are read whole.
cv::Rect centre(cv::Size size, int side) {
  const int w = std::min(size.width, side), h = std::min(size.height, side);
  return {(size.width - w) / 2, (size.height - h) / 2, w, h};
}

// Mean squared difference of a(x, y) and b(x + dx, y + dy) over the pixels both cover (whole
// pixels: an interpolated b would be smoother than a, and seem closer to anything).
double meanSquaredDifference(const cv::Mat& a, const cv::Mat& b, int dx, int dy) {
  const int w = a.cols - std::abs(dx), h = a.rows - std::abs(dy);
  if (w < 4 || h < 4) return 0;
  const cv::Rect ra(std::max(0, -dx), std::max(0, -dy), w, h);
  const cv::Rect rb(std::max(0, dx), std::max(0, dy), w, h);
  const double n = cv::norm(a(ra), b(rb), cv::NORM_L2);
  return n * n / double(w * h);
}

}  // namespace

Shift estimateShift(const cv::Mat& current, const cv::Mat& older) {
  if (current.dims != 2 || current.type() != CV_32F || older.type() != CV_32F ||
      current.size() != older.size() || current.rows < 16 || current.cols < 16)
    throw InvalidArgument("estimateShift needs two single-channel float planes of one size, " +
                          std::string("at least 16x16"));
  // Coarse: at half resolution, where the noise's share of the spectrum is smaller (at sigma 50
  // on 240x240 crops of the skimage photographs: 12 % of estimates off by more than a pixel,
  // against 16 % at full resolution).
  // On the centre 512 x 512 of larger frames.
  const cv::Rect rc = centre(current.size(), kCoarseSide);
  cv::Mat a2, b2;
  cv::pyrDown(current(rc), a2);
  cv::pyrDown(older(rc), b2);
  Shift s;
  const cv::Point2d coarse = correlate(a2, b2, &s.response) * 2.0;
  if (!std::isfinite(coarse.x) || !std::isfinite(coarse.y) || !std::isfinite(s.response) ||
      s.response < kMinResponse || std::hypot(coarse.x, coarse.y) > kMaxShift)
    return Shift{0, 0, std::isfinite(s.response) ? s.response : 0, false};
  // A shift must make the frames agree: phase correlation always has a highest peak, even
  // between unrelated frames (a scene cut, noise) or where moving objects dominate. A shift of
  // a half-resolution pixel or more is kept only when it lowers the frames' difference by 5 %.
  const int hx = int(std::lround(coarse.x * 0.5)), hy = int(std::lround(coarse.y * 0.5));
  if ((hx != 0 || hy != 0) &&
      meanSquaredDifference(a2, b2, hx, hy) >= 0.95 * meanSquaredDifference(a2, b2, 0, 0))
    return Shift{0, 0, s.response, false};
  // Fine: the residual at full resolution once the coarse shift is undone, kept when it is
  // under a pixel (sub-pixel precision the half-resolution peak lacks); on the centre 256 x 256.
  const cv::Rect rf = centre(current.size(), kFineSide);
  cv::Mat moved;
  cv::warpAffine(older, moved, cv::Matx23d(1, 0, coarse.x + rf.x, 0, 1, coarse.y + rf.y), rf.size(),
                 cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, cv::BORDER_REPLICATE);
  double fineResponse = 0;
  const cv::Point2d fine = correlate(current(rf), moved, &fineResponse);
  s.dx = coarse.x;
  s.dy = coarse.y;
  if (std::isfinite(fine.x) && std::isfinite(fine.y) && std::hypot(fine.x, fine.y) < 1.0) {
    s.dx += fine.x;
    s.dy += fine.y;
  }
  s.found = true;
  return s;
}

void applyShift(const cv::Mat& older, const Shift& s, cv::Mat& out) {
  if (!s.found) {
    older.copyTo(out);
    return;
  }
  // WARP_INVERSE_MAP: out(x, y) = older(x + dx, y + dy).
  cv::warpAffine(older, out, cv::Matx23d(1, 0, s.dx, 0, 1, s.dy), older.size(),
                 cv::INTER_CUBIC | cv::WARP_INVERSE_MAP, cv::BORDER_REPLICATE);
}

}  // namespace cae::infer
