#include "train/trainer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/optim/adam.hpp"
#include "nn/optim/cosine_schedule.hpp"
#include "nn/optim/sgd.hpp"
#include "nn/optim/step_schedule.hpp"
#include "nn/parallel.hpp"
#include "train/audio_data.hpp"
#include "train/model_export.hpp"
#include "train/sequence_data.hpp"
#include "train/task_report.hpp"
#include "train/trainer_impl.hpp"
#include "train/warm_start.hpp"

namespace cae::train {

using trainer_detail::fmt;

const char* trainerVersion() { return "cae-train 0.1.0"; }

ArchSpec Trainer::Impl::baseSpec() const {
  // Audio samples carry their targets in their last columns (train/audio_data.hpp); the spec's
  // width is the K frames of one mask (its timeOutputs the masks per sample).
  return specFor(c, data.train->channels(), data.train->height(),
                 masks() ? c.context : data.train->width());
}

void Trainer::Impl::buildStages() {
  stages = train::buildStages(c, baseSpec());
  for (const Stage& s : stages) totalSteps += long(s.epochs) * c.stepsPerEpoch;
  architecture = describe(stages.back().spec);
  if (c.qat) {
    if (stages.size() > 1) throw InvalidArgument("--qat is for one-stage training, not stacked");
    if (c.task == TrainTask::Anomaly || c.task == TrainTask::Features)
      throw InvalidArgument(
          "--qat is for denoisers and reconstructions: an anomaly model's threshold and a "
          "feature encoder's codes are computed in f32");
    Model& m = stages.back().built.model;
    const QatPlan plan = planQat(m);
    if (plan.convs.empty())
      throw InvalidArgument("--qat: the model has no convolution of 16+ channels in and out");
    std::string names;
    for (int n : plan.convs) names += (names.empty() ? "" : " ") + m.node(n).name;
    say("qat    8-bit weights and inputs for " + std::to_string(plan.convs.size()) +
        " convolutions: " + names);
    rounding = std::make_unique<WeightRounding>(m, plan);
  }
  if (c.init.empty() || c.resume) return;  // a resumed run takes its weights from the checkpoint
  if (stages.size() > 1) throw InvalidArgument("--init is for one-stage training, not stacked");
  Model& model = stages.back().built.model;
  const auto start = [&](const std::string& path) {
    return isCheckpointFile(path) ? warmStartFromCheckpoint(model, path, architecture)
                                  : warmStart(model, path, c.initDeepen);
  };
  // A model soup: the mean of every file's weights, each loaded as --init would be.
  std::vector<nn::Scalar> sum;
  for (const std::string& other : c.initAverage) {
    start(other);
    const auto p = model.params();
    if (sum.empty())
      sum.assign(p.data(), p.data() + p.size());
    else
      for (Eigen::Index i = 0; i < p.size(); ++i) sum[std::size_t(i)] += p[i];
  }
  const WarmStart w = start(c.init);
  if (!sum.empty()) {
    auto p = model.params();
    const auto n = nn::Scalar(c.initAverage.size() + 1);
    for (Eigen::Index i = 0; i < p.size(); ++i) p[i] = (p[i] + sum[std::size_t(i)]) / n;
    say("init   the mean of " + std::to_string(c.initAverage.size() + 1) + " files' weights");
  }
  const auto list = [](const std::vector<std::string>& names) {
    std::string s;
    for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
    return s;
  };
  say("init   " + std::to_string(w.layers) + " layers from " + c.init +
      (w.widened.empty()
           ? ""
           : " (wider here: " + list(w.widened) + "; zero weights from the inputs added)") +
      (w.identity.empty() ? "" : " (new here, started as the identity: " + list(w.identity) + ")"));
}

nn::Sampling* Trainer::Impl::sampling(Stage& s) {
  if (s.built.sampling < 0) return nullptr;
  return dynamic_cast<nn::Sampling*>(&s.built.model.layer(s.built.sampling));
}

// A codec's quantisers (its synthesis', and with mixed quantisation the rate's), by node.
std::vector<std::pair<std::string, nn::Quantize*>> Trainer::Impl::quantizers(Stage& s) {
  std::vector<std::pair<std::string, nn::Quantize*>> q;
  Model& m = s.built.model;
  for (int i = 1; i < m.numNodes(); ++i)
    if (auto* l = dynamic_cast<nn::Quantize*>(&m.layer(i))) q.emplace_back(m.node(i).name, l);
  return q;
}

// The layers that act differently in training steps (a VAE's sampling, a codec's noisy
// quantisers) and in prediction.
void Trainer::Impl::setTraining(Stage& s, bool on) {
  if (auto* smp = sampling(s)) smp->setTraining(on);
  for (auto& q : quantizers(s)) q.second->setTraining(on);
}

std::unique_ptr<nn::Optimizer> Trainer::Impl::makeOptimizer() const {
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

double Trainer::Impl::lrAt(std::uint64_t t, const Stage& s) const {
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

// What the model should output for samples: the samples themselves, or for clips (--frames)
// their clean current frames (the centre patch of clips rendered with a context).
Tensor Trainer::Impl::goal(const Tensor& samples) const {
  if (masks()) {  // the mask in the last column (--mask-loss time: the frames' spectra)
    Tensor input, target, spectra;
    splitAudioSamples(samples, input, target, c.stftSize / 2 + 1, c.arch.timeOutputs,
                      this->spectra() ? &spectra : nullptr);
    return this->spectra() ? spectra : target;
  }
  if (data.train->frames() == 1) return samples;
  const Tensor now = currentFrame(samples, data.train->channels());
  return samples.shape().h > c.patch ? centrePatch(now, c.patch) : now;
}

// What the model reads of corrupted samples: themselves, or for clips rendered with a context
// (--clip-context, --align) the centre patch, after (--align translation) the older frames
// were aligned onto the current one at the whole context, as caedenoise aligns whole frames.
const Tensor& Trainer::Impl::modelInput(const Tensor& corrupted, Tensor& buffer) const {
  if (masks()) {  // the frames before the target column
    Tensor target, spectra;
    splitAudioSamples(corrupted, buffer, target, c.stftSize / 2 + 1, c.arch.timeOutputs,
                      this->spectra() ? &spectra : nullptr);
    return buffer;
  }
  if (data.train->frames() == 1 || corrupted.shape().h == c.patch) return corrupted;
  if (c.align == AlignKind::Translation) {
    buffer = corrupted;
    alignFrames(buffer, data.train->channels());
    buffer = centrePatch(buffer, c.patch);
  } else {
    buffer = centrePatch(corrupted, c.patch);
  }
  return buffer;
}

// What the model reads of a training batch: modelInput(), then for clips a share fed as a
// stream start (c.noHistoryShare, c.partialHistoryShare), drawn with the trainer's rng.
const Tensor& Trainer::Impl::trainInput(const Tensor& corrupted, Tensor& buffer) {
  const Tensor& x = modelInput(corrupted, buffer);
  if (data.train->frames() == 1 || (c.noHistoryShare <= 0 && c.partialHistoryShare <= 0)) return x;
  if (&x != &buffer) buffer = x;
  simulateStreamStarts(buffer, data.train->channels(), c.noHistoryShare, c.partialHistoryShare,
                       rng);
  return buffer;
}

// Pixels → the stage's input: codes of the finished stacked stages.
Tensor Trainer::Impl::toStageInput(const Tensor& pixels, const Stage& s) {
  if (!s.innerStage) return pixels;
  Tensor x = pixels;
  for (Model& e : encoders) x = e.forward(x);
  return x;
}

// epochLoss >= 0: the finished epoch's mean (the running sums are already reset).
void Trainer::Impl::report(const Stage& s, double valLoss, double epochLoss) {
  if (!owner.progress_) return;
  Progress p;
  p.stage = s.name;
  p.epoch = st.epoch + 1;
  p.epochs = s.epochs;
  p.step = st.stepInEpoch;
  p.steps = c.stepsPerEpoch;
  p.loss = epochLoss >= 0 ? epochLoss : st.epochLoss();
  p.valLoss = valLoss;
  const double el = std::chrono::duration<double>(Clock::now() - t0).count();
  p.patchesPerSecond = el > 0 ? double(stepsHere) * c.batch / el : 0;
  const long remaining = totalSteps - stepsBefore - stepsHere;
  p.etaSeconds = stepsHere > 0 ? el / double(stepsHere) * double(remaining) : 0;
  owner.progress_(p);
}

// Trains one stage from the current counters. Returns false when cancelled.
bool Trainer::Impl::runStage(Stage& s) {
  Model& m = s.built.model;
  const nn::Loss& loss = objective->loss(s.innerStage);
  if (!opt) opt = makeOptimizer();
  setTraining(s, true);
  double lastVal = st.history.empty() ? -1 : st.history.back().valLoss;
  if (st.stepInEpoch == 0 && st.epoch == 0 && opt->steps() == 0) saveCheckpoint(s);
  for (; st.epoch < s.epochs; ++st.epoch) {
    const auto te = Clock::now();
    const long stepsAtEpochStart = stepsHere;
    if (!trainEpoch(s, lastVal)) return false;
    st.swapAverage(m);  // --ema: validation scores the average
    const double val = validate(s, loss);
    st.swapAverage(m);
    if (!std::isfinite(val)) diverged(s, val);
    lastVal = val;
    if (endEpoch(s, val, te, stepsAtEpochStart)) {
      ++st.epoch;
      break;
    }
  }
  // Early stopping's promise: the weights of the best validation epoch (with --ema, of the
  // average; without a validation, the last average).
  if (!st.bestParams.empty())
    std::copy(st.bestParams.begin(), st.bestParams.end(), m.params().data());
  else if (st.emaParams.size() == m.numParams())
    std::copy(st.emaParams.begin(), st.emaParams.end(), m.params().data());
  return true;
}

// The epoch's steps from the current one. Returns false when cancelled (after a checkpoint).
bool Trainer::Impl::trainEpoch(Stage& s, double lastVal) {
  Model& m = s.built.model;
  Tensor clean, noisy, buffer;
  std::vector<nn::Scalar> before;  // --ema: the weights before the stage's first step
  const bool temporal = data.train->frames() > 1;
  for (; st.stepInEpoch < c.stepsPerEpoch; ++st.stepInEpoch) {
    if (owner.cancel_ && owner.cancel_->load()) {
      cancel(s);
      return false;
    }
    const std::uint64_t t = std::uint64_t(st.epoch) * c.stepsPerEpoch + st.stepInEpoch;
    opt->setLearningRate(lrAt(t, s));
    data.train->next(c.batch, rng, clean);
    const Tensor target = toStageInput(clean, s);
    const Tensor& input = trainInput(objective->corrupt(target, s.innerStage, noisy, rng), buffer);
    StepLoss l;
    {
      const Rounded rounded(*this, m, true);
      l = objective->step(s.built, s.innerStage, input, temporal || masks() ? goal(target) : target,
                          rng);
    }
    if (!std::isfinite(l.total) || !std::isfinite(l.reconstruction)) diverged(s, l.total);
    if (c.ema > 0 && st.emaParams.size() != m.numParams())  // the average starts here
      before.assign(m.params().data(), m.params().data() + m.numParams());
    opt->step(m.params(), m.grads());
    if (c.ema > 0) st.averageStep(m, before, c.ema, long(t) + 1);
    st.addStep(l.reconstruction);
    ++stepsHere;
    if (owner.checkpointNow_ && owner.checkpointNow_->exchange(false)) {
      ++st.stepInEpoch;  // the checkpoint continues after this step
      saveCheckpoint(s);
      --st.stepInEpoch;
    }
    if (st.stepInEpoch + 1 < c.stepsPerEpoch) {  // the epoch's last report follows validation
      ++st.stepInEpoch;
      report(s, lastVal);
      --st.stepInEpoch;
    }
  }
  return true;
}

void Trainer::Impl::cancel(Stage& s) {
  saveCheckpoint(s);
  writeLog({{"event", "cancelled"},
            {"stage", s.name},
            {"epoch", st.epoch + 1},
            {"step", st.stepInEpoch},
            {"checkpoint", owner.checkpointPath()}});
  result.cancelled = true;
}

// Records the epoch (history, log, best weights), checkpoints it and reports. Returns true
// when early stopping ends the stage.
bool Trainer::Impl::endEpoch(Stage& s, double val, Clock::time_point te, long stepsAtEpochStart) {
  EpochRecord r;
  r.stage = s.name;
  r.epoch = st.epoch + 1;
  r.loss = st.epochLoss();
  r.valLoss = val;
  r.lr = opt->learningRate();
  r.seconds = std::chrono::duration<double>(Clock::now() - te).count();
  r.patchesPerSecond =
      r.seconds > 0 ? double(stepsHere - stepsAtEpochStart) * c.batch / r.seconds : 0;
  st.history.push_back(r);
  writeLog({{"event", "epoch"},
            {"stage", s.name},
            {"epoch", r.epoch},
            {"epochs", s.epochs},
            {"loss", r.loss},
            {"val_loss", val},
            {"lr", r.lr},
            {"seconds", r.seconds},
            {"patches_per_s", r.patchesPerSecond}});
  st.swapAverage(s.built.model);  // the best weights kept are the ones validated
  st.endEpoch(val, s.built.model);
  st.swapAverage(s.built.model);
  const bool stop = c.patience > 0 && st.sinceBest >= c.patience;
  ++st.epoch;  // the checkpoint continues with the next epoch
  saveCheckpoint(s);
  drawCurve();
  --st.epoch;
  st.stepInEpoch = c.stepsPerEpoch;
  report(s, val, r.loss);
  st.stepInEpoch = 0;
  if (stop) {
    result.earlyStopped = true;
    writeLog({{"event", "early_stop"},
              {"stage", s.name},
              {"epoch", st.epoch + 1},
              {"best_epoch", st.bestEpoch},
              {"best_val_loss", st.bestVal}});
  }
  return stop;
}

void Trainer::Impl::diverged(const Stage& s, double value) {
  const std::string what = std::isnan(value) ? "NaN" : "infinite";
  writeLog({{"event", "diverged"},
            {"stage", s.name},
            {"epoch", st.epoch + 1},
            {"step", st.stepInEpoch + 1},
            {"lr", opt->learningRate()}});
  throw TrainingDiverged(
      "the loss became " + what + " at " + s.name + " epoch " + std::to_string(st.epoch + 1) +
      " step " + std::to_string(st.stepInEpoch + 1) + " (learning rate " +
      fmt("%g", opt->learningRate()) + "): training diverged; try a lower --lr (e.g. " +
      fmt("%g", c.lr > 1e-2 ? 1e-3 : c.lr / 10) + "). The last good checkpoint is kept at '" +
      owner.checkpointPath() + "'; continue from it with --resume and a lower --lr");
}

// Moves from a finished stacked stage to the next: its encoder feeds the next stage.
void Trainer::Impl::finishStage(std::size_t i) {
  Stage& s = stages[i];
  st.finishStage(int(i), s.built.model);
  if (i + 1 < stages.size() - 1) encoders.push_back(extractEncoder(s.spec, s.built));
  if (i + 1 == stages.size() - 1) {
    // The pretrained stages are done with (their weights are in the checkpoint's meta).
    std::vector<BuiltModel> parts;
    for (std::size_t k = 0; k + 1 < stages.size(); ++k) parts.push_back(std::move(stages[k].built));
    assembleStacked(parts, stages.back().built);
    encoders.clear();
    writeLog({{"event", "stage"}, {"stage", "finetune"}, {"from", "pretrained stages"}});
  }
  opt = makeOptimizer();
}

TrainResult Trainer::Impl::run() {
  if (c.threads > 0) nn::setThreads(c.threads);
  if (c.batch < 1 || c.epochs < 1 || c.stepsPerEpoch < 1 || c.valSamples < 1)
    throw InvalidArgument("batch, epochs, steps per epoch and validation samples must be >= 1");
  if (!(c.lr > 0)) throw InvalidArgument("the learning rate must be positive");
  if (c.frames > 1 && (c.task != TrainTask::Denoise || c.arch.kind != ArchKind::Conv))
    throw InvalidArgument("--frames (temporal models) is for --task denoise with --arch conv");
  checkSegmentationConfig(c);
  data = loadTrainingData(c);
  objective = std::make_unique<Objective>(c);
  if (c.arch.segWidth > 0) {
    std::string line;
    objective->useSyntheticAnomalies(syntheticAnomaliesFor(
        c, data.train->channels(), data.train->height(), data.train->width(), line));
    say(line);
  }
  if (c.task == TrainTask::AudioAnomaly)
    say("data   " + std::to_string(data.train->size()) + " training and " +
        std::to_string(data.val->size()) + " held-out sound files; samples of " +
        std::to_string(c.context) + " frames x " + std::to_string(c.mels) + " mel bands");
  else if (masks())
    say("data   " + std::to_string(data.train->size()) + " training and " +
        std::to_string(data.val->size()) + " validation speech files; samples of " +
        std::to_string(c.context) + " frames x " + std::to_string(data.train->channels()) +
        " bins, mixed with noise at " + fmt("%g", c.snrLo) + ".." + fmt("%g", c.snrHi) + " dB");
  else
    say("data   " + std::to_string(data.train->size()) + " training and " +
        std::to_string(data.val->size()) + " validation images; samples " +
        std::to_string(data.train->channels()) + "x" + std::to_string(data.train->height()) + "x" +
        std::to_string(data.train->width()) + (c.patch > 0 ? " patches" : " whole frames") +
        (c.frames > 1 ? ", clips of " + std::to_string(c.frames) + " frames" : ""));
  if (c.arch.kind == ArchKind::Pca) return runPca();
  buildStages();
  say(architecture);
  if (c.resume) resume();
  // Training starts: from here on the run leaves its log and checkpoints.
  openLog();
  if (c.resume) logResume();
  ensureFolder(owner.checkpointPath());
  t0 = Clock::now();  // throughput counts training, not loading
  for (std::size_t i = std::size_t(st.stage); i < stages.size(); ++i) {
    Stage& s = stages[i];
    if (stages.size() > 1) say("stage  " + s.name);
    if (stages.size() > 1)
      writeLog({{"event", "stage"},
                {"stage", s.name},
                {"params", s.built.model.numParams()},
                {"epochs", s.epochs}});
    if (!runStage(s)) {
      result.history = st.history;
      return result;
    }
    if (i + 1 < stages.size()) finishStage(i);
  }
  return finishRun();
}

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
  try {
    return impl.run();
  } catch (const TrainingDiverged&) {
    throw;  // its own "diverged" line is in the log already
  } catch (const std::exception& e) {
    impl.logFailure(e.what());
    throw;
  }
}

}  // namespace cae::train
