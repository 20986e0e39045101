// cae-demo: train a small denoising convolutional autoencoder on a real photo for about a minute,
// then denoise a held-out real image and show the before/after.
//
//   cae-demo [--train PHOTO]... [--eval IMAGE] [--seconds 60] [--sigma 25] [--out out/demo.png]
//
// Reads top to bottom: options → load images → build the model → train (Adam, cosine decay over
// the time budget) → denoise the evaluation image → print PSNR and write the side-by-side PNG.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "error.hpp"
#include "io/image.hpp"
#include "io/metrics.hpp"
#include "io/patches.hpp"
#include "nn/corruption/gaussian_noise.hpp"
#include "nn/layers/activation.hpp"
#include "nn/layers/conv2d.hpp"
#include "nn/layers/conv_transpose2d.hpp"
#include "nn/layers/merge.hpp"
#include "nn/losses/mse_loss.hpp"
#include "nn/model.hpp"
#include "nn/optim/adam.hpp"
#include "nn/optim/cosine_schedule.hpp"
#include "nn/parallel.hpp"
#include "nn/rng.hpp"

using namespace cae;
using namespace cae::nn;

namespace {

struct Options {
  std::vector<std::string> train;
  std::string eval = "/usr/lib/python3/dist-packages/skimage/data/camera.png";
  std::string out = "out/demo.png";
  double seconds = 60;
  double sigma = 25;  // in 8-bit grey levels
  int width = 32;     // feature channels
  int patch = 48;
  int batch = 16;
  double lr = 2e-3;
  std::uint64_t seed = 1;
  int threads = 0;  // 0: the engine's default
};

// Varied mate-backgrounds photos (bark, sky, sand, foliage); none is in the evaluation list.
const char* kDefaultTrainDir = "/usr/share/backgrounds/mate/nature/";
const char* kDefaultTrain[] = {"Wood.jpg", "Storm.jpg", "Blinds.jpg", "Dune.jpg", "Garden.jpg"};

void usage(FILE* f) {
  std::fprintf(f,
      "usage: cae-demo [options]\n"
      "Trains a small denoising convolutional autoencoder (grey-scale) on real photos, then\n"
      "denoises a held-out image and prints PSNR noisy -> denoised.\n\n"
      "  --train PATH     training photo; repeat for several (default: five photos from\n"
      "                   %s: Wood, Storm, Blinds, Dune, Garden)\n"
      "  --eval PATH      evaluation image, never trained on (default: skimage camera.png)\n"
      "  --seconds S      training time budget in seconds (default: 60)\n"
      "  --sigma S        Gaussian noise std-dev in 8-bit grey levels (default: 25)\n"
      "  --out PATH       side-by-side PNG: noisy | denoised | original (default: out/demo.png)\n"
      "  --width N        feature channels of the autoencoder (default: 32)\n"
      "  --patch N        training patch size, even (default: 48)\n"
      "  --batch N        patches per step (default: 16)\n"
      "  --lr X           Adam's peak learning rate (default: 0.002)\n"
      "  --seed N         seed for weights, patches and noise (default: 1)\n"
      "  --threads N      engine threads (default: OMP_NUM_THREADS or all cores)\n"
      "  --help           this text\n",
      kDefaultTrainDir);
}

// Parses --key value and --key=value; throws InvalidArgument with the offending text.
Options parseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string key = argv[i], value;
    if (key == "--help" || key == "-h") {
      usage(stdout);
      std::exit(0);
    }
    const std::size_t eq = key.find('=');
    if (eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      throw InvalidArgument("option " + key + " needs a value");
    }
    const auto number = [&](double lo, double hi) {
      char* end = nullptr;
      const double v = std::strtod(value.c_str(), &end);
      if (value.empty() || *end || !(v >= lo && v <= hi))
        throw InvalidArgument("bad value '" + value + "' for " + key);
      return v;
    };
    if (key == "--train") o.train.push_back(value);
    else if (key == "--eval") o.eval = value;
    else if (key == "--out") o.out = value;
    else if (key == "--seconds") o.seconds = number(0.1, 1e6);
    else if (key == "--sigma") o.sigma = number(0, 255);
    else if (key == "--width") o.width = int(number(1, 512));
    else if (key == "--patch") o.patch = int(number(4, 1024));
    else if (key == "--batch") o.batch = int(number(1, 4096));
    else if (key == "--lr") o.lr = number(0, 1);
    else if (key == "--seed") o.seed = std::uint64_t(number(0, 1e15));
    else if (key == "--threads") o.threads = int(number(1, 1024));
    else throw InvalidArgument("unknown option " + key + " (see --help)");
  }
  if (o.train.empty())
    for (const char* name : kDefaultTrain) o.train.push_back(std::string(kDefaultTrainDir) + name);
  if (o.patch % 2) throw InvalidArgument("--patch must be even (the encoder halves it)");
  return o;
}

// Residual denoising conv AE: encoder conv + strided conv (half resolution), decoder transposed
// conv back up, a last conv to one channel, plus the input — the network learns the negative
// noise (DnCNN-style residual learning, Zhang et al. 2017).
Model buildDenoiser(int width, int patch, std::uint64_t seed) {
  Model m(Shape{1, 1, patch, patch});
  m.add(std::make_unique<Conv2d>(Conv2dOptions{1, width, 3, 0, 0, 1, 1}));
  m.add(std::make_unique<ReLU>());
  m.add(std::make_unique<Conv2d>(Conv2dOptions{width, width, 3, 0, 0, 2, 1}));
  m.add(std::make_unique<ReLU>());
  m.add(std::make_unique<ConvTranspose2d>(ConvTranspose2dOptions{width, width, 4, 2, 1}));
  m.add(std::make_unique<ReLU>());
  m.add(std::make_unique<Conv2d>(Conv2dOptions{width, width, 3, 0, 0, 1, 1}));
  m.add(std::make_unique<ReLU>());
  const int r = m.add(std::make_unique<Conv2d>(Conv2dOptions{width, 1, 3, 0, 0, 1, 1}));
  m.add(std::make_unique<Add>(), {r, Model::kInput});
  m.compile();
  m.initialize(seed);
  // A zero last layer starts the network at the identity (output = noisy input), so training
  // only ever improves on the input instead of first undoing a random residual.
  Layer& last = m.layer(r);
  std::fill(last.w(), last.w() + last.numParams(), Scalar(0));
  return m;
}

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run(const Options& o) {
  if (o.threads > 0) setThreads(o.threads);

  // 1. Load: the evaluation image first (a typo fails fast), then the training photos, all
  // grey-scale in [0, 1]; make sure the output folder exists before spending a minute training.
  Tensor clean = io::readImage(o.eval, io::ColorMode::Gray);
  // The encoder halves the resolution and the decoder doubles it: use even sizes.
  clean = io::crop(clean, 0, 0, clean.shape().h & ~1, clean.shape().w & ~1);
  std::fprintf(stderr, "eval   %s (%dx%d)\n", o.eval.c_str(), clean.shape().w, clean.shape().h);
  std::vector<Tensor> photos;
  for (const std::string& path : o.train) {
    photos.push_back(io::readImage(path, io::ColorMode::Gray));
    std::fprintf(stderr, "train  %s (%dx%d)\n", path.c_str(), photos.back().shape().w,
                 photos.back().shape().h);
  }
  const std::filesystem::path outPath(o.out);
  if (outPath.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(outPath.parent_path(), ec);
    if (ec) throw IoError("cannot create folder '" + outPath.parent_path().string() + "': " +
                          ec.message());
  }

  // 2. Build: the model, the noise, the loss, the optimizer and its schedule.
  Model model = buildDenoiser(o.width, o.patch, o.seed);
  const GaussianNoise noise(Scalar(o.sigma / 255));
  const MseLoss mse;
  Adam adam(AdamOptions{o.lr});
  // The schedule runs over thousandths of the time budget, since the step count is not known.
  const CosineSchedule schedule(o.lr, 1000, 20, o.lr / 50);
  Rng rng(o.seed);
  std::fprintf(stderr, "model  %zu parameters, sigma %.1f, %d threads, %.0f s\n",
               model.numParams(), o.sigma, threads(), o.seconds);

  // 3. Train until the time budget is spent.
  Tensor batchClean, batchNoisy, grad;
  const auto t0 = std::chrono::steady_clock::now();
  double lastReport = 0, lossSum = 0;
  long steps = 0, lossCount = 0;
  while (since(t0) < o.seconds) {
    adam.setLearningRate(schedule.lr(std::uint64_t(1000 * since(t0) / o.seconds)));
    io::samplePatches(photos, o.batch, o.patch, o.patch, rng, batchClean);
    noise.apply(batchClean, batchNoisy, rng);
    lossSum += mse.compute(model.forward(batchNoisy), batchClean, &grad);
    ++lossCount;
    model.backward(grad);
    adam.step(model.params(), model.grads());
    ++steps;
    const double t = since(t0);
    if (t - lastReport >= 5 || t >= o.seconds) {
      std::fprintf(stderr, "step %6ld  %5.1f s  loss %.5f  lr %.2e  %6.0f patches/s\n", steps, t,
                   lossSum / double(lossCount), adam.learningRate(),
                   double(steps) * o.batch / t);
      lastReport = t;
      lossSum = 0;
      lossCount = 0;
    }
  }
  const double trainSeconds = since(t0);

  // 4. Denoise the whole evaluation image (the model is fully convolutional).
  Rng evalRng(o.seed + 1);
  Tensor noisy;
  noise.apply(clean, noisy, evalRng);
  const auto t1 = std::chrono::steady_clock::now();
  Tensor denoised = model.forward(noisy);
  const double inferSeconds = since(t1);
  denoised.vec() = denoised.vec().cwiseMax(Scalar(0)).cwiseMin(Scalar(1));
  noisy.vec() = noisy.vec().cwiseMax(Scalar(0)).cwiseMin(Scalar(1));  // as an 8-bit file holds it

  // 5. Report and write noisy | denoised | original.
  const double before = io::psnr(noisy, clean), after = io::psnr(denoised, clean);
  std::fprintf(stderr, "trained %ld steps (%ld patches of %dx%d) in %.1f s; denoised %dx%d in "
               "%.2f s\n", steps, steps * o.batch, o.patch, o.patch, trainSeconds,
               clean.shape().w, clean.shape().h, inferSeconds);
  std::printf("PSNR noisy %.2f dB -> denoised %.2f dB (%+.2f dB)\n", before, after,
              after - before);
  io::writePng(o.out, io::sideBySide({noisy, denoised, clean}));
  std::printf("wrote %s (noisy | denoised | original)\n", o.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parseOptions(argc, argv));
  } catch (const InvalidArgument& e) {
    std::fprintf(stderr, "cae-demo: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cae-demo: error: %s\n", e.what());
    return 1;
  }
}
