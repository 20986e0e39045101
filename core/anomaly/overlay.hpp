// What caeanomaly draws on a flagged frame, in place on the frame's own planes: a heat tint where
// the anomaly map comes within half the threshold's size of it (red on colour frames, brightening
// on gray; stronger nearer and above the threshold) and a 2-pixel box around each region (yellow,
// or full white on gray), drawn just outside the region and kept inside the frame.
//
//   drawOverlay({r, g, b}, map, regions, threshold);   // or drawOverlay({gray}, ...)
#pragma once

#include <vector>

#include "anomaly/maps.hpp"
#include "anomaly/regions.hpp"
#include "plane_view.hpp"

namespace cae::anomaly {

// planes: the frame's gray component, or its R, G, B components (any strides, 8 or 16 bits),
// each of the map's size. InvalidArgument for another plane count or a size other than the map's.
void drawOverlay(const std::vector<PlaneView>& planes, const ScoreMap& map,
                 const std::vector<Region>& regions, double threshold);

}  // namespace cae::anomaly
