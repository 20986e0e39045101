#include "infer/planes.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "error.hpp"
#include "infer/engine.hpp"

namespace cae::infer {
namespace {

// Row loops with the sample type fixed (T = uint8_t or uint16_t): the per-frame hot path.
template <class T>
void gather(const PlaneView& p, const Normalisation& n, float* dst) {
  for (int y = 0; y < p.height; ++y) {
    const std::uint8_t* row = p.data + std::ptrdiff_t(y) * p.rowStride;
    for (int x = 0; x < p.width; ++x) {
      T v;
      std::memcpy(&v, row + std::ptrdiff_t(x) * p.pixelStride, sizeof(T));
      *dst++ = float(v * n.scale + n.offset);
    }
  }
}

// BT.601 luma of three R, G, B planes, summed in that order in double precision.
void gatherLuma(const PlaneView& r, const PlaneView& g, const PlaneView& b, const Normalisation& n,
                float* dst) {
  for (int y = 0; y < r.height; ++y)
    for (int x = 0; x < r.width; ++x) {
      const double luma = 0.299 * r.get(x, y) + 0.587 * g.get(x, y) + 0.114 * b.get(x, y);
      *dst++ = float(luma * n.scale + n.offset);
    }
}

// out = strength * model + (1 - strength) * in, back in sample units, rounded and clamped.
template <class T>
void scatter(const PlaneView& in, const PlaneView& out, const Normalisation& n, const float* src,
             double strength) {
  const double hi = double(std::numeric_limits<T>::max());
  for (int y = 0; y < in.height; ++y) {
    const std::uint8_t* ri = in.data + std::ptrdiff_t(y) * in.rowStride;
    std::uint8_t* ro = out.data + std::ptrdiff_t(y) * out.rowStride;
    for (int x = 0; x < in.width; ++x) {
      double v = (double(*src++) - n.offset) / n.scale;
      if (strength < 1) {
        T a;
        std::memcpy(&a, ri + std::ptrdiff_t(x) * in.pixelStride, sizeof(T));
        v = strength * v + (1 - strength) * a;
      }
      const T r = T(std::nearbyint(std::clamp(v, 0.0, hi)));
      std::memcpy(ro + std::ptrdiff_t(x) * out.pixelStride, &r, sizeof(T));
    }
  }
}

void check(const PlaneView& a, const PlaneView& b) {
  if (!a.data || !b.data || a.width < 1 || a.height < 1 || a.width != b.width ||
      a.height != b.height || a.depth != b.depth || (a.depth != 8 && a.depth != 16))
    throw InvalidArgument(
        "runPlanes: input and output planes must be non-empty, of one size and "
        "of one depth (8 or 16 bits)");
}

void copyPlane(const PlaneView& in, const PlaneView& out) {
  if (in.data == out.data && in.rowStride == out.rowStride && in.pixelStride == out.pixelStride)
    return;
  for (int y = 0; y < in.height; ++y)
    for (int x = 0; x < in.width; ++x) out.set(x, y, in.get(x, y));
}

// Runs one group: planes idx (one image of `channels` planes, or a batch of 1-plane images).
void runGroup(Engine& e, const std::vector<PlaneView>& in, const std::vector<PlaneView>& out,
              const std::vector<std::size_t>& idx, bool asChannels, double strength) {
  const PlaneView& p0 = in[idx[0]];
  const int H = p0.height, W = p0.width;
  const Normalisation norm = e.normalisation(p0.depth);
  std::vector<PlaneView> group;
  group.reserve(idx.size());
  for (std::size_t k : idx) group.push_back(in[k]);
  cv::Mat blob = gatherPlanes(group, norm, Feed::Channels);
  if (!asChannels) {  // a batch of 1-channel images: the same memory, read as N×1×H×W
    const int sz[4] = {int(idx.size()), 1, H, W};
    blob = blob.reshape(1, 4, sz);
  }
  const std::size_t plane = std::size_t(H) * W;
  const cv::Mat y = e.run(blob);
  for (std::size_t k = 0; k < idx.size(); ++k) {
    const float* src = reinterpret_cast<const float*>(y.data) + k * plane;
    if (p0.depth == 8)
      scatter<std::uint8_t>(in[idx[k]], out[idx[k]], norm, src, strength);
    else
      scatter<std::uint16_t>(in[idx[k]], out[idx[k]], norm, src, strength);
  }
}

}  // namespace

cv::Mat gatherPlanes(const std::vector<PlaneView>& planes, const Normalisation& n, Feed feed) {
  if (planes.empty()) throw InvalidArgument("gatherPlanes: no planes");
  const PlaneView& p0 = planes[0];
  for (const PlaneView& p : planes)
    if (!p.data || p.width < 1 || p.height < 1 || p.width != p0.width || p.height != p0.height ||
        p.depth != p0.depth || (p.depth != 8 && p.depth != 16))
      throw InvalidArgument(
          "gatherPlanes: planes must be non-empty, of one size and of one depth (8 or 16 bits)");
  if (feed == Feed::Luma && planes.size() != 3)
    throw InvalidArgument("gatherPlanes: the luma needs three planes (R, G, B), " +
                          std::to_string(planes.size()) + " given");
  const int c = feed == Feed::Luma ? 1 : int(planes.size());
  const int sz[4] = {1, c, p0.height, p0.width};
  cv::Mat blob(4, sz, CV_32F);
  float* dst = blob.ptr<float>();
  if (feed == Feed::Luma) {
    gatherLuma(planes[0], planes[1], planes[2], n, dst);
    return blob;
  }
  const std::size_t plane = std::size_t(p0.height) * p0.width;
  for (std::size_t k = 0; k < planes.size(); ++k) {
    if (p0.depth == 8)
      gather<std::uint8_t>(planes[k], n, dst + k * plane);
    else
      gather<std::uint16_t>(planes[k], n, dst + k * plane);
  }
  return blob;
}

cv::Mat readFrame(const Engine& engine, std::vector<PlaneView> planes) {
  if (planes.empty()) throw InvalidArgument("readFrame: no planes");
  const int c = engine.channels();
  const bool luma = c == 1 && planes.size() == 3;
  if (!luma && int(planes.size()) != c)
    throw InvalidArgument("readFrame: the model reads " + std::to_string(c) + " channel(s), " +
                          std::to_string(planes.size()) + " plane(s) given");
  if (planes.size() == 3 && engine.info().format.rfind("BGR", 0) == 0 && !luma)
    std::swap(planes[0], planes[2]);
  return gatherPlanes(planes, engine.normalisation(planes[0].depth),
                      luma ? Feed::Luma : Feed::Channels);
}

void runPlanes(Engine& engine, const std::vector<PlaneView>& in, const std::vector<PlaneView>& out,
               double strength) {
  if (in.size() != out.size() || in.empty())
    throw InvalidArgument("runPlanes: give as many output planes as input planes (at least one)");
  for (std::size_t i = 0; i < in.size(); ++i) check(in[i], out[i]);
  strength = std::clamp(strength, 0.0, 1.0);
  if (strength == 0) {
    for (std::size_t i = 0; i < in.size(); ++i) copyPlane(in[i], out[i]);
    return;
  }
  const int C = engine.channels();
  if (C != 1) {
    if (int(in.size()) != C)
      throw InvalidArgument("runPlanes: the model reads " + std::to_string(C) + " channels, " +
                            std::to_string(in.size()) + " planes given");
    for (const PlaneView& p : in)
      if (p.width != in[0].width || p.height != in[0].height || p.depth != in[0].depth)
        throw InvalidArgument("runPlanes: the planes of a multi-channel image must share size");
    std::vector<std::size_t> all(in.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    runGroup(engine, in, out, all, true, strength);
    return;
  }
  // 1-channel model: batch planes of one size and depth together, in order of first appearance.
  std::vector<bool> done(in.size(), false);
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (done[i]) continue;
    std::vector<std::size_t> group;
    for (std::size_t j = i; j < in.size(); ++j)
      if (!done[j] && in[j].width == in[i].width && in[j].height == in[i].height &&
          in[j].depth == in[i].depth) {
        group.push_back(j);
        done[j] = true;
      }
    runGroup(engine, in, out, group, false, strength);
  }
}

}  // namespace cae::infer
