// cae-enhance's batch: inputs found in files and folders, a deterministic shard of them, worker
// threads that each load the model once, outputs written to a temporary name and renamed, a
// manifest appended one JSON line per finished input, --resume that skips what the manifest
// proves done, failures listed and skipped, a stop flag honoured between files.
//
//   BatchOptions o; o.inputs = {"scans/"}; o.outDir = "out"; o.model = "models/enhance-ct.onnx";
//   BatchResult r = runBatch(o);   // r.failed > 0: some inputs were skipped (failures.csv)
//
// Output layout: OUTDIR/<name of the input folder>/<path inside it> for inputs found in a
// folder, OUTDIR/<file name> for files given directly (a file's extension follows --format).
// Files of the job in OUTDIR:
//   manifest.jsonl (manifest.shard-I-of-N.jsonl with --shard): one line per enhanced input:
//     {"input","input_sha256","output","output_sha256","model","model_sha256","series_uid",
//      "derived_series_uid","frames","seconds"}; paths relative to OUTDIR for outputs, as
//     found for inputs; appended with one write(2) per line, so a kill leaves at most a torn
//     last line, which readers skip.
//   failures.csv (failures.shard-I-of-N.csv): input,reason for every input this run skipped.
// An output is written as "<stem>.cae-part<ext>" beside its final name, synced and renamed; one
// left by a killed run is removed when its input comes up again. Shards may run at the same
// time into one OUTDIR.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "enhance/slices.hpp"
#include "infer/engine.hpp"

namespace cae::enhance {

struct InputFile {
  std::string path;      // as found
  std::string relative;  // where its output goes under OUTDIR (before the extension changes)
  InputKind kind = InputKind::Image;
};

// Files given and those found (recursively) in folders given: DICOM by content (Part 10 magic)
// or a .dcm name, images by .png/.tif/.tiff; other files in folders are left alone (a folder
// of scans often holds DICOMDIR, notes, ...), but a file given by name is always taken (its
// failure is then reported). Sorted by relative path, duplicates removed. IoError for a path
// that does not exist; InvalidArgument when two inputs would write the same output.
std::vector<InputFile> collectInputs(const std::vector<std::string>& paths);

// Shard I of N (0 <= I < N): the inputs whose relative path hashes (SHA-256) to I modulo N.
// Every input falls in exactly one shard, whatever the order or number of the inputs.
bool inShard(const InputFile& f, int index, int count);

struct Progress {
  int done = 0;   // inputs finished in this run (enhanced, skipped as done, or failed)
  int total = 0;  // inputs of this run (after the shard)
  int failed = 0;
  int resumed = 0;     // skipped: the manifest shows them done
  double seconds = 0;  // since the start
  std::string last;    // the input just finished
};

struct BatchOptions {
  std::vector<std::string> inputs;
  std::string outDir;
  std::string model;
  int jobs = 1;
  int shardIndex = 0, shardCount = 1;
  bool resume = false;
  OutputFormat format = OutputFormat::Same;
  Window window;  // unset: the model's, else each scan's range
  infer::Backend backend = infer::Backend::Auto;
  int threads = 1;  // engine threads per worker
  std::string descriptionSuffix = " (cae enhanced)";
  // Checked between inputs: set (e.g. by a signal handler) to finish the inputs in hand and
  // stop. Not owned.
  const std::atomic<bool>* stop = nullptr;
  // Called after every input (from worker threads, one at a time).
  std::function<void(const Progress&)> progress;
};

struct BatchResult {
  int total = 0, enhanced = 0, resumed = 0, failed = 0;
  bool stopped = false;  // the stop flag ended the run early
  std::string manifestPath, failuresPath;
};

// Runs the job. Throws (before any output is written) for a model that cannot be used, inputs
// that cannot be listed, or an output folder that cannot be made; failures of single inputs are
// counted, listed and skipped.
BatchResult runBatch(const BatchOptions& o);

// The manifest file names of a job (shard or not), and whether a line is one this version reads.
std::string manifestName(int shardIndex, int shardCount);
std::string failuresName(int shardIndex, int shardCount);

}  // namespace cae::enhance
