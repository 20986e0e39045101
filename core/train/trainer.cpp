#include "train/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <utility>

#include "nn/checkpoint.hpp"
#include "nn/layers/quantize.hpp"
#include "nn/layers/sampling.hpp"
#include "nn/optim/adam.hpp"
#include "nn/optim/cosine_schedule.hpp"
#include "nn/optim/sgd.hpp"
#include "nn/optim/step_schedule.hpp"
#include "nn/parallel.hpp"
#include "onnx/export.hpp"
#include "train/audio_data.hpp"
#include "train/audio_report.hpp"
#include "train/dataset.hpp"
#include "train/grid_mask.hpp"
#include "train/loss_curve.hpp"
#include "train/model_export.hpp"
#include "train/objective.hpp"
#include "train/pca.hpp"
#include "train/qat.hpp"
#include "train/sequence_data.hpp"
#include "train/stages.hpp"
#include "train/task_report.hpp"
#include "train/training_data.hpp"
#include "train/training_state.hpp"
#include "train/warm_start.hpp"

namespace cae::train {

using nn::Model;
using nn::Rng;
using nn::Scalar;
using nn::Shape;
using nn::Tensor;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

const char* trainerVersion() { return "cae-train 0.1.0"; }

namespace {

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
    case TrainTask::Compress:
      return "compress";
    case TrainTask::AudioDenoise:
      return "audio-denoise";
    case TrainTask::AudioAnomaly:
      return "audio-anomaly";
    default:
      return "reconstruct";
  }
}

}  // namespace

struct Trainer::Impl {
  Trainer& owner;
  const TrainConfig& c;
  Rng rng;
  TrainingData data;
  std::unique_ptr<Objective> objective;
  std::vector<Stage> stages;
  std::unique_ptr<WeightRounding> rounding;  // --qat

  // --qat: the model's steps (and validation) in the arithmetic of its 8-bit inference.
  struct Rounded {
    Impl& t;
    Model* m;
    explicit Rounded(Impl& tr, Model& model, bool learn) : t(tr), m(&model) {
      if (!t.rounding) return;
      m->setFakeQuantLearning(learn);
      t.rounding->apply();
    }
    ~Rounded() {
      if (!t.rounding) return;
      t.rounding->restore();
      m->setFakeQuantLearning(true);
    }
    Rounded(const Rounded&) = delete;
    Rounded& operator=(const Rounded&) = delete;
  };
  std::string architecture;     // describe() of the final model: banner and checkpoint check
  std::vector<Model> encoders;  // trained encoders of finished stacked stages, in order
  std::ofstream log;            // opened when training starts: a failed setup leaves no file
  TrainResult result;
  TrainingState st;  // saved in checkpoints
  std::unique_ptr<nn::Optimizer> opt;
  // Throughput of this process.
  Clock::time_point t0 = Clock::now();
  long stepsHere = 0;
  long totalSteps = 0, stepsBefore = 0;  // over all stages; stepsBefore: done before this process

  Impl(Trainer& o, const TrainConfig& cfg) : owner(o), c(cfg), rng(cfg.seed) {}

  // ---- setup ---------------------------------------------------------------------------------
  // --task audio-denoise: samples carry their target mask (train/audio_data.hpp).
  bool masks() const { return c.task == TrainTask::AudioDenoise; }

  ArchSpec baseSpec() const {
    // Audio samples carry the target as their last column (train/audio_data.hpp).
    return specFor(c, data.train->channels(), data.train->height(),
                   data.train->width() - (masks() ? 1 : 0));
  }

  void buildStages() {
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
    const WarmStart w =
        isCheckpointFile(c.init)
            ? warmStartFromCheckpoint(stages.back().built.model, c.init, architecture)
            : warmStart(stages.back().built.model, c.init);
    std::string widened;
    for (const std::string& n : w.widened) widened += (widened.empty() ? "" : ", ") + n;
    say("init   " + std::to_string(w.layers) + " layers from " + c.init +
        (widened.empty() ? ""
                         : " (wider here: " + widened + "; zero weights from the inputs added)"));
  }

  static nn::Sampling* sampling(Stage& s) {
    if (s.built.sampling < 0) return nullptr;
    return dynamic_cast<nn::Sampling*>(&s.built.model.layer(s.built.sampling));
  }
  // A codec's quantisers (its synthesis', and with mixed quantisation the rate's), by node.
  static std::vector<std::pair<std::string, nn::Quantize*>> quantizers(Stage& s) {
    std::vector<std::pair<std::string, nn::Quantize*>> q;
    Model& m = s.built.model;
    for (int i = 1; i < m.numNodes(); ++i)
      if (auto* l = dynamic_cast<nn::Quantize*>(&m.layer(i))) q.emplace_back(m.node(i).name, l);
    return q;
  }
  // The layers that act differently in training steps (a VAE's sampling, a codec's noisy
  // quantisers) and in prediction.
  static void setTraining(Stage& s, bool on) {
    if (auto* smp = sampling(s)) smp->setTraining(on);
    for (auto& q : quantizers(s)) q.second->setTraining(on);
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

  // What the model should output for samples: the samples themselves, or for clips (--frames)
  // their clean current frames (the centre patch of clips rendered with a context).
  Tensor goal(const Tensor& samples) const {
    if (masks()) {  // the mask in the last column
      Tensor input, target;
      splitAudioSamples(samples, input, target, c.stftSize / 2 + 1);
      return target;
    }
    if (data.train->frames() == 1) return samples;
    const Tensor now = currentFrame(samples, data.train->channels());
    return samples.shape().h > c.patch ? centrePatch(now, c.patch) : now;
  }

  // What the model reads of corrupted samples: themselves, or for clips rendered with a context
  // (--clip-context, --align) the centre patch, after (--align translation) the older frames
  // were aligned onto the current one at the whole context, as caedenoise aligns whole frames.
  const Tensor& modelInput(const Tensor& corrupted, Tensor& buffer) const {
    if (masks()) {  // the frames before the target column
      Tensor target;
      splitAudioSamples(corrupted, buffer, target, c.stftSize / 2 + 1);
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
  const Tensor& trainInput(const Tensor& corrupted, Tensor& buffer) {
    const Tensor& x = modelInput(corrupted, buffer);
    if (data.train->frames() == 1 || (c.noHistoryShare <= 0 && c.partialHistoryShare <= 0))
      return x;
    if (&x != &buffer) buffer = x;
    simulateStreamStarts(buffer, data.train->channels(), c.noHistoryShare, c.partialHistoryShare,
                         rng);
    return buffer;
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
    TrainingState::Meta meta = st.toMeta();
    meta["train.recipe"] = c.recipe;
    meta["train.architecture"] = architecture;
    if (auto* smp = sampling(s)) meta["train.sampling_rng"] = smp->rng().state();
    for (auto& q : quantizers(s)) meta["train.rng." + q.first] = q.second->rng().state();
    const auto ck = nn::makeCheckpoint(s.built.model, *opt, rng, std::uint64_t(opt->steps()),
                                       std::uint64_t(st.epoch), meta);
    nn::saveCheckpoint(owner.checkpointPath(), ck);
  }

  // Installs a checkpoint: finished stages' weights, the current stage's model, optimizer, rng
  // and the training state. The log hears of it in logResume(), once training starts.
  void resume() {
    const std::string path = owner.checkpointPath();
    if (!std::filesystem::exists(path))
      throw IoError("--resume: no checkpoint at '" + path + "' (train without --resume first)");
    const nn::Checkpoint ck = nn::loadCheckpoint(path);
    const auto& m = ck.meta;
    const auto arch = m.find("train.architecture");
    if (arch != m.end() && arch->second != architecture)
      throw FormatError("checkpoint '" + path + "' was made for another architecture:\n" +
                        arch->second +
                        "resume with the options it was trained with (its "
                        "recipe: " +
                        (m.count("train.recipe") ? m.at("train.recipe") : "?") + ")");
    st.stage = TrainingState::stageOf(m);
    if (st.stage < 0 || st.stage >= int(stages.size()))
      throw FormatError("checkpoint '" + path + "' is from a different architecture (stage " +
                        std::to_string(st.stage) + ")");
    for (int k = 0; k < st.stage; ++k) {
      Stage& done = stages[std::size_t(k)];
      TrainingState::loadStageParams(m, k, done.built.model, path);
      encoders.push_back(extractEncoder(done.spec, done.built));
    }
    Stage& s = stages[std::size_t(st.stage)];
    opt = makeOptimizer();
    try {
      nn::restoreCheckpoint(ck, s.built.model, *opt, rng);
    } catch (const FormatError& e) {
      throw FormatError("checkpoint '" + path +
                        "' does not fit this model (was it made with "
                        "other options?): " +
                        e.what());
    }
    st.restore(m, s.built.model.numParams());
    const auto sr = m.find("train.sampling_rng");
    if (sr != m.end()) {
      if (auto* smp = sampling(s)) smp->rng().setState(sr->second);
    }
    for (auto& q : quantizers(s)) {
      const auto qr = m.find("train.rng." + q.first);
      if (qr != m.end()) q.second->rng().setState(qr->second);
    }
    for (int k = 0; k < st.stage; ++k)
      stepsBefore += long(stages[std::size_t(k)].epochs) * c.stepsPerEpoch;
    stepsBefore += long(st.epoch) * c.stepsPerEpoch + st.stepInEpoch;
    say("resume " + path + ": " + s.name + " epoch " + std::to_string(st.epoch + 1) + " step " +
        std::to_string(st.stepInEpoch));
  }

  void logResume() {
    writeLog({{"event", "resume"},
              {"checkpoint", owner.checkpointPath()},
              {"stage", stages[std::size_t(st.stage)].name},
              {"epoch", st.epoch + 1},
              {"step", st.stepInEpoch}});
  }

  // ---- messages and the log ------------------------------------------------------------------
  void say(const std::string& line) const {
    if (owner.messages_) owner.messages_(line);
  }

  // Opens the JSON-lines log (appending on --resume) and writes its first line. Called when
  // training starts, so that a run refused before then leaves no file behind.
  void openLog() {
    const std::string path = owner.logPath();
    if (!path.empty()) {
      ensureFolder(path);
      log.open(path, c.resume ? std::ios::app : std::ios::trunc);
      if (!log) throw IoError("cannot write the log '" + path + "'");
    }
    Json start{
        {"event", "start"},
        {"version", trainerVersion()},
        {"recipe", c.recipe},
        {"train_images", data.train->size()},
        {"val_images", data.val->size()},
        {"sample_shape", {data.train->channels(), data.train->height(), data.train->width()}}};
    if (data.train->frames() > 1) start["frames"] = data.train->frames();  // clips of frames
    if (clipContext(c) > c.patch) start["clip_context"] = clipContext(c);
    if (c.align == AlignKind::Translation) start["align"] = "translation";
    writeLog(start);
  }

  // One whole line per event, flushed: a run that stops anywhere leaves only whole lines.
  void writeLog(const Json& j) {
    if (!log.is_open()) return;
    log << j.dump() << '\n';
    log.flush();
  }

  // ---- validation ----------------------------------------------------------------------------
  // Reconstruction outputs of the model for samples (in chunks of the batch size), copied.
  Tensor predict(Stage& s, const Tensor& x, std::vector<double>* bits = nullptr) {
    setTraining(s, false);
    const Rounded rounded(*this, s.built.model, false);
    Tensor out;
    const int n = x.shape().n;
    for (int at = 0; at < n; at += c.batch) {
      const int k = std::min(c.batch, n - at);
      const Tensor& y = s.built.model.forward(sliceSamples(x, at, k));
      if (out.empty()) {
        Shape os = y.shape();
        os.n = n;
        out.resize(os);
      }
      std::copy(y.data(), y.data() + y.size(), out.sample(at));
      if (bits) {  // a codec's bits per picture
        const Tensor& b = s.built.model.activation(s.built.rate);
        for (int i = 0; i < k; ++i)
          bits->push_back(std::accumulate(b.sample(i), b.sample(i) + b.shape().perSample(), 0.0));
      }
    }
    setTraining(s, true);
    return out;
  }

  // noHistory (clips): every older frame replaced by the noisy current frame, as caedenoise
  // feeds a stream start.
  double validate(Stage& s, const nn::Loss& loss, bool noHistory = false) {
    if (s.built.compresses()) return validateCodec(s).total;
    if (s.built.segments()) {  // the segmentation term on fixed synthetic anomalies
      const Tensor input = objective->corruptFixed(data.valClean, 99);
      return objective->segmentationLoss(predict(s, input));
    }
    const Tensor target = toStageInput(data.valClean, s);
    Tensor buffer;
    const Tensor input = s.innerStage ? target : objective->corruptFixed(target, 99);
    const Tensor* x = &modelInput(input, buffer);
    if (noHistory && data.train->frames() > 1) {
      if (x != &buffer) buffer = *x;
      for (int n = 0; n < buffer.shape().n; ++n) dropHistory(buffer, data.train->channels(), n, 0);
      x = &buffer;
    }
    const Tensor out = predict(s, *x);
    const Tensor g = goal(target);
    if (masks())  // the masks' loss as trained: weighted by the input for psa
      if (const nn::WeightedMseLoss* ml = objective->maskLoss(*x))
        return ml->compute(out, g, nullptr);
    Tensor t(out.shape());  // dense models give {N, F, 1, 1}: the same values, flat
    std::copy(g.data(), g.data() + g.size(), t.data());
    return loss.compute(out, t, nullptr);
  }

  // A codec's rate-distortion loss on the validation pictures, quantised by rounding as the
  // coder quantises.
  nn::RateDistortion::Terms validateCodec(Stage& s) {
    std::vector<double> bits;
    const Tensor out = predict(s, data.valClean, &bits);
    Tensor perPicture({out.shape().n, 1, 1, 1});
    for (std::size_t i = 0; i < bits.size(); ++i) perPicture[i] = Scalar(bits[i]);
    return objective->rateDistortion()->compute(out, data.valClean, perPicture, nullptr, nullptr);
  }

  // ---- the loop ------------------------------------------------------------------------------
  // epochLoss >= 0: the finished epoch's mean (the running sums are already reset).
  void report(const Stage& s, double valLoss, double epochLoss = -1) {
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
  bool runStage(Stage& s) {
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
      const double val = validate(s, loss);
      if (!std::isfinite(val)) diverged(s, val);
      lastVal = val;
      if (endEpoch(s, val, te, stepsAtEpochStart)) {
        ++st.epoch;
        break;
      }
    }
    // Early stopping's promise: the weights of the best validation epoch.
    if (!st.bestParams.empty())
      std::copy(st.bestParams.begin(), st.bestParams.end(), m.params().data());
    return true;
  }

  // The epoch's steps from the current one. Returns false when cancelled (after a checkpoint).
  bool trainEpoch(Stage& s, double lastVal) {
    Model& m = s.built.model;
    Tensor clean, noisy, buffer;
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
      const Tensor& input =
          trainInput(objective->corrupt(target, s.innerStage, noisy, rng), buffer);
      StepLoss l;
      {
        const Rounded rounded(*this, m, true);
        l = objective->step(s.built, s.innerStage, input,
                            temporal || masks() ? goal(target) : target, rng);
      }
      if (!std::isfinite(l.total) || !std::isfinite(l.reconstruction)) diverged(s, l.total);
      opt->step(m.params(), m.grads());
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

  void cancel(Stage& s) {
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
  bool endEpoch(Stage& s, double val, Clock::time_point te, long stepsAtEpochStart) {
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
    st.endEpoch(val, s.built.model);
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

  [[noreturn]] void diverged(const Stage& s, double value) {
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
  void finishStage(std::size_t i) {
    Stage& s = stages[i];
    st.finishStage(int(i), s.built.model);
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
    opt = makeOptimizer();
  }

  void drawCurve() {
    const std::string path = owner.lossCurvePath();
    if (path.empty()) return;
    std::vector<double> tr, va;
    for (const EpochRecord& r : st.history) {
      tr.push_back(r.loss);
      va.push_back(r.valLoss);
    }
    writeLossCurve(path, tr, va, std::string("cae-train: ") + taskText(c.task) + " loss per epoch");
  }

  // ---- after training ------------------------------------------------------------------------
  // The final validation loss and the task's report, into metrics, the summary and (anomaly:
  // the calibrated decision) the export options.
  void finish(Json& metrics, onnx::ExportOptions& eo) {
    Stage& s = stages.back();
    metrics["val_loss"] = validate(s, objective->loss(s.innerStage));
    metrics["best_epoch"] = st.bestEpoch;
    metrics["epochs_run"] = int(st.history.size());
    if (!st.history.empty()) {
      metrics["train_loss_first"] = st.history.front().loss;
      metrics["train_loss_last"] = st.history.back().loss;
    }
    std::string& sum = result.summary;
    sum += "validation loss " + fmt("%.6g", metrics["val_loss"].get<double>());
    sum += st.bestEpoch > 0 ? " (best epoch " + std::to_string(st.bestEpoch) + ")\n" : "\n";
    if (data.train->frames() > 1) {
      metrics["val_loss_no_history"] = validate(s, objective->loss(s.innerStage), true);
      sum += "validation loss with no history (a stream start) " +
             fmt("%.6g", metrics["val_loss_no_history"].get<double>()) + "\n";
    }
    if (masks()) audioReport(s, metrics, sum);
    if (c.task == TrainTask::AudioAnomaly) {
      const AudioAnomalyReport a = calibrateAudioAnomaly(
          dynamic_cast<const MelWindowSource&>(*data.val), c.analysisWindow, c.fpr,
          c.windowScore == "mse" ? WindowScore::Mse : WindowScore::Mahalanobis,
          [&](const Tensor& x) { return predict(s, x); });
      eo.anomaly = a.decision;
      a.addTo(metrics, sum, eo.extra);
    }
    if (c.task == TrainTask::Denoise) {
      const Tensor noisy = objective->corruptFixed(data.valClean, 1234);
      Tensor buffer;
      const Tensor out = predict(s, modelInput(noisy, buffer));
      denoiseReport(
          goal(data.valClean), goal(noisy), out, c.sigmaHi,
          c.corruption == CorruptionKind::Gaussian || c.corruption == CorruptionKind::Rician,
          c.window.has_value())
          .addTo(metrics, sum);
    }
    if (s.built.compresses()) {
      const nn::RateDistortion::Terms t = validateCodec(s);
      metrics["lambda"] = c.lambda;
      metrics["bpp"] = t.bpp;
      metrics["psnr"] = 10 * std::log10(1.0 / std::max(t.mse, 1e-12));
      sum += "validation " + fmt("%.4f", t.bpp) + " bits per pixel at " +
             fmt("%.2f", metrics["psnr"].get<double>()) + " dB PSNR (lambda " +
             fmt("%.4g", c.lambda) + ")\n";
    }
    if (c.task == TrainTask::Anomaly) {
      const AnomalyReport a = calibrateAnomaly(
          data.heldOut, s.spec, c, asEngineRuns(c, [&](const Tensor& x) { return predict(s, x); }));
      eo.anomaly = a.decision;
      a.addTo(metrics, sum);
    }
  }

  // --task audio-denoise: what the masks do to the validation frames (audio_report.hpp).
  void audioReport(Stage& s, Json& metrics, std::string& sum) {
    Tensor input, target;
    splitAudioSamples(data.valClean, input, target, c.stftSize / 2 + 1);
    metrics["val_mask_gain_db"] =
        maskGainDb(input, target, predict(s, input), c.stftSize, c.lookahead);
    sum += "validation frames: the masks' error " +
           fmt("%.2f", metrics["val_mask_gain_db"].get<double>()) +
           " dB below the noisy frames' (power-weighted, " + std::to_string(input.shape().n) +
           " frames)\n";
  }

  void exportModels(const Json& metrics, onnx::ExportOptions eo) {
    Stage& s = stages.back();
    eo.metrics = metrics.dump();
    const ExportedFiles files = exportTrained(c, s.spec, s.built, std::move(eo));
    result.output = files.output;
    result.decoderOutput = files.decoderOutput;
  }

  // PCA: no gradient training, an SVD of the training patches.
  TrainResult runPca() {
    const ArchSpec spec = baseSpec();
    if (spec.latent <= 0) throw InvalidArgument("--arch pca needs --latent K (components)");
    openLog();
    const Tensor train =
        data.train->fixed(std::max(c.batch * c.stepsPerEpoch, spec.latent * 4), c.seed + 3);
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
          std::to_string(data.train->channels()) + "x" + std::to_string(data.train->height()) +
          "x" + std::to_string(data.train->width()) + (c.patch > 0 ? " patches" : " whole frames") +
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

  // The trained model's report, export, last curve and summary line.
  TrainResult finishRun() {
    result.bestValLoss = st.bestVal;
    result.bestEpoch = st.bestEpoch;
    result.history = st.history;
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

  // A run that fails after the log was opened says why in its last line.
  void logFailure(const std::string& what) { writeLog({{"event", "error"}, {"message", what}}); }
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
