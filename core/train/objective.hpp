// The objective cae-train minimises, built once from the configuration: the reconstruction loss
// (MSE/BCE/L1; inner stages of stacked pretraining reconstruct codes with MSE), the input
// corruption of denoising autoencoders, and the regularizer chain — total variation of the output,
// L1 activity and KL sparsity of the code, the VAE's KL to N(0, I), the contractive penalty (exact
// for a dense encoder reading the input, estimated otherwise) and L1/L2 weight decay.
//
//   Objective obj(config);                              // InvalidArgument: denoise without noise
//   const Tensor& x = obj.corrupt(clean, inner, noisy, rng);
//   StepLoss l = obj.step(built, inner, x, clean, rng);  // gradients now in built.model.grads()
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "nn/corruption/corruption.hpp"
#include "nn/losses/bce_loss.hpp"
#include "nn/losses/bce_with_logits_loss.hpp"
#include "nn/losses/loss.hpp"
#include "nn/losses/mse_loss.hpp"
#include "nn/losses/rate_distortion.hpp"
#include "nn/losses/weighted_mse_loss.hpp"
#include "nn/regularizers/activity_l1.hpp"
#include "nn/regularizers/contractive_estimate.hpp"
#include "nn/regularizers/kl_sparsity.hpp"
#include "nn/regularizers/total_variation.hpp"
#include "train/architecture.hpp"
#include "train/overlap_add_loss.hpp"
#include "train/synthetic_anomaly.hpp"
#include "train/trainer.hpp"

namespace cae::train {

// One step's losses: the reconstruction alone and the whole objective it is part of.
struct StepLoss {
  double reconstruction = 0, total = 0;
};

class Objective {
 public:
  // InvalidArgument when --task denoise has no corruption.
  explicit Objective(const TrainConfig& c);

  // The reconstruction loss of a stage (inner: a stacked stage that reconstructs codes).
  const nn::Loss& loss(bool inner) const {
    if (inner) return mse_;
    return *loss_;
  }
  bool corrupts() const { return bool(corruption_) || bool(synthetic_); }
  // Segmentation anomaly models (BuiltModel::segments): their training input has synthetic
  // anomalies pasted in (train/synthetic_anomaly.hpp), before any corruption; the mask of the
  // last corrupt() / corruptFixed() is what step() and segmentationLoss() score against.
  void useSyntheticAnomalies(SyntheticAnomaly generator);
  bool pastesAnomalies() const { return bool(synthetic_); }
  // The input of a training step: target corrupted with rng into noisy (pixel stages with a
  // corruption or synthetic anomalies), else target itself.
  const nn::Tensor& corrupt(const nn::Tensor& target, bool inner, nn::Tensor& noisy,
                            nn::Rng& rng) const;
  // The corrupted copy of clean validation samples: the same draw for a salt every time.
  nn::Tensor corruptFixed(const nn::Tensor& clean, std::uint64_t salt) const;
  // A segmentation model's validation loss: the BCE of its output (the anomaly probability)
  // against the mask of the last corruptFixed() (the same term step() reports).
  double segmentationLoss(const nn::Tensor& probability) const;

  // --task audio-denoise with --mask-loss psa: the weighted MSE of the masks (nn/losses/
  // weighted_mse_loss.hpp) with weights from the model's input, the newest frame's noisy power
  // per bin over its mean over the bins (+ 1e-3 of that mean, so that no bin is left untrained):
  // each frame counts alike whatever its level, and within a frame the error of the gain costs
  // what it costs the output. With --mask-loss snr, each frame's weights are also multiplied by
  // its power over its noise floor's (the input's second plane), clamped to 1..100, so that frames
  // count by their level within their mixture as in SNR and SI-SDR, not all alike. Null for other
  // tasks and --mask-loss mse. outputs: the masks per sample (cae-train --sequence), of the
  // input's last `outputs` frames (each less the look-ahead); the weights are {N, bins, 1,
  // outputs}.
  const nn::WeightedMseLoss* maskLoss(const nn::Tensor& input, int outputs = 1) const;

  // --task audio-denoise with --mask-loss time: the time-domain loss of the overlap-added
  // output (train/overlap_add_loss.hpp), whose target is the spectra {N, bins, 4, L} that
  // splitAudioSamples() gives; null otherwise.
  const OverlapAddLoss* timeLoss() const { return timeLoss_ ? &*timeLoss_ : nullptr; }

  // --task compress: the rate-distortion objective (null for other tasks).
  const nn::RateDistortion* rateDistortion() const { return rd_ ? &*rd_ : nullptr; }

  // Forward and backward of one step through b.model; the gradients of the whole objective are
  // in b.model.grads() afterwards. rng: the contractive estimate's probes. A segmentation model
  // (b.segments()) minimises the reconstruction's loss against target (the clean sample) plus
  // the BCE of the head's logits against the pasted mask (DRAEM's L2 + segmentation terms;
  // DRAEM's SSIM term and focal loss are not used); StepLoss::reconstruction then holds the BCE,
  // the term validation measures. A codec (b.compresses()) minimises lambda * 255^2 * MSE +
  // bits per pixel of its entropy model; StepLoss::reconstruction then holds that total.
  StepLoss step(BuiltModel& b, bool inner, const nn::Tensor& input, const nn::Tensor& target,
                nn::Rng& rng) const;

 private:
  struct Seeds;
  void addCodeTerms(nn::Model& m, const BuiltModel& b, const nn::Tensor& out, Seeds& g,
                    double& total) const;
  void addWeightDecay(nn::Model& m, double& total) const;
  StepLoss codecStep(BuiltModel& b, const nn::Tensor& input, const nn::Tensor& target) const;

  std::unique_ptr<nn::Loss> loss_;
  nn::MseLoss mse_;
  std::unique_ptr<nn::Corruption> corruption_;
  std::optional<SyntheticAnomaly> synthetic_;
  mutable nn::Tensor mask_, pasted_;  // the last synthetic draw's mask, and its image
  nn::BceWithLogitsLoss segLoss_;
  nn::BceLoss segValLoss_;
  std::optional<nn::RateDistortion> rd_;
  mutable std::optional<nn::WeightedMseLoss> maskLoss_;  // audio-denoise psa; weights per call
  std::optional<OverlapAddLoss> timeLoss_;               // audio-denoise time
  int stftSize_ = 0;
  bool frameSnrWeight_ = false;  // --mask-loss snr
  int lookahead_ = 0;            // the masked frame's column is the last but this many
  // --mask-loss snr: the most a frame counts, 20 dB over its floor (the top of --snr's default).
  static constexpr double kMaxFrameWeight = 100;
  std::uint64_t seed_ = 1;
  std::optional<nn::TotalVariation> tv_;
  std::optional<nn::ActivityL1> activityL1_;
  std::optional<nn::KlSparsity> klSparsity_;
  std::optional<nn::ContractiveEstimate> contractiveEstimate_;
  double vaeKlWeight_ = 1, contractive_ = 0;
  double weightDecayL1_ = 0, weightDecayL2_ = 0;
};

}  // namespace cae::train
