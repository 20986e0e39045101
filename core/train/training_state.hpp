// What a cae-train checkpoint carries beside the model, the optimizer and the generator, and what
// --resume puts back: where the run is (stage, epoch, step), the epoch's running loss, early
// stopping's best so far, the finished stacked stages' weights and the epochs' history. The
// checkpoint's "train.*" keys are written and read here only; doubles travel as hex floats, so a
// resumed run continues bit for bit.
//
//   TrainingState st;  st.addStep(loss);  st.endEpoch(val, model);    // the loop
//   meta = st.toMeta();  ...  st.restore(meta, model.numParams());    // checkpoint and resume
#pragma once

#include <cstddef>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "nn/model.hpp"
#include "train/trainer.hpp"

namespace cae::train {

struct TrainingState {
  using Meta = std::map<std::string, std::string>;

  int stage = 0, epoch = 0, stepInEpoch = 0;
  double lossSum = 0;  // this epoch's reconstruction losses so far
  long lossCount = 0;
  double bestVal = std::numeric_limits<double>::infinity();
  int bestEpoch = 0, sinceBest = 0;
  std::vector<nn::Scalar> bestParams;  // the best validation epoch's weights; empty: none yet
  std::vector<nn::Scalar> emaParams;   // the weights' moving average (--ema); empty: none yet
  Meta stageParams;                    // finished stages' weights, by "train.stage_params.K"
  std::vector<EpochRecord> history;    // every stage's finished epochs, in order

  // After an optimizer step (the t-th of the stage, t >= 1) with --ema decay: folds the model's
  // weights into the average; `before`: the weights before the step, which start it.
  void averageStep(const nn::Model& model, const std::vector<nn::Scalar>& before, double decay,
                   long t);
  // Swaps the model's weights with the average (a no-op without one).
  void swapAverage(nn::Model& model);

  // The running mean of this epoch's losses (0 before the first step).
  double epochLoss() const { return lossCount ? lossSum / double(lossCount) : 0; }
  void addStep(double loss) {
    lossSum += loss;
    ++lossCount;
  }
  // After an epoch's validation: keeps the model's weights when val is the best so far, counts
  // epochs since the best otherwise, and clears the running loss.
  void endEpoch(double val, const nn::Model& model);
  // Stage `index` finished with `model`: its weights are kept for checkpoints, and the counters
  // and the best start afresh for stage index + 1.
  void finishStage(int index, const nn::Model& model);

  // The "train.*" checkpoint keys of this state (the loop adds its own: recipe, architecture,
  // the sampling generator).
  Meta toMeta() const;
  // The stage a checkpoint's keys were saved in (0 when absent).
  static int stageOf(const Meta& meta);
  // Everything but the stage from a checkpoint's keys; numParams: the current stage's model size,
  // which the saved best weights must match (FormatError otherwise).
  void restore(const Meta& meta, std::size_t numParams);
  // Copies finished stage k's saved weights into its model. FormatError when the checkpoint has
  // none or they do not fit.
  static void loadStageParams(const Meta& meta, int k, nn::Model& model, const std::string& path);
};

}  // namespace cae::train
