// Private to the trainer (trainer.cpp, trainer_state.cpp, trainer_report.cpp): Trainer::Impl,
// the state of one training run and its steps. Split by concern: the set-up and the loop
// (trainer.cpp), checkpoints, messages and the log (trainer_state.cpp), validation and what
// follows training: the task's report and the export (trainer_report.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "nn/layers/quantize.hpp"
#include "nn/layers/sampling.hpp"
#include "nn/model.hpp"
#include "nn/optim/optimizer.hpp"
#include "onnx/export.hpp"
#include "train/objective.hpp"
#include "train/qat.hpp"
#include "train/stages.hpp"
#include "train/trainer.hpp"
#include "train/training_data.hpp"
#include "train/training_state.hpp"

namespace cae::train {

using nn::Model;
using nn::Rng;
using nn::Scalar;
using nn::Shape;
using nn::Tensor;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace trainer_detail {

// printf's rendering of one number, e.g. fmt("%.4f", x).
inline std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace trainer_detail

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
  // --mask-loss time: the samples carry the masked frames' spectra, the loss's target.
  bool spectra() const { return masks() && c.maskLoss == "time"; }

  ArchSpec baseSpec() const;

  void buildStages();

  static nn::Sampling* sampling(Stage& s);
  // A codec's quantisers (its synthesis', and with mixed quantisation the rate's), by node.
  static std::vector<std::pair<std::string, nn::Quantize*>> quantizers(Stage& s);
  // The layers that act differently in training steps (a VAE's sampling, a codec's noisy
  // quantisers) and in prediction.
  static void setTraining(Stage& s, bool on);

  std::unique_ptr<nn::Optimizer> makeOptimizer() const;

  double lrAt(std::uint64_t t, const Stage& s) const;

  // What the model should output for samples: the samples themselves, or for clips (--frames)
  // their clean current frames (the centre patch of clips rendered with a context).
  Tensor goal(const Tensor& samples) const;

  // What the model reads of corrupted samples: themselves, or for clips rendered with a context
  // (--clip-context, --align) the centre patch, after (--align translation) the older frames
  // were aligned onto the current one at the whole context, as caedenoise aligns whole frames.
  const Tensor& modelInput(const Tensor& corrupted, Tensor& buffer) const;

  // What the model reads of a training batch: modelInput(), then for clips a share fed as a
  // stream start (c.noHistoryShare, c.partialHistoryShare), drawn with the trainer's rng.
  const Tensor& trainInput(const Tensor& corrupted, Tensor& buffer);

  // Pixels → the stage's input: codes of the finished stacked stages.
  Tensor toStageInput(const Tensor& pixels, const Stage& s);

  // ---- checkpoints ---------------------------------------------------------------------------
  void saveCheckpoint(Stage& s);

  // Installs a checkpoint: finished stages' weights, the current stage's model, optimizer, rng
  // and the training state. The log hears of it in logResume(), once training starts.
  void resume();

  void logResume();

  // ---- messages and the log ------------------------------------------------------------------
  void say(const std::string& line) const;

  // Opens the JSON-lines log (appending on --resume) and writes its first line. Called when
  // training starts, so that a run refused before then leaves no file behind.
  void openLog();

  // One whole line per event, flushed: a run that stops anywhere leaves only whole lines.
  void writeLog(const Json& j);

  // ---- validation ----------------------------------------------------------------------------
  // Reconstruction outputs of the model for samples (in chunks of the batch size), copied.
  Tensor predict(Stage& s, const Tensor& x, std::vector<double>* bits = nullptr);

  // noHistory (clips): every older frame replaced by the noisy current frame, as caedenoise
  // feeds a stream start.
  double validate(Stage& s, const nn::Loss& loss, bool noHistory = false);

  // A codec's rate-distortion loss on the validation pictures, quantised by rounding as the
  // coder quantises.
  nn::RateDistortion::Terms validateCodec(Stage& s);

  // ---- the loop ------------------------------------------------------------------------------
  // epochLoss >= 0: the finished epoch's mean (the running sums are already reset).
  void report(const Stage& s, double valLoss, double epochLoss = -1);

  // Trains one stage from the current counters. Returns false when cancelled.
  bool runStage(Stage& s);

  // The epoch's steps from the current one. Returns false when cancelled (after a checkpoint).
  bool trainEpoch(Stage& s, double lastVal);

  void cancel(Stage& s);

  // Records the epoch (history, log, best weights), checkpoints it and reports. Returns true
  // when early stopping ends the stage.
  bool endEpoch(Stage& s, double val, Clock::time_point te, long stepsAtEpochStart);

  [[noreturn]] void diverged(const Stage& s, double value);

  // Moves from a finished stacked stage to the next: its encoder feeds the next stage.
  void finishStage(std::size_t i);

  void drawCurve();

  // ---- after training ------------------------------------------------------------------------
  // The final validation loss and the task's report, into metrics, the summary and (anomaly:
  // the calibrated decision) the export options.
  void finish(Json& metrics, onnx::ExportOptions& eo);

  // --task audio-denoise: what the masks do to the validation frames (audio_report.hpp).
  void audioReport(Stage& s, Json& metrics, std::string& sum);

  void exportModels(const Json& metrics, onnx::ExportOptions eo);

  // PCA: no gradient training, an SVD of the training patches.
  TrainResult runPca();

  TrainResult run();

  // The trained model's report, export, last curve and summary line.
  TrainResult finishRun();

  // A run that fails after the log was opened says why in its last line.
  void logFailure(const std::string& what) { writeLog({{"event", "error"}, {"message", what}}); }
};

}  // namespace cae::train
