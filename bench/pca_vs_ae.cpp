// Reconstruction error against latent size for PCA, a linear autoencoder, a dense nonlinear
// autoencoder and a convolutional autoencoder, all on 16×16 gray patches of the same real
// images, evaluated on held-out patches of the ANCHORS.md test images. The autoencoders are
// trained by cae::train::Trainer (what cae-train runs) and evaluated from their exported ONNX
// files in OpenCV DNN; PCA is fitted on patches of the same training images.
// Prints one JSON line per (method, latent). Usage: bench_pca_vs_ae [steps-scale 1.0] [outdir]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <opencv2/dnn.hpp>
#include <string>
#include <vector>

#include "io/metrics.hpp"
#include "train/dataset.hpp"
#include "train/pca.hpp"
#include "train/trainer.hpp"

using namespace cae;
namespace fs = std::filesystem;

namespace {

const char* kSkimage = "/usr/lib/python3/dist-packages/skimage/data/";
const int kPatch = 16;

std::vector<std::string> trainFiles() {
  // Real images not in the test list: textures and the mate-backgrounds photographs.
  std::vector<std::string> f;
  for (const char* n : {"brick.png", "grass.png", "gravel.png"})
    f.push_back(kSkimage + std::string(n));
  f.push_back("/usr/share/backgrounds/mate/nature");
  return f;
}

std::vector<std::string> testFiles() {
  std::vector<std::string> f;
  for (const char* n : {"camera.png", "astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg",
                        "motorcycle_left.png", "horse.png", "moon.png", "coins.png",
                        "hubble_deep_field.jpg", "text.png"})
    f.push_back(kSkimage + std::string(n));
  return f;
}

double mseOf(const nn::Tensor& a, const nn::Tensor& b) {
  return (a.vec() - b.vec()).squaredNorm() / double(a.size());
}

nn::Tensor runOnnx(const std::string& path, const nn::Tensor& x) {
  cv::dnn::Net net = cv::dnn::readNetFromONNX(path);
  const nn::Shape s = x.shape();
  int dims[] = {s.n, s.c, s.h, s.w};
  cv::Mat blob(4, dims, CV_32F, const_cast<float*>(x.data()));
  net.setInput(blob);
  cv::Mat y = net.forward();
  nn::Tensor out(s);
  std::copy(y.ptr<float>(), y.ptr<float>() + out.size(), out.data());
  return out;
}

void report(const char* method, int k, double mse, double seconds) {
  std::printf("{\"method\":\"%s\",\"latent\":%d,\"mse\":%.6g,\"psnr\":%.3f,\"train_s\":%.1f}\n",
              method, k, mse, 10 * std::log10(1.0 / mse), seconds);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const double scale = argc > 1 ? std::atof(argv[1]) : 1.0;
  const fs::path outdir = argc > 2 ? argv[2] : fs::temp_directory_path() / "cae_pca_vs_ae";
  fs::create_directories(outdir);

  train::LoadOptions lo;
  lo.channels = 1;
  train::BatchSource::Options bo;
  bo.patchH = bo.patchW = kPatch;
  const train::BatchSource trainSrc(train::loadImages(trainFiles(), lo), bo);
  const train::BatchSource testSrc(train::loadImages(testFiles(), lo), bo);
  const nn::Tensor fitSet = trainSrc.fixed(20000, 11);
  const nn::Tensor test = testSrc.fixed(5000, 12);

  train::Pca full;
  full.fit(fitSet, 64);
  for (int k : {8, 16, 32, 64}) {
    const train::Pca p = full.truncated(k);
    report("pca", k, mseOf(p.reconstruct(test), test), 0);

    struct Variant {
      const char* name;
      train::ArchSpec arch;
      int steps, batch;
      double lr;
    };
    std::vector<Variant> variants;
    train::ArchSpec lin;
    lin.kind = train::ArchKind::Dense;
    lin.channels = 1;
    lin.height = lin.width = kPatch;
    lin.dense = {kPatch * kPatch, k};
    lin.activation = "linear";
    lin.output = "linear";
    variants.push_back({"linear-ae", lin, 20000, 128, 2e-3});
    train::ArchSpec dense = lin;
    dense.dense = {kPatch * kPatch, 256, k};
    dense.activation = "relu";
    variants.push_back({"dense-ae", dense, 8000, 128, 2e-3});
    train::ArchSpec conv;
    conv.kind = train::ArchKind::Conv;
    conv.channels = 1;
    conv.height = conv.width = kPatch;
    conv.depth = 2;
    conv.stages = 3;  // 16 → 2×2 code
    conv.width0 = 32;
    conv.maxChannels = 64;
    conv.latent = k / 4;  // k values on a 2×2 grid
    conv.output = "linear";
    variants.push_back({"conv-ae", conv, 1200, 32, 2e-3});

    for (const Variant& v : variants) {
      train::TrainConfig c;
      c.data = trainFiles();
      c.patch = kPatch;
      c.arch = v.arch;
      c.batch = v.batch;
      c.stepsPerEpoch = 200;
      c.epochs = std::max(1, int(v.steps * scale / 200));
      c.lr = v.lr;
      c.schedule = train::ScheduleKind::Cosine;
      c.seed = 5;
      c.output = (outdir / (std::string(v.name) + "-" + std::to_string(k) + ".onnx")).string();
      c.log = c.lossCurve = "-";
      c.recipe = "bench_pca_vs_ae";
      const auto t0 = std::chrono::steady_clock::now();
      train::Trainer t(c);
      std::fprintf(stderr, "%s K=%d: %d steps of %d\n", v.name, k, c.epochs * c.stepsPerEpoch,
                   c.batch);
      t.run();
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      report(v.name, k, mseOf(runOnnx(c.output, test), test), secs);
    }
  }
  return 0;
}
