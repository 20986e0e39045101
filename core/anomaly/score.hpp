// The anomaly decision shared by cae-train (calibration), the caeanomaly element and the defect
// benchmark, so that a threshold calibrated at training time means the same thing at run time:
//
//   map   = smooth(l2Map, lowpassMap or ssimMap of frame and reconstruction, sigma)
//   score = max over the map; the frame is anomalous when score > threshold
//   regions = findRegions(map, threshold)   (so a flagged frame has a region, unless a minimum
//                                            region area drops a small one)
//
// The model file names the map kind and sigma (cae.anomaly_map, cae.map_sigma) next to its
// calibrated cae.threshold.
#pragma once

#include "anomaly/decision.hpp"
#include "anomaly/maps.hpp"

namespace cae::anomaly {

// The smoothed per-pixel anomaly map of a frame (model units, e.g. [0, 1]) against its
// reconstruction; for MapKind::Segmentation, `reconstruction` is the model's output (its channel
// 0, the anomaly probability, of the input's width and height) and `input` is not read.
ScoreMap anomalyMap(const ImageView& input, const ImageView& reconstruction,
                    const ScoreOptions& options);
// The same into `out` (its memory reused; see maps.hpp): what the element runs per frame.
void anomalyMap(const ImageView& input, const ImageView& reconstruction,
                const ScoreOptions& options, ScoreMap& out);

// The frame score of such a map: its largest pixel.
inline double frameScore(const ScoreMap& map) { return maxScore(map); }

}  // namespace cae::anomaly
