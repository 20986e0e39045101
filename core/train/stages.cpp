#include "train/stages.hpp"

#include "error.hpp"

namespace cae::train {

ArchSpec specFor(const TrainConfig& c, int channels, int height, int width) {
  ArchSpec s = c.arch;
  s.channels = channels;
  s.height = height;
  s.width = width;
  s.frames = c.frames;
  if (c.task == TrainTask::AudioDenoise) s.outChannels = c.stftSize / 2 + 1;  // the mask's bins
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

std::vector<Stage> buildStages(const TrainConfig& c, const ArchSpec& spec) {
  std::vector<Stage> stages;
  if (c.stacked) {
    if (spec.kind != ArchKind::Dense)
      throw InvalidArgument("--arch stacked needs dense layer sizes (--layers)");
    const std::vector<ArchSpec> shallow = stackedStages(spec);
    for (std::size_t i = 0; i < shallow.size(); ++i) {
      ArchSpec sp = shallow[i];
      sp.seed = c.seed + 1000 * (i + 1);
      BuiltModel b = buildAutoencoder(sp);
      stages.emplace_back(
          "pretrain " + std::to_string(i + 1) + "/" + std::to_string(shallow.size()), sp,
          std::move(b), c.pretrainEpochs > 0 ? c.pretrainEpochs : c.epochs, i > 0);
    }
  }
  stages.emplace_back(c.stacked ? "finetune" : "train", spec, buildAutoencoder(spec), c.epochs,
                      false);
  return stages;
}

}  // namespace cae::train
