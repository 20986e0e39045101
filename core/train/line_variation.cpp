#include "train/line_variation.hpp"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <string>

#include "error.hpp"
#include "train/dataset.hpp"

namespace cae::train {

using nn::Scalar;
using nn::Tensor;

void applyLighting(Scalar* pixels, std::size_t count, const LightingRange& range, nn::Rng& rng) {
  const double gain = 1.0 + range.gain * (2.0 * double(rng.uniform()) - 1.0);
  const double offset = range.offset * (2.0 * double(rng.uniform()) - 1.0);
  const double logGamma = std::log1p(range.gamma) * (2.0 * double(rng.uniform()) - 1.0);
  const double gamma = std::exp(logGamma);
  for (std::size_t i = 0; i < count; ++i) {
    const double x = std::max(0.0, double(pixels[i]));
    pixels[i] = Scalar(std::clamp(gain * std::pow(x, gamma) + offset, 0.0, 1.0));
  }
}

void applyDefocus(Scalar* sample, int channels, int h, int w, double maxSigma, nn::Rng& rng) {
  if (maxSigma <= 0) return;
  if (rng.below(2) == 0) return;  // half the draws stay in focus
  const double sigma = maxSigma * double(rng.uniform());
  if (sigma < 0.05) return;  // a kernel this narrow is the identity at float precision
  constexpr int kType = cv::DataType<Scalar>::type;
  for (int c = 0; c < channels; ++c) {
    cv::Mat plane(h, w, kType, sample + std::size_t(c) * std::size_t(h) * std::size_t(w));
    cv::GaussianBlur(plane, plane, cv::Size(0, 0), sigma, sigma, cv::BORDER_REFLECT_101);
  }
}

Tensor variedCrops(const std::vector<Image>& images, int n, int h, int w, const LineVariation& v,
                   std::uint64_t seed) {
  if (images.empty()) throw InvalidArgument("line variation: no images to crop");
  if (n < 1 || h < 1 || w < 1)
    throw InvalidArgument("line variation: " + std::to_string(n) + " crops of " +
                          std::to_string(w) + "x" + std::to_string(h) + " asked for");
  const int channels = images.front().pixels.shape().c;
  for (const Image& im : images) {
    const nn::Shape s = im.pixels.shape();
    if (s.c != channels || s.h < h || s.w < w)
      throw InvalidArgument("line variation: image '" + im.source + "' (" + s.str() +
                            ") is smaller than the " + std::to_string(w) + "x" + std::to_string(h) +
                            " crop or has another channel count");
  }
  constexpr int kType = cv::DataType<Scalar>::type;
  nn::Rng rng(seed);
  Tensor out(nn::Shape{n, channels, h, w});
  for (int i = 0; i < n; ++i) {
    const Tensor& img = images[std::size_t(i) % images.size()].pixels;
    const int ih = img.shape().h, iw = img.shape().w;
    // The crop's place in the image (whole pixels: without variation the crop is a window).
    const double cx = w / 2.0 + double(rng.below(std::uint64_t(iw) - std::uint64_t(w) + 1));
    const double cy = h / 2.0 + double(rng.below(std::uint64_t(ih) - std::uint64_t(h) + 1));
    const double angle = v.rotationDeg * M_PI / 180.0 * (2.0 * double(rng.uniform()) - 1.0);
    const double zoom = 1.0 + v.scale * (2.0 * double(rng.uniform()) - 1.0);
    // Output corners -> source corners: rotated and zoomed about the centre, each corner moved
    // on its own (a perspective tilt).
    const cv::Point2f dst[4] = {{0.f, 0.f}, {float(w), 0.f}, {float(w), float(h)}, {0.f, float(h)}};
    cv::Point2f src[4];
    for (int k = 0; k < 4; ++k) {
      const double dx = (dst[k].x - w / 2.0) / zoom, dy = (dst[k].y - h / 2.0) / zoom;
      const double jx = v.perspective * w * (2.0 * double(rng.uniform()) - 1.0);
      const double jy = v.perspective * h * (2.0 * double(rng.uniform()) - 1.0);
      src[k] = cv::Point2f(float(cx + std::cos(angle) * dx - std::sin(angle) * dy + jx),
                           float(cy + std::sin(angle) * dx + std::cos(angle) * dy + jy));
    }
    const cv::Mat toSource = cv::getPerspectiveTransform(dst, src);
    for (int c = 0; c < channels; ++c) {
      const cv::Mat plane(ih, iw, kType,
                          const_cast<Scalar*>(img.data() + std::size_t(c) * img.shape().plane()));
      cv::Mat target(h, w, kType, &out.at(i, c, 0, 0));
      cv::warpPerspective(plane, target, toSource, target.size(),
                          cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, cv::BORDER_REFLECT_101);
    }
    Scalar* sample = out.sample(i);
    const std::size_t count = out.shape().perSample();
    applyDefocus(sample, channels, h, w, v.defocus, rng);
    applyLighting(sample, count, v.lighting, rng);
    const double sigma = v.noise * double(rng.uniform());
    if (sigma > 0)
      for (std::size_t k = 0; k < count; ++k)
        sample[k] = Scalar(std::clamp(double(sample[k]) + sigma * double(rng.normal()), 0.0, 1.0));
  }
  return out;
}

}  // namespace cae::train
