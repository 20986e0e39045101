#include "infer/planes.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "error.hpp"
#include "infer/engine.hpp"
#include "infer/frame_history.hpp"

namespace cae::infer {
namespace {

// Row loops with the sample type fixed (T = uint8_t or uint16_t): the per-frame hot path. The
// views' fields are read into locals first: a store through a byte pointer may alias them, and
// the compiler would reload them every sample and not vectorise the loop (scatter took ~0.5 ms
// of a 640x480 frame that way, 8 % of denoise-fast's forward).
template <class T>
void gather(const PlaneView& p, const Normalisation& n, float* dst) {
  const double scale = n.scale, offset = n.offset;
  const int w = p.width, ps = p.pixelStride;
  for (int y = 0; y < p.height; ++y, dst += w) {
    const std::uint8_t* row = p.data + std::ptrdiff_t(y) * p.rowStride;
    float* __restrict d = dst;
    if (ps == 1 && sizeof(T) == 1) {
      for (int x = 0; x < w; ++x) d[x] = float(row[x] * scale + offset);
      continue;
    }
    for (int x = 0; x < w; ++x) {
      T v;
      std::memcpy(&v, row + std::ptrdiff_t(x) * ps, sizeof(T));
      d[x] = float(v * scale + offset);
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
  const double scale = n.scale, offset = n.offset;
  const int w = in.width, ips = in.pixelStride, ops = out.pixelStride;
  for (int y = 0; y < in.height; ++y, src += w) {
    const std::uint8_t* ri = in.data + std::ptrdiff_t(y) * in.rowStride;
    std::uint8_t* ro = out.data + std::ptrdiff_t(y) * out.rowStride;
    const float* __restrict s = src;
    if (strength >= 1 && ops == 1 && sizeof(T) == 1) {
      std::uint8_t* __restrict o = ro;
      for (int x = 0; x < w; ++x)
        o[x] = std::uint8_t(std::nearbyint(std::clamp((double(s[x]) - offset) / scale, 0.0, hi)));
      continue;
    }
    for (int x = 0; x < w; ++x) {
      double v = (double(s[x]) - offset) / scale;
      if (strength < 1) {
        T a;
        std::memcpy(&a, ri + std::ptrdiff_t(x) * ips, sizeof(T));
        v = strength * v + (1 - strength) * a;
      }
      const T r = T(std::nearbyint(std::clamp(v, 0.0, hi)));
      std::memcpy(ro + std::ptrdiff_t(x) * ops, &r, sizeof(T));
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

// The groups runPlanes batches: one group of every plane for a C-channel model (C > 1: the
// planes are the channels of one image), else planes of one size and depth, in order of first
// appearance.
std::vector<std::vector<std::size_t>> groupPlanes(const std::vector<PlaneView>& in, int C) {
  std::vector<std::vector<std::size_t>> groups;
  if (C != 1) {
    groups.emplace_back();
    for (std::size_t i = 0; i < in.size(); ++i) groups.back().push_back(i);
    return groups;
  }
  std::vector<bool> done(in.size(), false);
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (done[i]) continue;
    groups.emplace_back();
    for (std::size_t j = i; j < in.size(); ++j)
      if (!done[j] && in[j].width == in[i].width && in[j].height == in[i].height &&
          in[j].depth == in[i].depth) {
        groups.back().push_back(j);
        done[j] = true;
      }
  }
  return groups;
}

// Colour::Opponent on the three 1-channel images of a blob (N = 3, the rest of each image's
// channels left alone): R, G, B -> Y, C1, C2 (forward) or back, in model units with `mid` the
// middle of the model's range.
void opponent(cv::Mat& blob, std::size_t imageStride, std::size_t hw, float mid, bool forward) {
  float* r = blob.ptr<float>();
  float* g = r + imageStride;
  float* b = g + imageStride;
  for (std::size_t i = 0; i < hw; ++i) {
    if (forward) {
      const float R = r[i], G = g[i], B = b[i];
      r[i] = (R + G + B) / 3.0f;
      g[i] = (R - B) / 2.0f + mid;
      b[i] = (R - 2.0f * G + B) / 4.0f + mid;
    } else {
      const float y = r[i], a = g[i] - mid, c = b[i] - mid;
      r[i] = y + 2.0f * c / 3.0f + a;
      g[i] = y - 4.0f * c / 3.0f;
      b[i] = y + 2.0f * c / 3.0f - a;
    }
  }
}

}  // namespace

PlaneView viewOf(cv::Mat& m, int c) {
  if ((m.depth() != CV_8U && m.depth() != CV_16U) || m.dims != 2 || c < 0 || c >= m.channels())
    throw InvalidArgument("viewOf: needs a 2-D 8- or 16-bit image and one of its components");
  PlaneView v;
  v.depth = m.depth() == CV_8U ? 8 : 16;
  const int bytes = v.depth / 8;
  v.data = m.data + std::ptrdiff_t(c) * bytes;
  v.width = m.cols;
  v.height = m.rows;
  v.rowStride = int(m.step[0]);
  v.pixelStride = m.channels() * bytes;
  return v;
}

cv::Mat gatherPlanes(const std::vector<PlaneView>& planes, const Normalisation& n, Feed feed) {
  cv::Mat blob;
  gatherPlanes(planes, n, feed, blob);
  return blob;
}

void gatherPlanes(const std::vector<PlaneView>& planes, const Normalisation& n, Feed feed,
                  cv::Mat& blob) {
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
  const bool fits = blob.dims == 4 && blob.type() == CV_32F && blob.isContinuous() &&
                    blob.size[0] == 1 && blob.size[1] == c && blob.size[2] == p0.height &&
                    blob.size[3] == p0.width;
  if (!fits) {
    blob.release();
    blob.create(4, sz, CV_32F);
  }
  float* dst = blob.ptr<float>();
  if (feed == Feed::Luma) {
    gatherLuma(planes[0], planes[1], planes[2], n, dst);
    return;
  }
  const std::size_t plane = std::size_t(p0.height) * p0.width;
  for (std::size_t k = 0; k < planes.size(); ++k) {
    if (p0.depth == 8)
      gather<std::uint8_t>(planes[k], n, dst + k * plane);
    else
      gather<std::uint16_t>(planes[k], n, dst + k * plane);
  }
}

cv::Mat readFrame(const Engine& engine, std::vector<PlaneView> planes) {
  cv::Mat blob;
  readFrame(engine, std::move(planes), blob);
  return blob;
}

void readFrame(const Engine& engine, std::vector<PlaneView> planes, cv::Mat& blob) {
  if (planes.empty()) throw InvalidArgument("readFrame: no planes");
  const int c = engine.channels();
  const bool luma = c == 1 && planes.size() == 3;
  if (!luma && int(planes.size()) != c)
    throw InvalidArgument("readFrame: the model reads " + std::to_string(c) + " channel(s), " +
                          std::to_string(planes.size()) + " plane(s) given");
  if (planes.size() == 3 && engine.info().format.rfind("BGR", 0) == 0 && !luma)
    std::swap(planes[0], planes[2]);
  gatherPlanes(planes, engine.normalisation(planes[0].depth), luma ? Feed::Luma : Feed::Channels,
               blob);
}

struct PlaneWorkspace::Impl {
  // One group of planes: its blobs and its history.
  struct Group {
    std::vector<std::size_t> planes;  // indices into in/out
    int width = 0, height = 0, depth = 0;
    cv::Mat blob;  // N×(K·C)×H×W: frame 0 the current frame, then the older ones
    cv::Mat out;   // N×C×H×W
    FrameHistory history;
  };
  std::vector<Group> groups;
  int frames = 0, channels = 0;  // the engine's K and C the groups were made for
  std::vector<Shift> shifts, scaled;

  // Keeps the groups while the frame's planes group as before; else new groups (no history).
  void layout(const Engine& e, const std::vector<PlaneView>& in);
  // Frame 0 of group g's blob from its planes, in model units.
  void gatherCurrent(const Engine& e, Group& g, const std::vector<PlaneView>& in) const;
  // The older frames of every group behind their current frames (aligned where the model is).
  void fillHistory(const Engine& e);
};

void PlaneWorkspace::Impl::layout(const Engine& e, const std::vector<PlaneView>& in) {
  const int K = e.framesIn(), C = e.channels();
  const std::vector<std::vector<std::size_t>> want = groupPlanes(in, C);
  bool same = K == frames && C == channels && want.size() == groups.size();
  for (std::size_t g = 0; same && g < want.size(); ++g) {
    const PlaneView& p = in[want[g][0]];
    same = want[g] == groups[g].planes && p.width == groups[g].width &&
           p.height == groups[g].height && p.depth == groups[g].depth;
  }
  if (same) return;
  frames = K;
  channels = C;
  groups.resize(want.size());
  for (std::size_t g = 0; g < want.size(); ++g) {
    Group& pg = groups[g];
    const PlaneView& p = in[want[g][0]];
    pg.planes = want[g];
    pg.width = p.width;
    pg.height = p.height;
    pg.depth = p.depth;
    const int images = C == 1 ? int(pg.planes.size()) : 1;
    const int sz[4] = {images, K * C, p.height, p.width};
    pg.blob.create(4, sz, CV_32F);
    pg.history.configure(K - 1, images, C, p.height, p.width);
    pg.history.clear();
  }
}

void PlaneWorkspace::Impl::gatherCurrent(const Engine& e, Group& g,
                                         const std::vector<PlaneView>& in) const {
  const Normalisation norm = e.normalisation(g.depth);
  const std::size_t hw = std::size_t(g.height) * g.width;
  float* base = g.blob.ptr<float>();
  for (std::size_t k = 0; k < g.planes.size(); ++k) {
    // Plane k is image k (1-channel model) or channel k of the one image (C channels).
    const std::size_t n = channels == 1 ? k : 0, c = channels == 1 ? 0 : k;
    float* dst = base + (n * std::size_t(frames) * channels + c) * hw;
    if (g.depth == 8)
      gather<std::uint8_t>(in[g.planes[k]], norm, dst);
    else
      gather<std::uint16_t>(in[g.planes[k]], norm, dst);
  }
}

void PlaneWorkspace::Impl::fillHistory(const Engine& e) {
  const bool align = e.info().align == "translation" && groups[0].history.size() > 0;
  if (align) groups[0].history.estimateShifts(groups[0].blob, shifts);
  for (Group& g : groups) {
    if (!align) {
      scaled.clear();
    } else {
      scaled.resize(shifts.size());
      const double sx = double(g.width) / groups[0].width, sy = double(g.height) / groups[0].height;
      for (std::size_t j = 0; j < shifts.size(); ++j) scaled[j] = scaleShift(shifts[j], sx, sy);
    }
    g.history.fill(g.blob, scaled);
  }
}

PlaneWorkspace::PlaneWorkspace() : impl_(std::make_unique<Impl>()) {}
PlaneWorkspace::~PlaneWorkspace() = default;

void PlaneWorkspace::forget() {
  for (Impl::Group& g : impl_->groups) g.history.clear();
}

int PlaneWorkspace::historySize() const {
  return impl_->groups.empty() ? 0 : impl_->groups[0].history.size();
}

std::size_t PlaneWorkspace::groups() const { return impl_->groups.size(); }
const cv::Mat& PlaneWorkspace::input(std::size_t group) const {
  return impl_->groups.at(group).blob;
}
const cv::Mat& PlaneWorkspace::output(std::size_t group) const {
  return impl_->groups.at(group).out;
}

void runPlanes(Engine& engine, PlaneWorkspace& workspace, const std::vector<PlaneView>& in,
               const std::vector<PlaneView>& out, double strength, Colour colour) {
  if (in.size() != out.size() || in.empty())
    throw InvalidArgument("runPlanes: give as many output planes as input planes (at least one)");
  for (std::size_t i = 0; i < in.size(); ++i) check(in[i], out[i]);
  strength = std::clamp(strength, 0.0, 1.0);
  const int C = engine.channels();
  if (C != 1) {
    if (int(in.size()) != C)
      throw InvalidArgument("runPlanes: the model reads " + std::to_string(C) + " channels, " +
                            std::to_string(in.size()) + " planes given");
    for (const PlaneView& p : in)
      if (p.width != in[0].width || p.height != in[0].height || p.depth != in[0].depth)
        throw InvalidArgument("runPlanes: the planes of a multi-channel image must share size");
  }
  const bool temporal = engine.framesIn() > 1;
  if (strength == 0) {
    for (std::size_t i = 0; i < in.size(); ++i) copyPlane(in[i], out[i]);
    if (!temporal) return;
  }
  PlaneWorkspace::Impl& w = *workspace.impl_;
  w.layout(engine, in);
  for (PlaneWorkspace::Impl::Group& g : w.groups) w.gatherCurrent(engine, g, in);
  if (strength > 0) {
    if (temporal) w.fillHistory(engine);
    for (PlaneWorkspace::Impl::Group& g : w.groups) {
      const Normalisation norm = engine.normalisation(g.depth);
      const std::size_t plane = std::size_t(g.height) * g.width;
      // The opponent transform: a single-frame gray model, the three planes of one group.
      const bool opp = colour == Colour::Opponent && C == 1 && !temporal && in.size() == 3 &&
                       g.planes.size() == 3;
      const float mid = float(((g.depth == 8 ? 255.0 : 65535.0) * norm.scale) / 2 + norm.offset);
      if (opp) opponent(g.blob, plane, plane, mid, true);
      engine.run(g.blob, g.out);
      if (opp) opponent(g.out, plane, plane, mid, false);
      for (std::size_t k = 0; k < g.planes.size(); ++k) {
        const float* src = g.out.ptr<float>() + k * plane;
        const std::size_t i = g.planes[k];
        if (g.depth == 8)
          scatter<std::uint8_t>(in[i], out[i], norm, src, strength);
        else
          scatter<std::uint16_t>(in[i], out[i], norm, src, strength);
      }
    }
  }
  for (PlaneWorkspace::Impl::Group& g : w.groups) g.history.push(g.blob);
}

void runPlanes(Engine& engine, const std::vector<PlaneView>& in, const std::vector<PlaneView>& out,
               double strength, Colour colour) {
  PlaneWorkspace workspace;
  runPlanes(engine, workspace, in, out, strength, colour);
}

}  // namespace cae::infer
