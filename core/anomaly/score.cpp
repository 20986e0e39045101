#include "anomaly/score.hpp"

#include <string>

#include "error.hpp"

namespace cae::anomaly {

ScoreMap anomalyMap(const ImageView& input, const ImageView& reconstruction,
                    const ScoreOptions& options) {
  ScoreMap out;
  anomalyMap(input, reconstruction, options, out);
  return out;
}

void anomalyMap(const ImageView& input, const ImageView& reconstruction,
                const ScoreOptions& options, ScoreMap& out) {
  if (outputIsMap(options.map)) {
    if (input.width != reconstruction.width || input.height != reconstruction.height)
      throw InvalidArgument("anomaly map: the model's output is " +
                            std::to_string(reconstruction.width) + "x" +
                            std::to_string(reconstruction.height) + ", the frame " +
                            std::to_string(input.width) + "x" + std::to_string(input.height));
    outputMap(reconstruction, out);
    if (options.map == MapKind::SegmentationLogit) toLogits(out);
  } else if (options.map == MapKind::Ssim)
    out = ssimMap(input, reconstruction);
  else if (options.map == MapKind::Lowpass)
    lowpassMap(input, reconstruction, kLowpassSigma, out);
  else
    l2Map(input, reconstruction, out);
  if (options.smoothSigma > 0) smooth(out, options.smoothSigma, out);
}

}  // namespace cae::anomaly
