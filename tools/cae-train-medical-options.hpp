// The options of cae-train for medical scans (tools/cae-train-medical-options.cpp), for
// cae-train-options.cpp: modality values (--window, --sample-rescale) and the low-dose CT
// simulation of --noise ct-lowdose (--photons, --ct-angles, --ct-mu-scale).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cae-train-options.hpp"

namespace cae::train::cli {

// --window and --sample-rescale (Data group).
void addModalityOptions(CLI::App& app, Options& o);
// --photons, --ct-angles, --ct-mu-scale (Objective group).
void addCtNoiseOptions(CLI::App& app, Options& o);
// --window and --sample-rescale into c (core/io/modality.hpp); nothing without --window;
// InvalidArgument for malformed values.
void parseModality(const std::string& window, const std::string& rescale, TrainConfig& c);
// "1e4" or "1e4-1e5" (photons per ray, ct-lowdose) into [lo, hi]; InvalidArgument otherwise.
void parsePhotons(const std::string& text, double& lo, double& hi);

}  // namespace cae::train::cli
