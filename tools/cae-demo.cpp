// cae-demo: the two ends of the main job (./run-demo), around a gst-launch-1.0 pipeline that
// runs caedenoise on a noisy clip made from a real photograph.
//
//   cae-demo prepare IMAGE DIR [--sigma 25] [--frames 10]
//       → DIR/clean.png, DIR/noisy/00000.png…
//   gst-launch-1.0 multifilesrc location=DIR/noisy/%05d.png … ! caedenoise ! …
//       ! multifilesink location=DIR/denoised/%05d.png
//   cae-demo report DIR [--out demo.png]
//       → PSNR noisy → denoised, before/after
//
// Every noisy frame has its own noise draw (a static scene filmed by a noisy sensor), so the
// reported PSNR is a mean over independent noise.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "error.hpp"
#include "io/image.hpp"
#include "io/metrics.hpp"
#include "nn/rng.hpp"

namespace fs = std::filesystem;
using namespace cae;

namespace {

std::string frameName(int i) {
  char b[32];
  std::snprintf(b, sizeof b, "%05d.png", i);
  return b;
}

int prepare(const std::string& image, const fs::path& dir, double sigma, int frames,
            std::uint64_t seed) {
  const nn::Tensor clean = io::readImage(image, io::ColorMode::Gray);
  fs::create_directories(dir / "noisy");
  io::writePng((dir / "clean.png").string(), clean);
  nn::Rng rng(seed);
  for (int f = 0; f < frames; ++f) {
    nn::Tensor noisy = clean;
    for (std::size_t i = 0; i < noisy.size(); ++i)
      noisy[i] += rng.normal(0, nn::Scalar(sigma / 255.0));  // writePng clips to [0, 1]
    io::writePng((dir / "noisy" / frameName(f)).string(), noisy);
  }
  std::printf("%s: %d frames with Gaussian noise sigma %g (8-bit levels) in %s\n", image.c_str(),
              frames, sigma, (dir / "noisy").c_str());
  return 0;
}

int report(const fs::path& dir, const std::string& out) {
  const nn::Tensor clean = io::readImage((dir / "clean.png").string(), io::ColorMode::Gray);
  double before = 0, after = 0;
  int n = 0;
  nn::Tensor firstNoisy, firstDenoised;
  for (;; ++n) {
    const fs::path a = dir / "noisy" / frameName(n), b = dir / "denoised" / frameName(n);
    if (!fs::exists(a)) break;
    if (!fs::exists(b)) throw IoError("the pipeline wrote no '" + b.string() + "'");
    const nn::Tensor noisy = io::readImage(a.string(), io::ColorMode::Gray);
    const nn::Tensor denoised = io::readImage(b.string(), io::ColorMode::Gray);
    before += io::psnr(noisy, clean);
    after += io::psnr(denoised, clean);
    if (n == 0) {
      firstNoisy = noisy;
      firstDenoised = denoised;
    }
  }
  if (n == 0) throw IoError("no frames in '" + (dir / "noisy").string() + "'");
  before /= n;
  after /= n;
  io::writePng(out, io::sideBySide({firstNoisy, firstDenoised, clean}));
  std::printf("PSNR noisy %.2f dB -> denoised %.2f dB (%+.2f dB), mean of %d frames\n", before,
              after, after - before, n);
  std::printf("before | after | original: %s\n", out.c_str());
  return 0;
}

int run(int argc, char** argv) {
  CLI::App app{"cae-demo: make a noisy clip from a photograph, and score a denoised one"};
  app.require_subcommand(1);
  std::string image, dir, out;
  double sigma = 25;
  int frames = 10;
  std::uint64_t seed = 1;
  CLI::App* prep = app.add_subcommand("prepare", "DIR/clean.png and DIR/noisy/%05d.png");
  prep->add_option("image", image, "a photograph (converted to gray)")->required();
  prep->add_option("dir", dir, "output folder")->required();
  prep->add_option("--sigma", sigma, "noise std-dev in 8-bit levels")
      ->check(CLI::Range(0.0, 255.0))
      ->capture_default_str();
  prep->add_option("--frames", frames, "frames, each with its own noise")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  prep->add_option("--seed", seed, "noise seed")->capture_default_str();
  CLI::App* rep = app.add_subcommand("report", "PSNR of DIR/denoised against DIR/clean.png");
  rep->add_option("dir", dir, "the folder prepare wrote, with denoised/ beside noisy/")->required();
  rep->add_option("--out", out,
                  "side-by-side PNG: noisy | denoised | original (default DIR/demo.png)");
  CLI11_PARSE(app, argc, argv);
  try {
    if (*prep) return prepare(image, dir, sigma, frames, seed);
    return report(dir, out.empty() ? (fs::path(dir) / "demo.png").string() : out);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cae-demo: %s\n", e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {  // a mistake in the option table itself
    std::fprintf(stderr, "cae-demo: %s\n", e.what());
    return 1;
  }
}
