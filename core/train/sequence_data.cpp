#include "train/sequence_data.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <type_traits>
#include <utility>

#include "error.hpp"
#include "infer/align.hpp"

namespace cae::train {
namespace {

using nn::Scalar;
using nn::Shape;
using nn::Tensor;

static_assert(std::is_same_v<Scalar, float>, "clips are rendered by OpenCV in CV_32F");

constexpr double kPi = 3.14159265358979323846;
// Bicubic interpolation reads two pixels beyond the point it samples.
constexpr double kCubicReach = 2;

// Plane c of sample n of t as a Mat (no copy).
cv::Mat plane(Tensor& t, int n, int c) {
  const Shape s = t.shape();
  return {s.h, s.w, CV_32F, &t.at(n, c, 0, 0)};
}
cv::Mat plane(const Tensor& t, int n, int c) {
  const Shape s = t.shape();
  // OpenCV has no const Mat header over foreign data; the Mat is only read.
  const Scalar* p = t.sample(n) + std::size_t(c) * s.plane();
  return {s.h, s.w, CV_32F, const_cast<Scalar*>(p)};
}

// The inverse map of frame j (patch pixel -> image point) as warpAffine's 2x3 matrix.
cv::Matx23d frameMap(const ClipMotion& m, int j, int patch) {
  const double half = (patch - 1) / 2.0;
  const double a = -j * m.rotation, s = std::exp(-j * m.zoom);
  const double c = s * std::cos(a), si = s * std::sin(a);
  const double cx = m.x + half - j * m.dx, cy = m.y + half - j * m.dy;
  return {c, -si, cx - (c * half - si * half), si, c, cy - (si * half + c * half)};
}

// Share of pixel [u, u + 1) covered by the interval [lo, lo + len).
float coverage(int u, double lo, double len) {
  const double v = std::min(u + 1.0, lo + len) - std::max(double(u), lo);
  return float(std::clamp(v, 0.0, 1.0));
}

// Pastes the object of m into frame j (dst, one channel plane) with anti-aliased edges: its
// texture comes from image plane src at the object's source, shifted to where it is in frame j.
void pasteObject(const cv::Mat& src, const ClipMotion& m, int j, cv::Mat& dst) {
  const int p = dst.rows;
  const double ox = m.objectX - j * m.objectDx, oy = m.objectY - j * m.objectDy;
  const cv::Matx23d shift{1, 0, m.objectSrcX - ox, 0, 1, m.objectSrcY - oy};
  cv::Mat texture;
  cv::warpAffine(src, texture, shift, dst.size(), cv::INTER_CUBIC | cv::WARP_INVERSE_MAP,
                 cv::BORDER_REFLECT_101);
  std::vector<float> cx(std::size_t(p), 0.f);
  for (int u = 0; u < p; ++u) cx[std::size_t(u)] = coverage(u, ox, m.objectW);
  for (int v = 0; v < p; ++v) {
    const float cy = coverage(v, oy, m.objectH);
    if (cy == 0) continue;
    auto* d = dst.ptr<float>(v);
    const auto* t = texture.ptr<float>(v);
    for (int u = 0; u < p; ++u) {
      const float a = cy * cx[std::size_t(u)];
      d[u] = a * t[u] + (1 - a) * d[u];
    }
  }
}

// The extent, relative to the current frame's top-left, of the image region every frame of m
// reads (patch corners through each frame's map, widened by the interpolation's reach).
struct Extent {
  double x0, y0, x1, y1;
};
Extent extentOf(const ClipMotion& m, int frames, int patch) {
  Extent e{1e30, 1e30, -1e30, -1e30};
  ClipMotion at0 = m;
  at0.x = at0.y = 0;
  for (int j = 0; j < frames; ++j) {
    const cv::Matx23d a = frameMap(at0, j, patch);
    for (const double u : {0.0, patch - 1.0})
      for (const double v : {0.0, patch - 1.0}) {
        const double x = a(0, 0) * u + a(0, 1) * v + a(0, 2);
        const double y = a(1, 0) * u + a(1, 1) * v + a(1, 2);
        e.x0 = std::min(e.x0, x);
        e.x1 = std::max(e.x1, x);
        e.y0 = std::min(e.y0, y);
        e.y1 = std::max(e.y1, y);
      }
  }
  e.x0 -= kCubicReach;
  e.y0 -= kCubicReach;
  e.x1 += kCubicReach;
  e.y1 += kCubicReach;
  return e;
}

// Uniform in [0, n) for n >= 1.
int below(nn::Rng& rng, int n) { return int(rng.below(static_cast<std::uint64_t>(n))); }

void requireShare(double v, const char* what) {
  if (!(v >= 0 && v <= 1))
    throw InvalidArgument(std::string("clips: the ") + what + " share must be in [0, 1], got " +
                          std::to_string(v));
}

// The same flips and quarter turns for every plane of sample n (square planes).
void augment(Tensor& t, int n, bool flipH, bool flipV, int rot) {
  if (!flipH && !flipV && rot == 0) return;
  cv::Mat tmp;
  for (int c = 0; c < t.shape().c; ++c) {
    cv::Mat p = plane(t, n, c);
    if (flipH && flipV)
      cv::flip(p, p, -1);
    else if (flipH || flipV)
      cv::flip(p, p, flipH ? 1 : 0);
    if (rot == 0) continue;
    static const std::array<cv::RotateFlags, 3> turns{cv::ROTATE_90_COUNTERCLOCKWISE,
                                                      cv::ROTATE_180, cv::ROTATE_90_CLOCKWISE};
    cv::rotate(p, tmp, turns[std::size_t(rot - 1)]);
    tmp.copyTo(p);
  }
}

}  // namespace

void renderClip(const Tensor& image, const ClipMotion& motion, int frames, int n, Tensor& out) {
  const Shape is = image.shape(), os = out.shape();
  if (frames < 1 || os.c != frames * is.c || os.h != os.w || n < 0 || n >= os.n)
    throw InvalidArgument("renderClip: " + std::to_string(frames) + " frames of " + is.str() +
                          " do not fit sample " + std::to_string(n) + " of " + os.str());
  const int p = os.h;
  for (int j = 0; j < frames; ++j) {
    const cv::Matx23d map = frameMap(motion, j, p);
    for (int c = 0; c < is.c; ++c) {
      const cv::Mat src = plane(image, 0, c);
      cv::Mat dst = plane(out, n, j * is.c + c);
      cv::warpAffine(src, dst, map, dst.size(), cv::INTER_CUBIC | cv::WARP_INVERSE_MAP,
                     cv::BORDER_REFLECT_101);
      if (motion.object) pasteObject(src, motion, j, dst);
      cv::min(cv::max(dst, 0.0), 1.0, dst);
    }
  }
}

Tensor currentFrame(const Tensor& clips, int channels) {
  const Shape s = clips.shape();
  if (channels < 1 || s.c % channels != 0)
    throw InvalidArgument("currentFrame: " + std::to_string(s.c) + " channels are not frames of " +
                          std::to_string(channels));
  Tensor out(Shape{s.n, channels, s.h, s.w});
  const std::size_t per = out.shape().perSample();
  for (int n = 0; n < s.n; ++n) std::copy(clips.sample(n), clips.sample(n) + per, out.sample(n));
  return out;
}

void alignFrames(Tensor& clips, int channels) {
  const Shape s = clips.shape();
  if (channels < 1 || s.c % channels != 0)
    throw InvalidArgument("alignFrames: " + std::to_string(s.c) + " channels are not frames of " +
                          std::to_string(channels));
  const int frames = s.c / channels;
  // The estimate reads one plane per frame: the mean of its channels (the plane itself in gray).
  auto lumaOf = [&](int n, int j, cv::Mat& out) {
    plane(clips, n, j * channels).copyTo(out);
    for (int c = 1; c < channels; ++c) out += plane(clips, n, j * channels + c);
    if (channels > 1) out *= 1.0 / channels;
  };
  cv::Mat now, older, moved;
  for (int n = 0; n < s.n; ++n) {
    lumaOf(n, 0, now);
    for (int j = 1; j < frames; ++j) {
      lumaOf(n, j, older);
      const infer::Shift shift = infer::estimateShift(now, older);
      if (!shift.found) continue;
      for (int c = 0; c < channels; ++c) {
        cv::Mat p = plane(clips, n, j * channels + c);
        infer::applyShift(p, shift, moved);
        moved.copyTo(p);
      }
    }
  }
}

void dropHistory(Tensor& clips, int channels, int n, int kept) {
  const Shape s = clips.shape();
  if (channels < 1 || s.c % channels != 0 || n < 0 || n >= s.n || kept < 0)
    throw InvalidArgument("dropHistory: sample " + std::to_string(n) + ", frame " +
                          std::to_string(kept) + " of " + s.str() + " in frames of " +
                          std::to_string(channels) + " channels");
  const int frames = s.c / channels;
  const std::size_t frame = std::size_t(channels) * s.plane();
  const Scalar* from = clips.sample(n) + std::size_t(kept) * frame;
  for (int j = kept + 1; j < frames; ++j)
    std::copy(from, from + frame, clips.sample(n) + std::size_t(j) * frame);
}

int simulateStreamStarts(Tensor& clips, int channels, double none, double partial, nn::Rng& rng) {
  const Shape s = clips.shape();
  if (channels < 1 || s.c % channels != 0)
    throw InvalidArgument("simulateStreamStarts: " + std::to_string(s.c) +
                          " channels are not frames of " + std::to_string(channels));
  const int frames = s.c / channels;
  if (frames < 2 || (none <= 0 && partial <= 0)) return 0;
  int changed = 0;
  for (int n = 0; n < s.n; ++n) {
    const double u = rng.uniform();
    if (u < none) {
      dropHistory(clips, channels, n, 0);
      ++changed;
    } else if (frames > 2 && u < none + partial) {
      // Keep 1..frames-2 older frames, as caedenoise has them on the frames after a start (one
      // draw only when there is a choice, so that 3-frame runs draw as before).
      const int kept = frames == 3 ? 1 : 1 + int(rng.below(std::uint64_t(frames - 2)));
      dropHistory(clips, channels, n, kept);
      ++changed;
    }
  }
  return changed;
}

Tensor centrePatch(const Tensor& t, int patch) {
  const Shape s = t.shape();
  if (patch < 1 || patch > s.h || patch > s.w)
    throw InvalidArgument("centrePatch: a " + std::to_string(patch) + " patch of " + s.str());
  Tensor out(Shape{s.n, s.c, patch, patch});
  const int y0 = (s.h - patch) / 2, x0 = (s.w - patch) / 2;
  for (int n = 0; n < s.n; ++n)
    for (int c = 0; c < s.c; ++c)
      plane(t, n, c)(cv::Rect(x0, y0, patch, patch)).copyTo(plane(out, n, c));
  return out;
}

SequenceSource::SequenceSource(std::vector<Image> images, int patch, const ClipOptions& o)
    : images_(std::move(images)), patch_(patch), o_(o) {
  if (images_.empty()) throw InvalidArgument("no images to make clips from");
  if (patch < 1)
    throw InvalidArgument("clips need a patch size (--patch N), got " + std::to_string(patch));
  if (o.frames < 1 || o.frames > 16)
    throw InvalidArgument("clips: frames must be between 1 and 16, got " +
                          std::to_string(o.frames));
  if (!(o.maxShift >= 0 && o.maxRotation >= 0 && o.maxZoom >= 0))
    throw InvalidArgument("clips: motion limits must not be negative");
  requireShare(o.staticShare, "static");
  requireShare(o.objectShare, "object");
  if (o.context != 0 && o.context < patch)
    throw InvalidArgument("clips: the context (" + std::to_string(o.context) +
                          ") must be at least the patch (" + std::to_string(patch) + ")");
  const int r = renderSize();
  const int c0 = images_[0].pixels.shape().c;
  for (const Image& im : images_) {
    const Shape s = im.pixels.shape();
    if (s.c != c0)
      throw InvalidArgument("'" + images_[0].source + "' has " + std::to_string(c0) +
                            " channels but '" + im.source + "' has " + std::to_string(s.c));
    if (s.h < r || s.w < r)
      throw InvalidArgument("image '" + im.source + "' (" + std::to_string(s.w) + "x" +
                            std::to_string(s.h) + ") is smaller than the " + std::to_string(r) +
                            "x" + std::to_string(r) +
                            (r == patch ? " patch; use a smaller --patch or leave that file out"
                                        : " clip context; leave that file out"));
  }
}

int SequenceSource::channels() const { return images_[0].pixels.shape().c; }

ClipMotion SequenceSource::drawMotion(const Tensor& image, nn::Rng& rng) const {
  const Shape s = image.shape();
  const int p = patch_, r = renderSize();
  const int offset = (r - p) / 2;  // of the patch in the rendered clip, whole pixels
  const double at = offset;
  ClipMotion m;
  if (rng.uniform() >= o_.staticShare) {
    m.dx = rng.uniform(Scalar(-o_.maxShift), Scalar(o_.maxShift));
    m.dy = rng.uniform(Scalar(-o_.maxShift), Scalar(o_.maxShift));
    m.rotation = rng.uniform(Scalar(-o_.maxRotation), Scalar(o_.maxRotation)) * kPi / 180;
    m.zoom = rng.uniform(Scalar(-o_.maxZoom), Scalar(o_.maxZoom));
  }
  if (rng.uniform() < o_.objectShare) {
    m.object = true;
    const int lo = std::max(4, p / 8), hi = std::max(lo, std::min(p / 2, std::min(s.w, s.h)));
    m.objectW = lo + below(rng, hi - lo + 1);
    m.objectH = lo + below(rng, hi - lo + 1);
    m.objectSrcX = below(rng, s.w - m.objectW + 1);
    m.objectSrcY = below(rng, s.h - m.objectH + 1);
    const double v = 2 * o_.maxShift;  // objects may move faster than the camera
    m.objectDx = rng.uniform(Scalar(-v), Scalar(v));
    m.objectDy = rng.uniform(Scalar(-v), Scalar(v));
    // At least half of it in the current frame.
    m.objectX = at + rng.uniform(Scalar(-m.objectW / 2.0), Scalar(p - m.objectW / 2.0));
    m.objectY = at + rng.uniform(Scalar(-m.objectH / 2.0), Scalar(p - m.objectH / 2.0));
  }
  // Place the current frame so that every frame's view lies inside the image; halve the camera
  // motion while it cannot.
  for (int tries = 0; tries < 12; ++tries) {
    const Extent e = extentOf(m, o_.frames, r);
    const double xLo = -e.x0, xHi = s.w - 1 - e.x1, yLo = -e.y0, yHi = s.h - 1 - e.y1;
    if (xLo <= xHi && yLo <= yHi) {
      m.x = rng.uniform(Scalar(xLo), Scalar(xHi));
      m.y = rng.uniform(Scalar(yLo), Scalar(yHi));
      return m;
    }
    m.dx /= 2;
    m.dy /= 2;
    m.rotation /= 2;
    m.zoom /= 2;
  }
  // Too small even for a still camera at a sub-pixel position: a still camera at whole pixels
  // (bicubic interpolation then copies pixels and reads nothing outside).
  m.dx = m.dy = m.rotation = m.zoom = 0;
  m.x = below(rng, s.w - r + 1);
  m.y = below(rng, s.h - r + 1);
  return m;
}

void SequenceSource::next(int n, nn::Rng& rng, Tensor& out) const {
  if (n < 1) throw InvalidArgument("batch size must be >= 1, got " + std::to_string(n));
  out.resize(Shape{n, o_.frames * channels(), renderSize(), renderSize()});
  for (int i = 0; i < n; ++i) {
    const Tensor& img = images_[rng.below(images_.size())].pixels;
    const ClipMotion m = drawMotion(img, rng);
    renderClip(img, m, o_.frames, i, out);
    bool flipH = false, flipV = false;
    if (o_.flips) {
      flipH = rng.below(2) == 1;
      flipV = rng.below(2) == 1;
    }
    const int rot = o_.rotations ? int(rng.below(4)) : 0;
    augment(out, i, flipH, flipV, rot);
  }
}

Tensor SequenceSource::fixed(int n, std::uint64_t seed) const {
  if (n < 1) throw InvalidArgument("batch size must be >= 1, got " + std::to_string(n));
  nn::Rng rng(seed);
  Tensor out(Shape{n, o_.frames * channels(), renderSize(), renderSize()});
  for (int i = 0; i < n; ++i) {
    const Tensor& img = images_[std::size_t(i) % images_.size()].pixels;
    renderClip(img, drawMotion(img, rng), o_.frames, i, out);
  }
  return out;
}

}  // namespace cae::train
