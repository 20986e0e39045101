#include "train/denoise_metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <opencv2/core.hpp>
#include <opencv2/photo.hpp>

#include "error.hpp"

namespace cae::train {
namespace {

double clamp01(double v) { return std::min(1.0, std::max(0.0, v)); }

double psnrOf(double sq, std::size_t n) {
  const double mse = sq / double(n);
  return mse > 0 ? 10 * std::log10(1.0 / mse) : std::numeric_limits<double>::infinity();
}

}  // namespace

DenoiseScores denoiseScores(const nn::Tensor& clean, const nn::Tensor& noisy,
                            const nn::Tensor& output, double sigma, bool runNlm, bool clampToUnit) {
  const std::size_t n = clean.size();
  if (noisy.size() != n || output.size() != n)
    throw ShapeError("denoise scores: clean, noisy and output differ in size");
  DenoiseScores d;
  auto stored = [clampToUnit](double v) { return clampToUnit ? clamp01(v) : v; };
  double sqNoisy = 0, sqModel = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double c = clean[i];
    sqNoisy += (stored(noisy[i]) - c) * (stored(noisy[i]) - c);
    sqModel += (stored(output[i]) - c) * (stored(output[i]) - c);
  }
  d.noisy = psnrOf(sqNoisy, n);
  d.model = psnrOf(sqModel, n);
  const nn::Shape s = clean.shape();
  if (!runNlm || sigma <= 0 || (s.c != 1 && s.c != 3) || s.h < 8 || s.w < 8) return d;
  const float h = float(0.9 * sigma * 255);
  double sqNlm = 0;
  for (int k = 0; k < s.n; ++k) {
    cv::Mat in(s.h, s.w, s.c == 1 ? CV_8UC1 : CV_8UC3), out;
    const nn::Scalar* p = noisy.sample(k);
    for (int y = 0; y < s.h; ++y)
      for (int x = 0; x < s.w; ++x)
        for (int ch = 0; ch < s.c; ++ch)
          in.ptr<unsigned char>(y)[x * s.c + ch] =
              cv::saturate_cast<unsigned char>(clamp01(p[(ch * s.h + y) * s.w + x]) * 255);
    if (s.c == 1)
      cv::fastNlMeansDenoising(in, out, h, 7, 21);
    else
      cv::fastNlMeansDenoisingColored(in, out, h, h, 7, 21);
    const nn::Scalar* q = clean.sample(k);
    for (int y = 0; y < s.h; ++y)
      for (int x = 0; x < s.w; ++x)
        for (int ch = 0; ch < s.c; ++ch) {
          const double e =
              out.ptr<unsigned char>(y)[x * s.c + ch] / 255.0 - double(q[(ch * s.h + y) * s.w + x]);
          sqNlm += e * e;
        }
  }
  d.nlm = psnrOf(sqNlm, n);
  d.hasNlm = true;
  return d;
}

}  // namespace cae::train
