// The files a finished cae-train run writes: the ONNX model (the whole autoencoder, or the
// encoder alone for --task features) with its cae.* metadata, and for VAEs the decoder beside it
// (<output>.decoder.onnx, what `cae-train sample` decodes with). Writes are atomic (core/onnx).
#pragma once

#include <string>

#include "onnx/export.hpp"
#include "train/architecture.hpp"
#include "train/trainer.hpp"

namespace cae::train {

struct ExportedFiles {
  std::string output, decoderOutput;  // decoderOutput: VAEs only
};

// eo: what the run gathered (metrics, the anomaly decision); format, scaling, task, noise level,
// version and recipe come from c and spec. The model's Sampling layer (VAEs) is switched to
// inference. IoError when a folder or file cannot be written.
ExportedFiles exportTrained(const TrainConfig& c, const ArchSpec& spec, BuiltModel& built,
                            onnx::ExportOptions eo);

// output without its extension, plus suffix ("m.onnx", ".ckpt" → "m.ckpt").
std::string pathBeside(const std::string& output, const std::string& suffix);
// Creates the folder file is to be written in. IoError when it cannot.
void ensureFolder(const std::string& file);

}  // namespace cae::train
