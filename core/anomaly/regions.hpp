// Connected regions of an anomaly map above a pixel threshold: what the caeanomaly element
// reports and draws.
#pragma once

#include <vector>

#include "anomaly/maps.hpp"

namespace cae::anomaly {

struct Region {
  int x = 0, y = 0, width = 0, height = 0;  // bounding box, pixels
  int area = 0;                             // pixels in the region
  float peak = 0, mean = 0;                 // largest and mean score over the region's pixels
};

// Pixels with score strictly above threshold, grouped by 8-connectivity (diagonal neighbours
// join); regions smaller than minArea pixels are dropped. Sorted by peak, largest first.
// InvalidArgument for an empty map or minArea < 1.
std::vector<Region> findRegions(const ScoreMap& map, float threshold, int minArea = 1);

}  // namespace cae::anomaly
