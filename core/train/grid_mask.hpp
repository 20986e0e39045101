// Training and calibration of models that reconstruct by inpainting (RIAD, anomaly/inpainting.hpp;
// cae-train --noise grid-mask [--mask-scales 2,4,8,16]):
//   GridMaskNoise            the corruption: per sample, a scale drawn from the list, a fresh split
//                            of its cells into Inpainting::groups sets, and one set blanked (0) in
//                            every channel; the model learns to fill it in from the rest
//   inpaintedReconstruction  what cae::infer::Engine computes for a model with cae.inpaint (the
//                            same masks, anomaly::inferenceSeed), on the trainer's tensors: the
//                            calibration scores the model as the element will run it
#pragma once

#include <functional>

#include "anomaly/inpainting.hpp"
#include "nn/corruption/corruption.hpp"
#include "nn/tensor.hpp"
#include "train/trainer.hpp"

namespace cae::train {

class GridMaskNoise : public nn::Corruption {
 public:
  explicit GridMaskNoise(anomaly::Inpainting p);  // InvalidArgument for an empty scale list
  std::string name() const override { return "grid-mask"; }
  void apply(const nn::Tensor& clean, nn::Tensor& noisy, nn::Rng& rng) const override;

 private:
  anomaly::Inpainting p_;
};

// {N, C, H, W} samples -> their reconstruction by inpainting: for each scale and set, the samples
// with that set blanked through `forward`, each pixel from the pass that blanked it, the mean over
// scales.
nn::Tensor inpaintedReconstruction(const nn::Tensor& x, const anomaly::Inpainting& p,
                                   const std::function<nn::Tensor(const nn::Tensor&)>& forward);

// The model as cae::infer::Engine will run it, for scoring in training: with --noise grid-mask on
// an anomaly task, its reconstruction by inpainting (cae.inpaint); otherwise `forward` itself.
std::function<nn::Tensor(const nn::Tensor&)> asEngineRuns(
    const TrainConfig& c, std::function<nn::Tensor(const nn::Tensor&)> forward);

}  // namespace cae::train
