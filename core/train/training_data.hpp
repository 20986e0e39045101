// The data of one cae-train run, from TrainConfig: the images loaded, checked against the patch
// at their true size, split into training and validation (core/train/dataset.hpp), the training
// images optionally added at smaller scales, and served as training batches, fixed validation
// samples and (anomaly) the held-out images the threshold is calibrated on.
#pragma once

#include <memory>
#include <vector>

#include "nn/tensor.hpp"
#include "train/dataset.hpp"
#include "train/trainer.hpp"

namespace cae::train {

struct TrainingData {
  std::unique_ptr<BatchSource> train, val;
  std::vector<Image> heldOut;  // anomaly only: the validation images, for calibration crops
  nn::Tensor valClean;         // c.valSamples fixed validation samples
};

// InvalidArgument for images that do not fit the patch (naming the file and its size, or the
// part of a single image that is too small), mixed sizes with whole frames, bad scales;
// IoError / FormatError from loadImages().
TrainingData loadTrainingData(const TrainConfig& c);

}  // namespace cae::train
