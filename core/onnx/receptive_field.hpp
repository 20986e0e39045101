// Receptive field of a model's output in input pixels, written as cae.receptive_field so that
// inference can overlap tiles by enough to hide their seams.
#pragma once

#include "nn/model.hpp"

namespace cae::onnx {

// Side of the square window of input pixels that can influence one output pixel, the larger of
// the two axes, rounded up. Strides and upsampling are tracked as a (fractional) jump between
// neighbouring units, so the result is an upper bound for any pixel of a fully convolutional
// model. -1 when a Dense, Flatten or Reshape makes every output depend on the whole input.
int receptiveField(const nn::Model& model);

}  // namespace cae::onnx
