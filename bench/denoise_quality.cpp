// Denoising quality and speed (issue 4), side by side in one process: the ANCHORS.md test list
// converted to gray, additive white Gaussian noise (fixed seed, 8-bit, clipped), PSNR on 8 bits.
// Methods on the same noisy frames: each model given on the command line, run exactly as
// caedenoise runs it (cae::infer::Engine + runPlanes) on each inference backend asked for;
// OpenCV fastNlMeansDenoising with ANCHORS' tuned h; ffmpeg's bm3d filter (basic estimate) over
// raw gray frames in temp files.
// Prints JSON lines: one per (method, backend, image, sigma), one mean per (method, backend,
// sigma), OpenCV NLM speed at video sizes, and with several backends one check per model that
// they give the same output; with --card, one model's per-sigma PSNR table in markdown instead.
//
// Usage: bench_denoise_quality [options] MODEL.onnx...
//   --images N        the first N images of the test list (default all 11)
//   --sigmas LIST     comma-separated noise sigmas (default 15,25,50)
//   --seed S          noise seed (default 4); the noise of (image i, sigma s) depends on S, i, s
//   --threads T       OpenCV threads for NLM and the models (default 2)
//   --model-threads T the models' threads when not T (EngineOptions::threads; 0: the element's
//                     default, i.e. OpenCV's process-wide setting, onednn::kDefaultThreads)
//   --backends LIST   inference backends the models run on, each in turn: auto, onednn, opencv,
//                     and onednn-bf16 (oneDNN with EngineOptions::precision bf16) (default auto;
//                     --card uses the first)
//   --repeat R        timed runs per frame, median reported (default 1)
//   --no-nlm, --no-bm3d, --bm3d (bm3d is off by default with --card)
//   --bm3d-scale F    ffmpeg's sigma = F × noise sigma (default 3.75, see kBm3dScale)
//   --bm3d-opts STR   further bm3d options (default "estim=basic")
//   --speed-sizes L   NLM speed at these WxH sizes (default 640x480,1280x720,1920x1080; "" none)
//   --card            markdown table of ONE model (with noisy and NLM beside) on stdout
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/photo.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "infer/engine.hpp"
#include "infer/onednn.hpp"
#include "infer/planes.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

const char* kSkimage = "/usr/lib/python3/dist-packages/skimage/data/";
const char* kTestList[] = {"camera.png", "astronaut.png",         "coffee.png", "chelsea.png",
                           "rocket.jpg", "motorcycle_left.png",   "horse.png",  "moon.png",
                           "coins.png",  "hubble_deep_field.jpg", "text.png"};
// ffmpeg's bm3d sigma is not the noise's sigma (its transform is scaled otherwise): on camera.png,
// ffmpeg sigma = 3.75 × noise sigma is within 0.02 dB of the best scale at 15, 25 and 50 (2 to 8
// tried). Other options stay at their defaults (group 1, block 16, bstep 4): group 16 left the
// noise in (21 dB at sigma 25) at 9× the time; bstep 2 gains 0.2 dB for 2.7× the time.
const double kBm3dScale = 3.75;

// ANCHORS.md "Image denoising": mean PSNR over the test list, for the card.
struct Anchor {
  int sigma;
  double noisy, nlm, bm3d;
};
const Anchor kAnchors[] = {
    {15, 25.10, 31.56, 31.85}, {25, 20.81, 29.09, 28.95}, {50, 15.19, 25.14, 25.27}};

// A backend and the precision it computes in ("onednn-bf16": oneDNN in bf16).
struct Choice {
  cae::infer::Backend backend = cae::infer::Backend::Auto;
  cae::infer::Precision precision = cae::infer::Precision::F32;
};

std::string choiceName(const Choice& c) {
  return cae::infer::backendName(c.backend) +
         (c.precision == cae::infer::Precision::Bf16 ? "-bf16" : "");
}

// What an engine runs on, named as --backends names it.
std::string runName(const cae::infer::Engine& e) {
  return choiceName({e.backendInUse(), e.precisionInUse()});
}

struct Options {
  std::vector<std::string> models;
  std::vector<Choice> backends = {Choice{}};
  int images = 11;
  std::vector<int> sigmas = {15, 25, 50};
  unsigned seed = 4;
  int threads = 2;
  int modelThreads = -1;  // < 0: threads
  int repeat = 1;
  bool nlm = true, bm3d = true, bm3dSet = false, card = false;
  double bm3dScale = kBm3dScale;
  std::string bm3dOpts = "estim=basic";
  std::vector<cv::Size> speedSizes = {{640, 480}, {1280, 720}, {1920, 1080}};
};

int modelThreads(const Options& o) { return o.modelThreads < 0 ? o.threads : o.modelThreads; }

// NLM's h per sigma: ANCHORS' values (tuned on camera.png), 0.9 sigma elsewhere.
double nlmH(int sigma) {
  if (sigma == 15) return 13.5;
  if (sigma == 25) return 22.5;
  if (sigma == 50) return 40.0;
  return 0.9 * sigma;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> v;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, sep);)
    if (!item.empty()) v.push_back(item);
  return v;
}

[[noreturn]] void usage(const char* msg) {
  std::fprintf(
      stderr,
      "bench_denoise_quality: %s\nsee the comment at the top of bench/denoise_quality.cpp\n", msg);
  std::exit(2);
}

cae::infer::Backend parseBackend(const std::string& name) {
  try {
    return cae::infer::parseBackend(name);
  } catch (const cae::Error& e) {
    usage(e.what());
  }
}

Choice parseChoice(const std::string& s) {
  const std::string bf16 = "-bf16";
  if (s.size() > bf16.size() && s.compare(s.size() - bf16.size(), bf16.size(), bf16) == 0)
    return {parseBackend(s.substr(0, s.size() - bf16.size())), cae::infer::Precision::Bf16};
  return {parseBackend(s), cae::infer::Precision::F32};
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value after " + a).c_str());
      return argv[++i];
    };
    if (a == "--images") {
      o.images = std::clamp(std::atoi(value().c_str()), 1, 11);
    } else if (a == "--sigmas") {
      o.sigmas.clear();
      for (const std::string& s : split(value(), ',')) o.sigmas.push_back(std::atoi(s.c_str()));
    } else if (a == "--seed") {
      o.seed = unsigned(std::atoi(value().c_str()));
    } else if (a == "--threads") {
      o.threads = std::max(1, std::atoi(value().c_str()));
    } else if (a == "--model-threads") {
      o.modelThreads = std::max(0, std::atoi(value().c_str()));
    } else if (a == "--backends") {
      o.backends.clear();
      for (const std::string& b : split(value(), ',')) o.backends.push_back(parseChoice(b));
      if (o.backends.empty()) usage("empty --backends");
    } else if (a == "--repeat") {
      o.repeat = std::max(1, std::atoi(value().c_str()));
    } else if (a == "--no-nlm") {
      o.nlm = false;
    } else if (a == "--no-bm3d" || a == "--bm3d") {
      o.bm3d = a == "--bm3d";
      o.bm3dSet = true;
    } else if (a == "--bm3d-scale") {
      o.bm3dScale = std::atof(value().c_str());
    } else if (a == "--bm3d-opts") {
      o.bm3dOpts = value();
    } else if (a == "--speed-sizes") {
      o.speedSizes.clear();
      for (const std::string& s : split(value(), ',')) {
        int w = 0, h = 0;
        if (std::sscanf(s.c_str(), "%dx%d", &w, &h) != 2 || w < 8 || h < 8)
          usage("bad --speed-sizes");
        o.speedSizes.emplace_back(w, h);
      }
    } else if (a == "--card") {
      o.card = true;
    } else if (a.rfind("--", 0) == 0) {
      usage(("unknown option " + a).c_str());
    } else {
      o.models.push_back(a);
    }
  }
  if (o.card) {
    if (o.models.size() != 1) usage("--card takes exactly one model");
    if (!o.bm3dSet) o.bm3d = false;
    o.speedSizes.clear();
    o.backends.resize(1);
  }
  return o;
}

double ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Noisy copy of an 8-bit gray image: clean + N(0, sigma²), rounded and clipped to [0, 255].
cv::Mat addNoise(const cv::Mat& clean, int sigma, unsigned seed) {
  cv::RNG rng(seed);
  cv::Mat noise(clean.size(), CV_32F);
  rng.fill(noise, cv::RNG::NORMAL, 0.0, double(sigma));
  cv::Mat f;
  clean.convertTo(f, CV_32F);
  cv::Mat noisy;
  cv::Mat(f + noise).convertTo(noisy, CV_8U);  // saturate_cast rounds and clips
  return noisy;
}

double psnr8(const cv::Mat& a, const cv::Mat& b) { return cv::PSNR(a, b, 255.0); }

// Whether `out` lines up with `clean`: no shift of up to 2 pixels gives a higher PSNR.
bool aligned(const cv::Mat& out, const cv::Mat& clean) {
  const int m = 2;
  const cv::Rect inner(m, m, clean.cols - 2 * m, clean.rows - 2 * m);
  const double at0 = psnr8(out(inner), clean(inner));
  for (int dy = -m; dy <= m; ++dy)
    for (int dx = -m; dx <= m; ++dx)
      if ((dy || dx) && psnr8(out(inner), clean(inner + cv::Point(dx, dy))) > at0 + 0.01)
        return false;
  return true;
}

// The element's path: frame plane → Engine → plane, strength 1.
cv::Mat runModel(cae::infer::Engine& e, const cv::Mat& in) {
  cv::Mat out(in.size(), CV_8U);
  cae::infer::PlaneView pi, po;
  pi.data = const_cast<std::uint8_t*>(in.ptr<std::uint8_t>());
  po.data = out.ptr<std::uint8_t>();
  pi.width = po.width = in.cols;
  pi.height = po.height = in.rows;
  pi.rowStride = int(in.step[0]);
  po.rowStride = int(out.step[0]);
  cae::infer::runPlanes(e, {pi}, {po}, 1.0);
  return out;
}

cv::Mat runNlm(const cv::Mat& in, int sigma) {
  cv::Mat out;
  cv::fastNlMeansDenoising(in, out, float(nlmH(sigma)), 7, 21);
  return out;
}

// ffmpeg on one raw gray frame through `filter`; returns the output and the call's wall time.
struct Ffmpeg {
  fs::path dir;
  int threads = 2;
  bool available = false;

  Ffmpeg(int t) : threads(t) {
    dir = fs::temp_directory_path() / ("cae_denoise_bench_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    available = std::system("ffmpeg -hide_banner -v error -h filter=bm3d >/dev/null 2>&1") == 0;
  }
  ~Ffmpeg() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  cv::Mat run(const cv::Mat& in, const std::string& filter, double* wallMs) {
    const fs::path src = dir / "in.gray", dst = dir / "out.gray";
    {
      std::ofstream f(src, std::ios::binary);
      for (int y = 0; y < in.rows; ++y) f.write(reinterpret_cast<const char*>(in.ptr(y)), in.cols);
    }
    std::error_code ec;
    fs::remove(dst, ec);
    const std::string cmd =
        "ffmpeg -nostdin -hide_banner -v error -threads " + std::to_string(threads) +
        " -filter_threads " + std::to_string(threads) + " -f rawvideo -pix_fmt gray -s " +
        std::to_string(in.cols) + "x" + std::to_string(in.rows) + " -i '" + src.string() +
        "' -vf '" + filter + "' -frames:v 1 -f rawvideo -pix_fmt gray -y '" + dst.string() + "'";
    const auto t0 = Clock::now();
    const int rc = std::system(cmd.c_str());
    *wallMs = ms(t0, Clock::now());
    cv::Mat out(in.size(), CV_8U);
    std::ifstream f(dst, std::ios::binary);
    for (int y = 0; y < out.rows && f; ++y) f.read(reinterpret_cast<char*>(out.ptr(y)), out.cols);
    if (rc != 0 || !f || fs::file_size(dst, ec) != std::uintmax_t(in.total()))
      throw std::runtime_error("ffmpeg failed or wrote a frame of another size: " + cmd);
    return out;
  }
};

struct Frame {
  std::string image;
  cv::Mat clean;
  std::map<int, cv::Mat> noisy;  // by sigma
};

struct Result {
  double psnr = 0, ms = 0;
  long pixels = 0;
};

// Results of one method: per sigma, per image.
struct Method {
  std::string name, kind;
  std::map<int, std::vector<Result>> bySigma;
  std::string backend;  // models: the backend that ran it (Engine::backendInUse); others: ""
};

// ,"backend":"…" for a model's JSON lines, nothing for the other methods.
std::string backendField(const Method& m) {
  return m.backend.empty() ? std::string() : ",\"backend\":\"" + m.backend + "\"";
}

void printFrame(const Method& m, const Frame& f, int sigma, const Result& r,
                const char* extra = "") {
  std::printf(
      "{\"type\":\"frame\",\"method\":\"%s\",\"kind\":\"%s\",\"image\":\"%s\",\"w\":%d,"
      "\"h\":%d,\"sigma\":%d,\"psnr\":%.3f,\"ms\":%.2f%s%s}\n",
      m.name.c_str(), m.kind.c_str(), f.image.c_str(), f.clean.cols, f.clean.rows, sigma, r.psnr,
      r.ms, backendField(m).c_str(), extra);
  std::fflush(stdout);
}

// Mean PSNR over images and time per 512×512 frame (total time / total pixels × 512²).
Result meanOf(const std::vector<Result>& v) {
  Result m;
  double t = 0;
  for (const Result& r : v) {
    m.psnr += r.psnr / double(v.size());
    t += r.ms;
    m.pixels += r.pixels;
  }
  m.ms = m.pixels ? t / double(m.pixels) * 512.0 * 512.0 : 0.0;
  return m;
}

// The test images with their noisy copies, one per sigma.
std::vector<Frame> loadFrames(const Options& o) {
  std::vector<Frame> frames;
  for (int i = 0; i < o.images; ++i) {
    Frame f;
    f.image = fs::path(kTestList[i]).stem().string();
    f.clean = cv::imread(kSkimage + std::string(kTestList[i]), cv::IMREAD_GRAYSCALE);
    if (f.clean.empty()) usage(("cannot read " + std::string(kSkimage) + kTestList[i]).c_str());
    for (int s : o.sigmas)
      f.noisy[s] = addNoise(f.clean, s, o.seed * 1000003u + unsigned(i) * 1000u + unsigned(s));
    frames.push_back(std::move(f));
  }
  return frames;
}

std::string bm3dFilter(const Options& o, int sigma) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "bm3d=sigma=%g", o.bm3dScale * sigma);
  return std::string(buf) + (o.bm3dOpts.empty() ? "" : ":" + o.bm3dOpts);
}

Method measureNoisy(const std::vector<Frame>& frames, const Options& o, bool json) {
  Method noisy{"noisy", "noisy", {}, ""};
  for (const Frame& f : frames)
    for (int s : o.sigmas) {
      const Result r{psnr8(f.noisy.at(s), f.clean), 0.0, long(f.clean.total())};
      noisy.bySigma[s].push_back(r);
      if (json) printFrame(noisy, f, s, r);
    }
  return noisy;
}

// The engine caedenoise would run for the model on that backend; nothing (after saying why) when
// it cannot be used here.
std::unique_ptr<cae::infer::Engine> openModel(const std::string& path, const Choice& b,
                                              int threads) {
  cae::infer::EngineOptions eo;
  eo.model = path;
  eo.backend = b.backend;
  eo.precision = b.precision;
  eo.threads = threads;
  eo.task = cae::onnx::Task::Denoise;
  std::unique_ptr<cae::infer::Engine> engine;
  try {
    engine = std::make_unique<cae::infer::Engine>(eo);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cannot use model %s: %s\n", path.c_str(), e.what());
    return nullptr;
  }
  if (engine->channels() != 1) {
    std::fprintf(stderr, "model %s reads %d channels; this benchmark is gray\n", path.c_str(),
                 engine->channels());
    return nullptr;
  }
  if (!engine->fallbackReason().empty())
    std::fprintf(stderr, "model %s, backend %s: %s\n", path.c_str(), choiceName(b).c_str(),
                 engine->fallbackReason().c_str());
  return engine;
}

// One model's PSNR and time on every frame, on the engine's backend.
Method measureModel(const std::string& path, cae::infer::Engine* engine,
                    const std::vector<Frame>& frames, const Options& o, bool json) {
  Method m{fs::path(path).stem().string(), "model", {}, runName(*engine)};
  for (const Frame& f : frames) {
    runModel(*engine, f.noisy.begin()->second);  // warm-up: the net allocates for this size
    for (int s : o.sigmas) {
      cv::Mat out;
      std::vector<double> t;
      for (int r = 0; r < o.repeat; ++r) {
        const auto t0 = Clock::now();
        out = runModel(*engine, f.noisy.at(s));
        t.push_back(ms(t0, Clock::now()));
      }
      const Result r{psnr8(out, f.clean), median(t), long(f.clean.total())};
      m.bySigma[s].push_back(r);
      if (json) printFrame(m, f, s, r);
    }
  }
  return m;
}

// The last engines.size() methods are one model on each engine's backend: their PSNRs, and the
// model's float outputs (the blob caedenoise feeds, through Engine::run) and 8-bit outputs on
// every noisy frame, each backend's compared with the first one's (one JSON line per pair).
// Quality must not depend on the backend; bf16 differs from f32 by its rounding.
void checkBackends(const std::vector<std::unique_ptr<cae::infer::Engine>>& engines,
                   const std::vector<Frame>& frames, const std::vector<Method>& methods,
                   const Options& o) {
  const std::size_t n = engines.size();
  const Method& first = methods[methods.size() - n];
  for (std::size_t k = 1; k < n; ++k) {
    double maxDiff = 0, maxPsnr = 0;
    long differing = 0, pixels = 0, count = 0;
    for (const auto& [s, v] : methods[methods.size() - n + k].bySigma)
      for (std::size_t i = 0; i < v.size(); ++i)
        maxPsnr = std::max(maxPsnr, std::abs(v[i].psnr - first.bySigma.at(s)[i].psnr));
    for (const Frame& f : frames)
      for (int s : o.sigmas) {
        const cv::Mat& in = f.noisy.at(s);
        cae::infer::PlaneView pv;
        pv.data = const_cast<std::uint8_t*>(in.ptr<std::uint8_t>());
        pv.width = in.cols;
        pv.height = in.rows;
        pv.rowStride = int(in.step[0]);
        const cv::Mat ref = engines[0]->run(cae::infer::readFrame(*engines[0], {pv})).clone();
        const cv::Mat y = engines[k]->run(cae::infer::readFrame(*engines[k], {pv}));
        maxDiff = std::max(maxDiff, cv::norm(ref.reshape(1, 1), y.reshape(1, 1), cv::NORM_INF));
        differing += cv::countNonZero(runModel(*engines[0], in) != runModel(*engines[k], in));
        pixels += long(in.total());
        ++count;
      }
    std::printf(
        "{\"type\":\"backend_check\",\"method\":\"%s\",\"backends\":\"%s,%s\",\"frames\":%ld,"
        "\"max_abs_diff\":%.3g,\"max_psnr_diff\":%.3g,\"pixels_differing\":%ld,\"pixels\":%ld}\n",
        first.name.c_str(), runName(*engines[0]).c_str(), runName(*engines[k]).c_str(), count,
        maxDiff, maxPsnr, differing, pixels);
    std::fflush(stdout);
  }
}

Method measureNlm(const std::vector<Frame>& frames, const Options& o, bool json) {
  Method m{"nlm", "nlm", {}, ""};
  for (const Frame& f : frames)
    for (int s : o.sigmas) {
      cv::Mat out;
      std::vector<double> t;
      for (int r = 0; r < o.repeat; ++r) {
        const auto t0 = Clock::now();
        out = runNlm(f.noisy.at(s), s);
        t.push_back(ms(t0, Clock::now()));
      }
      const Result r{psnr8(out, f.clean), median(t), long(f.clean.total())};
      m.bySigma[s].push_back(r);
      char extra[32];
      std::snprintf(extra, sizeof extra, ",\"h_param\":%g", nlmH(s));
      if (json) printFrame(m, f, s, r, extra);
    }
  return m;
}

Method measureBm3d(Ffmpeg& ffmpeg, const std::vector<Frame>& frames, const Options& o, bool json) {
  // Time of the filter alone: the bm3d call minus a null-filter call on the same frame.
  Method m{"bm3d", "bm3d", {}, ""};
  for (const Frame& f : frames) {
    std::vector<double> tn;
    for (int r = 0; r < o.repeat; ++r) {
      double w = 0;
      ffmpeg.run(f.clean, "null", &w);
      tn.push_back(w);
    }
    const double nullMs = median(tn);
    for (int s : o.sigmas) {
      cv::Mat out;
      std::vector<double> t;
      for (int r = 0; r < o.repeat; ++r) {
        double w = 0;
        out = ffmpeg.run(f.noisy.at(s), bm3dFilter(o, s), &w);
        t.push_back(w);
      }
      const bool ok = aligned(out, f.clean);
      if (!ok)
        std::fprintf(stderr, "bm3d output of %s at sigma %d is shifted against the clean image\n",
                     f.image.c_str(), s);
      const Result r{psnr8(out, f.clean), std::max(0.0, median(t) - nullMs), long(f.clean.total())};
      m.bySigma[s].push_back(r);
      char extra[160];
      std::snprintf(extra, sizeof extra,
                    ",\"wall_ms\":%.1f,\"null_ms\":%.1f,\"aligned\":%s,\"filter\":\"%s\"",
                    median(t), nullMs, ok ? "true" : "false", bm3dFilter(o, s).c_str());
      if (json) printFrame(m, f, s, r, extra);
    }
  }
  return m;
}

// The JSON lines after the frames: per-method means, and OpenCV NLM at video sizes.
void printMeansAndSpeed(const std::vector<Method>& methods, const std::vector<Frame>& frames,
                        const Options& o) {
  for (const Method& m : methods)
    for (const auto& [s, v] : m.bySigma) {
      const Result r = meanOf(v);
      std::printf(
          "{\"type\":\"mean\",\"method\":\"%s\",\"kind\":\"%s\",\"sigma\":%d,\"images\":%zu,"
          "\"psnr\":%.3f,\"ms_512\":%.2f%s}\n",
          m.name.c_str(), m.kind.c_str(), s, v.size(), r.psnr, r.ms, backendField(m).c_str());
    }
  // OpenCV NLM at video sizes: a natural image scaled to the size, sigma 25 noise.
  for (const cv::Size& sz : o.speedSizes) {
    if (!o.nlm) break;
    cv::Mat big;
    cv::resize(frames[0].clean, big, sz, 0, 0, cv::INTER_LINEAR);
    const cv::Mat noisy = addNoise(big, 25, o.seed);
    std::vector<double> t;
    for (int r = 0; r < o.repeat; ++r) {
      const auto t0 = Clock::now();
      runNlm(noisy, 25);
      t.push_back(ms(t0, Clock::now()));
    }
    const double m = median(t);
    std::printf(
        "{\"type\":\"speed\",\"method\":\"nlm\",\"kind\":\"nlm\",\"width\":%d,\"height\":%d,"
        "\"ms\":%.1f,\"fps\":%.3f}\n",
        sz.width, sz.height, m, 1000.0 / m);
    std::fflush(stdout);
  }
}

void printCard(const std::vector<Method>& methods, const Options& o, bool bm3d) {
  // --card: the model's per-sigma table, NLM measured beside it, ANCHORS' figures for reference.
  const Method& model = methods[1];
  const Method* nlm = o.nlm ? &methods[2] : nullptr;
  const Method* bm = bm3d ? &methods.back() : nullptr;
  auto cell = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    return std::string(buf);
  };
  std::string head = "| sigma | noisy | " + model.name + " | OpenCV NLM (same run) |";
  if (bm) head += " ffmpeg bm3d (same run) |";
  head += " ANCHORS NLM | ANCHORS ffmpeg bm3d |";
  std::printf(
      "%s\n|%s\n", head.c_str(),
      std::string(bm ? "---|---|---|---|---|---|---|" : "---|---|---|---|---|---|").c_str());
  for (int s : o.sigmas) {
    const Anchor* a = nullptr;
    for (const Anchor& x : kAnchors)
      if (x.sigma == s) a = &x;
    std::string row = "| " + std::to_string(s) + " | " +
                      cell(meanOf(methods[0].bySigma.at(s)).psnr) + " | **" +
                      cell(meanOf(model.bySigma.at(s)).psnr) + "** | ";
    char h[32];
    std::snprintf(h, sizeof h, " (h=%g)", nlmH(s));
    row += nlm ? cell(meanOf(nlm->bySigma.at(s)).psnr) + h : std::string("–");
    row += " | ";
    if (bm) row += cell(meanOf(bm->bySigma.at(s)).psnr) + " | ";
    row += (a ? cell(a->nlm) : "–") + " | " + (a ? cell(a->bm3d) : "–") + " |";
    std::printf("%s\n", row.c_str());
  }
  std::vector<Result> every, everyNlm;
  for (const auto& [s, v] : model.bySigma) every.insert(every.end(), v.begin(), v.end());
  if (nlm)
    for (const auto& [s, v] : nlm->bySigma) everyNlm.insert(everyNlm.end(), v.begin(), v.end());
  std::printf(
      "\nMean PSNR (dB, 8-bit) over %d image(s) of the ANCHORS.md test list, gray, additive white "
      "Gaussian noise (seed %u), clipped to 8 bits. Time per 512×512 frame at %d threads: %s %.0f "
      "ms (%s backend)",
      o.images, o.seed, o.threads, model.name.c_str(), meanOf(every).ms, model.backend.c_str());
  if (nlm) std::printf(", NLM %.0f ms (same run)", meanOf(everyNlm).ms);
  std::printf(". Measured with `bench_denoise_quality --card`.\n");
}

int run(int argc, char** argv) {
  const Options o = parse(argc, argv);
  cv::setNumThreads(o.threads);
  const bool json = !o.card;
  const std::vector<Frame> frames = loadFrames(o);

  Ffmpeg ffmpeg(o.threads);
  if (o.bm3d && !ffmpeg.available)
    std::fprintf(stderr, "ffmpeg with the bm3d filter not found: no bm3d rows\n");
  const bool bm3d = o.bm3d && ffmpeg.available;
  std::string backends;
  for (const Choice& b : o.backends) backends += (backends.empty() ? "" : ",") + choiceName(b);
  if (json)
    std::printf(
        "{\"type\":\"config\",\"images\":%d,\"seed\":%u,\"threads\":%d,\"repeat\":%d,"
        "\"opencv\":\"%s\",\"bm3d\":\"%s\",\"nlm\":\"templateWindowSize 7, searchWindowSize "
        "21\",\"backends\":\"%s\",\"model_threads\":%d,\"onednn_default_threads\":%d}\n",
        o.images, o.seed, o.threads, o.repeat, CV_VERSION, bm3d ? bm3dFilter(o, 25).c_str() : "",
        backends.c_str(), modelThreads(o), cae::infer::onednn::kDefaultThreads);

  std::vector<Method> methods;
  methods.push_back(measureNoisy(frames, o, json));
  for (const std::string& path : o.models) {
    std::vector<std::unique_ptr<cae::infer::Engine>> engines;  // one per backend in use
    for (const Choice& b : o.backends) {
      if (b.precision == cae::infer::Precision::Bf16 && !cae::infer::onednn::nativeBf16()) {
        std::fprintf(stderr, "%s: no bf16 instructions on this CPU, %s left out\n", path.c_str(),
                     choiceName(b).c_str());
        continue;
      }
      std::unique_ptr<cae::infer::Engine> e = openModel(path, b, modelThreads(o));
      if (!e) return 1;
      // A backend that fell back to one measured already would list its frames twice.
      const bool again = std::any_of(engines.begin(), engines.end(),
                                     [&](const auto& x) { return runName(*x) == runName(*e); });
      if (again) {
        std::fprintf(stderr, "%s: backend %s runs on %s, measured already\n", path.c_str(),
                     choiceName(b).c_str(), runName(*e).c_str());
        continue;
      }
      methods.push_back(measureModel(path, e.get(), frames, o, json));
      engines.push_back(std::move(e));
    }
    if (json && engines.size() > 1) checkBackends(engines, frames, methods, o);
  }
  cv::setNumThreads(o.threads);  // the engine's setting is process-wide; NLM runs on the same
  if (o.nlm) methods.push_back(measureNlm(frames, o, json));
  if (bm3d) methods.push_back(measureBm3d(ffmpeg, frames, o, json));

  if (json)
    printMeansAndSpeed(methods, frames, o);
  else
    printCard(methods, o, bm3d);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {  // ffmpeg or OpenCV failing mid-run
    std::fprintf(stderr, "bench_denoise_quality: %s\n", e.what());
    return 1;
  }
}
