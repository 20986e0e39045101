#include "line_frames.hpp"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

namespace cae::bench {

cv::Mat lineFrame(const cv::Mat& strip, cv::RNG& rng) {
  const int w = strip.cols, h = strip.rows;
  // View: output corners -> source corners.
  const double angle = rng.uniform(-5.0, 5.0) * CV_PI / 180.0;
  const double zoom = rng.uniform(0.94, 1.06);
  const cv::Point2f out[4] = {{0.f, 0.f}, {float(w), 0.f}, {float(w), float(h)}, {0.f, float(h)}};
  cv::Point2f src[4];
  for (int k = 0; k < 4; ++k) {
    const double dx = (out[k].x - w / 2.0) / zoom, dy = (out[k].y - h / 2.0) / zoom;
    src[k] = cv::Point2f(
        float(w / 2.0 + std::cos(angle) * dx - std::sin(angle) * dy + rng.uniform(-0.03, 0.03) * w),
        float(h / 2.0 + std::sin(angle) * dx + std::cos(angle) * dy +
              rng.uniform(-0.03, 0.03) * h));
  }
  cv::Mat frame;
  cv::warpPerspective(strip, frame, cv::getPerspectiveTransform(out, src), strip.size(),
                      cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, cv::BORDER_REFLECT_101);
  // Optics.
  if (rng.uniform(0.0, 1.0) < 0.5) {
    const double s = rng.uniform(0.2, 0.8);
    cv::GaussianBlur(frame, frame, cv::Size(), s, s, cv::BORDER_REFLECT_101);
  }
  // Lighting: gain with a ramp, gamma, offset.
  const double gain = rng.uniform(0.85, 1.15), ramp = rng.uniform(-0.1, 0.1);
  const double dir = rng.uniform(0.0, 2 * CV_PI), gamma = std::exp(rng.uniform(-0.223, 0.223));
  const double offset = rng.uniform(-0.04, 0.04);
  const double a = rng.uniform(0.0, 4e-4), b = rng.uniform(0.0, 0.01);
  const int c = frame.channels();
  for (int y = 0; y < h; ++y) {
    float* p = frame.ptr<float>(y);
    for (int x = 0; x < w; ++x) {
      const double t =
          ((x - w / 2.0) * std::cos(dir) + (y - h / 2.0) * std::sin(dir)) / (0.5 * std::max(w, h));
      const double g = gain * (1.0 + ramp * t);
      for (int k = 0; k < c; ++k) {
        double v = g * std::pow(std::max(0.0, double(p[x * c + k])), gamma) + offset;
        v = std::clamp(v, 0.0, 1.0);
        v += std::sqrt(a * v + b * b) * rng.gaussian(1.0);
        p[x * c + k] = float(std::clamp(v, 0.0, 1.0));
      }
    }
  }
  return frame;
}

}  // namespace cae::bench
