// Anomaly-score calibration on held-out normal data: the score statistics and a decision
// threshold at a chosen false-positive rate. cae-train writes them into the model as
// cae.score_mean, cae.score_std and cae.threshold.
#pragma once

#include <vector>

#include "anomaly/decision.hpp"

namespace cae::anomaly {

struct Calibration {
  double mean = 0, std = 0, threshold = 0;
  double fpr = 0;  // share of the calibration scores strictly above threshold
};

// scores: one frame score per normal sample (e.g. mean squared reconstruction error). The
// threshold is the smallest calibration score with at most fpr of the scores strictly above it,
// i.e. the (1 - fpr) empirical quantile; fpr = 0 gives the largest score. std is the sample
// standard deviation (0 for a single score). InvalidArgument when scores is empty or holds a
// non-finite value, or when fpr is outside [0, 1).
Calibration calibrate(std::vector<double> scores, double fpr);

// Fits the frame model (decision.hpp) to normal crop scores (crops of `area` pixels each);
// InvalidArgument for fewer than two scores, a non-finite one, scores that do not vary, area <= 0
// or fpr outside (0, 1).
// logit: the scores are probabilities, fitted as logits (FrameModel::logit).
FrameModel fitFrameModel(const std::vector<double>& scores, double area, double fpr,
                         bool logit = false);

}  // namespace cae::anomaly
