// The options of cae-train's --task anomaly (tools/cae-train-anomaly-options.cpp), for
// cae-train-options.cpp.
#pragma once

#include <CLI/CLI.hpp>

#include "cae-train-options.hpp"

namespace cae::train::cli {

// Objective options of --task anomaly: --fpr, --anomaly-map, --map-sigma, --frame-fpr,
// --deploy-size, --seg-width, --seg-stem, --anomaly-source, --anomaly-share, --calib-size,
// --calib-variation.
void addAnomalyOptions(CLI::App& app, Options& o);

}  // namespace cae::train::cli
