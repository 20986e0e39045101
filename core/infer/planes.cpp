#include "infer/planes.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "error.hpp"
#include "infer/engine.hpp"

namespace cae::infer {
namespace {

double sampleAt(const PlaneView& p, int x, int y) {
  const std::uint8_t* s =
      p.data + std::ptrdiff_t(y) * p.rowStride + std::ptrdiff_t(x) * p.pixelStride;
  if (p.depth == 8) return *s;
  std::uint16_t v;
  std::memcpy(&v, s, 2);
  return v;
}

void store(const PlaneView& p, int x, int y, double v) {
  std::uint8_t* d = p.data + std::ptrdiff_t(y) * p.rowStride + std::ptrdiff_t(x) * p.pixelStride;
  const double hi = p.depth == 8 ? 255.0 : 65535.0;
  const double r = std::nearbyint(std::clamp(v, 0.0, hi));
  if (p.depth == 8) {
    *d = std::uint8_t(r);
  } else {
    const std::uint16_t u = std::uint16_t(r);
    std::memcpy(d, &u, 2);
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
    for (int x = 0; x < in.width; ++x) store(out, x, y, sampleAt(in, x, y));
}

// Runs one group: planes idx (one image of `channels` planes, or a batch of 1-plane images).
void runGroup(Engine& e, const std::vector<PlaneView>& in, const std::vector<PlaneView>& out,
              const std::vector<std::size_t>& idx, bool asChannels, double strength) {
  const PlaneView& p0 = in[idx[0]];
  const int H = p0.height, W = p0.width;
  const int n = asChannels ? 1 : int(idx.size());
  const int c = asChannels ? int(idx.size()) : 1;
  const Normalisation norm = e.normalisation(p0.depth);
  const int sz[4] = {n, c, H, W};
  cv::Mat blob(4, sz, CV_32F);
  for (std::size_t k = 0; k < idx.size(); ++k) {
    float* dst = reinterpret_cast<float*>(blob.data) + k * std::size_t(H) * W;
    const PlaneView& p = in[idx[k]];
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x)
        dst[std::size_t(y) * W + x] = float(sampleAt(p, x, y) * norm.scale + norm.offset);
  }
  const cv::Mat y = e.run(blob);
  for (std::size_t k = 0; k < idx.size(); ++k) {
    const float* src = reinterpret_cast<const float*>(y.data) + k * std::size_t(H) * W;
    const PlaneView &pi = in[idx[k]], &po = out[idx[k]];
    for (int yy = 0; yy < H; ++yy)
      for (int x = 0; x < W; ++x) {
        const double model = (double(src[std::size_t(yy) * W + x]) - norm.offset) / norm.scale;
        const double v =
            strength >= 1 ? model : strength * model + (1 - strength) * sampleAt(pi, x, yy);
        store(po, x, yy, v);
      }
  }
}

}  // namespace

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
