// The autoencoder architectures cae-train builds, from a spec the CLI fills in. Every builder
// returns the whole autoencoder plus the node ids the objectives need (the code, the VAE's mu and
// logvar, the dense encoder's pre-activation), so regularizers can seed Model::backward there.
#pragma once

#include <string>
#include <vector>

#include "nn/model.hpp"

namespace cae::train {

enum class ArchKind {
  Dense,      // layer sizes, e.g. 784-128-32-128-784; the middle size is the code
  Conv,       // strided conv encoder, transposed-conv decoder, optional skips / residual output
  DenseVae,   // dense encoder → (mu, logvar) → Sampling → dense decoder
  ConvVae,    // conv encoder → 1×1 convs to (mu, logvar) maps → Sampling → conv decoder
  Pca,        // linear encoder/decoder whose weights come from an SVD, not from training
};

struct ArchSpec {
  ArchKind kind = ArchKind::Conv;
  int channels = 1, height = 64, width = 64;  // input sample shape
  // Dense / DenseVae: sizes from input to code, e.g. {784, 128, 32}; the decoder mirrors them.
  std::vector<int> dense;
  // Conv / ConvVae: `depth` 3×3 convs per stage, `stages` stride-2 downsamplings, `width0`
  // channels at full resolution doubling per stage up to `maxChannels`.
  int depth = 2, stages = 2, width0 = 32, maxChannels = 128;
  bool skips = false;     // U-Net style Concat from encoder to decoder at each resolution
  bool residual = false;  // output = input + model (denoisers)
  int latent = 0;         // Pca: components; ConvVae: latent channels; Dense: = dense.back()
  std::string activation = "relu";  // relu | leaky_relu | sigmoid | tanh (hidden layers)
  std::string output = "linear";    // linear | sigmoid (the output layer)
};

struct BuiltModel {
  nn::Model model;
  int code = -1;           // node whose activation is the code (features, sparsity, contractive)
  int codePre = -1;        // dense encoders: the Dense node before the code's activation
  int mu = -1, logvar = -1;  // VAEs
  int sampling = -1;         // VAEs: the Sampling node (training / inference switch)
};

// Throws InvalidArgument with a message a CLI user understands (e.g. "dense sizes must start
// with the input size 784", "the code (1024) is not smaller than the input (784): not an
// undercomplete autoencoder").
BuiltModel buildAutoencoder(const ArchSpec& spec);

// The encoder alone (input → code, or → mu for VAEs) with weights copied from a trained model:
// what `--task features` exports.
nn::Model extractEncoder(const ArchSpec& spec, const BuiltModel& trained);
// The decoder alone (code → output) with weights copied: what `cae-train sample` runs.
nn::Model extractDecoder(const ArchSpec& spec, const BuiltModel& trained);

}  // namespace cae::train
