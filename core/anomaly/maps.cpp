#include "anomaly/maps.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <string>

#include "error.hpp"

namespace cae::anomaly {

namespace {

std::string shape(const ImageView& v) {
  return std::to_string(v.width) + "x" + std::to_string(v.height) + "x" +
         std::to_string(v.channels);
}

void checkView(const ImageView& v, const char* what) {
  if (!v.data || v.width <= 0 || v.height <= 0 || v.channels <= 0)
    throw InvalidArgument(std::string("anomaly map: ") + what + " image is empty (" + shape(v) +
                          ")");
  if (v.rowStride != 0 && v.rowStride < v.width * v.channels)
    throw InvalidArgument(std::string("anomaly map: ") + what + " row stride " +
                          std::to_string(v.rowStride) + " is below width * channels (" +
                          std::to_string(v.width * v.channels) + ")");
}

void checkPair(const ImageView& a, const ImageView& b) {
  checkView(a, "input");
  checkView(b, "reconstruction");
  if (a.width != b.width || a.height != b.height || a.channels != b.channels)
    throw InvalidArgument("anomaly map: input is " + shape(a) + " (WxHxC) but reconstruction is " +
                          shape(b));
}

void checkMap(const ScoreMap& m, const char* who) {
  if (m.width <= 0 || m.height <= 0 || m.data.size() != std::size_t(m.width) * m.height)
    throw InvalidArgument(std::string(who) +
                          ": the score map is empty or its data does not match " +
                          std::to_string(m.width) + "x" + std::to_string(m.height));
}

int stride(const ImageView& v) { return v.rowStride ? v.rowStride : v.width * v.channels; }

// Channel c of v as a packed CV_64F matrix.
cv::Mat channel(const ImageView& v, int c) {
  cv::Mat m(v.height, v.width, CV_64F);
  const int s = stride(v);
  for (int y = 0; y < v.height; ++y) {
    const float* row = v.data + std::size_t(y) * s + c;
    double* out = m.ptr<double>(y);
    for (int x = 0; x < v.width; ++x) out[x] = row[std::size_t(x) * v.channels];
  }
  return m;
}

cv::Mat gaussian(const cv::Mat& m, double sigma) {
  const int radius = std::max(1, int(std::ceil(3 * sigma)));
  cv::Mat out;
  cv::GaussianBlur(m, out, cv::Size(2 * radius + 1, 2 * radius + 1), sigma, sigma,
                   cv::BORDER_REFLECT);
  return out;
}

// out sized w×h (its vector's memory kept when it is large enough), and a CV_32F header on it.
cv::Mat sized(ScoreMap& out, int w, int h) {
  out.width = w;
  out.height = h;
  out.data.resize(std::size_t(w) * h);
  return cv::Mat(h, w, CV_32F, out.data.data());
}

ScoreMap toMap(const cv::Mat& m) {
  ScoreMap out;
  m.copyTo(sized(out, m.cols, m.rows));
  return out;
}

// Per-thread scratch of the map functions: a stream of frames of one size (a streaming thread)
// reuses them instead of allocating and freeing megabytes per frame.
struct Scratch {
  cv::Mat d, low, blurred;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

}  // namespace

void outputMap(const ImageView& output, ScoreMap& out) {
  checkView(output, "model output");
  out.width = output.width;
  out.height = output.height;
  out.data.resize(std::size_t(output.width) * std::size_t(output.height));
  const int s = stride(output);
  for (int y = 0; y < output.height; ++y) {
    const float* row = output.data + std::size_t(y) * s;
    float* o = out.data.data() + std::size_t(y) * std::size_t(output.width);
    for (int x = 0; x < output.width; ++x) o[x] = row[std::size_t(x) * output.channels];
  }
}

void toLogits(ScoreMap& map) {
  for (float& v : map.data) {
    const double p = std::min(1.0 - kLogitClamp, std::max(kLogitClamp, double(v)));
    v = float(std::log(p / (1.0 - p)));
  }
}

ScoreMap l2Map(const ImageView& input, const ImageView& reconstruction) {
  ScoreMap out;
  l2Map(input, reconstruction, out);
  return out;
}

void l2Map(const ImageView& input, const ImageView& reconstruction, ScoreMap& out) {
  checkPair(input, reconstruction);
  sized(out, input.width, input.height);
  const int sa = stride(input), sb = stride(reconstruction), ch = input.channels;
  for (int y = 0; y < input.height; ++y) {
    const float* a = input.data + std::size_t(y) * sa;
    const float* b = reconstruction.data + std::size_t(y) * sb;
    for (int x = 0; x < input.width; ++x) {
      float sum = 0;
      for (int c = 0; c < ch; ++c) {
        const float d = a[x * ch + c] - b[x * ch + c];
        sum += d * d;
      }
      out.at(x, y) = sum / float(ch);
    }
  }
}

ScoreMap lowpassMap(const ImageView& input, const ImageView& reconstruction, double sigma) {
  ScoreMap out;
  lowpassMap(input, reconstruction, sigma, out);
  return out;
}

void lowpassMap(const ImageView& input, const ImageView& reconstruction, double sigma,
                ScoreMap& out) {
  checkPair(input, reconstruction);
  if (!(sigma >= 0) || !std::isfinite(sigma))
    throw InvalidArgument("low-pass map: sigma must be >= 0, got " + std::to_string(sigma));
  if (sigma == 0) {
    l2Map(input, reconstruction, out);
    return;
  }
  cv::Mat sum = sized(out, input.width, input.height);
  sum.setTo(0);
  const int sa = stride(input), sb = stride(reconstruction), ch = input.channels;
  Scratch& t = scratch();
  t.d.create(input.height, input.width, CV_32F);
  const int radius = std::max(1, int(std::ceil(3 * sigma)));
  for (int c = 0; c < ch; ++c) {
    for (int y = 0; y < input.height; ++y) {
      const float* a = input.data + std::size_t(y) * sa + c;
      const float* b = reconstruction.data + std::size_t(y) * sb + c;
      float* o = t.d.ptr<float>(y);
      for (int x = 0; x < input.width; ++x) o[x] = a[std::size_t(x) * ch] - b[std::size_t(x) * ch];
    }
    cv::GaussianBlur(t.d, t.low, cv::Size(2 * radius + 1, 2 * radius + 1), sigma, sigma,
                     cv::BORDER_REFLECT);
    cv::accumulateSquare(t.low, sum);
  }
  if (ch > 1) sum /= double(ch);
}

ScoreMap ssimMap(const ImageView& input, const ImageView& reconstruction, double sigma,
                 double dynamicRange) {
  checkPair(input, reconstruction);
  if (!(sigma > 0) || !std::isfinite(sigma))
    throw InvalidArgument("ssim map: window sigma must be > 0, got " + std::to_string(sigma));
  if (!(dynamicRange > 0) || !std::isfinite(dynamicRange))
    throw InvalidArgument("ssim map: dynamic range must be > 0, got " +
                          std::to_string(dynamicRange));
  const double c1 = (0.01 * dynamicRange) * (0.01 * dynamicRange);
  const double c2 = (0.03 * dynamicRange) * (0.03 * dynamicRange);
  // 1 - SSIM = 1 - (A' + C1)(B' + C2) / ((A + C1)(B + C2)) with A = ux^2 + uy^2, A' = 2 ux uy,
  // B = vx + vy, B' = 2 cxy. Written with D = A - A' = (ux - uy)^2 and E = B - B' (the local
  // variance of x - y), which are exactly 0 where the images agree, whatever the rounding.
  // Moments in double: E[x^2] - E[x]^2 cancels badly in float.
  cv::Mat sum = cv::Mat::zeros(input.height, input.width, CV_64F);
  for (int c = 0; c < input.channels; ++c) {
    const cv::Mat x = channel(input, c), y = channel(reconstruction, c);
    const cv::Mat mx = gaussian(x, sigma), my = gaussian(y, sigma);
    const cv::Mat exx = gaussian(x.mul(x), sigma), eyy = gaussian(y.mul(y), sigma);
    const cv::Mat diff = x - y;
    const cv::Mat edd = gaussian(diff.mul(diff), sigma);
    for (int r = 0; r < input.height; ++r) {
      double* out = sum.ptr<double>(r);
      for (int q = 0; q < input.width; ++q) {
        const double ux = mx.at<double>(r, q), uy = my.at<double>(r, q);
        const double a = ux * ux + uy * uy;
        const double b = std::max(0.0, exx.at<double>(r, q) - ux * ux) +
                         std::max(0.0, eyy.at<double>(r, q) - uy * uy);
        const double d = (ux - uy) * (ux - uy);
        const double e = std::max(0.0, edd.at<double>(r, q) - d);
        const double score = (d * (b + c2) + e * (a + c1) - d * e) / ((a + c1) * (b + c2));
        out[q] += std::max(0.0, score);
      }
    }
  }
  cv::Mat mean;
  sum.convertTo(mean, CV_32F, 1.0 / input.channels);
  return toMap(mean);
}

ScoreMap smooth(const ScoreMap& map, double sigma) {
  ScoreMap out;
  smooth(map, sigma, out);
  return out;
}

void smooth(const ScoreMap& map, double sigma, ScoreMap& out) {
  checkMap(map, "smooth");
  if (!(sigma >= 0) || !std::isfinite(sigma))
    throw InvalidArgument("smooth: sigma must be >= 0, got " + std::to_string(sigma));
  if (&out == &map) {
    if (sigma == 0) return;
  } else if (sigma == 0) {
    out = map;
    return;
  }
  const cv::Mat m(map.height, map.width, CV_32F, const_cast<float*>(map.data.data()));
  const int radius = std::max(1, int(std::ceil(3 * sigma)));
  Scratch& t = scratch();
  cv::GaussianBlur(m, t.blurred, cv::Size(2 * radius + 1, 2 * radius + 1), sigma, sigma,
                   cv::BORDER_REFLECT);
  t.blurred.copyTo(sized(out, map.width, map.height));
}

double maxScore(const ScoreMap& map) {
  checkMap(map, "max score");
  return *std::max_element(map.data.begin(), map.data.end());
}

double topFractionMean(const ScoreMap& map, double fraction) {
  checkMap(map, "top-fraction mean");
  if (!(fraction > 0 && fraction <= 1))
    throw InvalidArgument("top-fraction mean: fraction must be in (0, 1], got " +
                          std::to_string(fraction));
  const std::size_t n = map.data.size();
  const auto k = std::clamp<std::size_t>(std::size_t(std::ceil(fraction * double(n) - 1e-9)), 1, n);
  std::vector<float> v = map.data;
  std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(k - 1), v.end(), std::greater<float>());
  double sum = 0;
  for (std::size_t i = 0; i < k; ++i) sum += v[i];
  return sum / double(k);
}

}  // namespace cae::anomaly
