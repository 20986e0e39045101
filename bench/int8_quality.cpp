// 8-bit inference (onednn::Options::int8) against f32 and bf16 for a denoiser, side by side in
// one process (issue 11): ranges calibrated with Net::calibrate on crops of the denoisers'
// training images (models/recipes/denoise-data.sh's nature backgrounds) with Gaussian noise of
// sigma 5-50; the design question (which values may be 8-bit) answered on other crops of those
// images (validation), never on the test list; then PSNR and time on the ANCHORS.md test list at
// sigma 15 / 25 / 50 (noise seed 4, as bench_denoise_quality). One oneDNN thread. Markdown on
// stdout (bench/reports/int8.md).
//
// Usage: bench_int8_quality MODEL.onnx [--crops N] [--keep-out V,...]
//   --crops N       calibration crops per training image (default 4)
//   --keep-out L    values (comma-separated) whose readers stay out of 8 bits in one more test
//                   configuration, e.g. the full-resolution features (denoise-gray: enc0_act,skip0)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "infer/onednn.hpp"
#include "onnx/graph.hpp"

namespace {

using namespace cae::infer;

const char* kTest[] = {"camera", "astronaut",         "coffee", "chelsea",
                       "rocket", "motorcycle_left",   "horse",  "moon",
                       "coins",  "hubble_deep_field", "text"};

cv::Mat blobOf(const cv::Mat& f) {  // CV_32F H×W, padded to a multiple of 16 -> 1×1×H×W
  cv::Mat p;
  cv::copyMakeBorder(f, p, 0, (16 - f.rows % 16) % 16, 0, (16 - f.cols % 16) % 16,
                     cv::BORDER_REFLECT_101);
  const int sz[] = {1, 1, p.rows, p.cols};
  cv::Mat b(4, sz, CV_32F);
  std::memcpy(b.ptr<float>(), p.ptr<float>(), p.total() * sizeof(float));
  return b;
}

double psnr(const cv::Mat& clean8, const cv::Mat& out) {
  cv::Mat o(out.size[2], out.size[3], CV_32F, const_cast<float*>(out.ptr<float>()));
  cv::Mat o8;
  o(cv::Rect(0, 0, clean8.cols, clean8.rows)).convertTo(o8, CV_8U, 255.0);
  return cv::PSNR(clean8, o8);
}

cv::Mat noisy(const cv::Mat& clean8, double sigma, cv::RNG& rng) {  // rounded to 8 bits, [0, 1]
  cv::Mat n(clean8.size(), CV_32F), x;
  rng.fill(n, cv::RNG::NORMAL, 0, sigma);
  clean8.convertTo(x, CV_32F);
  x += n;
  x.convertTo(x, CV_8U);
  x.convertTo(x, CV_32F, 1 / 255.0);
  return x;
}

// Crops of the training images: 192×192 at half size, `per` per image, clean 8-bit.
std::vector<cv::Mat> crops(int per, unsigned seed) {
  std::vector<std::string> files;
  cv::glob("/usr/share/backgrounds/mate/nature/*.jpg", files);
  std::mt19937 rng(seed);
  std::vector<cv::Mat> out;
  for (const std::string& f : files) {
    cv::Mat im = cv::imread(f, cv::IMREAD_GRAYSCALE);
    if (im.empty()) continue;
    cv::resize(im, im, {}, 0.5, 0.5, cv::INTER_AREA);
    for (int k = 0; k < per; ++k) {
      const int x = int(rng() % unsigned(im.cols - 192)), y = int(rng() % unsigned(im.rows - 192));
      out.push_back(im(cv::Rect(x, y, 192, 192)).clone());
    }
  }
  return out;
}

struct Ctx {
  const cae::onnx::Graph& g;
  onednn::Options o;  // f32, one thread
  std::vector<cv::Mat> val;
  double vf32 = 0;
};

double valPsnr(const Ctx& c, const cae::onnx::Graph& g, const onednn::Options& opt) {
  onednn::Net n(g, opt);
  cv::RNG r(9);
  double s = 0;
  for (const cv::Mat& v : c.val) s += psnr(v, n.forward(blobOf(noisy(v, 25, r))));
  return s / double(c.val.size());
}

// The graph with the weights of its convs of 16+ channels in and out (or of `only`) rounded to
// 8 bits as Options::int8 stores them: one step per output channel, the largest |w| at 127.
cae::onnx::Graph roundedWeights(const cae::onnx::Graph& g, const std::string& only) {
  cae::onnx::Graph q = g;
  for (const cae::onnx::Node& n : q.nodes) {
    if ((n.op != "Conv" && n.op != "ConvTranspose") || (!only.empty() && n.name != only)) continue;
    cae::onnx::Tensor& w = q.initializers.at(n.inputs[1]);
    const bool t = n.op == "ConvTranspose";
    const int64_t co = t ? w.dims[1] : w.dims[0], ci = t ? w.dims[0] : w.dims[1];
    const int64_t k = w.dims[2] * w.dims[3];
    if (co < 16 || ci < 16) continue;
    auto at = [&](int64_t oc, int64_t i, int64_t j) -> float& {
      return w.data[std::size_t((t ? i * co + oc : oc * ci + i) * k + j)];
    };
    for (int64_t oc = 0; oc < co; ++oc) {
      float m = 0;
      for (int64_t i = 0; i < ci; ++i)
        for (int64_t j = 0; j < k; ++j) m = std::max(m, std::abs(at(oc, i, j)));
      if (m <= 0) continue;
      for (int64_t i = 0; i < ci; ++i)
        for (int64_t j = 0; j < k; ++j) at(oc, i, j) = std::round(at(oc, i, j) / m * 127) * m / 127;
    }
  }
  return q;
}

// Validation, sigma 25: every value's 8-bit form left out in turn (its reader then in f32); then
// only the weights in 8 bits (an f32 run), all of them and each conv's alone.
void validation(Ctx& c, const onednn::Ranges& ranges) {
  onednn::Options all = c.o;
  all.int8 = ranges;
  c.vf32 = valPsnr(c, c.g, c.o);
  const double vall = valPsnr(c, c.g, all);
  std::printf(
      "## Validation (%zu other crops of the training images, sigma 25)\n\n"
      "| 8-bit | PSNR (dB) | vs f32 |\n|---|---|---|\n| none (f32) | %.3f | |\n"
      "| every eligible value | %.3f | %+.3f |\n",
      c.val.size(), c.vf32, vall, vall - c.vf32);
  for (const auto& [name, r] : ranges) {
    if (name.find("_act") == std::string::npos) continue;  // the values convs read
    onednn::Options one = all;
    one.int8.erase(name);
    const double v = valPsnr(c, c.g, one);
    std::printf("| all but %s | %.3f | %+.3f |\n", name.c_str(), v, v - c.vf32);
  }
  const double wall = valPsnr(c, roundedWeights(c.g, ""), c.o);
  std::printf(
      "\n| weights in 8 bits (f32 run) | PSNR (dB) | vs f32 |\n|---|---|---|\n"
      "| every conv of 16+ channels | %.3f | %+.3f |\n",
      wall, wall - c.vf32);
  for (const cae::onnx::Node& n : c.g.nodes) {
    if (n.op != "Conv" && n.op != "ConvTranspose") continue;
    const double v = valPsnr(c, roundedWeights(c.g, n.name), c.o);
    if (v != c.vf32) std::printf("| %s alone | %.3f | %+.3f |\n", n.name.c_str(), v, v - c.vf32);
  }
}

struct Cfg {
  std::string name;
  onednn::Options opt;
};

// The test list at sigma 15 / 25 / 50 through every configuration, interleaved per frame: PSNR,
// and time per 512×512 (the faster of two timed forwards after an untimed one, per frame).
void testList(const cae::onnx::Graph& g, const std::vector<Cfg>& cfgs) {
  std::vector<std::unique_ptr<onednn::Net>> nets;
  nets.reserve(cfgs.size());
  for (const Cfg& c : cfgs) nets.push_back(std::make_unique<onednn::Net>(g, c.opt));
  std::printf("\n## Test list (ANCHORS.md, %zu images as gray)\n\n| sigma |", std::size(kTest));
  for (const Cfg& c : cfgs) std::printf(" %s |", c.name.c_str());
  std::printf("\n|---|");
  for (std::size_t k = 0; k < cfgs.size(); ++k) std::printf("---|");
  std::printf("\n");
  std::vector<double> ms(cfgs.size(), 0.0);
  double pixels = 0;
  for (double sigma : {15.0, 25.0, 50.0}) {
    std::vector<double> s(cfgs.size(), 0.0);
    cv::RNG r(4);
    for (const char* name : kTest) {
      const std::string base = std::string("/usr/lib/python3/dist-packages/skimage/data/") + name;
      cv::Mat im = cv::imread(base + ".png", cv::IMREAD_GRAYSCALE);
      if (im.empty()) im = cv::imread(base + ".jpg", cv::IMREAD_GRAYSCALE);
      if (im.empty()) continue;
      const cv::Mat b = blobOf(noisy(im, sigma, r));
      pixels += double(im.total());
      for (std::size_t k = 0; k < nets.size(); ++k) {
        cv::Mat y = nets[k]->forward(b);
        double best = INFINITY;
        for (int rep = 0; rep < 2; ++rep) {
          const auto t0 = std::chrono::steady_clock::now();
          nets[k]->forward(b, y);
          best = std::min(
              best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                        .count());
        }
        ms[k] += best;
        s[k] += psnr(im, y);
      }
    }
    std::printf("| %.0f |", sigma);
    for (double v : s) std::printf(" %.3f |", v / double(std::size(kTest)));
    std::printf("\n");
  }
  std::printf("| ms per 512×512 |");
  for (double v : ms) std::printf(" %.1f |", v / pixels * 512 * 512);
  std::printf("\n| × f32's speed |");
  for (double v : ms) std::printf(" %.2f× |", ms[0] / v);
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_int8_quality MODEL.onnx [--crops N] [--keep-out V,...]\n");
    return 2;
  }
  const std::string model = argv[1];
  int per = 4;
  std::vector<std::string> keepOut;
  for (int a = 2; a + 1 < argc; a += 2) {
    const std::string k = argv[a], v = argv[a + 1];
    if (k == "--crops") {
      per = std::atoi(v.c_str());
    } else if (k == "--keep-out") {
      std::stringstream ss(v);
      for (std::string t; std::getline(ss, t, ',');) keepOut.push_back(t);
    } else {
      std::fprintf(stderr, "bench_int8_quality: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  const cae::onnx::Graph g = cae::onnx::readGraph(model);
  Ctx c{g, {}, crops(2, 8)};
  c.o.threads = 1;
  onednn::Net f32(g, c.o);
  onednn::Ranges ranges;
  const std::vector<cv::Mat> cal = crops(per, 7);
  std::mt19937 srng(3);
  cv::RNG nrng(5);
  for (const cv::Mat& m : cal)
    f32.calibrate(blobOf(noisy(m, 5 + double(srng() % 46), nrng)), ranges);
  std::printf(
      "# 8-bit inference: %s\n\nCalibration: %zu crops (192×192) of the training images, "
      "sigma 5-50; %zu values. Native VNNI: %s, native bf16: %s.\n\n",
      model.c_str(), cal.size(), ranges.size(), onednn::nativeInt8() ? "yes" : "no",
      onednn::nativeBf16() ? "yes" : "no");
  validation(c, ranges);

  // f32, bf16, int8 (the rest f32 or bf16), and int8 with --keep-out's readers in bf16.
  std::vector<Cfg> cfgs{
      {"f32", c.o}, {"bf16", c.o}, {"int8 (rest f32)", c.o}, {"int8 (rest bf16)", c.o}};
  cfgs[1].opt.bf16 = cfgs[3].opt.bf16 = true;
  cfgs[2].opt.int8 = cfgs[3].opt.int8 = ranges;
  if (!keepOut.empty()) {
    Cfg k{"int8 but kept-out (rest bf16)", cfgs[3].opt};
    std::string names;
    for (const std::string& v : keepOut) {
      k.opt.int8.erase(v);
      names += (names.empty() ? "" : ", ") + v;
    }
    const double v = valPsnr(c, g, k.opt);
    std::printf("\nValidation with %s kept out of 8 bits (rest bf16): %.3f dB (%+.3f vs f32).\n",
                names.c_str(), v, v - c.vf32);
    cfgs.push_back(k);
  }
  testList(g, cfgs);
  return 0;
}
