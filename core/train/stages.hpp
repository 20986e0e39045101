// The stages one cae-train run trains: the whole autoencoder, or for --arch stacked the shallow
// autoencoders of greedy layer-wise pretraining (each reconstructing the codes of the one before)
// and then the deep model they are assembled into for fine-tuning (architecture.hpp).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "train/architecture.hpp"
#include "train/trainer.hpp"

namespace cae::train {

struct Stage {
  Stage(std::string n, ArchSpec s, BuiltModel b, int e, bool inner)
      : name(std::move(n)), spec(std::move(s)), built(std::move(b)), epochs(e), innerStage(inner) {}
  std::string name;  // "train", "pretrain 1/2", "finetune", "pca"
  ArchSpec spec;
  BuiltModel built;
  int epochs = 0;
  bool innerStage = false;  // trains on codes of earlier stages: MSE, no corruption of pixels
};

// c.arch for samples of channels x height x width, checked (InvalidArgument with the cae-train
// options that fix it, e.g. --allow-overcomplete for a code not smaller than the input).
ArchSpec specFor(const TrainConfig& c, int channels, int height, int width);

// The stages of c for the checked spec, built and initialised.
std::vector<Stage> buildStages(const TrainConfig& c, const ArchSpec& spec);

}  // namespace cae::train
