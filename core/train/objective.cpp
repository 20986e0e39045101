#include "train/objective.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include "audio/stft.hpp"
#include "error.hpp"
#include "nn/corruption/gaussian_noise.hpp"
#include "nn/corruption/masking_noise.hpp"
#include "nn/corruption/rician_noise.hpp"
#include "nn/corruption/salt_pepper_noise.hpp"
#include "nn/layers/dense.hpp"
#include "nn/layers/reshape.hpp"
#include "nn/losses/bce_loss.hpp"
#include "nn/losses/l1_loss.hpp"
#include "nn/regularizers/contractive_dense.hpp"
#include "nn/regularizers/kl_normal.hpp"
#include "nn/regularizers/weight_decay.hpp"
#include "train/ct_lowdose.hpp"
#include "train/grid_mask.hpp"

namespace cae::train {

using nn::Model;
using nn::Scalar;
using nn::Tensor;

namespace {

std::unique_ptr<nn::Corruption> makeCorruption(const TrainConfig& c) {
  switch (c.corruption) {
    case CorruptionKind::Gaussian:
      if (c.sigmaHi > c.sigmaLo)
        return std::make_unique<nn::GaussianNoise>(Scalar(c.sigmaLo), Scalar(c.sigmaHi),
                                                   c.noiseClip);
      return std::make_unique<nn::GaussianNoise>(Scalar(c.sigmaLo), c.noiseClip);
    case CorruptionKind::Masking:
      return std::make_unique<nn::MaskingNoise>(Scalar(c.corruptP));
    case CorruptionKind::SaltPepper:
      return std::make_unique<nn::SaltPepperNoise>(Scalar(c.corruptP));
    case CorruptionKind::Rician:
      return std::make_unique<nn::RicianNoise>(Scalar(c.sigmaLo), Scalar(c.sigmaHi));
    case CorruptionKind::CtLowDose: {
      LowDoseCtNoise::Options o;
      o.photonsLo = c.photonsLo;
      o.photonsHi = c.photonsHi;
      o.angles = c.ctAngles;
      o.muScale = c.ctMuScale;
      return std::make_unique<LowDoseCtNoise>(o);
    }
    case CorruptionKind::GridMask: {
      anomaly::Inpainting p;
      p.scales = c.maskScales;
      return std::make_unique<GridMaskNoise>(p);
    }
    case CorruptionKind::None:
      break;
  }
  return nullptr;
}

std::unique_ptr<nn::Loss> makeLoss(LossKind kind) {
  switch (kind) {
    case LossKind::Bce:
      return std::make_unique<nn::BceLoss>();
    case LossKind::L1:
      return std::make_unique<nn::L1Loss>();
    default:
      return std::make_unique<nn::MseLoss>();
  }
}

// True when node reads the model input directly or through a Flatten (which leaves the
// encoder's Jacobian unchanged): the exact dense contractive penalty then applies.
bool readsInput(const Model& m, int node) {
  const auto& ins = m.node(node).inputs;
  if (ins.size() != 1) return false;
  if (ins[0] == Model::kInput) return true;
  const auto& prev = m.node(ins[0]);
  return dynamic_cast<const nn::Flatten*>(prev.layer.get()) &&
         prev.inputs == std::vector<int>{Model::kInput};
}

// The exact contractive penalty of a dense encoder that reads the input, or nullptr (then the
// estimate applies): no code, another encoder, or a linear code.
std::unique_ptr<nn::ContractiveDense> exactContractive(double lambda, Model& m,
                                                       const BuiltModel& b) {
  if (!(lambda > 0 && b.codePre >= 0 && b.code >= 0 && readsInput(m, b.codePre))) return nullptr;
  if (!dynamic_cast<const nn::Dense*>(&m.layer(b.codePre))) return nullptr;
  try {
    return std::make_unique<nn::ContractiveDense>(
        lambda, nn::ContractiveDense::activationOf(m.layer(b.code)));
  } catch (const InvalidArgument&) {
    return nullptr;  // a linear code: fall back to the estimate
  }
}

}  // namespace

// Output gradients of one step by node, for Model::backward (the tensors outlive the list).
struct Objective::Seeds {
  Tensor dOut, dTv, dCode, dKl, dMu, dLogvar, dPre;
  std::vector<std::pair<int, const Tensor*>> list;
};

Objective::Objective(const TrainConfig& c)
    : loss_(makeLoss(c.loss)),
      corruption_(makeCorruption(c)),
      seed_(c.seed),
      vaeKlWeight_(c.vaeKlWeight),
      contractive_(c.contractive),
      weightDecayL1_(c.weightDecayL1),
      weightDecayL2_(c.weightDecayL2) {
  if (c.task == TrainTask::Denoise && !corruption_)
    throw InvalidArgument("--task denoise needs a corruption (e.g. --noise gaussian --sigma 25)");
  if ((c.task == TrainTask::Compress) != (c.arch.kind == ArchKind::Codec))
    throw InvalidArgument("--task compress and --arch codec go together");
  if ((c.task == TrainTask::AudioDenoise) != (c.arch.kind == ArchKind::AudioMask))
    throw InvalidArgument("--task audio-denoise and --arch audio-mask go together");
  if (c.task == TrainTask::AudioDenoise && corruption_)
    throw InvalidArgument(
        "--task audio-denoise mixes its own noise (--noise-data, --snr): it takes no --noise");
  if (c.task == TrainTask::AudioDenoise && (c.maskLoss == "psa" || c.maskLoss == "snr")) {
    maskLoss_.emplace();
    stftSize_ = c.stftSize;
    frameSnrWeight_ = c.maskLoss == "snr";
    lookahead_ = c.lookahead;
  }
  if (c.task == TrainTask::AudioDenoise && c.maskLoss == "time")
    timeLoss_.emplace(c.stftSize, c.stftHop);
  if (c.task == TrainTask::Compress) {
    if (corruption_) throw InvalidArgument("--task compress takes no --noise");
    rd_.emplace(c.lambda);
  }
  if (c.totalVariation > 0) tv_.emplace(c.totalVariation);
  if (c.activityL1 > 0) activityL1_.emplace(c.activityL1);
  if (c.klBeta > 0) klSparsity_.emplace(c.klRho, c.klBeta);
  if (c.contractive > 0) contractiveEstimate_.emplace(c.contractive, c.contractiveSigma);
}

void Objective::useSyntheticAnomalies(SyntheticAnomaly generator) {
  synthetic_.emplace(std::move(generator));
}

const Tensor& Objective::corrupt(const Tensor& target, bool inner, Tensor& noisy,
                                 nn::Rng& rng) const {
  if (inner) return target;
  if (synthetic_) {
    if (!corruption_) {
      synthetic_->apply(target, noisy, mask_, rng);
      return noisy;
    }
    synthetic_->apply(target, pasted_, mask_, rng);
    corruption_->apply(pasted_, noisy, rng);
    return noisy;
  }
  if (!corruption_) return target;
  corruption_->apply(target, noisy, rng);
  return noisy;
}

Tensor Objective::corruptFixed(const Tensor& clean, std::uint64_t salt) const {
  if (!corrupts()) return clean;
  nn::Rng r(seed_ + salt);
  Tensor noisy;
  corrupt(clean, false, noisy, r);
  return noisy;
}

double Objective::segmentationLoss(const Tensor& probability) const {
  if (!synthetic_ || probability.shape() != mask_.shape())
    throw InvalidArgument("segmentation loss: no synthetic anomalies of this shape were drawn");
  return segValLoss_.compute(probability, mask_, nullptr);
}

const nn::WeightedMseLoss* Objective::maskLoss(const Tensor& input, int outputs) const {
  if (!maskLoss_) return nullptr;
  const nn::Shape s = input.shape();
  const int bins = stftSize_ / 2 + 1;  // the input's first rows (a noise floor's follow)
  if (outputs < 1 || s.w < outputs)
    throw InvalidArgument("mask loss: " + std::to_string(outputs) + " masks of " +
                          std::to_string(s.w) + " frames");
  const std::size_t w0 = std::size_t(s.w);
  Tensor w(nn::Shape{s.n, bins, 1, outputs});
  for (int i = 0; i < s.n; ++i) {
    const float* x = input.sample(i);
    float* wi = w.sample(i);
    for (int o = 0; o < outputs; ++o) {
      // the frame mask o is of: the newest of its K frames, or lookahead before it
      const int masked = s.w - outputs - lookahead_ + o;
      const auto col = static_cast<std::size_t>(masked);
      const auto at = [&](int f) { return std::size_t(f) * std::size_t(outputs) + std::size_t(o); };
      double mean = 0;
      for (int f = 0; f < bins; ++f) {
        const double mag = audio::unitToMagnitude(float(x[std::size_t(f) * w0 + col]), stftSize_);
        wi[at(f)] = Scalar(mag * mag);
        mean += mag * mag;
      }
      mean = std::max(mean / bins, 1e-20);
      // snr: the frame counts by its power over its noise floor's (the second plane's column
      // of that frame), from 1 (at or under the floor) to kMaxFrameWeight.
      double frame = 1;
      if (frameSnrWeight_) {
        double floor = 0;
        for (int f = bins; f < 2 * bins; ++f) {
          const double mag = audio::unitToMagnitude(float(x[std::size_t(f) * w0 + col]), stftSize_);
          floor += mag * mag;
        }
        frame = std::clamp(mean / std::max(floor / bins, 1e-20), 1.0, kMaxFrameWeight);
      }
      for (int f = 0; f < bins; ++f) wi[at(f)] = Scalar((double(wi[at(f)]) / mean + 1e-3) * frame);
    }
  }
  maskLoss_->setWeights(w);
  return &*maskLoss_;
}

StepLoss Objective::step(BuiltModel& b, bool inner, const Tensor& input, const Tensor& target,
                         nn::Rng& rng) const {
  if (b.compresses()) return codecStep(b, input, target);
  Model& m = b.model;
  const Tensor& out = m.forward(input);
  const nn::Loss* ml = timeLoss();
  if (!ml) ml = maskLoss(input, out.shape().w);
  if (ml) {
    Tensor dOut;
    StepLoss l;
    l.reconstruction = ml->compute(out, target, &dOut);
    m.backward(dOut);
    double total = l.reconstruction;
    addWeightDecay(m, total);
    l.total = total;
    return l;
  }
  if (b.segments() && !inner) {
    if (!synthetic_ || mask_.shape() != m.activation(b.segLogits).shape())
      throw InvalidArgument("a segmentation model is trained on synthetic anomalies");
    Tensor dRecon, dLogits;
    StepLoss l;
    const double rec = loss(false).compute(m.activation(b.reconstruction), target, &dRecon);
    l.reconstruction = segLoss_.compute(m.activation(b.segLogits), mask_, &dLogits);
    m.backward({{b.reconstruction, &dRecon}, {b.segLogits, &dLogits}});
    double total = rec + l.reconstruction;
    addWeightDecay(m, total);
    l.total = total;
    return l;
  }
  Seeds g;
  const Tensor* targetP = &target;
  Tensor reshaped;
  if (out.shape() != target.shape()) {  // dense: {N, F, 1, 1} against {N, C, H, W}
    reshaped = target;
    reshaped.resize(out.shape());
    std::copy(target.data(), target.data() + target.size(), reshaped.data());
    targetP = &reshaped;
  }
  StepLoss l;
  l.reconstruction = loss(inner).compute(out, *targetP, &g.dOut);
  double total = l.reconstruction;
  g.list.push_back({m.output(), &g.dOut});
  if (tv_ && !inner && out.shape().h > 1) {
    total += tv_->compute(out, &g.dTv);
    g.dOut.vec() += g.dTv.vec();
  }
  addCodeTerms(m, b, out, g, total);
  const auto exact = exactContractive(contractive_, m, b);
  if (exact) {
    total += exact->compute(dynamic_cast<const nn::Dense&>(m.layer(b.codePre)),
                            m.activation(b.codePre), &g.dPre, nullptr);
    g.list.push_back({b.codePre, &g.dPre});
  }
  m.backward(g.list);
  if (exact) {  // Model::backward overwrote grads(): the direct term goes in after it
    auto& enc = dynamic_cast<nn::Dense&>(m.layer(b.codePre));
    exact->compute(enc, m.activation(b.codePre), nullptr, enc.dw());
  } else if (contractiveEstimate_) {
    total += contractiveEstimate_->compute(m, input, rng, true, b.code >= 0 ? b.code : -1);
  }
  addWeightDecay(m, total);
  l.total = total;
  return l;
}

StepLoss Objective::codecStep(BuiltModel& b, const Tensor& input, const Tensor& target) const {
  if (!rd_) throw InvalidArgument("a codec is trained with --task compress");
  Model& m = b.model;
  const Tensor& out = m.forward(input);
  Tensor dOut, dBits;
  const nn::RateDistortion::Terms t =
      rd_->compute(out, target, m.activation(b.rate), &dOut, &dBits);
  m.backward({{m.output(), &dOut}, {b.rate, &dBits}});
  double total = t.total;
  addWeightDecay(m, total);
  return {t.total, total};
}

// Sparsity of the code and the VAE's KL term, each seeding its node's gradient.
void Objective::addCodeTerms(Model& m, const BuiltModel& b, const Tensor& out, Seeds& g,
                             double& total) const {
  const int code = b.code;
  if (activityL1_ && code >= 0) {
    total += activityL1_->compute(m.activation(code), &g.dCode);
    g.list.push_back({code, &g.dCode});
  }
  if (klSparsity_ && code >= 0) {
    total += klSparsity_->compute(m.activation(code), &g.dKl);
    g.list.push_back({code, &g.dKl});
  }
  if (b.mu >= 0 && b.logvar >= 0) {
    // Relative to a per-sample ELBO: the reconstruction is a mean over C*H*W values.
    const double w = vaeKlWeight_ / double(out.shape().perSample());
    total +=
        nn::KlNormal(w).compute(m.activation(b.mu), m.activation(b.logvar), &g.dMu, &g.dLogvar);
    g.list.push_back({b.mu, &g.dMu});
    g.list.push_back({b.logvar, &g.dLogvar});
  }
}

// L1 then L2 decay of the weights (biases excluded), value and gradient. A temporal model's
// current-frame pick has fixed weights (architecture.hpp): decay would move them.
void Objective::addWeightDecay(Model& m, double& total) const {
  std::vector<nn::ParamRange> ranges = nn::weightRanges(m);
  const int fixed = m.findNode(kCurrentFrameNode);
  if (fixed >= 0)
    ranges.erase(std::remove_if(ranges.begin(), ranges.end(),
                                [&](const nn::ParamRange& r) {
                                  return r.offset == m.node(fixed).paramOffset;
                                }),
                 ranges.end());
  for (const auto& [kind, lambda] : {std::pair{nn::WeightDecay::Kind::L1, weightDecayL1_},
                                     std::pair{nn::WeightDecay::Kind::L2, weightDecayL2_}}) {
    if (lambda <= 0) continue;
    const nn::WeightDecay wd(kind, lambda, ranges);
    total += wd.value(m.params());
    wd.addGradient(m.params(), m.grads());
  }
}

}  // namespace cae::train
