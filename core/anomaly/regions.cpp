#include "anomaly/regions.hpp"

#include <algorithm>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <string>

#include "error.hpp"

namespace cae::anomaly {

std::vector<Region> findRegions(const ScoreMap& map, float threshold, int minArea) {
  if (map.width <= 0 || map.height <= 0 || map.data.size() != std::size_t(map.width) * map.height)
    throw InvalidArgument("find regions: the score map is empty or its data does not match " +
                          std::to_string(map.width) + "x" + std::to_string(map.height));
  if (minArea < 1)
    throw InvalidArgument("find regions: min area must be >= 1, got " + std::to_string(minArea));
  const cv::Mat scores(map.height, map.width, CV_32F, const_cast<float*>(map.data.data()));
  // Per-thread buffers: a stream of frames of one size allocates them once.
  struct Scratch {
    cv::Mat mask, labels, stats, centroids;
  };
  thread_local Scratch t;
  cv::compare(scores, threshold, t.mask, cv::CMP_GT);
  cv::Mat& labels = t.labels;
  cv::Mat& stats = t.stats;
  const int n = cv::connectedComponentsWithStats(t.mask, labels, stats, t.centroids, 8, CV_32S);
  std::vector<Region> regions(std::size_t(std::max(n, 1)));
  std::vector<double> sums(regions.size(), 0.0);
  for (int y = 0; y < map.height; ++y) {
    const int* l = labels.ptr<int>(y);
    for (int x = 0; x < map.width; ++x) {
      if (l[x] == 0) continue;
      const float s = map.at(x, y);
      Region& r = regions[l[x]];
      r.peak = r.area == 0 ? s : std::max(r.peak, s);
      ++r.area;
      sums[l[x]] += s;
    }
  }
  std::vector<Region> out;
  for (int i = 1; i < n; ++i) {
    Region r = regions[i];
    if (r.area < minArea) continue;
    r.x = stats.at<int>(i, cv::CC_STAT_LEFT);
    r.y = stats.at<int>(i, cv::CC_STAT_TOP);
    r.width = stats.at<int>(i, cv::CC_STAT_WIDTH);
    r.height = stats.at<int>(i, cv::CC_STAT_HEIGHT);
    r.mean = float(sums[i] / r.area);
    out.push_back(r);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Region& a, const Region& b) { return a.peak > b.peak; });
  return out;
}

}  // namespace cae::anomaly
