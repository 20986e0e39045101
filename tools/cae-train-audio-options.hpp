// The options of cae-train's audio tasks (tools/cae-train-audio-options.cpp), for
// cae-train-options.cpp: the group in --help, the task defaults, the parsed texts' checks.
#pragma once

#include <CLI/CLI.hpp>

#include "cae-train-options.hpp"

namespace cae::train::cli {

// --task audio-denoise (core/train/audio_data.hpp) and audio-anomaly, with the data options
// beyond DATA (noise, what validates, --list-validation).
void addAudioOptions(CLI::App& app, Options& o);
// --task audio-denoise: the speech denoiser's sizes (models/recipes/audio-denoise.sh) unless given.
void audioDefaults(const CLI::App& app, ArchSpec& a);
// --task audio-anomaly: the DCASE 2020 task 2 baseline's shape unless given.
void audioAnomalyDefaults(const CLI::App& app, Options& o);
// The audio options of configOf: the texts parsed, and the combinations CLI11 cannot check
// (InvalidArgument).
void audioConfig(const Options& o, TrainConfig& c);

}  // namespace cae::train::cli
