// The denoise task's final numbers: PSNR of the noisy input and of the model's output against the
// clean samples, and of OpenCV's non-local means (cv::fastNlMeansDenoising) on the same noisy
// samples, the classical baseline a learned denoiser has to beat.
#pragma once

#include "nn/tensor.hpp"

namespace cae::train {

struct DenoiseScores {
  double noisy = 0, model = 0;  // dB, over all samples, peak 1 (values clamped to [0, 1] if asked)
  double nlm = 0;
  bool hasNlm = false;
};

// clean, noisy: {N, C, H, W} in [0, 1]; output: the model's output with N*C*H*W values (dense
// models give {N, F, 1, 1}). With runNlm, each noisy sample is quantised to 8 bits and denoised by
// NLM with h = 0.9 * sigma * 255 (sigma in [0, 1] units), a setting close to OpenCV's advice.
// clampToUnit: noisy and output values are clamped to [0, 1] before the error, as an 8-bit frame
// stores them; false for models of modality values (cae-train --window), whose units run past
// the window (bone above +1000 HU) and whose outputs are stored unclamped in 16 bits.
DenoiseScores denoiseScores(const nn::Tensor& clean, const nn::Tensor& noisy,
                            const nn::Tensor& output, double sigma, bool runNlm,
                            bool clampToUnit = true);

}  // namespace cae::train
