#include "train/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

#include "anomaly/score.hpp"
#include "io/image.hpp"
#include "nn/checkpoint.hpp"
#include "nn/corruption/gaussian_noise.hpp"
#include "nn/corruption/masking_noise.hpp"
#include "nn/corruption/salt_pepper_noise.hpp"
#include "nn/layers/dense.hpp"
#include "nn/layers/reshape.hpp"
#include "nn/layers/sampling.hpp"
#include "nn/losses/bce_loss.hpp"
#include "nn/losses/l1_loss.hpp"
#include "nn/losses/mse_loss.hpp"
#include "nn/optim/adam.hpp"
#include "nn/optim/cosine_schedule.hpp"
#include "nn/optim/sgd.hpp"
#include "nn/optim/step_schedule.hpp"
#include "nn/parallel.hpp"
#include "nn/regularizers/activity_l1.hpp"
#include "nn/regularizers/contractive_dense.hpp"
#include "nn/regularizers/contractive_estimate.hpp"
#include "nn/regularizers/kl_normal.hpp"
#include "nn/regularizers/kl_sparsity.hpp"
#include "nn/regularizers/total_variation.hpp"
#include "nn/regularizers/weight_decay.hpp"
#include "onnx/export.hpp"
#include "train/calibration.hpp"
#include "train/dataset.hpp"
#include "train/denoise_metrics.hpp"
#include "train/loss_curve.hpp"
#include "train/pca.hpp"

namespace cae::train {

using nn::Model;
using nn::Rng;
using nn::Scalar;
using nn::Shape;
using nn::Tensor;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

const char* trainerVersion() { return "cae-train 0.1.0"; }

std::vector<int> parseLayerSizes(const std::string& text) {
  std::vector<int> sizes;
  std::size_t at = 0;
  while (at <= text.size()) {
    std::size_t end = text.find_first_of("-,x", at);
    if (end == std::string::npos) end = text.size();
    const std::string part = text.substr(at, end - at);
    char* stop = nullptr;
    const long v = std::strtol(part.c_str(), &stop, 10);
    if (part.empty() || *stop || v < 1 || v > 1 << 24)
      throw InvalidArgument("bad layer sizes '" + text +
                            "': expected positive integers joined "
                            "by '-', e.g. 784-128-32-128-784");
    sizes.push_back(int(v));
    at = end + 1;
  }
  if (sizes.size() < 2)
    throw InvalidArgument("bad layer sizes '" + text + "': need at least input and code");
  return sizes;
}

std::vector<int> encoderSizes(const std::vector<int>& sizes) {
  const std::size_t n = sizes.size();
  if (n >= 3 && n % 2 == 1 && std::equal(sizes.begin(), sizes.begin() + n / 2, sizes.rbegin()))
    return std::vector<int>(sizes.begin(), sizes.begin() + n / 2 + 1);
  return sizes;
}

std::string shellJoin(int argc, const char* const* argv) {
  std::string out;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (i) out += ' ';
    const bool plain = !a.empty() && a.find_first_not_of(
                                         "abcdefghijklmnopqrstuvwxyz"
                                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789-_./=:,+@%") == std::string::npos;
    if (plain) {
      out += a;
      continue;
    }
    out += '\'';
    for (char ch : a) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    out += '\'';
  }
  return out;
}

namespace {

// True when node reads the model input directly or through a Flatten (which leaves the
// encoder's Jacobian unchanged): the exact dense contractive penalty then applies.
bool readsInput(const nn::Model& m, int node) {
  const auto& ins = m.node(node).inputs;
  if (ins.size() != 1) return false;
  if (ins[0] == nn::Model::kInput) return true;
  const auto& prev = m.node(ins[0]);
  return dynamic_cast<const nn::Flatten*>(prev.layer.get()) &&
         prev.inputs == std::vector<int>{nn::Model::kInput};
}

// Exact text for doubles in checkpoints (hex float reads back bit for bit).
std::string exact(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}
double fromExact(const std::map<std::string, std::string>& m, const std::string& k, double d) {
  const auto it = m.find(k);
  return it == m.end() ? d : std::strtod(it->second.c_str(), nullptr);
}
long intOf(const std::map<std::string, std::string>& m, const std::string& k, long d) {
  const auto it = m.find(k);
  return it == m.end() ? d : std::strtol(it->second.c_str(), nullptr, 10);
}
std::string bytesOf(const Scalar* p, std::size_t n) {
  return std::string(reinterpret_cast<const char*>(p), n * sizeof(Scalar));
}
void loadBytes(const std::string& b, Scalar* p, std::size_t n, const std::string& what) {
  if (b.size() != n * sizeof(Scalar))
    throw FormatError("checkpoint: " + what + " has the wrong size for this model");
  std::copy(b.data(), b.data() + b.size(), reinterpret_cast<char*>(p));
}

// Copies samples [from, from + n) of t.
Tensor slice(const Tensor& t, int from, int n) {
  Shape s = t.shape();
  s.n = n;
  Tensor out(s);
  std::copy(t.sample(from), t.sample(from) + s.size(), out.data());
  return out;
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

std::string pathBeside(const std::string& output, const std::string& suffix) {
  std::filesystem::path p(output);
  p.replace_extension();
  return p.string() + suffix;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

const char* taskText(TrainTask t) {
  switch (t) {
    case TrainTask::Denoise:
      return "denoise";
    case TrainTask::Anomaly:
      return "anomaly";
    case TrainTask::Features:
      return "features";
    default:
      return "reconstruct";
  }
}

}  // namespace

// One trainable stage: the whole autoencoder, or one shallow AE of a stacked pretraining.
struct Stage {
  Stage(std::string n, ArchSpec s, BuiltModel b, int e, bool inner)
      : name(std::move(n)), spec(std::move(s)), built(std::move(b)), epochs(e), innerStage(inner) {}
  std::string name;
  ArchSpec spec;
  BuiltModel built;
  int epochs = 0;
  bool innerStage = false;  // trains on codes of earlier stages: MSE, no corruption of pixels
};

struct Trainer::Impl {
  Trainer& owner;
  const TrainConfig& c;
  Rng rng;
  std::unique_ptr<BatchSource> trainSrc, valSrc;
  std::vector<Image> valImages;  // anomaly: the held-out images, for calibration
  Tensor valClean;  // fixed validation samples (pixels)
  std::vector<Stage> stages;
  std::vector<Model> encoders;  // trained encoders of finished stacked stages, in order
  std::unique_ptr<nn::Corruption> corruption;
  std::ofstream log;
  TrainResult result;
  // Running state, saved in checkpoints.
  int stageIdx = 0, epoch = 0, stepInEpoch = 0;
  double lossSum = 0;
  long lossCount = 0;
  double bestVal = std::numeric_limits<double>::infinity();
  int bestEpoch = 0, sinceBest = 0;
  std::vector<Scalar> bestParams;
  std::map<std::string, std::string> doneStageParams;
  std::unique_ptr<nn::Optimizer> opt;
  // Throughput of this process.
  Clock::time_point t0 = Clock::now();
  long stepsHere = 0;
  long totalSteps = 0, stepsBefore = 0;  // over all stages; stepsBefore: done before this process

  Impl(Trainer& o, const TrainConfig& cfg) : owner(o), c(cfg), rng(cfg.seed) {}

  // ---- setup ---------------------------------------------------------------------------------
  void loadData() {
    LoadOptions lo;
    lo.channels = c.channels;
    lo.sample = c.sample;
    lo.seed = c.seed;
    std::vector<Image> train = loadImages(c.data, lo), val;
    if (c.patch == 0) requireOneSize(train);
    Rng splitRng(c.seed ^ 0x5e11u);  // independent of the training generator, so resume agrees
    splitValidation(train, val, c.valFraction, splitRng);
    addScaled(train);
    BatchSource::Options bo;
    bo.patchH = bo.patchW = c.patch;
    bo.flips = c.flips;
    bo.rotations = c.rotations;
    trainSrc = std::make_unique<BatchSource>(std::move(train), bo);
    BatchSource::Options vo;
    vo.patchH = vo.patchW = c.patch;
    if (c.task == TrainTask::Anomaly) valImages = val;  // calibration crops are larger
    valSrc = std::make_unique<BatchSource>(std::move(val), vo);
    valClean = valSrc->fixed(c.valSamples, c.seed + 7);
  }

  // Appends each training image resized by each factor of c.scales below 1 (patch mode only:
  // whole frames must keep one size).
  void addScaled(std::vector<Image>& train) const {
    const std::size_t n = train.size();
    for (double f : c.scales) {
      if (f == 1) continue;
      if (!(f > 0 && f < 1))
        throw InvalidArgument("scales must be in (0, 1], got " + std::to_string(f));
      if (c.patch == 0)
        throw InvalidArgument("--scales needs patches (--patch N): whole frames keep one size");
      for (std::size_t i = 0; i < n; ++i) {
        nn::Tensor t = io::resizeArea(train[i].pixels, f);
        if (t.shape().h < c.patch || t.shape().w < c.patch) continue;
        train.push_back({std::move(t), train[i].source + " (x" + std::to_string(f) + ")"});
      }
    }
  }

  // Whole frames: every image one size, checked before the split could hide a mismatch.
  static void requireOneSize(const std::vector<Image>& images) {
    for (const Image& im : images) {
      const Shape a = images.front().pixels.shape(), b = im.pixels.shape();
      if (a.h != b.h || a.w != b.w)
        throw InvalidArgument("whole frames (--patch 0) need images of one size, but '" +
                              images.front().source + "' is " + std::to_string(a.w) + "x" +
                              std::to_string(a.h) + " and '" + im.source + "' is " +
                              std::to_string(b.w) + "x" + std::to_string(b.h) +
                              "; train on patches instead (e.g. --patch 64)");
    }
  }

  void makeCorruption() {
    switch (c.corruption) {
      case CorruptionKind::Gaussian:
        if (c.sigmaHi > c.sigmaLo)
          corruption = std::make_unique<nn::GaussianNoise>(Scalar(c.sigmaLo), Scalar(c.sigmaHi));
        else
          corruption = std::make_unique<nn::GaussianNoise>(Scalar(c.sigmaLo));
        break;
      case CorruptionKind::Masking:
        corruption = std::make_unique<nn::MaskingNoise>(Scalar(c.corruptP));
        break;
      case CorruptionKind::SaltPepper:
        corruption = std::make_unique<nn::SaltPepperNoise>(Scalar(c.corruptP));
        break;
      case CorruptionKind::None:
        break;
    }
    if (c.task == TrainTask::Denoise && !corruption)
      throw InvalidArgument("--task denoise needs a corruption (e.g. --noise gaussian --sigma 25)");
  }

  ArchSpec baseSpec() const {
    ArchSpec s = c.arch;
    s.channels = trainSrc->channels();
    s.height = trainSrc->height();
    s.width = trainSrc->width();
    if (c.loss == LossKind::Bce) s.output = "sigmoid";  // BCE needs probabilities
    s.allowOvercomplete = c.allowOvercomplete;
    s.seed = c.seed;
    try {
      if (s.kind != ArchKind::Pca) train::validate(s);
    } catch (const InvalidArgument& e) {
      const std::string what = e.what();
      if (what.find("undercomplete") != std::string::npos)
        throw InvalidArgument(what +
                              "; pass --allow-overcomplete to train it anyway (then add "
                              "sparsity or noise, or it can learn the identity)");
      throw;
    }
    if (c.klBeta > 0 && s.activation != "sigmoid")
      throw InvalidArgument(
          "KL sparsity needs code activations in (0, 1): use --activation "
          "sigmoid (or --sparsity l1)");
    return s;
  }

  void buildStages() {
    const ArchSpec spec = baseSpec();
    if (c.stacked) {
      if (spec.kind != ArchKind::Dense)
        throw InvalidArgument("--arch stacked needs dense layer sizes (--layers)");
      const std::vector<ArchSpec> shallow = stackedStages(spec);
      for (std::size_t i = 0; i < shallow.size(); ++i) {
        ArchSpec st = shallow[i];
        st.seed = c.seed + 1000 * (i + 1);
        BuiltModel b = buildAutoencoder(st);
        stages.emplace_back(
            "pretrain " + std::to_string(i + 1) + "/" + std::to_string(shallow.size()), st,
            std::move(b), c.pretrainEpochs > 0 ? c.pretrainEpochs : c.epochs, i > 0);
      }
    }
    stages.emplace_back(c.stacked ? "finetune" : "train", spec, buildAutoencoder(spec), c.epochs,
                        false);
    for (const Stage& st : stages) totalSteps += long(st.epochs) * c.stepsPerEpoch;
  }

  static nn::Sampling* sampling(Stage& s) {
    if (s.built.sampling < 0) return nullptr;
    return dynamic_cast<nn::Sampling*>(&s.built.model.layer(s.built.sampling));
  }

  std::unique_ptr<nn::Optimizer> makeOptimizer() const {
    if (c.optimizer == OptimizerKind::Sgd) {
      nn::SgdOptions o;
      o.learningRate = c.lr;
      o.momentum = c.momentum;
      return std::make_unique<nn::Sgd>(o);
    }
    nn::AdamOptions o;
    o.learningRate = c.lr;
    return std::make_unique<nn::Adam>(o);
  }

  double lrAt(std::uint64_t t, const Stage& s) const {
    const std::uint64_t total = std::uint64_t(s.epochs) * std::uint64_t(c.stepsPerEpoch);
    if (c.schedule == ScheduleKind::Cosine)
      return nn::CosineSchedule(c.lr, total, std::uint64_t(c.warmup), c.minLr).lr(t);
    if (t < std::uint64_t(c.warmup)) return c.lr * double(t + 1) / double(c.warmup);
    if (c.schedule == ScheduleKind::Step)
      return nn::StepSchedule(c.lr, c.stepGamma,
                              std::uint64_t(std::max(1, c.stepEvery)) * c.stepsPerEpoch)
          .lr(t);
    return c.lr;
  }

  std::unique_ptr<nn::Loss> lossFor(const Stage& s) const {
    if (s.innerStage) return std::make_unique<nn::MseLoss>();
    switch (c.loss) {
      case LossKind::Bce:
        return std::make_unique<nn::BceLoss>();
      case LossKind::L1:
        return std::make_unique<nn::L1Loss>();
      default:
        return std::make_unique<nn::MseLoss>();
    }
  }

  // Pixels → the stage's input: codes of the finished stacked stages.
  Tensor toStageInput(const Tensor& pixels, const Stage& s) {
    if (!s.innerStage) return pixels;
    Tensor x = pixels;
    for (Model& e : encoders) x = e.forward(x);
    return x;
  }

  // ---- checkpoints ---------------------------------------------------------------------------
  void saveCheckpoint(Stage& s) {
    std::map<std::string, std::string> meta = doneStageParams;
    meta["train.stage"] = std::to_string(stageIdx);
    meta["train.epoch"] = std::to_string(epoch);
    meta["train.step_in_epoch"] = std::to_string(stepInEpoch);
    meta["train.loss_sum"] = exact(lossSum);
    meta["train.loss_count"] = std::to_string(lossCount);
    meta["train.best_val"] = exact(bestVal);
    meta["train.best_epoch"] = std::to_string(bestEpoch);
    meta["train.since_best"] = std::to_string(sinceBest);
    meta["train.best_params"] = bytesOf(bestParams.data(), bestParams.size());
    meta["train.recipe"] = c.recipe;
    meta["train.architecture"] = describe(stages.back().spec);
    Json h = Json::array();
    for (const EpochRecord& r : result.history)
      h.push_back({{"stage", r.stage},
                   {"epoch", r.epoch},
                   {"loss", exact(r.loss)},
                   {"val", exact(r.valLoss)},
                   {"lr", exact(r.lr)},
                   {"s", r.seconds},
                   {"pps", r.patchesPerSecond}});
    meta["train.history"] = h.dump();
    if (auto* smp = sampling(s)) meta["train.sampling_rng"] = smp->rng().state();
    const auto ck = nn::makeCheckpoint(s.built.model, *opt, rng, std::uint64_t(opt->steps()),
                                       std::uint64_t(epoch), meta);
    nn::saveCheckpoint(owner.checkpointPath(), ck);
  }

  // Installs a checkpoint: finished stages' weights, the current stage's model, optimizer, rng.
  void resume() {
    const std::string path = owner.checkpointPath();
    if (!std::filesystem::exists(path))
      throw IoError("--resume: no checkpoint at '" + path + "' (train without --resume first)");
    const nn::Checkpoint ck = nn::loadCheckpoint(path);
    const auto& m = ck.meta;
    const auto arch = m.find("train.architecture");
    if (arch != m.end() && arch->second != describe(stages.back().spec))
      throw FormatError("checkpoint '" + path + "' was made for another architecture:\n" +
                        arch->second +
                        "resume with the options it was trained with (its "
                        "recipe: " +
                        (m.count("train.recipe") ? m.at("train.recipe") : "?") + ")");
    stageIdx = int(intOf(m, "train.stage", 0));
    if (stageIdx < 0 || stageIdx >= int(stages.size()))
      throw FormatError("checkpoint '" + path + "' is from a different architecture (stage " +
                        std::to_string(stageIdx) + ")");
    for (int k = 0; k < stageIdx; ++k) {
      Model& mk = stages[std::size_t(k)].built.model;
      const auto it = m.find("train.stage_params." + std::to_string(k));
      if (it == m.end()) throw FormatError("checkpoint '" + path + "' lacks stage weights");
      loadBytes(it->second, mk.params().data(), mk.numParams(), "a finished stage");
      encoders.push_back(extractEncoder(stages[std::size_t(k)].spec, stages[std::size_t(k)].built));
    }
    doneStageParams.clear();
    for (const auto& [k, v] : m)
      if (k.rfind("train.stage_params.", 0) == 0) doneStageParams[k] = v;
    Stage& s = stages[std::size_t(stageIdx)];
    opt = makeOptimizer();
    try {
      nn::restoreCheckpoint(ck, s.built.model, *opt, rng);
    } catch (const FormatError& e) {
      throw FormatError("checkpoint '" + path +
                        "' does not fit this model (was it made with "
                        "other options?): " +
                        e.what());
    }
    epoch = int(intOf(m, "train.epoch", 0));
    stepInEpoch = int(intOf(m, "train.step_in_epoch", 0));
    lossSum = fromExact(m, "train.loss_sum", 0);
    lossCount = intOf(m, "train.loss_count", 0);
    bestVal = fromExact(m, "train.best_val", std::numeric_limits<double>::infinity());
    bestEpoch = int(intOf(m, "train.best_epoch", 0));
    sinceBest = int(intOf(m, "train.since_best", 0));
    const auto bp = m.find("train.best_params");
    bestParams.clear();
    if (bp != m.end() && !bp->second.empty()) {
      bestParams.resize(s.built.model.numParams());
      loadBytes(bp->second, bestParams.data(), bestParams.size(), "the best weights");
    }
    const auto hist = m.find("train.history");
    if (hist != m.end())
      for (const Json& r : Json::parse(hist->second)) {
        EpochRecord e;
        e.stage = r.at("stage").get<std::string>();
        e.epoch = r.at("epoch").get<int>();
        e.loss = std::strtod(r.at("loss").get<std::string>().c_str(), nullptr);
        e.valLoss = std::strtod(r.at("val").get<std::string>().c_str(), nullptr);
        e.lr = std::strtod(r.at("lr").get<std::string>().c_str(), nullptr);
        e.seconds = r.at("s").get<double>();
        e.patchesPerSecond = r.at("pps").get<double>();
        result.history.push_back(e);
      }
    const auto sr = m.find("train.sampling_rng");
    if (sr != m.end()) {
      if (auto* smp = sampling(s)) smp->rng().setState(sr->second);
    }
    for (int k = 0; k < stageIdx; ++k)
      stepsBefore += long(stages[std::size_t(k)].epochs) * c.stepsPerEpoch;
    stepsBefore += long(epoch) * c.stepsPerEpoch + stepInEpoch;
    say("resume " + path + ": " + s.name + " epoch " + std::to_string(epoch + 1) + " step " +
        std::to_string(stepInEpoch));
    writeLog({{"event", "resume"},
              {"checkpoint", path},
              {"stage", s.name},
              {"epoch", epoch + 1},
              {"step", stepInEpoch}});
  }

  // ---- objectives ----------------------------------------------------------------------------
  // One training step's forward and backward; returns the reconstruction loss (the total
  // objective goes to *objective).
  double step(Stage& s, const nn::Loss& loss, const Tensor& input, const Tensor& target,
              double* objective) {
    Model& m = s.built.model;
    const BuiltModel& b = s.built;
    const Tensor& out = m.forward(input);
    Tensor dOut, dTv, dCode, dKl, dMu, dLogvar, dPre;
    const Tensor* targetP = &target;
    Tensor reshaped;
    if (out.shape() != target.shape()) {  // dense: {N, F, 1, 1} against {N, C, H, W}
      reshaped = target;
      reshaped.resize(out.shape());
      std::copy(target.data(), target.data() + target.size(), reshaped.data());
      targetP = &reshaped;
    }
    const double recon = loss.compute(out, *targetP, &dOut);
    double total = recon;
    std::vector<std::pair<int, const Tensor*>> seeds{{m.output(), &dOut}};
    if (c.totalVariation > 0 && !s.innerStage && out.shape().h > 1) {
      total += nn::TotalVariation(c.totalVariation).compute(out, &dTv);
      dOut.vec() += dTv.vec();
    }
    const int code = b.code;
    if (c.activityL1 > 0 && code >= 0) {
      total += nn::ActivityL1(c.activityL1).compute(m.activation(code), &dCode);
      seeds.push_back({code, &dCode});
    }
    if (c.klBeta > 0 && code >= 0) {
      total += nn::KlSparsity(c.klRho, c.klBeta).compute(m.activation(code), &dKl);
      seeds.push_back({code, &dKl});
    }
    if (b.mu >= 0 && b.logvar >= 0) {
      // Relative to a per-sample ELBO: the reconstruction is a mean over C*H*W values.
      const double w = c.vaeKlWeight / double(out.shape().perSample());
      total += nn::KlNormal(w).compute(m.activation(b.mu), m.activation(b.logvar), &dMu, &dLogvar);
      seeds.push_back({b.mu, &dMu});
      seeds.push_back({b.logvar, &dLogvar});
    }
    const nn::Dense* exactEnc = nullptr;
    std::unique_ptr<nn::ContractiveDense> cd;
    if (c.contractive > 0 && b.codePre >= 0 && code >= 0 && readsInput(m, b.codePre)) {
      exactEnc = dynamic_cast<const nn::Dense*>(&m.layer(b.codePre));
      try {
        cd = std::make_unique<nn::ContractiveDense>(
            c.contractive, nn::ContractiveDense::activationOf(m.layer(code)));
      } catch (const InvalidArgument&) {
        exactEnc = nullptr;  // a linear code: fall back to the estimate
      }
    }
    if (exactEnc && cd) {
      total += cd->compute(*exactEnc, m.activation(b.codePre), &dPre, nullptr);
      seeds.push_back({b.codePre, &dPre});
    }
    m.backward(seeds);
    if (exactEnc && cd) {
      auto& enc = dynamic_cast<nn::Dense&>(m.layer(b.codePre));
      cd->compute(enc, m.activation(b.codePre), nullptr, enc.dw());
    } else if (c.contractive > 0) {
      total += nn::ContractiveEstimate(c.contractive, c.contractiveSigma)
                   .compute(m, input, rng, true, code >= 0 ? code : -1);
    }
    for (const auto& [kind, lambda] : {std::pair{nn::WeightDecay::Kind::L1, c.weightDecayL1},
                                       std::pair{nn::WeightDecay::Kind::L2, c.weightDecayL2}}) {
      if (lambda <= 0) continue;
      const nn::WeightDecay wd(kind, lambda, nn::weightRanges(m));
      total += wd.value(m.params());
      wd.addGradient(m.params(), m.grads());
    }
    *objective = total;
    return recon;
  }

  // Height and width of the held-out crops the anomaly threshold is calibrated on: up to
  // --calib-size, and up to 3/4 of the smallest held-out image on each side, so that the crops
  // vary (whole images would all be one sample when one image is held out); rounded down to the
  // model's size multiple (conv). A frame's maximum grows with its area: the larger the crops,
  // the better the threshold carries over to whole frames. Models of one input size use the
  // patch.
  std::pair<int, int> calibrationSize(const ArchSpec& spec) const {
    if (spec.kind != ArchKind::Conv || valImages.empty()) return {spec.height, spec.width};
    int h = c.calibSize, w = c.calibSize;
    for (const Image& im : valImages) {
      h = std::min(h, im.pixels.shape().h * 3 / 4);
      w = std::min(w, im.pixels.shape().w * 3 / 4);
    }
    const int multiple = spec.stem << spec.stages;
    return {std::max(h - h % multiple, spec.height), std::max(w - w % multiple, spec.width)};
  }

  // Reconstruction outputs of the model for samples (in chunks of the batch size), copied.
  Tensor predict(Stage& s, const Tensor& x) {
    auto* smp = sampling(s);
    if (smp) smp->setTraining(false);
    Tensor out;
    const int n = x.shape().n;
    for (int at = 0; at < n; at += c.batch) {
      const int k = std::min(c.batch, n - at);
      const Tensor& y = s.built.model.forward(slice(x, at, k));
      if (out.empty()) {
        Shape os = y.shape();
        os.n = n;
        out.resize(os);
      }
      std::copy(y.data(), y.data() + y.size(), out.sample(at));
    }
    if (smp) smp->setTraining(true);
    return out;
  }

  // The corrupted copy of clean validation samples, the same draw every time.
  Tensor corruptFixed(const Tensor& clean, std::uint64_t salt) const {
    if (!corruption) return clean;
    Rng r(c.seed + salt);
    Tensor noisy;
    corruption->apply(clean, noisy, r);
    return noisy;
  }

  double validate(Stage& s, const nn::Loss& loss) {
    const Tensor target = toStageInput(valClean, s);
    const Tensor input = s.innerStage ? target : corruptFixed(target, 99);
    const Tensor out = predict(s, input);
    Tensor t = target;
    t.resize(out.shape());
    std::copy(target.data(), target.data() + target.size(), t.data());
    return loss.compute(out, t, nullptr);
  }

  // ---- the loop ------------------------------------------------------------------------------
  void say(const std::string& line) const {
    if (owner.messages_) owner.messages_(line);
  }

  void writeLog(const Json& j) {
    if (!log.is_open()) return;
    log << j.dump() << '\n';
    log.flush();
  }

  // epochLoss >= 0: the finished epoch's mean (the running sums are already reset).
  void report(const Stage& s, double valLoss, double epochLoss = -1) {
    if (!owner.progress_) return;
    Progress p;
    p.stage = s.name;
    p.epoch = epoch + 1;
    p.epochs = s.epochs;
    p.step = stepInEpoch;
    p.steps = c.stepsPerEpoch;
    p.loss = epochLoss >= 0 ? epochLoss : lossCount ? lossSum / double(lossCount) : 0;
    p.valLoss = valLoss;
    const double el = std::chrono::duration<double>(Clock::now() - t0).count();
    p.patchesPerSecond = el > 0 ? double(stepsHere) * c.batch / el : 0;
    const long remaining = totalSteps - stepsBefore - stepsHere;
    p.etaSeconds = stepsHere > 0 ? el / double(stepsHere) * double(remaining) : 0;
    owner.progress_(p);
  }

  // Trains one stage from the current counters. Returns false when cancelled.
  bool runStage(Stage& s) {
    Model& m = s.built.model;
    const auto loss = lossFor(s);
    if (!opt) opt = makeOptimizer();
    if (auto* smp = sampling(s)) smp->setTraining(true);
    double lastVal = result.history.empty() ? -1 : result.history.back().valLoss;
    if (stepInEpoch == 0 && epoch == 0 && opt->steps() == 0) saveCheckpoint(s);
    Tensor clean, noisy;
    for (; epoch < s.epochs; ++epoch) {
      const auto te = Clock::now();
      const long stepsAtEpochStart = stepsHere;
      for (; stepInEpoch < c.stepsPerEpoch; ++stepInEpoch) {
        if (owner.cancel_ && owner.cancel_->load()) {
          saveCheckpoint(s);
          writeLog({{"event", "cancelled"},
                    {"stage", s.name},
                    {"epoch", epoch + 1},
                    {"step", stepInEpoch},
                    {"checkpoint", owner.checkpointPath()}});
          result.cancelled = true;
          return false;
        }
        const std::uint64_t t = std::uint64_t(epoch) * c.stepsPerEpoch + stepInEpoch;
        opt->setLearningRate(lrAt(t, s));
        trainSrc->next(c.batch, rng, clean);
        const Tensor target = toStageInput(clean, s);
        const Tensor* input = &target;
        if (corruption && !s.innerStage) {
          corruption->apply(target, noisy, rng);
          input = &noisy;
        }
        double objective = 0;
        const double recon = step(s, *loss, *input, target, &objective);
        if (!std::isfinite(objective) || !std::isfinite(recon)) diverged(s, objective);
        opt->step(m.params(), m.grads());
        lossSum += recon;
        ++lossCount;
        ++stepsHere;
        if (owner.checkpointNow_ && owner.checkpointNow_->exchange(false)) {
          ++stepInEpoch;  // the checkpoint continues after this step
          saveCheckpoint(s);
          --stepInEpoch;
        }
        if (stepInEpoch + 1 < c.stepsPerEpoch) {  // the epoch's last report follows validation
          ++stepInEpoch;
          report(s, lastVal);
          --stepInEpoch;
        }
      }
      const double val = validate(s, *loss);
      if (!std::isfinite(val)) diverged(s, val);
      lastVal = val;
      EpochRecord r;
      r.stage = s.name;
      r.epoch = epoch + 1;
      r.loss = lossCount ? lossSum / double(lossCount) : 0;
      r.valLoss = val;
      r.lr = opt->learningRate();
      r.seconds = std::chrono::duration<double>(Clock::now() - te).count();
      r.patchesPerSecond =
          r.seconds > 0 ? double(stepsHere - stepsAtEpochStart) * c.batch / r.seconds : 0;
      result.history.push_back(r);
      writeLog({{"event", "epoch"},
                {"stage", s.name},
                {"epoch", r.epoch},
                {"epochs", s.epochs},
                {"loss", r.loss},
                {"val_loss", val},
                {"lr", r.lr},
                {"seconds", r.seconds},
                {"patches_per_s", r.patchesPerSecond}});
      if (val < bestVal) {
        bestVal = val;
        bestEpoch = epoch + 1;
        sinceBest = 0;
        bestParams.assign(m.params().data(), m.params().data() + m.numParams());
      } else {
        ++sinceBest;
      }
      lossSum = 0;
      lossCount = 0;
      stepInEpoch = 0;
      const bool stop = c.patience > 0 && sinceBest >= c.patience;
      ++epoch;
      saveCheckpoint(s);
      drawCurve();
      --epoch;
      stepInEpoch = c.stepsPerEpoch;
      report(s, val, r.loss);
      stepInEpoch = 0;
      if (stop) {
        result.earlyStopped = true;
        writeLog({{"event", "early_stop"},
                  {"stage", s.name},
                  {"epoch", epoch + 1},
                  {"best_epoch", bestEpoch},
                  {"best_val_loss", bestVal}});
        ++epoch;
        break;
      }
    }
    // Early stopping's promise: the weights of the best validation epoch.
    if (!bestParams.empty()) std::copy(bestParams.begin(), bestParams.end(), m.params().data());
    return true;
  }

  [[noreturn]] void diverged(const Stage& s, double value) {
    const std::string what = std::isnan(value) ? "NaN" : "infinite";
    writeLog({{"event", "diverged"},
              {"stage", s.name},
              {"epoch", epoch + 1},
              {"step", stepInEpoch + 1},
              {"lr", opt->learningRate()}});
    throw TrainingDiverged(
        "the loss became " + what + " at " + s.name + " epoch " + std::to_string(epoch + 1) +
        " step " + std::to_string(stepInEpoch + 1) + " (learning rate " +
        fmt("%g", opt->learningRate()) + "): training diverged; try a lower --lr (e.g. " +
        fmt("%g", c.lr > 1e-2 ? 1e-3 : c.lr / 10) + "). The last good checkpoint is kept at '" +
        owner.checkpointPath() + "'; continue from it with --resume and a lower --lr");
  }

  // Moves from a finished stacked stage to the next: its encoder feeds the next stage.
  void finishStage(std::size_t i) {
    Stage& s = stages[i];
    doneStageParams["train.stage_params." + std::to_string(i)] =
        bytesOf(s.built.model.params().data(), s.built.model.numParams());
    if (i + 1 < stages.size() - 1) encoders.push_back(extractEncoder(s.spec, s.built));
    if (i + 1 == stages.size() - 1) {
      // The pretrained stages are done with (their weights are in the checkpoint's meta).
      std::vector<BuiltModel> parts;
      for (std::size_t k = 0; k + 1 < stages.size(); ++k)
        parts.push_back(std::move(stages[k].built));
      assembleStacked(parts, stages.back().built);
      encoders.clear();
      writeLog({{"event", "stage"}, {"stage", "finetune"}, {"from", "pretrained stages"}});
    }
    stageIdx = int(i) + 1;
    epoch = 0;
    stepInEpoch = 0;
    bestVal = std::numeric_limits<double>::infinity();
    bestEpoch = 0;
    sinceBest = 0;
    bestParams.clear();
    opt = makeOptimizer();
  }

  void drawCurve() {
    const std::string path = owner.lossCurvePath();
    if (path.empty()) return;
    std::vector<double> tr, va;
    for (const EpochRecord& r : result.history) {
      tr.push_back(r.loss);
      va.push_back(r.valLoss);
    }
    writeLossCurve(path, tr, va, std::string("cae-train: ") + taskText(c.task) + " loss per epoch");
  }

  // ---- after training ------------------------------------------------------------------------
  void finish(Json& metrics, onnx::ExportOptions& eo) {
    Stage& s = stages.back();
    const BuiltModel& b = s.built;
    const auto loss = lossFor(s);
    metrics["val_loss"] = validate(s, *loss);
    metrics["best_epoch"] = bestEpoch;
    metrics["epochs_run"] = int(result.history.size());
    if (!result.history.empty()) {
      metrics["train_loss_first"] = result.history.front().loss;
      metrics["train_loss_last"] = result.history.back().loss;
    }
    std::string& sum = result.summary;
    sum += "validation loss " + fmt("%.6g", metrics["val_loss"].get<double>());
    sum += bestEpoch > 0 ? " (best epoch " + std::to_string(bestEpoch) + ")\n" : "\n";
    if (c.task == TrainTask::Denoise) {
      const Tensor noisy = corruptFixed(valClean, 1234);
      Tensor out = predict(s, noisy);
      const DenoiseScores d =
          denoiseScores(valClean, noisy, out, c.sigmaHi, c.corruption == CorruptionKind::Gaussian);
      metrics["psnr_noisy"] = d.noisy;
      metrics["psnr_model"] = d.model;
      if (d.hasNlm) metrics["psnr_nlm"] = d.nlm;
      sum += "PSNR on " + std::to_string(valClean.shape().n) + " validation samples: noisy " +
             fmt("%.2f", d.noisy) + " dB -> model " + fmt("%.2f", d.model) + " dB";
      if (d.hasNlm) sum += " (OpenCV NLM " + fmt("%.2f", d.nlm) + " dB)";
      sum += "\n";
    }
    if (c.task == TrainTask::Anomaly) {
      const anomaly::ScoreOptions so{anomaly::parseMapKind(c.anomalyMap), c.mapSigma};
      const auto [ch, cw] = calibrationSize(s.spec);
      BatchSource::Options co;
      co.patchH = ch;
      co.patchW = cw;
      const BatchSource calSrc(valImages, co);
      const Tensor normal = calSrc.fixed(std::max(c.valSamples, 200), c.seed + 13);
      // Crops are larger than training patches: forward as many at a time as a training batch
      // has pixels, and score each chunk at once (no second full-size tensor).
      const int chunk = std::max(1, int(std::int64_t(c.batch) * s.spec.height * s.spec.width /
                                        (std::int64_t(ch) * cw)));
      std::vector<double> scores;
      for (int at = 0; at < normal.shape().n; at += chunk) {
        const int k = std::min(chunk, normal.shape().n - at);
        const Tensor in = slice(normal, at, k);
        const Tensor out = predict(s, in);
        for (int n = 0; n < k; ++n)
          scores.push_back(anomaly::frameScore(anomaly::anomalyMap(
              interleaved(in, n).view(), interleaved(out, n).view(), so)));
      }
      const Calibration cal = calibrate(scores, c.fpr);
      eo.anomaly = anomaly::Decision{so, cal.threshold, cal.mean, cal.std};
      const std::string mapName = anomaly::mapKindName(so.map);
      metrics["score_mean"] = cal.mean;
      metrics["score_std"] = cal.std;
      metrics["threshold"] = cal.threshold;
      metrics["calibration_fpr"] = cal.fpr;
      metrics["calibration_samples"] = scores.size();
      metrics["calibration_size"] = std::to_string(cw) + "x" + std::to_string(ch);
      metrics["anomaly_map"] = mapName;
      metrics["map_sigma"] = so.smoothSigma;
      sum += "anomaly frame score (max of the " + mapName + " map smoothed by sigma " +
             fmt("%g", so.smoothSigma) + ") on " + std::to_string(scores.size()) + " held-out " +
             std::to_string(cw) + "x" + std::to_string(ch) + " normal crops: mean " +
             fmt("%.6g", cal.mean) + ", std " + fmt("%.6g", cal.std) + ", threshold " +
             fmt("%.6g", cal.threshold) + " at FPR " + fmt("%g", c.fpr) + "\n";
    }
    (void)b;
  }

  void exportModels(const Json& metrics, onnx::ExportOptions eo) {
    Stage& s = stages.back();
    const ArchSpec& spec = s.spec;
    eo.format = spec.channels == 3 ? "RGB" : "GRAY8";
    eo.inputScale = 1.0 / 255.0;
    eo.inputOffset = 0.0;
    eo.residual = false;  // a residual AE adds its input inside the graph: the output is clean
    if (c.corruption == CorruptionKind::Gaussian) eo.noiseSigma = c.sigmaHi;
    eo.trainerVersion = trainerVersion();
    eo.recipe = c.recipe;
    eo.metrics = metrics.dump();
    eo.docString = "cae-train: " + c.recipe;
    switch (c.task) {
      case TrainTask::Denoise:
        eo.task = onnx::Task::Denoise;
        break;
      case TrainTask::Anomaly:
        eo.task = onnx::Task::Anomaly;
        break;
      case TrainTask::Features:
        eo.task = onnx::Task::Features;
        break;
      default:
        break;
    }
    if (auto* smp = sampling(s)) smp->setTraining(false);
    ensureFolder(c.output);
    const Shape one{1, spec.channels, spec.height, spec.width};
    if (c.task == TrainTask::Features) {
      Model enc = extractEncoder(spec, s.built);
      const Shape code = enc.outputShape(one);
      eo.latentShape = {code.c, code.h, code.w};
      onnx::exportOnnx(enc, c.output, eo);
    } else {
      onnx::exportOnnx(s.built.model, c.output, eo);
    }
    result.output = c.output;
    if (s.built.sampling >= 0) {
      Model dec = extractDecoder(spec, s.built);
      onnx::ExportOptions d;
      d.format = eo.format;
      d.inputScale = eo.inputScale;
      d.trainerVersion = eo.trainerVersion;
      d.recipe = eo.recipe;
      const Shape z = dec.inputShape();
      d.latentShape = {z.c, z.h, z.w};
      d.extra["cae.sample_shape"] = std::to_string(spec.channels) + "," +
                                    std::to_string(spec.height) + "," + std::to_string(spec.width);
      d.computeReceptiveField = false;
      d.docString = "VAE decoder: N(0, I) latents to images (cae-train sample)";
      result.decoderOutput = pathBeside(c.output, ".decoder.onnx");
      onnx::exportOnnx(dec, result.decoderOutput, d);
    }
  }

  static void ensureFolder(const std::string& file) {
    const std::filesystem::path p(file);
    if (!p.has_parent_path()) return;
    std::error_code ec;
    std::filesystem::create_directories(p.parent_path(), ec);
    if (ec)
      throw IoError("cannot create folder '" + p.parent_path().string() + "': " + ec.message());
  }

  // PCA: no gradient training, an SVD of the training patches.
  TrainResult runPca() {
    const ArchSpec spec = baseSpec();
    if (spec.latent <= 0) throw InvalidArgument("--arch pca needs --latent K (components)");
    const Tensor train =
        trainSrc->fixed(std::max(c.batch * c.stepsPerEpoch, spec.latent * 4), c.seed + 3);
    Pca pca;
    pca.fit(train, spec.latent);
    stages.emplace_back("pca", pca.spec(), pca.toModel(), 0, false);
    Json metrics;
    onnx::ExportOptions eo;
    finish(metrics, eo);
    metrics["arch"] = "pca";
    exportModels(metrics, eo);
    result.metricsJson = metrics.dump();
    writeLog({{"event", "summary"}, {"metrics", metrics}, {"output", result.output}});
    return result;
  }

  TrainResult run() {
    if (c.threads > 0) nn::setThreads(c.threads);
    if (c.batch < 1 || c.epochs < 1 || c.stepsPerEpoch < 1 || c.valSamples < 1)
      throw InvalidArgument("batch, epochs, steps per epoch and validation samples must be >= 1");
    if (!(c.lr > 0)) throw InvalidArgument("the learning rate must be positive");
    const std::string logPath = owner.logPath();
    if (!logPath.empty()) {
      ensureFolder(logPath);
      log.open(logPath, c.resume ? std::ios::app : std::ios::trunc);
      if (!log) throw IoError("cannot write the log '" + logPath + "'");
    }
    loadData();
    makeCorruption();
    writeLog({{"event", "start"},
              {"version", trainerVersion()},
              {"recipe", c.recipe},
              {"train_images", trainSrc->size()},
              {"val_images", valSrc->size()},
              {"sample_shape", {trainSrc->channels(), trainSrc->height(), trainSrc->width()}}});
    say("data   " + std::to_string(trainSrc->size()) + " training and " +
        std::to_string(valSrc->size()) + " validation images; samples " +
        std::to_string(trainSrc->channels()) + "x" + std::to_string(trainSrc->height()) + "x" +
        std::to_string(trainSrc->width()) + (c.patch > 0 ? " patches" : " whole frames"));
    if (c.arch.kind == ArchKind::Pca) return runPca();
    ensureFolder(owner.checkpointPath());
    buildStages();
    say(describe(stages.back().spec));
    if (c.resume) resume();
    t0 = Clock::now();  // throughput counts training, not loading
    for (std::size_t i = std::size_t(stageIdx); i < stages.size(); ++i) {
      Stage& s = stages[i];
      if (stages.size() > 1) say("stage  " + s.name);
      if (stages.size() > 1)
        writeLog({{"event", "stage"},
                  {"stage", s.name},
                  {"params", s.built.model.numParams()},
                  {"epochs", s.epochs}});
      if (!runStage(s)) return result;
      if (i + 1 < stages.size()) finishStage(i);
    }
    result.bestValLoss = bestVal;
    result.bestEpoch = bestEpoch;
    Json metrics;
    onnx::ExportOptions eo;
    finish(metrics, eo);
    exportModels(metrics, eo);
    drawCurve();
    result.metricsJson = metrics.dump();
    writeLog({{"event", "summary"},
              {"metrics", metrics},
              {"output", result.output},
              {"decoder", result.decoderOutput},
              {"early_stopped", result.earlyStopped},
              {"checkpoint", owner.checkpointPath()}});
    return result;
  }
};

Trainer::Trainer(TrainConfig config) : config_(std::move(config)) {}
Trainer::~Trainer() = default;

void Trainer::setProgress(std::function<void(const Progress&)> f) { progress_ = std::move(f); }
void Trainer::setMessages(std::function<void(const std::string&)> f) { messages_ = std::move(f); }
void Trainer::setCancelFlag(const std::atomic<bool>* flag) { cancel_ = flag; }
void Trainer::setCheckpointFlag(std::atomic<bool>* flag) { checkpointNow_ = flag; }

std::string Trainer::checkpointPath() const {
  return config_.checkpoint.empty() ? pathBeside(config_.output, ".ckpt") : config_.checkpoint;
}
std::string Trainer::logPath() const {
  if (config_.log == "-") return "";
  return config_.log.empty() ? pathBeside(config_.output, ".log.jsonl") : config_.log;
}
std::string Trainer::lossCurvePath() const {
  if (config_.lossCurve == "-") return "";
  return config_.lossCurve.empty() ? pathBeside(config_.output, ".loss.png") : config_.lossCurve;
}

TrainResult Trainer::run() {
  Impl impl(*this, config_);
  return impl.run();
}

}  // namespace cae::train
