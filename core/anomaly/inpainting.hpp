// Reconstruction by inpainting (RIAD: Zavrtanik, Kristan, Skočaj, "Reconstruction by inpainting
// for visual anomaly detection", Pattern Recognition 2021): a model that never sees the pixels it
// reconstructs cannot copy a defect through. The frame is cut into square cells at several
// scales; at each scale the cells are split into `groups` complementary sets; each set is blanked
// (set to 0) in its own pass and the model fills it in from the rest. The reconstruction at a
// scale is every pixel taken from the pass that blanked it; the model's reconstruction is the
// mean over scales (RIAD averages the maps of the scales; averaging the reconstructions keeps one
// reconstruction for every map kind of core/anomaly). scales x groups model passes per frame.
//
//   cae-train --noise grid-mask [--mask-scales 2,4,8,16] trains the model to inpaint one random
//   set of cells per sample (training draws its own split per sample) and writes
//   cae.inpaint = "2,4,8,16/3"; cae::infer::Engine then runs such a model this way, with a fixed
//   split per scale (inferenceSeed), so a frame's reconstruction does not change from run to run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "error.hpp"

// Header-only (core/onnx reads cae.inpaint, core/infer and core/train draw the masks, and
// neither links core/anomaly).
namespace cae::anomaly {

struct Inpainting {
  std::vector<int> scales{2, 4, 8, 16};  // cell sides in pixels
  int groups = 3;                        // complementary sets of cells per scale
  int passes() const { return int(scales.size()) * groups; }
};

// "2,4,8,16/3".
inline std::string formatInpainting(const Inpainting& p) {
  std::string s;
  for (int v : p.scales) s += (s.empty() ? "" : ",") + std::to_string(v);
  return s + "/" + std::to_string(p.groups);
}

// InvalidArgument unless SCALES/GROUPS with scales 1..256 and groups 2..16.
inline Inpainting parseInpainting(const std::string& text) {
  const auto bad = [&] {
    return InvalidArgument("inpainting: '" + text +
                           "' is not SCALES/GROUPS (e.g. 2,4,8,16/3; scales 1..256, groups 2..16)");
  };
  const std::size_t slash = text.find('/');
  if (slash == std::string::npos) throw bad();
  Inpainting p;
  p.scales.clear();
  std::stringstream in(text.substr(0, slash));
  for (std::string part; std::getline(in, part, ',');) {
    char* end = nullptr;
    const long v = std::strtol(part.c_str(), &end, 10);
    if (part.empty() || *end != '\0' || v < 1 || v > 256) throw bad();
    p.scales.push_back(int(v));
  }
  const std::string g = text.substr(slash + 1);
  char* end = nullptr;
  const long groups = std::strtol(g.c_str(), &end, 10);
  if (p.scales.empty() || g.empty() || *end != '\0' || groups < 2 || groups > 16) throw bad();
  p.groups = int(groups);
  return p;
}

// The set (0..groups-1) of cell (cy, cx) of a grid split with `seed`: splitmix64 of the seed and
// the cell, an even and repeatable split without storing one.
inline int cellGroup(int cy, int cx, std::uint64_t seed, int groups) {
  std::uint64_t z = seed + 0x9e3779b97f4a7c15ull * (std::uint64_t(std::uint32_t(cy)) << 32 |
                                                    std::uint64_t(std::uint32_t(cx)));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return int(z % std::uint64_t(groups));
}

// The split inference uses at a scale (training draws a new one per sample).
inline std::uint64_t inferenceSeed(int scale) {
  return 0x7269616400000000ull + std::uint64_t(scale);
}

// h x w floats (rows `stride` floats apart): 1 on the pixels whose cell (side `scale`, the grid
// from the top left) is in set `group` under `seed`, else 0.
template <typename T>
void fillGroupMask(T* mask, int h, int w, std::ptrdiff_t stride, int scale, int group, int groups,
                   std::uint64_t seed) {
  if (scale < 1 || groups < 1) throw InvalidArgument("inpainting mask: bad scale or groups");
  std::vector<T> cells(std::size_t((w + scale - 1) / scale));
  for (int y = 0; y < h; ++y) {
    if (y % scale == 0)
      for (std::size_t cx = 0; cx < cells.size(); ++cx)
        cells[cx] = cellGroup(y / scale, int(cx), seed, groups) == group ? T(1) : T(0);
    T* m = mask + std::ptrdiff_t(y) * stride;
    for (int x = 0; x < w; ++x) m[x] = cells[std::size_t(x / scale)];
  }
}

}  // namespace cae::anomaly
