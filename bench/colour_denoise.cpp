// Colour denoising with a gray model (issue 11: "an RGB model or a documented reason why
// per-plane gray is as good"), side by side in one process on the colour images of the ANCHORS.md
// test list, with independent Gaussian noise per channel (fixed seed, rounded and clipped to 8
// bits; PSNR over the three 8-bit channels):
//   per-plane  R, G and B each denoised by the gray model, as caedenoise runs an RGB-type frame
//              through a gray model today (cae::infer::runPlanes on the frame's planes);
//   opponent   runPlanes with Colour::Opponent, as caedenoise now runs an RGB-type frame through a
//              gray model: luma and two opponent channels (Y = (R+G+B)/3, C1 = (R-B)/2 + 1/2,
//              C2 = (R-2G+B)/4 + 1/2: each in [0, 1], with less noise than a channel: sigma/sqrt3,
//              sigma/sqrt2, sigma*sqrt6/4), each denoised by the same blind gray model, and
//              turned back: CBM3D's decorrelation, no new model;
//   NLM        OpenCV fastNlMeansDenoisingColored (h = hColor = ANCHORS' tuned h: 13.5 / 22.5 /
//   40).
// Prints a markdown report on stdout.
//
// Usage: bench_colour_denoise MODEL.onnx [--sigmas 15,25,50] [--backend auto|onednn|opencv]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/photo.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "infer/engine.hpp"
#include "infer/planes.hpp"

namespace {

using Clock = std::chrono::steady_clock;
const std::string kImages = "/usr/lib/python3/dist-packages/skimage/data/";
// The colour images of the ANCHORS.md test list (the others are gray or two-level).
const std::vector<std::string> kColour = {"astronaut.png",       "coffee.png",
                                          "chelsea.png",         "rocket.jpg",
                                          "motorcycle_left.png", "hubble_deep_field.jpg"};

double ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

cv::Mat noisy(const cv::Mat& clean, double sigma, int seed) {
  cv::Mat n(clean.size(), CV_32FC3), f;
  cv::RNG rng(seed);
  rng.fill(n, cv::RNG::NORMAL, 0, sigma);
  clean.convertTo(f, CV_32FC3);
  cv::Mat out;
  cv::Mat(f + n).convertTo(out, CV_8UC3);  // rounds and saturates
  return out;
}

cae::PlaneView planeOf(cv::Mat& bgr, int c) { return cae::infer::viewOf(bgr, c); }

cv::Mat perPlane(cae::infer::Engine& e, const cv::Mat& in) {
  cv::Mat src = in.clone(), out = in.clone();
  std::vector<cae::PlaneView> pi, po;
  for (int c = 0; c < 3; ++c) {
    pi.push_back(planeOf(src, c));
    po.push_back(planeOf(out, c));
  }
  cae::infer::runPlanes(e, pi, po, 1.0);
  return out;
}

cv::Mat opponent(cae::infer::Engine& e, const cv::Mat& in) {
  cv::Mat src = in.clone(), out = in.clone();
  // R, G, B in that order (packed BGR: R is byte 2).
  const std::vector<cae::PlaneView> pi = {planeOf(src, 2), planeOf(src, 1), planeOf(src, 0)};
  const std::vector<cae::PlaneView> po = {planeOf(out, 2), planeOf(out, 1), planeOf(out, 0)};
  cae::infer::runPlanes(e, pi, po, 1.0, cae::infer::Colour::Opponent);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help") {
    std::fprintf(stderr,
                 "usage: bench_colour_denoise MODEL.onnx [--sigmas 15,25,50] [--backend B]\n");
    return 2;
  }
  cae::infer::EngineOptions o;
  o.model = argv[1];
  o.task = cae::onnx::Task::Denoise;
  std::vector<double> sigmas = {15, 25, 50};
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--backend") {
      o.backend = cae::infer::parseBackend(v);
    } else if (k == "--sigmas") {
      sigmas.clear();
      std::stringstream ss(v);
      for (std::string t; std::getline(ss, t, ',');) sigmas.push_back(std::atof(t.c_str()));
    } else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  cae::infer::Engine e(o);
  const std::map<double, double> h = {{15, 13.5}, {25, 22.5}, {50, 40}};
  std::printf(
      "| image | sigma | noisy | per-plane (R, G, B) | opponent (Y, C1, C2) | OpenCV NLM colored "
      "|\n");
  std::printf("|---|---|---|---|---|---|\n");
  std::map<double, std::vector<double>> sum;
  std::vector<double> t(3, 0.0);
  double pixels = 0;
  for (double s : sigmas) sum[s] = std::vector<double>(4, 0.0);
  int seed = 1;
  for (const std::string& name : kColour) {
    const cv::Mat clean = cv::imread(kImages + name, cv::IMREAD_COLOR);
    if (clean.empty()) {
      std::fprintf(stderr, "cannot read %s%s (python3-skimage)\n", kImages.c_str(), name.c_str());
      return 1;
    }
    for (double s : sigmas) {
      const cv::Mat x = noisy(clean, s, seed++);
      auto t0 = Clock::now();
      const cv::Mat a = perPlane(e, x);
      auto t1 = Clock::now();
      const cv::Mat b = opponent(e, x);
      auto t2 = Clock::now();
      cv::Mat c;
      const double hh = h.count(s) ? h.at(s) : s * 0.9;
      cv::fastNlMeansDenoisingColored(x, c, float(hh), float(hh), 7, 21);
      auto t3 = Clock::now();
      t[0] += ms(t0, t1);
      t[1] += ms(t1, t2);
      t[2] += ms(t2, t3);
      pixels += double(x.total());
      const double p[4] = {cv::PSNR(x, clean), cv::PSNR(a, clean), cv::PSNR(b, clean),
                           cv::PSNR(c, clean)};
      for (int k = 0; k < 4; ++k) sum[s][std::size_t(k)] += p[k] / double(kColour.size());
      std::printf("| %s | %g | %.2f | %.2f | %.2f | %.2f |\n", name.c_str(), s, p[0], p[1], p[2],
                  p[3]);
    }
  }
  std::printf(
      "\n| sigma | noisy | per-plane (R, G, B) | opponent (Y, C1, C2) | opponent − per-plane | "
      "OpenCV NLM colored |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (double s : sigmas) {
    const auto& m = sum[s];
    std::printf("| %g | %.2f | %.2f | %.2f | %+.2f | %.2f |\n", s, m[0], m[1], m[2], m[2] - m[1],
                m[3]);
  }
  const double per512 = 512.0 * 512.0 / pixels;
  std::printf(
      "\nTime per 512×512 colour frame (all images and sigmas; model on %s): per-plane "
      "%.0f ms, opponent %.0f ms, NLM colored %.0f ms.\n",
      cae::infer::backendName(e.backendInUse()).c_str(), t[0] * per512, t[1] * per512,
      t[2] * per512);
  return 0;
}
