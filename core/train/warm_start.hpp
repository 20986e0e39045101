// Starting a training run from the weights of a model file (cae-train --init): fine-tuning, and
// a temporal denoiser (--frames K) that begins as the single-frame model it extends.
//
// Weights are matched by layer name: cae's exporter writes a layer's initializers as
// "<node>.weight" and "<node>.bias" (core/onnx/export.cpp), and cae-train names nodes by role
// (architecture.hpp), so a file cae-train wrote for the same architecture fits layer by layer.
// A convolution wider than the file's (more inputs: the first layer of a K-frame model reads K
// frames; more outputs: temporal stem channels) takes the file's weights on its first outputs
// and inputs (the current frame comes first) and zeros from the inputs the file lacks; with K
// times the file's outputs and inputs (a stem with (K-1) x its channels added) the file's conv
// runs on every frame, so the added channels start as the single-frame features of the older
// frames. The next layer reads the added channels with zero weights, so the model computes
// exactly what the file's model computes, and training starts fusing frames from features the
// model already knows.
//
//   WarmStart w = warmStart(built.model, "models/denoise-gray.onnx");
#pragma once

#include <string>
#include <vector>

#include "nn/model.hpp"

namespace cae::train {

struct WarmStart {
  int layers = 0;                     // layers whose weights came from the file
  std::vector<std::string> widened;   // of those, the wider ones (zeros on the inputs added)
  std::vector<std::string> identity;  // layers the file lacks, started as the identity (deepen)
};

// Overwrites the weights of every layer of model that has some, except the fixed current-frame
// pick (kCurrentFrameNode), with the file's. IoError / FormatError for a missing or damaged
// file; InvalidArgument naming the layer when the file lacks one or its shapes do not fit.
// deepen: a convolution the file lacks with as many outputs as inputs and an odd kernel height
// (a layer added to make the model deeper) starts instead as the identity on its newest tap
// (weight 1 from input c to output c at the centre row and last column, zeros elsewhere, zero
// bias). Between ReLUs, as the audio mask model's 1x1 decoder convs are, the model then computes
// exactly what the file's computes; a wider kernel passes only its newest column through, so a
// strided conv added before others changes which frames those read.
WarmStart warmStart(nn::Model& model, const std::string& onnxPath, bool deepen = false);

// Whether path holds a training checkpoint (its magic), not an ONNX file.
bool isCheckpointFile(const std::string& path);

// Overwrites all of model's parameters with those of a cae-train checkpoint of the same
// architecture (its train.architecture, if it has one, must equal `architecture`): what an ONNX
// file cannot carry, such as a codec's decoder and entropy model, so that a codec's other rate
// points are fine-tuned from a finished one (models/recipes/codec.sh). The optimizer, generator
// and schedule start afresh. FormatError when the checkpoint is damaged or made for another
// architecture.
WarmStart warmStartFromCheckpoint(nn::Model& model, const std::string& checkpointPath,
                                  const std::string& architecture);

}  // namespace cae::train
