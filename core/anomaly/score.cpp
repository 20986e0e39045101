#include "anomaly/score.hpp"

namespace cae::anomaly {

ScoreMap anomalyMap(const ImageView& input, const ImageView& reconstruction,
                    const ScoreOptions& options) {
  ScoreMap out;
  anomalyMap(input, reconstruction, options, out);
  return out;
}

void anomalyMap(const ImageView& input, const ImageView& reconstruction,
                const ScoreOptions& options, ScoreMap& out) {
  if (options.map == MapKind::Ssim)
    out = ssimMap(input, reconstruction);
  else if (options.map == MapKind::Lowpass)
    lowpassMap(input, reconstruction, kLowpassSigma, out);
  else
    l2Map(input, reconstruction, out);
  if (options.smoothSigma > 0) smooth(out, options.smoothSigma, out);
}

}  // namespace cae::anomaly
