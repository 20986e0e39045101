#include "anomaly/score.hpp"

#include "error.hpp"

namespace cae::anomaly {

MapKind parseMapKind(const std::string& name) {
  if (name == "l2") return MapKind::L2;
  if (name == "lowpass") return MapKind::Lowpass;
  if (name == "ssim") return MapKind::Ssim;
  throw InvalidArgument("anomaly map kind '" + name + "': expected l2, lowpass or ssim");
}

const char* mapKindName(MapKind kind) {
  switch (kind) {
    case MapKind::Lowpass:
      return "lowpass";
    case MapKind::Ssim:
      return "ssim";
    default:
      return "l2";
  }
}

ScoreMap anomalyMap(const ImageView& input, const ImageView& reconstruction,
                    const ScoreOptions& options) {
  ScoreMap raw = options.map == MapKind::Ssim ? ssimMap(input, reconstruction)
                 : options.map == MapKind::Lowpass
                     ? lowpassMap(input, reconstruction, kLowpassSigma)
                     : l2Map(input, reconstruction);
  return options.smoothSigma > 0 ? smooth(raw, options.smoothSigma) : raw;
}

}  // namespace cae::anomaly
