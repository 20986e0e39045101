// Temporal denoising on video made from real photographs (issue 11), side by side in one
// process. Each sequence is a 320x240 gray 8-bit clip of the ANCHORS.md test images seen by a
// synthetic camera: still (a tripod), pans at 2 and 4.7 px/frame, a slow zoom, a hand-held shake
// (random per-frame jitter around a slow drift, with small turns), and a still camera with an
// object moving across it. Frames are rendered from the photograph with Lanczos interpolation
// (cae-train's clips use bicubic) and noised with seeded Gaussian noise per frame, rounded and
// clipped to 8 bits as a camera delivers them.
// Methods on the same noisy frames, PSNR on 8 bits against the clean frames:
//   noisy;
//   single: a single-frame model (default models/denoise-gray.onnx), frame by frame, run as
//           caedenoise runs it (Engine + runPlanes);
//   temporal: a model with cae.frames = K, fed causally the current frame and the K-1 before it
//           (the first frame repeated where the clip has no history yet), stacked by hand in
//           model units; when the model says cae.align = translation, each older frame is first
//           aligned onto the current one on the whole noisy frame by core/infer/align
//           (estimateShift, applyShift), as caedenoise does (the alignment's time is printed
//           apart, and included in the temporal time);
//   temporal-still: the same model fed K copies of the current frame (what it does without
//           history: its single-frame quality with the same weights);
//   nlm-multi: OpenCV fastNlMeansDenoisingMulti, temporal window 3 centred on the frame (it
//           reads the next frame too: not causal), h as in bench_denoise_quality;
//   gmc-mean: the K-1 previous frames shifted onto the current one (global translation from
//           cv::phaseCorrelate), averaged with it, then the single-frame model: a classical
//           motion-compensated average in front of the learned denoiser (causal), the anchor of
//           what global alignment alone brings.
// Every clip is rendered with two extra frames and frames 1..N are scored, so that the centred
// window of nlm-multi exists for every scored frame; the temporal model starts at frame 0.
// Prints JSON lines: one per (sequence, sigma, method) with the mean PSNR over the scored frames
// and the time per frame, one per (sequence, sigma) with the alignment's time and how many of
// its estimates were trusted (aligned models); with --crops DIR, side-by-side crops (noisy | single
// | temporal | gmc-mean | clean, 2x nearest) of the moving sequences for the ghosting check, as
// PNG.
//
// Usage: bench_temporal_denoise --single M.onnx --temporal T.onnx [options]
//   --sigmas LIST     comma-separated noise sigmas (default 15,25,50)
//   --frames N        scored frames per sequence (default 32)
//   --sequences LIST  only these sequence names (default all; see kSequences)
//   --seed S          noise seed (default 11)
//   --threads T       OpenCV and model threads (default 1)
//   --backend B       inference backend of both models: auto, onednn, opencv (default auto)
//   --no-nlm          leave nlm-multi out
//   --crops DIR       write the ghosting crops there
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/photo.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "error.hpp"
#include "infer/align.hpp"
#include "infer/engine.hpp"
#include "infer/planes.hpp"
#include "onnx/metadata.hpp"

using Clock = std::chrono::steady_clock;

namespace {

const char* kSkimage = "/usr/lib/python3/dist-packages/skimage/data/";
constexpr double kPi = 3.14159265358979323846;
const cv::Size kFrame{320, 240};

// A synthetic camera over one photograph. Frame t sees the image through a camera centred at
// centre + t * velocity + jitter(t), zoomed by exp(t * zoom) (>0: zooming in), turned by
// turn(t); `shake` draws jitter(t) ~ N(0, shake px) and turn(t) ~ N(0, shakeTurn deg) per frame
// from its own seed. An object (a sprite cut from another photograph) may cross a still camera.
struct Sequence {
  const char* name;
  const char* kind;  // static | pan | pan-fast | zoom | shake | object
  const char* image;
  double vx = 0, vy = 0, zoom = 0, shake = 0, shakeTurn = 0;
  const char* sprite = nullptr;  // object: the photograph the sprite is cut from
  double spriteVx = 0, spriteVy = 0;
};

// Test-list images only (ANCHORS.md); text.png (172 rows) is too small for a 240-row frame.
const Sequence kSequences[] = {
    {"static-camera", "static", "camera.png"},
    {"static-coins", "static", "coins.png"},
    {"static-moon", "static", "moon.png"},
    {"pan-astronaut", "pan", "astronaut.png", 2.0, 0.75},
    {"pan-chelsea", "pan", "chelsea.png", -2.0, 0.5},
    {"pan-horse", "pan", "horse.png", 1.75, -0.75},
    {"panfast-coffee", "pan-fast", "coffee.png", 4.0, -2.5},
    {"panfast-rocket", "pan-fast", "rocket.jpg", -4.0, 2.25},
    {"panfast-motorcycle", "pan-fast", "motorcycle_left.png", 4.0, 2.5},
    {"zoom-hubble", "zoom", "hubble_deep_field.jpg", 0, 0, 0.004},
    {"zoom-camera", "zoom", "camera.png", 0, 0, 0.004},
    {"shake-astronaut", "shake", "astronaut.png", 0.5, 0.25, 0, 1.5, 0.3},
    {"shake-moon", "shake", "moon.png", -0.5, 0, 0, 1.5, 0.3},
    {"shake-chelsea", "shake", "chelsea.png", 0, 0.5, 0, 1.5, 0.3},
    {"object-camera", "object", "camera.png", 0, 0, 0, 0, 0, "coffee.png", 3.0, 1.0},
    {"object-moon", "object", "moon.png", 0, 0, 0, 0, 0, "chelsea.png", -3.5, 0.5},
};

struct Options {
  std::string single = "models/denoise-gray.onnx", temporal;
  std::vector<int> sigmas = {15, 25, 50};
  int frames = 32;
  std::vector<std::string> only;
  unsigned seed = 11;
  int threads = 1;
  cae::infer::Backend backend = cae::infer::Backend::Auto;
  bool nlm = true;
  std::string crops;
};

[[noreturn]] void usage(const std::string& msg) {
  std::fprintf(stderr,
               "bench_temporal_denoise: %s\nsee the comment at the top of "
               "bench/temporal_denoise.cpp\n",
               msg.c_str());
  std::exit(2);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> v;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, sep);)
    if (!item.empty()) v.push_back(item);
  return v;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage("missing value after " + a);
      return argv[++i];
    };
    if (a == "--single") {
      o.single = value();
    } else if (a == "--temporal") {
      o.temporal = value();
    } else if (a == "--sigmas") {
      o.sigmas.clear();
      for (const std::string& s : split(value(), ',')) o.sigmas.push_back(std::atoi(s.c_str()));
    } else if (a == "--frames") {
      o.frames = std::max(1, std::atoi(value().c_str()));
    } else if (a == "--sequences") {
      o.only = split(value(), ',');
    } else if (a == "--seed") {
      o.seed = unsigned(std::atoi(value().c_str()));
    } else if (a == "--threads") {
      o.threads = std::max(1, std::atoi(value().c_str()));
    } else if (a == "--backend") {
      try {
        o.backend = cae::infer::parseBackend(value());
      } catch (const cae::Error& e) {
        usage(e.what());
      }
    } else if (a == "--no-nlm") {
      o.nlm = false;
    } else if (a == "--crops") {
      o.crops = value();
    } else {
      usage("unknown argument " + a);
    }
  }
  if (o.temporal.empty()) usage("give the temporal model: --temporal T.onnx");
  return o;
}

cv::Mat readGray(const char* name) {
  cv::Mat img = cv::imread(kSkimage + std::string(name), cv::IMREAD_GRAYSCALE);
  if (img.empty()) usage(std::string("cannot read ") + kSkimage + name);
  cv::Mat f;
  img.convertTo(f, CV_32F);
  return f;
}

// A seed from a name (FNV-1a), the same on every platform.
unsigned seedOf(const std::string& name) {
  unsigned h = 2166136261u;
  for (const char ch : name) h = (h ^ static_cast<unsigned char>(ch)) * 16777619u;
  return h;
}

// Whether the frame seen through map (frame pixel -> image point) lies inside img, with room
// for the interpolation kernel (Lanczos reads 4 pixels out).
bool inside(const cv::Matx23d& map, const cv::Mat& img) {
  for (const double u : {0.0, kFrame.width - 1.0})
    for (const double v : {0.0, kFrame.height - 1.0}) {
      const double x = map(0, 0) * u + map(0, 1) * v + map(0, 2);
      const double y = map(1, 0) * u + map(1, 1) * v + map(1, 2);
      if (x < 4 || y < 4 || x > img.cols - 5 || y > img.rows - 5) return false;
    }
  return true;
}

// The clean 8-bit frames of a sequence: n frames of kFrame.
std::vector<cv::Mat> render(const Sequence& s, int n) {
  const cv::Mat img = readGray(s.image);
  cv::RNG rng(seedOf(s.name));  // the shake's path
  // The path is centred on the image: the middle frame looks at the image centre.
  const double mid = (n - 1) / 2.0;
  const cv::Point2d centre(img.cols / 2.0, img.rows / 2.0);
  const double half = kFrame.width / 2.0, halfH = kFrame.height / 2.0;
  cv::Mat sprite, spriteMask;
  if (s.sprite) {
    const cv::Mat src = readGray(s.sprite);
    // The sprite: an 88x72 window from the middle of the other photograph.
    sprite = src(cv::Rect(src.cols / 2 - 44, src.rows / 2 - 36, 88, 72)).clone();
    spriteMask = cv::Mat::ones(sprite.size(), CV_32F);
  }
  std::vector<cv::Mat> frames;
  for (int t = 0; t < n; ++t) {
    cv::Point2d c = centre + cv::Point2d(s.vx, s.vy) * (t - mid);
    double turn = 0;
    if (s.shake > 0) {
      c += cv::Point2d(rng.gaussian(s.shake), rng.gaussian(s.shake));
      turn = rng.gaussian(s.shakeTurn) * kPi / 180;
    }
    const double scale = std::exp(-s.zoom * (t - mid));  // image pixels per frame pixel
    const double a = scale * std::cos(turn), b = scale * std::sin(turn);
    // Frame pixel (u, v) -> image point c + A ((u, v) - frame centre).
    const cv::Matx23d map(a, -b, c.x - (a * (half - 0.5) - b * (halfH - 0.5)), b, a,
                          c.y - (b * (half - 0.5) + a * (halfH - 0.5)));
    if (!inside(map, img))
      usage(std::string("sequence ") + s.name + " leaves its image: fewer frames or less motion");
    cv::Mat f;
    cv::warpAffine(img, f, map, kFrame, cv::INTER_LANCZOS4 | cv::WARP_INVERSE_MAP,
                   cv::BORDER_REFLECT_101);
    if (!sprite.empty()) {
      // The sprite crosses the frame: its top-left at start + t * velocity (sub-pixel), with
      // anti-aliased edges from the warped mask.
      const cv::Point2d at(kFrame.width / 2.0 - 44 + s.spriteVx * (t - mid),
                           kFrame.height / 2.0 - 36 + s.spriteVy * (t - mid));
      const cv::Matx23d shift(1, 0, -at.x, 0, 1, -at.y);
      cv::Mat tex, mask;
      cv::warpAffine(sprite, tex, shift, kFrame, cv::INTER_LANCZOS4 | cv::WARP_INVERSE_MAP,
                     cv::BORDER_REPLICATE);
      cv::warpAffine(spriteMask, mask, shift, kFrame, cv::INTER_LINEAR | cv::WARP_INVERSE_MAP,
                     cv::BORDER_CONSTANT, 0);
      f = tex.mul(mask) + f.mul(1 - mask);
    }
    cv::Mat f8;
    f.convertTo(f8, CV_8U);  // rounds and clips
    frames.push_back(f8);
  }
  return frames;
}

// Noisy copy of an 8-bit frame: clean + N(0, sigma^2), rounded and clipped to [0, 255].
cv::Mat addNoise(const cv::Mat& clean, int sigma, cv::RNG& rng) {
  cv::Mat noise(clean.size(), CV_32F);
  rng.fill(noise, cv::RNG::NORMAL, 0.0, double(sigma));
  cv::Mat f;
  clean.convertTo(f, CV_32F);
  cv::Mat noisy;
  cv::Mat(f + noise).convertTo(noisy, CV_8U);
  return noisy;
}

// NLM's h per sigma, as bench_denoise_quality (ANCHORS' values, 0.9 sigma elsewhere).
double nlmH(int sigma) {
  if (sigma == 15) return 13.5;
  if (sigma == 25) return 22.5;
  if (sigma == 50) return 40.0;
  return 0.9 * sigma;
}

// caedenoise's path for a single-frame model: plane -> Engine -> plane, strength 1.
cv::Mat runSingle(cae::infer::Engine& e, const cv::Mat& in) {
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

// The alignment of a temporal model's history: its time and how many estimates were trusted.
struct AlignStats {
  double ms = 0;
  int found = 0, estimates = 0;
};

// A temporal model on hand-stacked 8-bit frames (current first): 1 x K x H x W in model units;
// with align (cae.align = translation), each older frame moved onto the current one by the
// global shift estimated between the two noisy frames in model units, as caedenoise does.
cv::Mat runStacked(cae::infer::Engine& e, const std::vector<cv::Mat>& stack, bool align = false,
                   AlignStats* stats = nullptr) {
  const cae::infer::Normalisation nm = e.normalisation(8);
  const int k = int(stack.size()), h = stack[0].rows, w = stack[0].cols;
  const int dims[4] = {1, k, h, w};
  cv::Mat blob(4, dims, CV_32F);
  auto planeOf = [&](int j) {
    return cv::Mat(h, w, CV_32F, blob.ptr<float>() + std::size_t(j) * std::size_t(h * w));
  };
  const auto t0 = Clock::now();
  cv::Mat older;
  for (int j = 0; j < k; ++j) {
    cv::Mat plane = planeOf(j);
    if (!align || j == 0) {
      stack[std::size_t(j)].convertTo(plane, CV_32F, nm.scale, nm.offset);
      continue;
    }
    stack[std::size_t(j)].convertTo(older, CV_32F, nm.scale, nm.offset);
    const cae::infer::Shift shift = cae::infer::estimateShift(planeOf(0), older);
    cae::infer::applyShift(older, shift, plane);  // same size and type: written in place
    if (stats) {
      stats->found += shift.found ? 1 : 0;
      ++stats->estimates;
    }
  }
  if (stats && align)
    stats->ms += std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  const cv::Mat y = e.run(blob);
  const cv::Mat out(h, w, CV_32F, const_cast<float*>(y.ptr<float>()));
  cv::Mat out8;
  out.convertTo(out8, CV_8U, 1.0 / nm.scale, -nm.offset / nm.scale);
  return out8;
}

// The older frame shifted onto the current one by the global translation phase correlation finds
// (Hann window), as 8-bit; empty when the peak is too weak or the shift implausibly large (the
// frame is then left out of the average).
cv::Mat alignTo(const cv::Mat& current8, const cv::Mat& older8) {
  cv::Mat a, b, win;
  current8.convertTo(a, CV_32F);
  older8.convertTo(b, CV_32F);
  cv::createHanningWindow(win, a.size(), CV_32F);
  double response = 0;
  // phaseCorrelate multiplies its inputs by the window in place when they need no padding.
  const cv::Point2d d = cv::phaseCorrelate(a.clone(), b.clone(), win, &response);
  if (response < 0.05 || std::hypot(d.x, d.y) > 24) return {};
  cv::Mat shifted, out;
  cv::warpAffine(b, shifted, cv::Matx23d(1, 0, d.x, 0, 1, d.y), a.size(),
                 cv::INTER_CUBIC | cv::WARP_INVERSE_MAP, cv::BORDER_REPLICATE);
  shifted.convertTo(out, CV_8U);
  return out;
}

// gmc-mean: the current frame averaged with the aligned previous ones, then the single model.
cv::Mat runGmcMean(cae::infer::Engine& single, const std::vector<cv::Mat>& noisy, int t, int k) {
  cv::Mat acc;
  noisy[std::size_t(t)].convertTo(acc, CV_32F);
  int used = 1;
  for (int j = 1; j < k && t - j >= 0; ++j) {
    const cv::Mat a = alignTo(noisy[std::size_t(t)], noisy[std::size_t(t - j)]);
    if (a.empty()) continue;
    cv::Mat f;
    a.convertTo(f, CV_32F);
    acc += f;
    ++used;
  }
  cv::Mat mean8;
  acc.convertTo(mean8, CV_8U, 1.0 / used);
  return runSingle(single, mean8);
}

double ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

struct Score {
  double psnr = 0, ms = 0;
  int n = 0;
  void add(const cv::Mat& out, const cv::Mat& clean, double t) {
    psnr += cv::PSNR(out, clean, 255.0);
    ms += t;
    ++n;
  }
};

void print(const Sequence& s, int sigma, const char* method, const Score& r) {
  std::printf(
      "{\"type\":\"sequence\",\"sequence\":\"%s\",\"kind\":\"%s\",\"image\":\"%s\","
      "\"sigma\":%d,\"method\":\"%s\",\"frames\":%d,\"psnr\":%.3f,\"ms\":%.1f}\n",
      s.name, s.kind, s.image, sigma, method, r.n, r.psnr / r.n, r.ms / r.n);
  std::fflush(stdout);
}

// noisy | single | temporal | gmc-mean | clean: a 128x96 window at the frame centre (where the
// sprite crosses), 2x.
void writeCrop(const std::string& dir, const Sequence& s, int sigma, int t,
               const std::vector<cv::Mat>& row) {
  const cv::Rect win(kFrame.width / 2 - 64, kFrame.height / 2 - 48, 128, 96);
  std::vector<cv::Mat> parts;
  for (const cv::Mat& m : row) {
    cv::Mat big;
    cv::resize(m(win), big, {}, 2, 2, cv::INTER_NEAREST);
    parts.push_back(big);
    parts.emplace_back(big.rows, 6, CV_8U, cv::Scalar(255));
  }
  parts.pop_back();
  cv::Mat out;
  cv::hconcat(parts, out);
  const std::string path = dir + "/temporal-" + s.name + "-s" + std::to_string(sigma) + "-f" +
                           std::to_string(t) + ".png";
  if (!cv::imwrite(path, out)) usage("cannot write " + path);
  std::fprintf(stderr, "wrote %s\n", path.c_str());
}

void runSequence(const Options& o, const Sequence& s, cae::infer::Engine& single,
                 cae::infer::Engine& temporal, bool align) {
  const int n = o.frames + 2, k = temporal.framesIn();
  const std::vector<cv::Mat> clean = render(s, n);
  for (int sigma : o.sigmas) {
    cv::RNG rng(o.seed * 1000003u + unsigned(sigma) * 7919u + seedOf(s.name));
    std::vector<cv::Mat> noisy;
    noisy.reserve(clean.size());
    for (const cv::Mat& c : clean) noisy.push_back(addNoise(c, sigma, rng));
    Score sn, ss, st, sst, snlm, sgmc;
    AlignStats as;
    for (int t = 0; t < n; ++t) {
      const bool scored = t >= 1 && t <= o.frames;
      std::vector<cv::Mat> stack, still;
      for (int j = 0; j < k; ++j) {
        stack.push_back(noisy[std::size_t(std::max(0, t - j))]);
        still.push_back(noisy[std::size_t(t)]);
      }
      auto t0 = Clock::now();
      AlignStats frameAlign;
      const cv::Mat yt = runStacked(temporal, stack, align, &frameAlign);
      const double msT = ms(t0, Clock::now());
      if (!scored) continue;  // frame 0 runs only as history; the last only for nlm's window
      as.ms += frameAlign.ms;
      as.found += frameAlign.found;
      as.estimates += frameAlign.estimates;
      const cv::Mat& c = clean[std::size_t(t)];
      st.add(yt, c, msT);
      sn.add(noisy[std::size_t(t)], c, 0);
      t0 = Clock::now();
      const cv::Mat ys = runSingle(single, noisy[std::size_t(t)]);
      ss.add(ys, c, ms(t0, Clock::now()));
      t0 = Clock::now();
      const cv::Mat yst = runStacked(temporal, still);
      sst.add(yst, c, ms(t0, Clock::now()));
      t0 = Clock::now();
      const cv::Mat yg = runGmcMean(single, noisy, t, k);
      sgmc.add(yg, c, ms(t0, Clock::now()));
      if (o.nlm) {
        cv::Mat yn;
        t0 = Clock::now();
        cv::fastNlMeansDenoisingMulti(noisy, yn, t, 3, float(nlmH(sigma)), 7, 21);
        snlm.add(yn, c, ms(t0, Clock::now()));
      }
      if (!o.crops.empty() && std::string(s.kind) != "static" && t == o.frames / 2 + 1)
        writeCrop(o.crops, s, sigma, t, {noisy[std::size_t(t)], ys, yt, yg, c});
    }
    print(s, sigma, "noisy", sn);
    print(s, sigma, "single", ss);
    print(s, sigma, "temporal", st);
    print(s, sigma, "temporal-still", sst);
    print(s, sigma, "gmc-mean", sgmc);
    if (o.nlm) print(s, sigma, "nlm-multi", snlm);
    if (align)
      std::printf(
          "{\"type\":\"align\",\"sequence\":\"%s\",\"kind\":\"%s\",\"sigma\":%d,"
          "\"ms\":%.2f,\"found\":%d,\"estimates\":%d}\n",
          s.name, s.kind, sigma, as.ms / std::max(1, st.n), as.found, as.estimates);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  try {
    cv::setNumThreads(o.threads);
    cae::infer::EngineOptions eo;
    eo.backend = o.backend;
    eo.threads = o.threads;
    eo.task = cae::onnx::Task::Denoise;
    eo.model = o.single;
    cae::infer::Engine single(eo);
    eo.model = o.temporal;
    cae::infer::Engine temporal(eo);
    if (single.framesIn() != 1 || single.channels() != 1)
      usage(o.single + " is not a single-frame gray model");
    if (temporal.channels() != 1) usage(o.temporal + " is not a gray model");
    const bool align = cae::onnx::readModelInfo(o.temporal).align == "translation";
    std::printf(
        "{\"type\":\"setup\",\"single\":\"%s\",\"temporal\":\"%s\",\"frames_in\":%d,"
        "\"backend_single\":\"%s\",\"backend_temporal\":\"%s\",\"scored_frames\":%d,"
        "\"threads\":%d,\"seed\":%u,\"frame\":\"%dx%d\",\"align\":\"%s\"}\n",
        o.single.c_str(), o.temporal.c_str(), temporal.framesIn(),
        cae::infer::backendName(single.backendInUse()).c_str(),
        cae::infer::backendName(temporal.backendInUse()).c_str(), o.frames, o.threads, o.seed,
        kFrame.width, kFrame.height, align ? "translation" : "none");
    for (const Sequence& s : kSequences) {
      if (!o.only.empty() && std::find(o.only.begin(), o.only.end(), s.name) == o.only.end())
        continue;
      runSequence(o, s, single, temporal, align);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_temporal_denoise: %s\n", e.what());
    return 1;
  }
  return 0;
}
