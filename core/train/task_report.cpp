#include "train/task_report.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "anomaly/calibration.hpp"
#include "anomaly/score.hpp"
#include "train/synthetic_anomaly.hpp"

namespace cae::train {

using nn::Scalar;
using nn::Shape;
using nn::Tensor;

namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// Sample n of an NCHW tensor as an interleaved float image (the layout core/anomaly reads).
struct Interleaved {
  std::vector<float> data;
  int width = 0, height = 0, channels = 0;
  anomaly::ImageView view() const { return {data.data(), width, height, channels, 0}; }
};

Interleaved interleaved(const Tensor& t, int n) {
  const Shape& s = t.shape();
  Interleaved out{std::vector<float>(std::size_t(s.perSample())), s.w, s.h, s.c};
  const Scalar* p = t.sample(n);
  for (int c = 0; c < s.c; ++c)
    for (int i = 0; i < s.h * s.w; ++i)
      out.data[std::size_t(i) * s.c + c] = float(p[std::size_t(c) * s.h * s.w + i]);
  return out;
}

}  // namespace

DenoiseReport denoiseReport(const Tensor& clean, const Tensor& noisy, const Tensor& output,
                            double sigma, bool runNlm, bool windowed) {
  return {denoiseScores(clean, noisy, output, sigma, runNlm && !windowed, !windowed),
          clean.shape().n, windowed};
}

void DenoiseReport::addTo(nlohmann::json& metrics, std::string& summary) const {
  const DenoiseScores& d = scores;
  metrics["psnr_noisy"] = d.noisy;
  metrics["psnr_model"] = d.model;
  if (d.hasNlm) metrics["psnr_nlm"] = d.nlm;
  summary += "PSNR on " + std::to_string(samples) + " validation samples: noisy " +
             fmt("%.2f", d.noisy) + " dB -> model " + fmt("%.2f", d.model) + " dB";
  if (windowed) summary += " (peak: the window's width; values past the window kept)";
  if (d.hasNlm) summary += " (OpenCV NLM " + fmt("%.2f", d.nlm) + " dB)";
  summary += "\n";
}

std::pair<int, int> calibrationSize(const ArchSpec& spec, const std::vector<Image>& heldOut,
                                    int calibSize) {
  if (spec.kind != ArchKind::Conv || heldOut.empty()) return {spec.height, spec.width};
  int h = calibSize, w = calibSize;
  for (const Image& im : heldOut) {
    h = std::min(h, im.pixels.shape().h * 3 / 4);
    w = std::min(w, im.pixels.shape().w * 3 / 4);
  }
  // Both multiples are powers of two: the larger is a multiple of the other.
  const int multiple = std::max(spec.stem << spec.stages, spec.segWidth > 0 ? 4 * spec.segStem : 1);
  return {std::max(h - h % multiple, spec.height), std::max(w - w % multiple, spec.width)};
}

AnomalyReport calibrateAnomaly(const std::vector<Image>& heldOut, const ArchSpec& spec,
                               const TrainConfig& c, const Predict& predict) {
  const anomaly::ScoreOptions so{anomaly::parseMapKind(c.anomalyMap), c.mapSigma};
  // Plain ints, not a structured binding: the lambdas below capture them.
  const std::pair<int, int> size = calibrationSize(spec, heldOut, c.calibSize);
  const int ch = size.first, cw = size.second;
  BatchSource::Options co;
  co.patchH = ch;
  co.patchW = cw;
  const int n = std::max(c.valSamples, 200);
  LineVariation v;
  v.defocus = c.calibDefocus;
  if (c.calibVariation == "lighting") v.rotationDeg = v.scale = v.perspective = 0;  // fixed camera
  const auto crops = [&](std::uint64_t seed) {
    return c.calibVariation != "none" ? variedCrops(heldOut, n, ch, cw, v, seed)
                                      : BatchSource(heldOut, co).fixed(n, seed);
  };
  // Crops are larger than training patches: forward as many at a time as a training batch
  // has pixels, and score each chunk at once (no second full-size tensor).
  const int chunk =
      std::max(1, int(std::int64_t(c.batch) * spec.height * spec.width / (std::int64_t(ch) * cw)));
  const auto frameScores = [&](const Tensor& samples) {
    std::vector<double> out;
    for (int at = 0; at < samples.shape().n; at += chunk) {
      const int k = std::min(chunk, samples.shape().n - at);
      const Tensor in = sliceSamples(samples, at, k);
      const Tensor y = predict(in);
      for (int i = 0; i < k; ++i)
        out.push_back(anomaly::frameScore(
            anomaly::anomalyMap(interleaved(in, i).view(), interleaved(y, i).view(), so)));
    }
    return out;
  };
  const std::vector<double> scores = frameScores(crops(c.seed + 13));
  AnomalyReport r;
  r.calibration = anomaly::calibrate(scores, c.fpr);
  // A map that does not vary over normal crops (an untrained head: every crop scores its
  // prior) has no deviation; the file then keeps the default 1 and the summary says so.
  r.decision = anomaly::Decision{so, r.calibration.threshold, r.calibration.mean,
                                 r.calibration.std > 0 ? r.calibration.std : 1.0, std::nullopt};
  r.samples = scores.size();
  r.cropWidth = cw;
  r.cropHeight = ch;
  r.fpr = c.fpr;
  r.variation = c.calibVariation;
  for (const Image& im : heldOut) r.heldOut.push_back(im.source);
  if (c.frameFpr > 0 && r.calibration.std > 0) {
    // Probability maps (segmentation) are fitted as logits, so no threshold lands above 1.
    r.decision.frame = anomaly::fitFrameModel(scores, double(cw) * ch, c.frameFpr,
                                              anomaly::mapIsProbability(so.map));
    r.decision.threshold = r.decision.frame->threshold(double(c.deployW) * c.deployH);
    r.deployW = c.deployW;
    r.deployH = c.deployH;
  }
  // The operating point on validation data: other held-out crops, seen alike, each with one
  // synthetic anomaly of the trainer's generator (Perlin regions, warps of the crop, opacity
  // 0.5-1; never the benchmark's defect kinds), scored against the threshold for the crops' area.
  if (r.calibration.std > 0) {
    SyntheticAnomaly::Options ao;
    ao.share = 1;
    ao.minOpacity = 0.5;
    ao.maxCells = std::max(1, std::min(ch, cw) / 8);
    const SyntheticAnomaly gen({}, heldOut.front().pixels.shape().c, ch, cw, ao);
    Tensor anomalous, mask;
    nn::Rng rng(c.seed + 17);
    gen.apply(crops(c.seed + 19), anomalous, mask, rng);
    const std::vector<double> bad = frameScores(anomalous);
    const double t = *r.decision.atArea(double(cw) * ch).threshold;
    r.validationDetection =
        double(std::count_if(bad.begin(), bad.end(), [t](double x) { return x > t; })) /
        double(bad.size());
    // AUROC by ranks: the chance that an anomalous crop outscores a normal one (ties: half).
    double wins = 0;
    for (double b : bad)
      for (double g : scores) wins += b > g ? 1.0 : b == g ? 0.5 : 0.0;
    r.validationAuroc = wins / (double(bad.size()) * double(scores.size()));
  }
  return r;
}

void AnomalyReport::addTo(nlohmann::json& metrics, std::string& summary) const {
  const anomaly::Calibration& cal = calibration;
  const std::string mapName = anomaly::mapKindName(decision.map.map);
  const std::string crop = std::to_string(cropWidth) + "x" + std::to_string(cropHeight);
  metrics["score_mean"] = cal.mean;
  metrics["score_std"] = cal.std;
  metrics["threshold"] = cal.threshold;
  metrics["calibration_fpr"] = cal.fpr;
  metrics["calibration_samples"] = samples;
  metrics["calibration_size"] = crop;
  metrics["calibration_variation"] = variation;
  if (validationAuroc >= 0) {
    metrics["validation_anomaly_auroc"] = validationAuroc;
    metrics["validation_anomaly_detection"] = validationDetection;
  }
  metrics["calibration_images"] = heldOut;
  metrics["anomaly_map"] = mapName;
  metrics["map_sigma"] = decision.map.smoothSigma;
  summary += "anomaly frame score (max of the " + mapName + " map smoothed by sigma " +
             fmt("%g", decision.map.smoothSigma) + ") on " + std::to_string(samples) +
             " held-out " + crop + " normal crops" +
             (variation == "line"       ? " (seen as a line varies)"
              : variation == "lighting" ? " (under varied lighting and noise)"
                                        : "") +
             ": mean " + fmt("%.6g", cal.mean) + ", std " + fmt("%.6g", cal.std) + ", threshold " +
             fmt("%.6g", cal.threshold) + " at FPR " + fmt("%g", fpr) + "\n";
  if (decision.frame) {
    const anomaly::FrameModel& f = *decision.frame;
    const std::string deploy = std::to_string(deployW) + "x" + std::to_string(deployH);
    metrics["frame_model"] = {
        {"mu", f.mu}, {"beta", f.beta}, {"area", f.area}, {"fpr", f.fpr}, {"logit", f.logit}};
    metrics["deploy_size"] = deploy;
    metrics["deploy_threshold"] = *decision.threshold;
    summary += "frame model (Gumbel fit of the crop maxima): threshold " +
               fmt("%.6g", *decision.threshold) + " for " + deploy + " frames at " +
               fmt("%g", f.fpr) + " false alarms per frame; caeanomaly follows the frame size\n";
  }
  if (validationAuroc >= 0)
    summary +=
        "validation: held-out crops with a synthetic anomaly (Perlin regions) against "
        "normal ones: AUROC " +
        fmt("%.3f", validationAuroc) + ", " + fmt("%.1f", 100 * validationDetection) +
        " % flagged at the threshold for their size\n";
  if (!(cal.std > 0))
    summary +=
        "warning: every held-out crop scored the same: the model's map does not vary "
        "(train longer, or check the data); cae.score_std is stored as 1\n";
}

}  // namespace cae::train
