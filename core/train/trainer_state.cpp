// Trainer::Impl (trainer_impl.hpp): checkpoints, messages and the log.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "nn/checkpoint.hpp"
#include "train/architecture.hpp"
#include "train/loss_curve.hpp"
#include "train/model_export.hpp"
#include "train/trainer_impl.hpp"

namespace cae::train {

namespace {

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

void Trainer::Impl::saveCheckpoint(Stage& s) {
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
void Trainer::Impl::resume() {
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

void Trainer::Impl::logResume() {
  writeLog({{"event", "resume"},
            {"checkpoint", owner.checkpointPath()},
            {"stage", stages[std::size_t(st.stage)].name},
            {"epoch", st.epoch + 1},
            {"step", st.stepInEpoch}});
}

void Trainer::Impl::say(const std::string& line) const {
  if (owner.messages_) owner.messages_(line);
}

// Opens the JSON-lines log (appending on --resume) and writes its first line. Called when
// training starts, so that a run refused before then leaves no file behind.
void Trainer::Impl::openLog() {
  const std::string path = owner.logPath();
  if (!path.empty()) {
    ensureFolder(path);
    log.open(path, c.resume ? std::ios::app : std::ios::trunc);
    if (!log) throw IoError("cannot write the log '" + path + "'");
  }
  Json start{{"event", "start"},
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
void Trainer::Impl::writeLog(const Json& j) {
  if (!log.is_open()) return;
  log << j.dump() << '\n';
  log.flush();
}

void Trainer::Impl::drawCurve() {
  const std::string path = owner.lossCurvePath();
  if (path.empty()) return;
  std::vector<double> tr, va;
  for (const EpochRecord& r : st.history) {
    tr.push_back(r.loss);
    va.push_back(r.valLoss);
  }
  writeLossCurve(path, tr, va, std::string("cae-train: ") + taskText(c.task) + " loss per epoch");
}

}  // namespace cae::train
