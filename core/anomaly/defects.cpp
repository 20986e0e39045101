#include "anomaly/defects.hpp"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "error.hpp"

namespace cae::anomaly {

namespace {

// Adds shift[c] * alpha to every channel (alpha CV_32F in [0, 1]), clamped to [0, 1].
void addShift(cv::Mat& img, const cv::Mat& alpha, const cv::Vec3f& shift) {
  const int ch = img.channels();
  for (int y = 0; y < img.rows; ++y) {
    float* p = img.ptr<float>(y);
    const float* a = alpha.ptr<float>(y);
    for (int x = 0; x < img.cols; ++x) {
      if (a[x] == 0) continue;
      for (int c = 0; c < ch; ++c)
        p[x * ch + c] = std::clamp(p[x * ch + c] + shift[c] * a[x], 0.0f, 1.0f);
    }
  }
}

// Per-channel shift of size contrast, sign or colour from the generator.
cv::Vec3f shiftOf(int channels, double contrast, cv::RNG& rng, bool colour) {
  const float sign = rng.uniform(0, 2) ? 1.0f : -1.0f;
  if (channels == 1 || !colour) return cv::Vec3f::all(float(contrast) * sign);
  // A random colour direction, scaled so that its largest component is the contrast.
  cv::Vec3f d(rng.uniform(-1.f, 1.f), rng.uniform(-1.f, 1.f), rng.uniform(-1.f, 1.f));
  const float m = std::max({std::abs(d[0]), std::abs(d[1]), std::abs(d[2]), 1e-3f});
  return d * float(contrast / m);
}

cv::Mat maskOf(const cv::Mat& alpha, float level) {
  cv::Mat mask;
  cv::compare(alpha, level, mask, cv::CMP_GE);
  return mask;
}

// Antialiased drawing on an 8-bit layer, returned as alpha in [0, 1].
cv::Mat toAlpha(const cv::Mat& layer) {
  cv::Mat a;
  layer.convertTo(a, CV_32F, 1.0 / 255.0);
  return a;
}

// Radial alpha around (cx, cy): f(distance).
template <class F>
cv::Mat radial(cv::Size s, double cx, double cy, F f) {
  cv::Mat a(s, CV_32F);
  for (int y = 0; y < s.height; ++y) {
    float* p = a.ptr<float>(y);
    for (int x = 0; x < s.width; ++x) p[x] = float(f(std::hypot(x - cx, y - cy)));
  }
  return a;
}

// The painters, one per kind: each paints into img with the generator's next draws and returns
// the defect's mask (CV_8U, 255 inside).

cv::Mat paintScratch(cv::Mat& img, const DefectSpec& d, cv::RNG& rng) {
  // A quadratic curve through the centre, bowed by up to 15 % of its length; drawn with
  // subpixel precision (shift 4) and antialiasing.
  const double r = d.size / 2.0;
  const int thickness = 1 + rng.uniform(0, 3);
  const double bow = rng.uniform(-0.15, 0.15) * d.size;
  const cv::Point2d dir(std::cos(d.angle), std::sin(d.angle)), nrm(-dir.y, dir.x);
  std::vector<cv::Point> pts;
  for (int i = 0; i <= 24; ++i) {
    const double t = i / 24.0 * 2 - 1;  // -1 .. 1
    const cv::Point2d p = cv::Point2d(d.x, d.y) + dir * (t * r) + nrm * (bow * (1 - t * t));
    pts.emplace_back(int(std::lround(p.x * 16)), int(std::lround(p.y * 16)));
  }
  cv::Mat layer = cv::Mat::zeros(img.size(), CV_8U);
  cv::polylines(layer, pts, false, cv::Scalar(255), thickness, cv::LINE_AA, 4);
  const cv::Mat alpha = toAlpha(layer);
  addShift(img, alpha, shiftOf(img.channels(), d.contrast, rng, false));
  return maskOf(alpha, 0.25f);
}

cv::Mat paintSpot(cv::Mat& img, const DefectSpec& d, cv::RNG& rng) {
  // Soft edge over ~1.5 px.
  const double r = d.size / 2.0;
  const cv::Mat alpha = radial(img.size(), d.x, d.y, [r](double dist) {
    return std::clamp((r - dist) / 1.5 + 0.5, 0.0, 1.0);
  });
  addShift(img, alpha, shiftOf(img.channels(), d.contrast, rng, false));
  return maskOf(alpha, 0.25f);
}

cv::Mat paintCut(cv::Mat& img, const DefectSpec& d, cv::RNG& rng) {
  // A rotated rectangle (length size, width 40-100 % of it) whose texture is gone: a flat
  // floor at the surface's mean there, shifted by the contrast, shaded across by a third of
  // it.
  const double w = d.size * rng.uniform(0.4, 1.0);
  const cv::RotatedRect rr(cv::Point2f(float(d.x), float(d.y)), cv::Size2f(float(d.size), float(w)),
                           float(d.angle * 180.0 / CV_PI));
  cv::Point2f c4[4];
  rr.points(c4);
  std::vector<cv::Point> poly;
  for (const cv::Point2f& p : c4)
    poly.emplace_back(int(std::lround(p.x * 16)), int(std::lround(p.y * 16)));
  cv::Mat layer = cv::Mat::zeros(img.size(), CV_8U);
  cv::fillConvexPoly(layer, poly, cv::Scalar(255), cv::LINE_AA, 4);
  const cv::Mat alpha = toAlpha(layer);
  cv::Mat inside = maskOf(alpha, 0.5f);
  if (cv::countNonZero(inside) == 0) return inside;
  const cv::Scalar mean = cv::mean(img, inside);
  const double sign = rng.uniform(0, 2) ? 1.0 : -1.0;
  const cv::Point2d across(-std::sin(d.angle), std::cos(d.angle));
  const int ch = img.channels();
  for (int y = 0; y < img.rows; ++y) {
    float* p = img.ptr<float>(y);
    const float* a = alpha.ptr<float>(y);
    for (int x = 0; x < img.cols; ++x) {
      if (a[x] == 0) continue;
      const double t = ((x - d.x) * across.x + (y - d.y) * across.y) / std::max(w / 2, 1.0);
      const double floorShift = sign * d.contrast * (1.0 + t / 3.0);
      for (int c = 0; c < ch; ++c) {
        const double v = std::clamp(mean[c] + floorShift, 0.0, 1.0);
        p[x * ch + c] = float(p[x * ch + c] * (1 - a[x]) + v * a[x]);
      }
    }
  }
  return inside;
}

cv::Mat paintBlob(cv::Mat& img, const DefectSpec& d, cv::RNG& rng) {
  // A Gaussian of sigma size/4: the visible part (alpha >= 1/4) is about size across.
  const double s = d.size / 4.0;
  const cv::Mat alpha = radial(img.size(), d.x, d.y, [s](double dist) {
    const double a = std::exp(-dist * dist / (2 * s * s));
    return a < 0.01 ? 0.0 : a;
  });
  addShift(img, alpha, shiftOf(img.channels(), d.contrast, rng, true));
  return maskOf(alpha, 0.25f);
}

// A soft-edged ellipse (major axis size, aspect 1.5-3.5, rotated by the angle; edge ~1.5 px).
cv::Mat ellipseAlpha(cv::Size s, const DefectSpec& d, double minAspect, double maxAspect,
                     cv::RNG& rng) {
  const double a = d.size / 2.0, b = a / rng.uniform(minAspect, maxAspect);
  const double ca = std::cos(d.angle), sa = std::sin(d.angle);
  cv::Mat alpha(s, CV_32F);
  for (int y = 0; y < s.height; ++y) {
    float* p = alpha.ptr<float>(y);
    for (int x = 0; x < s.width; ++x) {
      const double u = (x - d.x) * ca + (y - d.y) * sa, v = -(x - d.x) * sa + (y - d.y) * ca;
      // Distance to the edge, approximately, in pixels (negative inside).
      const double r = std::hypot(u / a, v / b);
      const double edge = (r - 1) * std::min(a, b);
      p[x] = float(std::clamp(0.5 - edge / 1.5, 0.0, 1.0));
    }
  }
  return alpha;
}

cv::Mat paintStain(cv::Mat& img, const DefectSpec& d, cv::RNG& rng) {
  const cv::Mat alpha = ellipseAlpha(img.size(), d, 1.5, 3.5, rng);
  addShift(img, alpha, cv::Vec3f::all(float(d.contrast)));
  return maskOf(alpha, 0.25f);
}

cv::Mat paintTint(cv::Mat& img, const DefectSpec& d, cv::RNG& rng) {
  if (img.channels() != 3)
    throw InvalidArgument("paintDefect: a tint (colour-only defect) needs a colour image");
  const cv::Mat alpha = ellipseAlpha(img.size(), d, 1.0, 2.0, rng);
  // A random direction of zero sum (the gray level stays), its largest component the contrast.
  cv::Vec3f v(rng.uniform(-1.f, 1.f), rng.uniform(-1.f, 1.f), rng.uniform(-1.f, 1.f));
  const float mean = (v[0] + v[1] + v[2]) / 3;
  v -= cv::Vec3f::all(mean);
  const float m = std::max({std::abs(v[0]), std::abs(v[1]), std::abs(v[2]), 1e-3f});
  addShift(img, alpha, v * float(d.contrast / m));
  return maskOf(alpha, 0.25f);
}

}  // namespace

const std::vector<DefectKind>& allDefectKinds() {
  static const std::vector<DefectKind> k{DefectKind::Scratch, DefectKind::Spot,  DefectKind::Cut,
                                         DefectKind::Blob,    DefectKind::Stain, DefectKind::Tint};
  return k;
}

std::vector<DefectKind> defectKindsFor(int channels) {
  std::vector<DefectKind> k = allDefectKinds();
  if (channels < 3) k.erase(std::remove(k.begin(), k.end(), DefectKind::Tint), k.end());
  return k;
}

std::string defectKindName(DefectKind k) {
  switch (k) {
    case DefectKind::Scratch:
      return "scratch";
    case DefectKind::Spot:
      return "spot";
    case DefectKind::Cut:
      return "cut";
    case DefectKind::Blob:
      return "blob";
    case DefectKind::Stain:
      return "stain";
    case DefectKind::Tint:
      return "tint";
  }
  return "";
}

DefectKind parseDefectKind(const std::string& name) {
  for (DefectKind k : allDefectKinds())
    if (defectKindName(k) == name) return k;
  throw InvalidArgument("defect kind '" + name +
                        "': expected scratch, spot, cut, blob, stain or tint");
}

cv::Mat paintDefect(cv::Mat& img, const DefectSpec& d) {
  if (img.empty() || (img.type() != CV_32FC1 && img.type() != CV_32FC3))
    throw InvalidArgument("paintDefect: the image must be CV_32FC1 or CV_32FC3 in [0, 1]");
  if (d.size < 2) throw InvalidArgument("paintDefect: size must be >= 2 pixels");
  if (!(d.contrast > 0 && d.contrast <= 1))
    throw InvalidArgument("paintDefect: contrast must be in (0, 1]");
  cv::RNG rng(d.seed * 0x9E3779B97F4A7C15ull + 1);
  switch (d.kind) {
    case DefectKind::Scratch:
      return paintScratch(img, d, rng);
    case DefectKind::Spot:
      return paintSpot(img, d, rng);
    case DefectKind::Cut:
      return paintCut(img, d, rng);
    case DefectKind::Blob:
      return paintBlob(img, d, rng);
    case DefectKind::Stain:
      return paintStain(img, d, rng);
    case DefectKind::Tint:
      return paintTint(img, d, rng);
  }
  throw InvalidArgument("paintDefect: unknown defect kind");
}

}  // namespace cae::anomaly
