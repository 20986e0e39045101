#include "anomaly/score.hpp"

#include "error.hpp"

namespace cae::anomaly {

MapKind parseMapKind(const std::string& name) {
  if (name == "l2") return MapKind::L2;
  if (name == "ssim") return MapKind::Ssim;
  throw InvalidArgument("anomaly map kind '" + name + "': expected l2 or ssim");
}

const char* mapKindName(MapKind kind) { return kind == MapKind::Ssim ? "ssim" : "l2"; }

ScoreMap anomalyMap(const ImageView& input, const ImageView& reconstruction,
                    const ScoreOptions& options) {
  ScoreMap raw = options.map == MapKind::Ssim ? ssimMap(input, reconstruction)
                                              : l2Map(input, reconstruction);
  return options.smoothSigma > 0 ? smooth(raw, options.smoothSigma) : raw;
}

}  // namespace cae::anomaly
