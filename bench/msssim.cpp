#include "msssim.hpp"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <stdexcept>
#include <vector>

namespace cae::bench {

namespace {

constexpr double kWeights[5] = {0.0448, 0.2856, 0.3001, 0.2363, 0.1333};
constexpr double kC1 = (0.01 * 255) * (0.01 * 255), kC2 = (0.03 * 255) * (0.03 * 255);

// The window's mean of m over every position where it fits (valid filtering).
cv::Mat windowMean(const cv::Mat& m) {
  static const cv::Mat g = cv::getGaussianKernel(11, 1.5, CV_64F);
  cv::Mat f;
  cv::sepFilter2D(m, f, CV_64F, g, g, cv::Point(-1, -1), 0, cv::BORDER_REFLECT);
  return f(cv::Rect(5, 5, m.cols - 10, m.rows - 10)).clone();
}

// Mean SSIM and mean contrast-structure term of two CV_64F planes.
void ssimTerms(const cv::Mat& x, const cv::Mat& y, double& ssim, double& cs) {
  const cv::Mat mx = windowMean(x), my = windowMean(y);
  const cv::Mat sxx = windowMean(x.mul(x)) - mx.mul(mx);
  const cv::Mat syy = windowMean(y.mul(y)) - my.mul(my);
  const cv::Mat sxy = windowMean(x.mul(y)) - mx.mul(my);
  cv::Mat csMap, lum;
  cv::divide(2 * sxy + kC2, sxx + syy + kC2, csMap);
  cv::divide(2 * mx.mul(my) + kC1, mx.mul(mx) + my.mul(my) + kC1, lum);
  cs = cv::mean(csMap)[0];
  ssim = cv::mean(lum.mul(csMap))[0];
}

double planeMsssim(cv::Mat x, cv::Mat y) {
  double result = 1;
  for (int s = 0; s < 5; ++s) {
    double ssim = 0, cs = 0;
    ssimTerms(x, y, ssim, cs);
    if (s < 4) {
      result *= std::pow(std::max(cs, 0.0), kWeights[s]);
      // Halved rounding up, as pytorch_msssim's padded average pooling: a 161-pixel side keeps
      // 11 (the window) at the fifth scale.
      cv::resize(x, x, cv::Size((x.cols + 1) / 2, (x.rows + 1) / 2), 0, 0, cv::INTER_AREA);
      cv::resize(y, y, cv::Size((y.cols + 1) / 2, (y.rows + 1) / 2), 0, 0, cv::INTER_AREA);
    } else {
      result *= std::pow(std::max(ssim, 0.0), kWeights[s]);
    }
  }
  return result;
}

}  // namespace

double msssim(const cv::Mat& a, const cv::Mat& b) {
  if (a.size() != b.size() || a.type() != b.type() || a.depth() != CV_8U)
    throw std::invalid_argument("msssim: two 8-bit pictures of one size and type");
  if (std::min(a.cols, a.rows) < 161) throw std::invalid_argument("msssim: picture too small");
  std::vector<cv::Mat> pa, pb;
  cv::split(a, pa);
  cv::split(b, pb);
  double sum = 0;
  for (std::size_t c = 0; c < pa.size(); ++c) {
    cv::Mat x, y;
    pa[c].convertTo(x, CV_64F);
    pb[c].convertTo(y, CV_64F);
    sum += planeMsssim(x, y);
  }
  return sum / double(pa.size());
}

}  // namespace cae::bench
