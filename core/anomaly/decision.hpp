// The anomaly decision a model carries, as one value: which map the frame score is taken on
// (kind and smoothing), the calibrated threshold and the calibration's score statistics.
// cae-train writes it, core/onnx reads and writes it as the five cae.* keys
// (cae.anomaly_map, cae.map_sigma, cae.threshold, cae.score_mean, cae.score_std) in one place,
// and caeanomaly and the benchmark decide with it:
//
//   const cae::anomaly::Decision& d = engine.info().anomaly;
//   if (d.flagged(score)) post(score, d.z(score));
//
// Header-only (no OpenCV), so that core/onnx can hold one without linking core/anomaly.
#pragma once

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include "error.hpp"

namespace cae::anomaly {

enum class MapKind {
  L2,       // squared residual per pixel
  Lowpass,  // squared residual after a Gaussian low-pass of kLowpassSigma (lowpassMap)
  Ssim,     // 1 - SSIM
  // The model's own output: a segmentation model (DRAEM-style, a discriminative head trained on
  // synthetic anomalies) writes the per-pixel anomaly probability as its one output channel.
  Segmentation,
  // The same model's output as a logit, log(p / (1 - p)), before the smoothing and the maximum:
  // a trained head saturates (p within 1e-5 of 1 on defect-free texture), where probabilities no
  // longer rank and a smoothed maximum of them is set by how many pixels saturate; logits keep
  // the head's confidence. Scores and thresholds are then in logits (clamped at ±16.1, p 1e-7
  // from 0 or 1).
  SegmentationLogit,
};
inline constexpr double kLowpassSigma = 2.0;

// The one place map-kind names are read: "l2" | "lowpass" | "ssim" | "segmentation" |
// "segmentation-logit"; InvalidArgument otherwise.
inline MapKind parseMapKind(const std::string& name) {
  if (name == "l2") return MapKind::L2;
  if (name == "lowpass") return MapKind::Lowpass;
  if (name == "ssim") return MapKind::Ssim;
  if (name == "segmentation") return MapKind::Segmentation;
  if (name == "segmentation-logit") return MapKind::SegmentationLogit;
  throw InvalidArgument("anomaly map kind '" + name +
                        "': expected l2, lowpass, ssim, segmentation or segmentation-logit");
}

// Whether the model's output is the map itself (one channel) rather than a reconstruction.
inline bool outputIsMap(MapKind kind) {
  return kind == MapKind::Segmentation || kind == MapKind::SegmentationLogit;
}
// Whether the map's values are probabilities (bounded by 1): their frame model is fitted as logits.
inline bool mapIsProbability(MapKind kind) { return kind == MapKind::Segmentation; }

inline const char* mapKindName(MapKind kind) {
  switch (kind) {
    case MapKind::Lowpass:
      return "lowpass";
    case MapKind::Ssim:
      return "ssim";
    case MapKind::Segmentation:
      return "segmentation";
    case MapKind::SegmentationLogit:
      return "segmentation-logit";
    default:
      return "l2";
  }
}

// The frame score is a maximum over the map, so it grows with the frame's area: a threshold set
// at the 1 % quantile of small crops flags far more than 1 % of large frames. FrameModel is the
// extreme-value model that carries a calibration to any frame size: the scores of normal crops
// of `area` pixels are fitted by a Gumbel distribution (method of moments: beta = std sqrt(6) /
// pi, mu = mean - 0.5772 beta), and the maximum over a frame of A pixels, as the maximum of
// A / area independent crops (the map's correlation length, a few smoothing sigmas, is far below
// a crop's side), is Gumbel(mu + beta ln(A / area), beta). `fpr` is the per-frame false-alarm
// rate the element keeps at every frame size (cae.frame_model).
struct FrameModel {
  double mu = 0, beta = 0, area = 0, fpr = 0;
  // Scores that are probabilities (segmentation maps, bounded by 1) are fitted as logits,
  // log(s / (1 - s)), so that no threshold lands above 1; mu and beta are then in logits.
  bool logit = false;

  // A score in the fitted scale (logits clamped 1e-6 from 0 and 1).
  double toScale(double s) const {
    if (!logit) return s;
    const double p = std::min(1.0 - 1e-6, std::max(1e-6, s));
    return std::log(p / (1 - p));
  }
  double fromScale(double v) const { return logit ? 1.0 / (1.0 + std::exp(-v)) : v; }

  bool valid() const { return beta > 0 && area > 0 && fpr > 0 && fpr < 1; }
  // The score a normal frame of frameArea pixels exceeds with probability rate:
  // P(max > t) = 1 - exp(-k exp(-(t - mu) / beta)), k = frameArea / area, solved for t.
  double threshold(double frameArea, double rate) const {
    if (!valid() || !(frameArea > 0) || !(rate > 0 && rate < 1))
      throw InvalidArgument(
          "frame model: needs a fitted model, a positive area and a rate in "
          "(0, 1)");
    return fromScale(mu + beta * (std::log(frameArea / area) - std::log(-std::log1p(-rate))));
  }
  double threshold(double frameArea) const { return threshold(frameArea, fpr); }
  // The probability that a normal frame of frameArea pixels scores above `score`.
  double exceedance(double score, double frameArea) const {
    if (!valid() || !(frameArea > 0))
      throw InvalidArgument("frame model: needs a fitted model and a positive area");
    return -std::expm1(-(frameArea / area) * std::exp(-(toScale(score) - mu) / beta));
  }
};

// The per-pixel map a frame score is the maximum of.
struct ScoreOptions {
  MapKind map = MapKind::L2;
  double smoothSigma = 0.0;  // pixels; 0: no smoothing
};

struct Decision {
  ScoreOptions map;                 // default: unsmoothed l2 (a model without cae.anomaly_map)
  std::optional<double> threshold;  // none: the model is not calibrated
  double scoreMean = 0.0;           // calibration statistics of normal frame scores
  double scoreStd = 1.0;
  // Present when the threshold follows the frame's area (cae.frame_model): see atArea().
  std::optional<FrameModel> frame;

  bool calibrated() const { return threshold.has_value(); }
  // score > threshold; never true without a threshold.
  bool flagged(double score) const { return threshold && score > *threshold; }
  // How many calibration deviations above the calibration mean.
  double z(double score) const { return (score - scoreMean) / scoreStd; }
  // The same decision with another threshold (a user's override: fixed at every frame size);
  // calibration statistics kept.
  Decision withThreshold(double t) const {
    Decision d = *this;
    d.threshold = t;
    d.frame.reset();
    return d;
  }
  // The decision for frames of `area` pixels: with a frame model, its threshold at that area and
  // the model's false-alarm rate; otherwise this decision unchanged.
  Decision atArea(double area) const {
    if (!frame) return *this;
    Decision d = *this;
    d.threshold = frame->threshold(area);
    return d;
  }
};

}  // namespace cae::anomaly
