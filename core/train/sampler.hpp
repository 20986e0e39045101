// `cae-train sample`: decodes random N(0, I) latents with a VAE's exported decoder (run through
// OpenCV DNN, as any consumer of the model file would) and tiles the images into one PNG.
#pragma once

#include <cstdint>
#include <string>

namespace cae::train {

// decoderPath: a model.decoder.onnx written by cae-train for a VAE (it carries cae.latent_shape
// and cae.sample_shape). Writes a grid of count images (about square) to outPng. IoError /
// FormatError for unreadable or foreign files, InvalidArgument for count < 1.
void writeVaeSamples(const std::string& decoderPath, int count, std::uint64_t seed,
                     const std::string& outPng);

}  // namespace cae::train
