// Defect benchmark (issue 5), side by side in one process: real texture photographs (skimage's
// brick, grass and gravel; mate-backgrounds' Wood and Blinds (a leaf, in colour)), each split
// into a training part (the left three quarters, cut into tiles for cae-train) and a test strip
// (the right quarter). Test images are crops of the strip, clean, and with one synthetic defect
// each (core/anomaly/defects: scratch, spot, cut, blob, stain, and tint on colour, at three sizes
// and two contrasts) with its pixel mask. Methods on the same images, every one scored as
// caeanomaly scores a frame (the largest pixel of the smoothed map, core/anomaly/score):
//   ae-lowpass,      the texture's autoencoder (cae-train --task anomaly), run as the element
//   ae-l2, ae-ssim   runs it (cae::infer::Engine): squared low-passed residual (the shipped
//                    models' map), squared residual, or 1 - SSIM
//   ae-fast-lowpass  the texture's real-time model (anomaly-<texture>-fast.onnx), when there is one
//   ae-seg-..., ae-fast-seg-..., ae-riad-...  candidates when MODEL_DIR has them: segmentation
//                    heads (-seg, -fast-seg) and reconstruction by inpainting (-riad, cae.inpaint)
//   pca              patch PCA: 8x8 patches projected on 16 principal components of the training
//                    patches, per-pixel mean reconstruction error over the patches covering it
//   gauss            per-pixel Gaussian statistics of a local feature: a multivariate Gaussian
//                    of 7 filter responses per channel (smoothed intensity, local means and
//                    deviations at two scales, gradient magnitudes, Laplacian) fitted on all
//                    training pixels; per-pixel Mahalanobis distance
//   knn              a PatchCore-style memory without pretrained networks (bench/patch_memory):
//                    multi-scale hand-made descriptors of the training pixels, thinned by greedy
//                    k-centre selection; per-pixel distance to the nearest one
// Prints JSON lines: image and pixel AUROC per (texture, method, defect kind) and over all kinds,
// image AUROC per (size, contrast), ROC curves, and time per 640x480 frame per method. The
// autoencoders are scored on the first inference backend of --backends; every further backend
// is timed too, and its reconstructions of the whole test set are compared with the first's
// (one backend_check line per model), so quality cannot silently depend on the backend.
//
// Usage:
//   bench_anomaly_defects prepare OUT_DIR           training tiles and test strips
//   bench_anomaly_defects eval DATA_DIR MODEL_DIR   MODEL_DIR/anomaly-<texture>.onnx
//     [--textures a,b] [--crop 96] [--max-crops 48] [--threads 2] [--examples DIR]
//     [--sigma S] [--backends auto|onednn|opencv,...] [--model-threads T] [--line-frames N]
//   --threads: OpenCV's threads (the baselines, and the models unless --model-threads is given;
//   --model-threads 0: the element's default, i.e. OpenCV's setting, onednn::kDefaultThreads)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "anomaly/defects.hpp"
#include "anomaly/regions.hpp"
#include "anomaly/score.hpp"
#include "infer/engine.hpp"
#include "line_frames.hpp"
#include "patch_memory.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace cae;

namespace {

struct Texture {
  const char* name;
  const char* path;
  bool color;
  double scale;  // area downscaling before use
};

const Texture kTextures[] = {
    {"brick", "/usr/lib/python3/dist-packages/skimage/data/brick.png", false, 1.0},
    {"grass", "/usr/lib/python3/dist-packages/skimage/data/grass.png", false, 1.0},
    {"gravel", "/usr/lib/python3/dist-packages/skimage/data/gravel.png", false, 1.0},
    {"wood", "/usr/share/backgrounds/mate/nature/Wood.jpg", false, 0.5},
    {"leaf", "/usr/share/backgrounds/mate/nature/Blinds.jpg", true, 1.0 / 3.0},
};

const int kSizes[] = {10, 20, 36};
const double kContrasts[] = {0.15, 0.3};

// The texture as 8-bit gray or BGR, downscaled.
cv::Mat loadTexture(const Texture& t) {
  cv::Mat m = cv::imread(t.path, t.color ? cv::IMREAD_COLOR : cv::IMREAD_GRAYSCALE);
  if (m.empty()) throw std::runtime_error(std::string("cannot read ") + t.path);
  if (t.scale != 1.0) cv::resize(m, m, cv::Size(), t.scale, t.scale, cv::INTER_AREA);
  return m;
}

int prepare(const fs::path& out) {
  for (const Texture& t : kTextures) {
    const cv::Mat m = loadTexture(t);
    const int split = m.cols * 3 / 4;
    const fs::path dir = out / t.name / "train";
    fs::create_directories(dir);
    // 3 x 2 tiles of the training part: cae-train holds one out for validation and calibration.
    const int tw = split / 3, th = m.rows / 2;
    for (int r = 0; r < 2; ++r)
      for (int c = 0; c < 3; ++c)
        cv::imwrite((dir / ("tile" + std::to_string(r) + std::to_string(c) + ".png")).string(),
                    m(cv::Rect(c * tw, r * th, tw, th)));
    cv::imwrite((out / t.name / "test.png").string(),
                m(cv::Rect(split, 0, m.cols - split, m.rows)));
    std::printf("%s: %dx%d %s, training tiles %dx%d, test strip %dx%d\n", t.name, m.cols, m.rows,
                t.color ? "rgb" : "gray", tw, th, m.cols - split, m.rows);
  }
  return 0;
}

// 8-bit gray/BGR file -> float [0, 1], RGB order for colour (as cae-train reads it).
cv::Mat toFloat(const cv::Mat& m8) {
  cv::Mat f;
  if (m8.channels() == 3) {
    cv::Mat rgb;
    cv::cvtColor(m8, rgb, cv::COLOR_BGR2RGB);
    rgb.convertTo(f, CV_32FC3, 1.0 / 255.0);
  } else {
    m8.convertTo(f, CV_32FC1, 1.0 / 255.0);
  }
  return f;
}

anomaly::ImageView viewOf(const cv::Mat& f) {
  return {f.ptr<float>(), f.cols, f.rows, f.channels(), int(f.step1())};
}

cv::Mat toMat(const anomaly::ScoreMap& m) {
  return cv::Mat(m.height, m.width, CV_32F, const_cast<float*>(m.data.data())).clone();
}

// ---- methods -----------------------------------------------------------------------------------

struct Method {
  virtual ~Method() = default;
  virtual std::string name() const = 0;
  // Unsmoothed per-pixel anomaly map of a float image.
  virtual cv::Mat rawMap(const cv::Mat& img) = 0;
  // The inference backend a model-based method runs on; "" for the others.
  virtual std::string backend() const { return ""; }
  // The calibrated threshold for images of `area` pixels (the model's own map only; the frame
  // model's when it has one); none for uncalibrated methods.
  virtual std::optional<double> thresholdAt(double /*area*/) const { return std::nullopt; }
};

// Runs the model once per image and serves both of its maps.
class AutoEncoder {
 public:
  AutoEncoder(const std::string& path, int threads, infer::Backend backend) {
    infer::EngineOptions o;
    o.model = path;
    o.task = onnx::Task::Anomaly;
    o.threads = threads;
    o.backend = backend;
    engine_ = std::make_unique<infer::Engine>(o);
    if (!engine_->fallbackReason().empty())
      std::fprintf(stderr, "%s: %s\n", path.c_str(), engine_->fallbackReason().c_str());
  }
  infer::Engine& engine() { return *engine_; }
  std::string backend() const { return infer::backendName(engine_->backendInUse()); }
  // Reconstructions are cached per image buffer (the test images live as long as the cache);
  // forget() empties it.
  const cv::Mat& reconstruct(const cv::Mat& img) {
    auto it = cache_.find(img.data);
    if (it != cache_.end()) return it->second;
    const int c = img.channels();
    const int dims[] = {1, c, img.rows, img.cols};
    cv::Mat blob(4, dims, CV_32F);
    std::vector<cv::Mat> planes;
    planes.reserve(std::size_t(c));
    for (int i = 0; i < c; ++i)
      planes.emplace_back(img.rows, img.cols, CV_32F, blob.ptr<float>(0, i));
    cv::split(img, planes);
    const cv::Mat out = engine_->run(blob);
    const int co = engine_->outputChannels();  // 1 for a segmentation model: its map
    std::vector<cv::Mat> op;
    op.reserve(std::size_t(co));
    for (int i = 0; i < co; ++i)
      op.emplace_back(img.rows, img.cols, CV_32F, const_cast<float*>(out.ptr<float>(0, i)));
    cv::Mat rec;
    cv::merge(op, rec);
    return cache_[img.data] = rec;
  }
  void forget() { cache_.clear(); }

 private:
  std::unique_ptr<infer::Engine> engine_;
  std::map<const uchar*, cv::Mat> cache_;
};

class AeMethod : public Method {
 public:
  AeMethod(AutoEncoder& ae, anomaly::MapKind k, std::string suffix)
      : ae_(ae), kind_(k), suffix_(std::move(suffix)) {}
  std::string name() const override { return "ae" + suffix_ + "-" + anomaly::mapKindName(kind_); }
  std::string backend() const override { return ae_.backend(); }
  std::optional<double> thresholdAt(double area) const override {
    const anomaly::Decision& d = ae_.engine().info().anomaly;
    if (d.map.map != kind_ || !d.calibrated()) return std::nullopt;
    return d.atArea(area).threshold;
  }
  cv::Mat rawMap(const cv::Mat& img) override {
    const cv::Mat& rec = ae_.reconstruct(img);
    return toMat(anomaly::anomalyMap(viewOf(img), viewOf(rec), {kind_, 0.0}));
  }

 private:
  AutoEncoder& ae_;
  anomaly::MapKind kind_;
  std::string suffix_;
};

// All p x p patches (stride s) of img as rows.
cv::Mat patchRows(const cv::Mat& img, int p, int s, std::vector<cv::Point>* at = nullptr) {
  const int c = img.channels();
  std::vector<cv::Point> pts;
  for (int y = 0; y + p <= img.rows; y += s)
    for (int x = 0; x + p <= img.cols; x += s) pts.emplace_back(x, y);
  cv::Mat rows(int(pts.size()), p * p * c, CV_32F);
  for (std::size_t i = 0; i < pts.size(); ++i) {
    float* r = rows.ptr<float>(int(i));
    for (int y = 0; y < p; ++y) {
      const float* src = img.ptr<float>(pts[i].y + y) + std::ptrdiff_t(pts[i].x) * c;
      std::copy(src, src + std::ptrdiff_t(p) * c, r + std::ptrdiff_t(y) * p * c);
    }
  }
  if (at) *at = std::move(pts);
  return rows;
}

class PcaMethod : public Method {
 public:
  static constexpr int kPatch = 8, kComponents = 16, kStride = 2;
  explicit PcaMethod(const std::vector<cv::Mat>& train) {
    cv::Mat all;
    for (const cv::Mat& t : train) all.push_back(patchRows(t, kPatch, 3));
    if (all.rows > 40000) all = all.rowRange(0, 40000).clone();
    pca_ = cv::PCA(all, cv::noArray(), cv::PCA::DATA_AS_ROW, kComponents);
  }
  std::string name() const override { return "pca"; }
  cv::Mat rawMap(const cv::Mat& img) override {
    std::vector<cv::Point> at;
    const cv::Mat rows = patchRows(img, kPatch, kStride, &at);
    const cv::Mat rec = pca_.backProject(pca_.project(rows));
    cv::Mat sum = cv::Mat::zeros(img.size(), CV_32F), cnt = cv::Mat::zeros(img.size(), CV_32F);
    const int c = img.channels();
    for (std::size_t i = 0; i < at.size(); ++i) {
      const float* a = rows.ptr<float>(int(i));
      const float* b = rec.ptr<float>(int(i));
      for (int y = 0; y < kPatch; ++y)
        for (int x = 0; x < kPatch; ++x) {
          float e = 0;
          for (int k = 0; k < c; ++k) {
            const int j = (y * kPatch + x) * c + k;
            e += (a[j] - b[j]) * (a[j] - b[j]);
          }
          sum.at<float>(at[i].y + y, at[i].x + x) += e / float(c);
          cnt.at<float>(at[i].y + y, at[i].x + x) += 1;
        }
    }
    cv::max(cnt, 1.0f, cnt);
    return sum / cnt;
  }

 private:
  cv::PCA pca_;
};

class GaussMethod : public Method {
 public:
  explicit GaussMethod(const std::vector<cv::Mat>& train) {
    cv::Mat all;
    for (const cv::Mat& t : train) {
      cv::Mat f = features(t);
      // every 3rd pixel is plenty for a 7C-dimensional Gaussian
      for (int i = 0; i < f.rows; i += 3) all.push_back(f.row(i));
    }
    cv::Mat cov, mean;
    cv::calcCovarMatrix(all, cov, mean, cv::COVAR_NORMAL | cv::COVAR_ROWS | cv::COVAR_SCALE,
                        CV_64F);
    cov += cv::Mat::eye(cov.size(), CV_64F) * (1e-6 + 1e-3 * cv::trace(cov)[0] / cov.rows);
    cv::invert(cov, icov_, cv::DECOMP_CHOLESKY);
    icov_.convertTo(icov_, CV_32F);
    mean.convertTo(mean_, CV_32F);
  }
  std::string name() const override { return "gauss"; }
  cv::Mat rawMap(const cv::Mat& img) override {
    const cv::Mat f = features(img);
    cv::Mat map(img.size(), CV_32F);
    cv::Mat d(1, f.cols, CV_32F), t;
    for (int i = 0; i < f.rows; ++i) {
      cv::subtract(f.row(i), mean_, d);
      t = d * icov_;
      map.at<float>(i / img.cols, i % img.cols) = float(std::sqrt(std::max(0.0, d.dot(t))));
    }
    return map;
  }

 private:
  // Rows: pixels; columns: 7 responses per channel.
  static cv::Mat features(const cv::Mat& img) {
    std::vector<cv::Mat> ch;
    cv::split(img, ch);
    std::vector<cv::Mat> fs;
    auto blur = [](const cv::Mat& m, double s) {
      cv::Mat o;
      cv::GaussianBlur(m, o, cv::Size(), s, s, cv::BORDER_REFLECT);
      return o;
    };
    for (const cv::Mat& x : ch) {
      const cv::Mat s1 = blur(x, 1.0);
      fs.push_back(s1);
      for (double s : {2.0, 4.0}) {
        const cv::Mat m = blur(x, s), m2 = blur(x.mul(x), s);
        cv::Mat var = m2 - m.mul(m), sd;
        cv::max(var, 0.0f, var);
        cv::sqrt(var, sd);
        fs.push_back(m);
        fs.push_back(sd);
      }
      cv::Mat gx, gy, mag;
      cv::Sobel(s1, gx, CV_32F, 1, 0, 3, 1, 0, cv::BORDER_REFLECT);
      cv::Sobel(s1, gy, CV_32F, 0, 1, 3, 1, 0, cv::BORDER_REFLECT);
      cv::magnitude(gx, gy, mag);
      fs.push_back(mag);
      cv::Mat lap;
      cv::Laplacian(blur(x, 2.0), lap, CV_32F, 3, 1, 0, cv::BORDER_REFLECT);
      fs.push_back(lap);
    }
    cv::Mat stacked;
    cv::merge(fs, stacked);
    return stacked.reshape(1, img.rows * img.cols).clone();
  }
  cv::Mat mean_, icov_;
};

class KnnMethod : public Method {
 public:
  explicit KnnMethod(const std::vector<cv::Mat>& train) : memory_(train) {}
  std::string name() const override { return "knn"; }
  cv::Mat rawMap(const cv::Mat& img) override { return memory_.map(img); }

 private:
  bench::PatchMemory memory_;
};

cv::Mat smoothMap(const cv::Mat& m, double sigma) {
  if (sigma <= 0) return m;
  cv::Mat o;
  const int r = std::max(1, int(std::ceil(3 * sigma)));
  cv::GaussianBlur(m, o, cv::Size(2 * r + 1, 2 * r + 1), sigma, sigma, cv::BORDER_REFLECT);
  return o;
}

// ---- metrics -----------------------------------------------------------------------------------

// Area under the ROC curve: the probability that a random positive scores above a random
// negative (ties count half), by ranks.
double auroc(const std::vector<float>& pos, const std::vector<float>& neg) {
  if (pos.empty() || neg.empty()) return std::nan("");
  std::vector<std::pair<float, int>> v;
  v.reserve(pos.size() + neg.size());
  for (float s : pos) v.emplace_back(s, 1);
  for (float s : neg) v.emplace_back(s, 0);
  std::sort(v.begin(), v.end());
  double rankSum = 0;
  for (std::size_t i = 0; i < v.size();) {
    std::size_t j = i;
    while (j < v.size() && v[j].first == v[i].first) ++j;
    const double rank = (double(i) + double(j - 1)) / 2.0 + 1.0;
    for (std::size_t k = i; k < j; ++k)
      if (v[k].second) rankSum += rank;
    i = j;
  }
  const double np = double(pos.size()), nn = double(neg.size());
  return (rankSum - np * (np + 1) / 2) / (np * nn);
}

// ROC points (fpr, tpr) at every distinct threshold, thinned to about 100.
std::pair<std::vector<double>, std::vector<double>> rocCurve(const std::vector<float>& pos,
                                                             const std::vector<float>& neg) {
  std::vector<float> th = pos;
  th.insert(th.end(), neg.begin(), neg.end());
  std::sort(th.begin(), th.end(), std::greater<float>());
  th.erase(std::unique(th.begin(), th.end()), th.end());
  std::vector<double> f{0.0}, t{0.0};
  const std::size_t step = std::max<std::size_t>(1, th.size() / 100);
  for (std::size_t i = 0; i < th.size(); i += step) {
    const float x = th[i];
    f.push_back(double(std::count_if(neg.begin(), neg.end(), [x](float s) { return s >= x; })) /
                double(neg.size()));
    t.push_back(double(std::count_if(pos.begin(), pos.end(), [x](float s) { return s >= x; })) /
                double(pos.size()));
  }
  f.push_back(1.0);
  t.push_back(1.0);
  return {f, t};
}

std::string jsonList(const std::vector<double>& v) {
  std::ostringstream s;
  s << "[";
  for (std::size_t i = 0; i < v.size(); ++i) s << (i ? "," : "") << std::round(v[i] * 1e4) / 1e4;
  s << "]";
  return s.str();
}

// Area under the per-region overlap curve up to a false-positive rate of maxFpr, normalised to
// [0, 1] (the PRO metric of MVTec AD, Bergmann et al. 2021): at each threshold, the mean over
// defects of the share of the defect's pixels above it, against the share of normal pixels above
// it; every test defect is one region. Thresholds: the normal pixels' quantiles at 100 rates.
double auPro(const std::vector<cv::Mat>& maps, const std::vector<cv::Mat>& masks,
             double maxFpr = 0.3) {
  std::vector<float> normal;
  std::vector<std::vector<float>> regions;  // each defect's pixel scores, sorted
  for (std::size_t i = 0; i < maps.size(); ++i) {
    std::vector<float> in;
    for (int y = 0; y < maps[i].rows; ++y) {
      const float* s = maps[i].ptr<float>(y);
      const std::uint8_t* k = masks[i].empty() ? nullptr : masks[i].ptr<std::uint8_t>(y);
      for (int x = 0; x < maps[i].cols; ++x) (k && k[x] ? in : normal).push_back(s[x]);
    }
    if (!in.empty()) {
      std::sort(in.begin(), in.end());
      regions.push_back(std::move(in));
    }
  }
  if (regions.empty() || normal.empty()) return std::nan("");
  std::sort(normal.begin(), normal.end(), std::greater<float>());
  const int steps = 100;
  double area = 0, prevF = 0, prevP = 0;
  for (int i = 1; i <= steps; ++i) {
    const double fTarget = maxFpr * i / steps;
    const float t =
        normal[std::min(normal.size() - 1, std::size_t(fTarget * double(normal.size())))];
    const double f =
        double(std::upper_bound(normal.begin(), normal.end(), t, std::greater<float>()) -
               normal.begin()) /
        double(normal.size());  // share of normal pixels >= t
    double pro = 0;
    for (const std::vector<float>& r : regions)
      pro += double(r.end() - std::lower_bound(r.begin(), r.end(), t)) / double(r.size());
    pro /= double(regions.size());
    const double fc = std::min(f, maxFpr);
    if (fc > prevF) area += (fc - prevF) * (pro + prevP) / 2;
    prevF = fc;
    prevP = pro;
  }
  return area / maxFpr;
}

// ---- evaluation --------------------------------------------------------------------------------

struct TestImage {
  cv::Mat img, mask;  // mask empty: clean
  std::string kind;   // "" clean
  int size = 0;
  double contrast = 0;
};

std::vector<TestImage> makeTestSet(const cv::Mat& strip, int crop, int maxCrops,
                                   std::uint64_t seed) {
  // Crop origins on a grid over the strip, as many as fit up to maxCrops.
  std::vector<cv::Point> origins;
  const int step = 16;
  const int nx = std::max(1, (strip.cols - crop) / step + 1);
  const int ny = std::max(1, (strip.rows - crop) / step + 1);
  for (int y = 0; y < ny; ++y)
    for (int x = 0; x < nx; ++x) origins.emplace_back(x * step, y * step);
  const std::size_t every = std::max<std::size_t>(1, (origins.size() + maxCrops - 1) / maxCrops);
  std::vector<TestImage> set;
  cv::RNG rng(seed);
  for (std::size_t i = 0; i < origins.size(); i += every) {
    const cv::Mat clean = strip(cv::Rect(origins[i], cv::Size(crop, crop))).clone();
    set.push_back({clean, cv::Mat(), "", 0, 0});
    for (anomaly::DefectKind k : anomaly::defectKindsFor(strip.channels()))
      for (int size : kSizes)
        for (double contrast : kContrasts) {
          TestImage t{clean.clone(), cv::Mat(), anomaly::defectKindName(k), size, contrast};
          const int m = size / 2 + 6;
          anomaly::DefectSpec d{k,
                                size,
                                contrast,
                                rng.uniform(m, crop - m),
                                rng.uniform(m, crop - m),
                                rng.uniform(0.0, CV_PI),
                                rng.next()};
          t.mask = anomaly::paintDefect(t.img, d);
          if (cv::countNonZero(t.mask) == 0) continue;
          set.push_back(std::move(t));
        }
  }
  return set;
}

std::vector<cv::Mat> loadTrain(const fs::path& dir) {
  std::vector<cv::Mat> out;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".png") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  out.reserve(files.size());
  for (const fs::path& f : files)
    out.push_back(toFloat(cv::imread(f.string(), cv::IMREAD_UNCHANGED)));
  return out;
}

double msPerCall(const std::function<void()>& f, int reps) {
  f();  // warm-up
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto a = Clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// The methods compared on one texture: the shipped autoencoders' maps (the quality model's three
// maps; the real-time model's own), patch PCA and per-pixel Gaussian features, and the smoothing
// sigma every method shares.
struct Methods {
  std::vector<std::unique_ptr<AutoEncoder>> aes;  // the models behind the AeMethods
  std::vector<std::unique_ptr<Method>> list;
  double sigma = 2.0;
};

// The texture's autoencoders on one backend and their AeMethods, added to ms; with `first`, the
// model lines are printed and ms.sigma is taken from the first model's cae.map_sigma (all methods
// are smoothed alike).
void loadAutoEncoders(const Texture& tex, const fs::path& models, int threads,
                      infer::Backend backend, bool first, Methods& ms) {
  bool sigmaFromModel = false;
  for (const std::string suffix : {"", "-fast", "-seg", "-fast-seg", "-riad"}) {
    const fs::path model = models / ("anomaly-" + std::string(tex.name) + suffix + ".onnx");
    if (!fs::exists(model)) {
      if (suffix.empty() && first)
        std::fprintf(stderr, "%s: no model %s, autoencoder skipped\n", tex.name, model.c_str());
      continue;
    }
    ms.aes.push_back(std::make_unique<AutoEncoder>(model.string(), threads, backend));
    AutoEncoder& ae = *ms.aes.back();
    const anomaly::Decision& decision = ae.engine().info().anomaly;
    if (first && !sigmaFromModel && decision.map.smoothSigma > 0) {
      ms.sigma = decision.map.smoothSigma;
      sigmaFromModel = true;
    }
    if (first)
      std::printf(
          "{\"type\":\"model\",\"texture\":\"%s\",\"file\":\"%s\",\"anomaly_map\":"
          "\"%s\",\"map_sigma\":%g,\"threshold\":%.6g,\"backend\":\"%s\"}\n",
          tex.name, model.filename().c_str(), anomaly::mapKindName(decision.map.map),
          decision.map.smoothSigma, decision.threshold.value_or(std::nan("")),
          ae.backend().c_str());
    // The quality models of reconstruction are scored on all three maps; a segmentation model
    // on its output both as probability and as logit (the calibrated threshold is its own
    // form's); the others on their own map.
    if (suffix.empty() && !anomaly::outputIsMap(decision.map.map)) {
      for (anomaly::MapKind k :
           {anomaly::MapKind::Lowpass, anomaly::MapKind::L2, anomaly::MapKind::Ssim})
        ms.list.push_back(std::make_unique<AeMethod>(ae, k, ""));
    } else if (anomaly::outputIsMap(decision.map.map)) {
      for (anomaly::MapKind k :
           {anomaly::MapKind::SegmentationLogit, anomaly::MapKind::Segmentation})
        ms.list.push_back(std::make_unique<AeMethod>(ae, k, suffix));
    } else {
      ms.list.push_back(std::make_unique<AeMethod>(ae, decision.map.map, suffix));
    }
  }
}

Methods loadMethods(const Texture& tex, const fs::path& models, const std::vector<cv::Mat>& train,
                    int threads, infer::Backend backend, double sigmaOverride) {
  Methods ms;
  loadAutoEncoders(tex, models, threads, backend, true, ms);
  if (sigmaOverride >= 0) ms.sigma = sigmaOverride;
  ms.list.push_back(std::make_unique<PcaMethod>(train));
  ms.list.push_back(std::make_unique<GaussMethod>(train));
  ms.list.push_back(std::make_unique<KnnMethod>(train));
  return ms;
}

// A few test images beside this method's map, for looking at.
void writeExamples(const fs::path& examples, const Texture& tex, Method& m,
                   const std::vector<TestImage>& set, const std::vector<cv::Mat>& maps) {
  fs::create_directories(examples);
  for (std::size_t i = 0; i < set.size() && i < 25; i += 6) {
    cv::Mat vis, img8, m8;
    set[i].img.convertTo(img8, CV_8U, 255);
    if (img8.channels() == 3) cv::cvtColor(img8, img8, cv::COLOR_RGB2GRAY);
    double mx;
    cv::minMaxLoc(maps[i], nullptr, &mx);
    maps[i].convertTo(m8, CV_8U, 255.0 / std::max(mx, 1e-9));
    cv::hconcat(img8, m8, vis);
    cv::imwrite((examples / (std::string(tex.name) + "_" + m.name() + "_" + std::to_string(i) +
                             "_" + set[i].kind + ".png"))
                    .string(),
                vis);
  }
}

// AUPRO, and at the model's calibrated threshold (for the test crops' area) the share of clean
// and of defect crops flagged, and of defects found (a region over the threshold overlaps them).
void operatingPoint(const Texture& tex, Method& m, const std::vector<TestImage>& set,
                    const std::vector<cv::Mat>& maps, const std::vector<float>& imgScore) {
  std::vector<cv::Mat> masks(set.size());
  for (std::size_t i = 0; i < set.size(); ++i) masks[i] = set[i].mask;
  std::printf(
      "{\"type\":\"pro\",\"texture\":\"%s\",\"method\":\"%s\",\"max_fpr\":0.3,"
      "\"aupro\":%.5f}\n",
      tex.name, m.name().c_str(), auPro(maps, masks));
  if (const auto t = m.thresholdAt(double(set.front().img.rows) * set.front().img.cols)) {
    // A defect is found when a region above the threshold overlaps it: one of its pixels is.
    std::size_t clean = 0, cleanFlagged = 0, defect = 0, defectFlagged = 0, defectFound = 0;
    for (std::size_t i = 0; i < set.size(); ++i) {
      const bool flagged = imgScore[i] > *t;
      if (set[i].kind.empty()) {
        ++clean;
        cleanFlagged += flagged;
      } else {
        ++defect;
        defectFlagged += flagged;
        double inMask = 0;
        cv::minMaxLoc(maps[i], nullptr, &inMask, nullptr, nullptr, set[i].mask);
        defectFound += inMask > *t;
      }
    }
    std::printf(
        "{\"type\":\"at_threshold\",\"texture\":\"%s\",\"method\":\"%s\",\"threshold\":%.6g,"
        "\"clean\":%zu,\"clean_flagged\":%zu,\"defect\":%zu,\"defect_flagged\":%zu,"
        "\"defect_found\":%zu}\n",
        tex.name, m.name().c_str(), *t, clean, cleanFlagged, defect, defectFlagged, defectFound);
  }
}

// One method on one texture's test set: image and pixel AUROC per defect kind, the ROC curve,
// and image AUROC per defect size and contrast, as JSON lines.
void scoreMethod(const Texture& tex, Method& m, const std::vector<TestImage>& set, double sigma,
                 const std::vector<std::string>& kinds, const fs::path& examples) {
  std::vector<float> imgScore(set.size());
  std::vector<cv::Mat> maps(set.size());
  for (std::size_t i = 0; i < set.size(); ++i) {
    maps[i] = smoothMap(m.rawMap(set[i].img), sigma);
    double mx;
    cv::minMaxLoc(maps[i], nullptr, &mx);
    imgScore[i] = float(mx);
  }
  auto emit = [&](const char* type, const std::string& kind, double a, std::size_t np,
                  std::size_t nn, const std::string& extra = "") {
    std::printf(
        "{\"type\":\"%s\",\"texture\":\"%s\",\"method\":\"%s\",\"kind\":\"%s\",\"auroc\":%.5f,"
        "\"n_pos\":%zu,\"n_neg\":%zu%s}\n",
        type, tex.name, m.name().c_str(), kind.c_str(), a, np, nn, extra.c_str());
  };
  for (const std::string& kind : kinds) {
    std::vector<float> pos, neg, ppos, pneg;
    for (std::size_t i = 0; i < set.size(); ++i) {
      const bool clean = set[i].kind.empty();
      if (!clean && kind != "all" && set[i].kind != kind) continue;
      (clean ? neg : pos).push_back(imgScore[i]);
      for (int y = 0; y < maps[i].rows; ++y) {
        const float* s = maps[i].ptr<float>(y);
        const std::uint8_t* k = clean ? nullptr : set[i].mask.ptr<std::uint8_t>(y);
        for (int x = 0; x < maps[i].cols; ++x) ((k && k[x]) ? ppos : pneg).push_back(s[x]);
      }
    }
    emit("image_auroc", kind, auroc(pos, neg), pos.size(), neg.size());
    emit("pixel_auroc", kind, auroc(ppos, pneg), ppos.size(), pneg.size());
    if (kind == "all") {
      const auto [f, t] = rocCurve(pos, neg);
      std::printf(
          "{\"type\":\"roc\",\"texture\":\"%s\",\"method\":\"%s\",\"fpr\":%s,"
          "\"tpr\":%s}\n",
          tex.name, m.name().c_str(), jsonList(f).c_str(), jsonList(t).c_str());
    }
  }
  operatingPoint(tex, m, set, maps, imgScore);
  for (int size : kSizes)
    for (double contrast : kContrasts) {
      std::vector<float> pos, neg;
      for (std::size_t i = 0; i < set.size(); ++i) {
        if (set[i].kind.empty())
          neg.push_back(imgScore[i]);
        else if (set[i].size == size && set[i].contrast == contrast)
          pos.push_back(imgScore[i]);
      }
      std::printf(
          "{\"type\":\"image_auroc_by_size\",\"texture\":\"%s\",\"method\":\"%s\","
          "\"size\":%d,\"contrast\":%.2f,\"auroc\":%.5f}\n",
          tex.name, m.name().c_str(), size, contrast, auroc(pos, neg));
    }
  if (!examples.empty()) writeExamples(examples, tex, m, set, maps);
}

// False alarms on clean frames as a line varies (bench/line_frames: the whole test strip under
// random view, lighting, defocus and sensor noise), for each calibrated method, scored as the
// element scores a frame of the strip's size: flagged when the frame score passes the threshold
// for that area. Per 1,000 640x480 frames: measured directly where the strip has that area
// (wood); otherwise from the rate of strips passing the 640x480 threshold, a 640x480 frame being
// taken as area / strip-area independent strips (1 - (1 - p)^k).
void falseAlarms(const Texture& tex, Method& m, const cv::Mat& strip, double sigma, int frames,
                 std::vector<std::unique_ptr<AutoEncoder>>& aes) {
  const double area = double(strip.rows) * strip.cols, frameArea = 640.0 * 480.0;
  const auto tStrip = m.thresholdAt(area);
  const auto tFrame = m.thresholdAt(frameArea);
  if (!tStrip || !tFrame || frames <= 0) return;
  cv::RNG rng(0x11e5);
  int flagged = 0, flaggedAt640 = 0;
  for (int i = 0; i < frames; ++i) {
    const cv::Mat frame = bench::lineFrame(strip, rng);
    const cv::Mat map = smoothMap(m.rawMap(frame), sigma);
    for (auto& ae : aes) ae->forget();
    double mx;
    cv::minMaxLoc(map, nullptr, &mx);
    flagged += mx > *tStrip;
    flaggedAt640 += mx > *tFrame;
  }
  const double k = frameArea / area;
  const double p = double(flaggedAt640) / frames;
  std::printf(
      "{\"type\":\"false_alarms\",\"texture\":\"%s\",\"method\":\"%s\",\"frames\":%d,"
      "\"width\":%d,\"height\":%d,\"threshold\":%.6g,\"flagged\":%d,\"per_1000\":%.1f,"
      "\"threshold_640x480\":%.6g,\"flagged_at_640x480_threshold\":%d,"
      "\"per_1000_640x480\":%.1f,\"per_1000_640x480_direct\":%s}\n",
      tex.name, m.name().c_str(), frames, strip.cols, strip.rows, *tStrip, flagged,
      1000.0 * flagged / frames, *tFrame, flaggedAt640, 1000.0 * (1.0 - std::pow(1.0 - p, k)),
      std::abs(k - 1.0) < 1e-9 ? "true" : "false");
}

// Time per 640x480 frame (the strip mirrored up to that size), each method with its map,
// smoothing, frame score and (the element's work) regions. threads: OpenCV's; the autoencoders
// run at modelThreads (0: the engine's default).
void timeMethods(const Texture& tex, const cv::Mat& strip, Methods& methods, int threads,
                 int modelThreads) {
  std::vector<std::unique_ptr<AutoEncoder>>& aes = methods.aes;
  const double sigma = methods.sigma;
  cv::Mat frame;
  cv::copyMakeBorder(strip, frame, 0, std::max(0, 480 - strip.rows), 0,
                     std::max(0, 640 - strip.cols), cv::BORDER_REFLECT_101);
  frame = frame(cv::Rect(0, 0, 640, 480)).clone();
  for (auto& m : methods.list) {
    const double ms = msPerCall(
        [&] {
          for (auto& ae : aes) ae->forget();  // every timed call runs the model
          const cv::Mat map = smoothMap(m->rawMap(frame.clone()), sigma);
          anomaly::ScoreMap sm{map.cols, map.rows,
                               std::vector<float>(map.begin<float>(), map.end<float>())};
          anomaly::findRegions(sm, float(anomaly::frameScore(sm) * 0.9), 16);
        },
        5);
    std::printf(
        "{\"type\":\"speed\",\"texture\":\"%s\",\"method\":\"%s\",\"width\":640,"
        "\"height\":480,\"ms_per_frame\":%.2f,\"threads\":%d,\"backend\":\"%s\"}\n",
        tex.name, m->name().c_str(), ms, m->backend().empty() ? threads : modelThreads,
        m->backend().c_str());
  }
}

// Largest difference between two backends' reconstructions of every test image, per model.
void checkBackends(const Texture& tex, Methods& first, Methods& other,
                   const std::vector<TestImage>& set) {
  for (std::size_t k = 0; k < first.aes.size() && k < other.aes.size(); ++k) {
    AutoEncoder& a = *first.aes[k];
    AutoEncoder& b = *other.aes[k];
    double diff = 0;
    for (const TestImage& t : set)
      diff = std::max(diff, cv::norm(a.reconstruct(t.img), b.reconstruct(t.img), cv::NORM_INF));
    a.forget();
    b.forget();
    std::printf(
        "{\"type\":\"backend_check\",\"texture\":\"%s\",\"file\":\"%s\",\"backends\":"
        "\"%s,%s\",\"images\":%zu,\"max_abs_diff\":%.3g}\n",
        tex.name, fs::path(a.engine().options().model).filename().c_str(), a.backend().c_str(),
        b.backend().c_str(), set.size(), diff);
  }
}

struct EvalOptions {
  std::vector<std::string> only;  // textures; empty: all
  int crop = 96, maxCrops = 48, threads = 2;
  int lineFrames = 200;   // clean line frames per calibrated method (false alarms); 0: none
  int modelThreads = -1;  // the autoencoders' EngineOptions::threads; < 0: threads
  double sigma = -1;      // smoothing of every map; < 0: the model's cae.map_sigma
  fs::path examples;
  std::vector<infer::Backend> backends = {infer::Backend::Auto};
};

int evaluate(const fs::path& data, const fs::path& models, const EvalOptions& o) {
  cv::setNumThreads(o.threads);
  for (const Texture& tex : kTextures) {
    if (!o.only.empty() && std::find(o.only.begin(), o.only.end(), tex.name) == o.only.end())
      continue;
    const auto t0 = Clock::now();
    const std::vector<cv::Mat> train = loadTrain(data / tex.name / "train");
    const cv::Mat strip =
        toFloat(cv::imread((data / tex.name / "test.png").string(), cv::IMREAD_UNCHANGED));
    if (train.empty() || strip.empty())
      throw std::runtime_error("no prepared data for " + std::string(tex.name) + " in " +
                               data.string() + " (run prepare first)");
    const std::vector<TestImage> set = makeTestSet(strip, o.crop, o.maxCrops, 17);

    const int modelThreads = o.modelThreads < 0 ? o.threads : o.modelThreads;
    Methods ms = loadMethods(tex, models, train, modelThreads, o.backends.front(), o.sigma);
    std::vector<std::string> kinds{"all"};
    for (anomaly::DefectKind k : anomaly::defectKindsFor(strip.channels()))
      kinds.push_back(anomaly::defectKindName(k));
    for (auto& m : ms.list) {
      scoreMethod(tex, *m, set, ms.sigma, kinds, o.examples);
      for (auto& ae : ms.aes) ae->forget();
      falseAlarms(tex, *m, strip, ms.sigma, o.lineFrames, ms.aes);
      std::fflush(stdout);
    }
    std::fprintf(stderr, "%s: %zu test images (%zu clean), %zu methods, %.0f s\n", tex.name,
                 set.size(),
                 std::size_t(std::count_if(set.begin(), set.end(),
                                           [](const TestImage& t) { return t.kind.empty(); })),
                 ms.list.size(), std::chrono::duration<double>(Clock::now() - t0).count());

    timeMethods(tex, strip, ms, o.threads, modelThreads);
    std::vector<std::string> seen;  // backends in use measured so far
    if (!ms.aes.empty()) seen.push_back(ms.aes.front()->backend());
    for (std::size_t b = 1; b < o.backends.size(); ++b) {
      Methods other;
      other.sigma = ms.sigma;
      loadAutoEncoders(tex, models, modelThreads, o.backends[b], false, other);
      if (other.aes.empty()) continue;
      const std::string inUse = other.aes.front()->backend();
      if (std::find(seen.begin(), seen.end(), inUse) != seen.end()) {
        std::fprintf(stderr, "%s: backend %s runs on %s, measured already\n", tex.name,
                     infer::backendName(o.backends[b]).c_str(), inUse.c_str());
        continue;
      }
      seen.push_back(inUse);
      checkBackends(tex, ms, other, set);
      timeMethods(tex, strip, other, o.threads, modelThreads);
    }
    std::fflush(stdout);
  }
  return 0;
}

std::vector<std::string> splitComma(const std::string& s) {
  std::vector<std::string> v;
  std::stringstream in(s);
  for (std::string x; std::getline(in, x, ',');)
    if (!x.empty()) v.push_back(x);
  return v;
}

// eval's options after DATA_DIR MODEL_DIR; false for an unknown one.
bool parseEval(const std::vector<std::string>& a, EvalOptions& o) {
  for (std::size_t i = 3; i < a.size(); i += 2) {
    if (i + 1 >= a.size()) return false;
    const std::string& v = a[i + 1];
    if (a[i] == "--textures") {
      o.only = splitComma(v);
    } else if (a[i] == "--crop") {
      o.crop = std::stoi(v);
    } else if (a[i] == "--line-frames") {
      o.lineFrames = std::max(0, std::stoi(v));
    } else if (a[i] == "--max-crops") {
      o.maxCrops = std::stoi(v);
    } else if (a[i] == "--threads") {
      o.threads = std::stoi(v);
    } else if (a[i] == "--model-threads") {
      o.modelThreads = std::max(0, std::stoi(v));
    } else if (a[i] == "--examples") {
      o.examples = v;
    } else if (a[i] == "--sigma") {
      o.sigma = std::stod(v);
    } else if (a[i] == "--backends") {
      o.backends.clear();
      for (const std::string& b : splitComma(v)) o.backends.push_back(infer::parseBackend(b));
      if (o.backends.empty()) return false;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::vector<std::string> a(argv + 1, argv + argc);
    auto usage = [] {
      std::fprintf(stderr,
                   "usage: bench_anomaly_defects prepare OUT_DIR\n"
                   "       bench_anomaly_defects eval DATA_DIR MODEL_DIR [--textures a,b] "
                   "[--crop 96] [--max-crops 48] [--threads 2] [--examples DIR] [--sigma S] "
                   "[--backends auto|onednn|opencv,...] [--model-threads T] [--line-frames 200]\n");
      return 2;
    };
    if (a.empty() || a[0] == "--help" || a[0] == "-h") return usage();
    if (a[0] == "prepare" && a.size() == 2) return prepare(a[1]);
    EvalOptions o;
    if (a[0] == "eval" && a.size() >= 3 && parseEval(a, o)) return evaluate(a[1], a[2], o);
    return usage();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_anomaly_defects: %s\n", e.what());
    return 1;
  }
}
