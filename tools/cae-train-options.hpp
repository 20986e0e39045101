// The options of cae-train (tools/cae-train.cpp): every CLI11 option group, the task defaults
// and the checks that turn the parsed texts into a TrainConfig. Split from cae-train.cpp so that
// the program reads as options -> TrainConfig -> Trainer::run().
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "train/trainer.hpp"

namespace cae::train::cli {

// What the options hold until they become a TrainConfig (texts parsed after CLI11 is done).
enum class Sparsity { None, L1, Kl };
struct Options {
  TrainConfig c;
  std::string arch, layers, sigma = "25", color = "gray";       // arch "": conv, or codec
  std::string photons = "1e4-1e5";                              // ct-lowdose
  std::string stft = "512:128", snr = "-5:20", babble = "3:6";  // audio-denoise
  std::string window, sampleRescale;  // modality values (addModalityOptions)
  Sparsity sparsity = Sparsity::None;
  double sparsityLambda = 0;
  bool quiet = false;
  bool listValidation = false;                         // print the held-out sound files and stop
  std::string sampleModel, sampleOut = "samples.png";  // `cae-train sample`
  int sampleCount = 16;
  std::uint64_t sampleSeed = 1;
};

// Every option group of `cae-train [train]`, in --help's order.
void addTrainOptions(CLI::App& app, Options& o);
// `cae-train sample`: decode random latents with a VAE decoder.
CLI::App* addSampleCommand(CLI::App& app, Options& o);
// After CLI11 has parsed: named choices into their enums, and the defaults of --task compress,
// audio-denoise and audio-anomaly for the options the user left out.
void finishOptions(const CLI::App& app, Options& o);
// The TrainConfig of parsed options; InvalidArgument for combinations CLI11 cannot check.
TrainConfig configOf(Options& o, const std::string& recipe);

}  // namespace cae::train::cli
