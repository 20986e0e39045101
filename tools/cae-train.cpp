// cae-train: train an autoencoder on your own images and write one ONNX model file.
//
//   cae-train [train] DATA... -o model.onnx [options]     train (see --help for every option)
//   cae-train sample --model m.decoder.onnx --count 16 --out samples.png
//
// Reads top to bottom: options (cae-train-options.hpp) → TrainConfig → Trainer::run() with a
// progress line on stderr and SIGINT wired to the cancel flag → summary. Everything numeric
// lives in core/train.
// Exit codes: 0 done, 1 runtime error (data, files, diverged), 2 bad options, 130 interrupted
// (a checkpoint was written; continue with --resume).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "cae-train-options.hpp"
#include "error.hpp"
#include "train/cli_text.hpp"
#include "train/sampler.hpp"
#include "train/trainer.hpp"
#include "train/training_data.hpp"

using namespace cae;
using namespace cae::train;
using namespace cae::train::cli;

namespace {

std::atomic<bool> gCancel{false};
std::atomic<bool> gCheckpoint{false};

extern "C" void onInterrupt(int) {
  gCancel.store(true);
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C kills at once
}
extern "C" void onUsr1(int) { gCheckpoint.store(true); }

std::string duration(double s) {
  char buf[32];
  if (s < 0 || s > 1e7) return "?";
  const long t = std::lround(s);
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  return buf;
}

// One line on stderr: rewritten in place on a terminal, a plain line every few seconds (and at
// each epoch's end) when stderr is a file or pipe.
class ProgressLine {
 public:
  explicit ProgressLine(bool quiet) : quiet_(quiet), tty_(::isatty(STDERR_FILENO) == 1) {}
  ~ProgressLine() { done(); }

  void operator()(const Progress& p) {
    if (quiet_) return;
    const auto now = std::chrono::steady_clock::now();
    const double since = std::chrono::duration<double>(now - last_).count();
    const bool epochEnd = p.step >= p.steps;
    if (since < (tty_ ? 0.2 : 5.0) && !epochEnd) return;
    last_ = now;
    char val[32] = "-";
    if (p.valLoss >= 0) std::snprintf(val, sizeof val, "%.5g", p.valLoss);
    const int width = 20, filled = p.steps ? width * p.step / p.steps : 0;
    std::string bar(std::size_t(filled), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "%s%s epoch %d/%d [%s] loss %.5g  val %s  %.0f patches/s  ETA %s%s",
                 tty_ ? "\r" : "", p.stage.c_str(), p.epoch, p.epochs, bar.c_str(), p.loss, val,
                 p.patchesPerSecond, duration(p.etaSeconds).c_str(), tty_ ? "\x1b[K" : "\n");
    if (tty_ && epochEnd) std::fputc('\n', stderr);
    open_ = tty_ && !epochEnd;
    std::fflush(stderr);
  }
  void done() {
    if (open_) std::fputc('\n', stderr);
    open_ = false;
  }

 private:
  bool quiet_, tty_, open_ = false;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

// --list-validation: the held-out files, one per line, for scoring a model on them outside the
// trainer (bench/audio_denoise.py --validation).
int listValidation(const TrainConfig& c) {
  const AudioValidationFiles v = audioValidationFiles(c);
  const char* kind = c.task == TrainTask::AudioAnomaly ? "sound" : "speech";
  for (const std::string& f : v.sounds) std::printf("%s %s\n", kind, f.c_str());
  for (const std::string& f : v.noise) std::printf("noise %s\n", f.c_str());
  return 0;
}

int runSample(const std::string& model, int count, std::uint64_t seed, const std::string& out) {
  writeVaeSamples(model, count, seed, out);
  std::printf("wrote %s (%d samples decoded from N(0, I) latents)\n", out.c_str(), count);
  return 0;
}

// Trains with a progress line on stderr and SIGINT wired to the cancel flag; the exit code.
int runTraining(const TrainConfig& c, bool quiet) {
  std::signal(SIGINT, onInterrupt);
  std::signal(SIGTERM, onInterrupt);
  std::signal(SIGUSR1, onUsr1);
  Trainer trainer(c);
  ProgressLine progress(quiet);
  trainer.setProgress([&](const Progress& p) { progress(p); });
  trainer.setMessages([&](const std::string& line) {
    if (quiet) return;
    progress.done();
    std::fprintf(stderr, "%s%s", line.c_str(), line.empty() || line.back() != '\n' ? "\n" : "");
  });
  trainer.setCancelFlag(&gCancel);
  trainer.setCheckpointFlag(&gCheckpoint);
  const TrainResult r = trainer.run();
  progress.done();
  if (r.cancelled) {
    std::fprintf(stderr,
                 "cae-train: interrupted; checkpoint written to %s; continue with the "
                 "same command plus --resume\n",
                 trainer.checkpointPath().c_str());
    return 130;
  }
  std::printf("%s", r.summary.c_str());
  if (r.earlyStopped)
    std::printf("stopped early (no better validation loss for %d epochs)\n", c.patience);
  const bool codec = c.task == TrainTask::Compress;
  std::printf("wrote %s%s\n", r.output.c_str(), codec ? " (the codec's encoder)" : "");
  if (!r.decoderOutput.empty() && codec)
    std::printf("wrote %s (the codec's decoder)\n", r.decoderOutput.c_str());
  else if (!r.decoderOutput.empty())
    std::printf("wrote %s (cae-train sample --model %s)\n", r.decoderOutput.c_str(),
                r.decoderOutput.c_str());
  if (!trainer.logPath().empty()) std::printf("log   %s\n", trainer.logPath().c_str());
  if (!trainer.lossCurvePath().empty() && c.arch.kind != ArchKind::Pca)
    std::printf("curve %s\n", trainer.lossCurvePath().c_str());
  return 0;
}

int run(int argc, char** argv) {
  // "cae-train train ..." and "cae-train ..." are the same command.
  std::vector<const char*> args(argv, argv + argc);
  if (argc > 1 && std::string(argv[1]) == "train") args.erase(args.begin() + 1);
  // The recipe retrains from scratch, so it leaves out --resume.
  std::vector<const char*> recipeArgs;
  for (int i = 0; i < argc; ++i)
    if (std::string(argv[i]) != "--resume") recipeArgs.push_back(argv[i]);
  const std::string recipe = shellJoin(int(recipeArgs.size()), recipeArgs.data());

  CLI::App app{
      "cae-train: train an autoencoder on images and write one ONNX model file.\n"
      "Every variant of the autoencoder literature: undercomplete, deep, stacked, "
      "sparse, denoising, contractive, convolutional, variational; PCA as the baseline.\n"
      "Example: cae-train photos/ --arch conv --latent 8 --task denoise --noise gaussian "
      "--sigma 25 -o denoise.onnx",
      "cae-train"};
  app.get_formatter()->column_width(34);
  Options o;
  addTrainOptions(app, o);
  CLI::App* sample = addSampleCommand(app, o);
  app.require_subcommand(0, 1);

  try {
    app.parse(int(args.size()), args.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "cae-train: %s (see --help)\n", e.what());
    return 2;
  }

  try {
    finishOptions(app, o);
    if (sample->parsed()) return runSample(o.sampleModel, o.sampleCount, o.sampleSeed, o.sampleOut);
    if (o.listValidation) return listValidation(configOf(o, recipe));
    return runTraining(configOf(o, recipe), o.quiet);
  } catch (const InvalidArgument& e) {
    std::fprintf(stderr, "cae-train: %s\n", e.what());
    return 2;
  } catch (const TrainingDiverged& e) {
    std::fprintf(stderr, "\ncae-train: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cae-train: error: %s\n", e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {  // a mistake in the option table itself, or bad_alloc
    std::fprintf(stderr, "cae-train: error: %s\n", e.what());
    return 1;
  } catch (...) {
    std::fprintf(stderr, "cae-train: error: unknown exception\n");
    return 1;
  }
}
