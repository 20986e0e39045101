// The data of one cae-train run, from TrainConfig: the images loaded, checked against the patch
// at their true size, split into training and validation (core/train/dataset.hpp), the training
// images optionally added at smaller scales, and served as training batches (patches, or clips
// for temporal models), fixed validation samples and (anomaly) the held-out images the threshold
// is calibrated on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/tensor.hpp"
#include "train/dataset.hpp"
#include "train/trainer.hpp"

namespace cae::train {

// What training batches and validation samples are drawn from: image patches (BatchSource), or
// for --frames K > 1 clips of K frames made from the same images (SequenceSource,
// sequence_data.hpp). A sample has frames() x channels() channels of height() x width().
class SampleSource {
 public:
  virtual ~SampleSource() = default;
  virtual void next(int n, nn::Rng& rng, nn::Tensor& out) const = 0;
  virtual nn::Tensor fixed(int n, std::uint64_t seed) const = 0;
  virtual int channels() const = 0;  // of one frame
  virtual int frames() const = 0;
  virtual int height() const = 0;
  virtual int width() const = 0;
  virtual std::size_t size() const = 0;  // images
};

struct TrainingData {
  std::unique_ptr<SampleSource> train, val;
  std::vector<Image> heldOut;  // anomaly only: the validation images, for calibration crops
  nn::Tensor valClean;         // c.valSamples fixed validation samples
};

// InvalidArgument for images that do not fit the patch (naming the file and its size, or the
// part of a single image that is too small), mixed sizes with whole frames, bad scales;
// IoError / FormatError from loadImages(). InvalidArgument for --frames without patches or
// outside 1..16, --align or --clip-context without --frames, a context smaller than the patch.
// Clips rendered at a context larger than the patch use only the images at least that large.
TrainingData loadTrainingData(const TrainConfig& c);

// The held-out files of an audio task (--task audio-denoise or audio-anomaly), as the run would
// split them, without decoding them (cae-train --list-validation): the speech (or normal sounds)
// and the noise recordings that validate. InvalidArgument for another task or no data.
struct AudioValidationFiles {
  std::vector<std::string> sounds, noise;
};
AudioValidationFiles audioValidationFiles(const TrainConfig& c);

// The size clips of c are rendered at: c.clipContext, else kAlignContext with --align, else 0
// (the patch).
int clipContext(const TrainConfig& c);

// --task audio-anomaly: the top of the mel band in Hz, c.melFmax or 90 % of c.audioRate / 2.
double melTop(const TrainConfig& c);

}  // namespace cae::train
