#include "anomaly/overlay.hpp"

#include <algorithm>
#include <cmath>

#include "error.hpp"

namespace cae::anomaly {
namespace {

// Blends each pixel whose score is within half the threshold's size below it (above t / 2 for a
// positive threshold; a logit map's may be negative) towards the tint: alpha from 0.25 there to
// 0.75 at the threshold and above.
void tint(const std::vector<PlaneView>& p, const ScoreMap& map, double threshold) {
  const bool rgb = p.size() == 3;
  const unsigned top = p[0].maxValue();
  const double span = std::max(std::abs(threshold) / 2, 1e-12), lo = threshold - span;
  for (int y = 0; y < map.height; ++y)
    for (int x = 0; x < map.width; ++x) {
      const double m = map.at(x, y);
      if (!(m > lo)) continue;
      const double alpha = 0.25 + 0.5 * std::min(1.0, (m - lo) / span);
      const unsigned v0 = p[0].get(x, y);
      p[0].set(x, y, unsigned(std::lround(v0 + alpha * (top - v0))));
      if (rgb) {
        p[1].set(x, y, unsigned(std::lround(p[1].get(x, y) * (1 - alpha))));
        p[2].set(x, y, unsigned(std::lround(p[2].get(x, y) * (1 - alpha))));
      }
    }
}

void box(const std::vector<PlaneView>& p, const Region& r) {
  const bool rgb = p.size() == 3;
  const unsigned top = p[0].maxValue();
  const int w = p[0].width, h = p[0].height;
  const int x0 = std::max(0, r.x - 2), y0 = std::max(0, r.y - 2);
  const int x1 = std::min(w, r.x + r.width + 2), y1 = std::min(h, r.y + r.height + 2);
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) {
      if (!(y < y0 + 2 || y >= y1 - 2 || x < x0 + 2 || x >= x1 - 2)) continue;
      p[0].set(x, y, top);
      if (rgb) {
        p[1].set(x, y, top);
        p[2].set(x, y, 0);
      }
    }
}

}  // namespace

void drawOverlay(const std::vector<PlaneView>& planes, const ScoreMap& map,
                 const std::vector<Region>& regions, double threshold) {
  if (planes.size() != 1 && planes.size() != 3)
    throw InvalidArgument("drawOverlay: give the gray plane or the R, G, B planes");
  for (const PlaneView& p : planes)
    if (!p.data || p.width != map.width || p.height != map.height)
      throw InvalidArgument("drawOverlay: planes must be of the map's size");
  tint(planes, map, threshold);
  for (const Region& r : regions) box(planes, r);
}

}  // namespace cae::anomaly
