#include "anomaly/score.hpp"

namespace cae::anomaly {

ScoreMap anomalyMap(const ImageView& input, const ImageView& reconstruction,
                    const ScoreOptions& options) {
  ScoreMap raw = options.map == MapKind::Ssim ? ssimMap(input, reconstruction)
                 : options.map == MapKind::Lowpass
                     ? lowpassMap(input, reconstruction, kLowpassSigma)
                     : l2Map(input, reconstruction);
  return options.smoothSigma > 0 ? smooth(raw, options.smoothSigma) : raw;
}

}  // namespace cae::anomaly
