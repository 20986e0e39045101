// Medical enhancement quality (issue 13): a model through cae-enhance's Enhancer against 16-bit
// OpenCV NLM and ffmpeg's bm3d on 16-bit gray, on held-out real slices with simulated low-dose
// CT noise (core/train/ct_lowdose: projection domain, Poisson at I0 photons) and Rician MR noise,
// two levels each. NLM's h and bm3d's sigma are tuned per level on the tuning slices (never on
// the test slices). PSNR and SSIM in the stored value range of each clean slice.
//
//   bench_enhance_quality [--model M]... [--images DIR] [--no-bm3d] [--json]
// Prints a markdown table (--json: one JSON line per slice, method and level); --images DIR
// writes before/after crops of the first test slice of each modality at the higher level.
#include <unistd.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/photo.hpp>
#include <string>
#include <vector>

#include "enhance/slices.hpp"
#include "nn/corruption/rician_noise.hpp"
#include "onnx/metadata.hpp"
#include "train/ct_lowdose.hpp"

namespace fs = std::filesystem;
namespace en = cae::enhance;
using json = nlohmann::json;

namespace {

const fs::path kPydicom = "/usr/lib/python3/dist-packages/pydicom/data/test_files";
const fs::path kOctave = "/usr/share/octave/packages/dicom-0.5.1/imdata";
const fs::path kItk = "/usr/share/doc/insighttoolkit5-examples/examples/Data";

// CT values: the slices' HU window [-1000, 1000] is the [0, 1] the CT noise model attenuates
// (water at 0.5: core/train/ct_lowdose.hpp).
constexpr double kCtLo = -1000, kCtHi = 1000;

enum class Modality { CT, MR };

struct Slice {
  std::string name;
  Modality modality = Modality::CT;
  bool tuning = false;
  en::Slices clean;  // stored values
};

// 8-bit MR slices (ITK's examples) spread over 12 bits: MR magnitude data is stored in 12 bits.
en::Slices mr8(const fs::path& p) {
  cv::Mat g = cv::imread(p.string(), cv::IMREAD_GRAYSCALE), s;
  if (g.empty()) throw std::runtime_error("cannot read " + p.string());
  g.convertTo(s, CV_32S, 16.0);
  en::Slices out;
  out.kind = en::InputKind::Image;
  out.path = p.string();
  out.frames = {s};
  out.storedMax = 4095;
  return out;
}

std::vector<Slice> loadSlices() {
  std::vector<Slice> v;
  auto dicom = [](const fs::path& p) { return en::readSlices(p.string(), en::InputKind::Dicom); };
  v.push_back({"CT-MONO2-16-ankle (octave-dicom)", Modality::CT, true,
               dicom(kOctave / "CT-MONO2-16-ankle.dcm")});
  v.push_back({"CT_small (pydicom)", Modality::CT, false, dicom(kPydicom / "CT_small.dcm")});
  v.push_back(
      {"BrainMidSagittalSlice (ITK)", Modality::MR, true, mr8(kItk / "BrainMidSagittalSlice.png")});
  v.push_back({"FatMRISlice (ITK)", Modality::MR, true, mr8(kItk / "FatMRISlice.png")});
  v.push_back({"MR_small (pydicom)", Modality::MR, false, dicom(kPydicom / "MR_small.dcm")});
  v.push_back({"BrainProtonDensitySlice (ITK)", Modality::MR, false,
               mr8(kItk / "BrainProtonDensitySlice.png")});
  v.push_back({"BrainT1Slice (ITK)", Modality::MR, false, mr8(kItk / "BrainT1Slice.png")});
  return v;
}

struct Level {
  Modality modality;
  std::string name;  // "I0 2e4", "sigma 3 %"
  double value;      // photons, or sigma as a share of the slice's maximum
};

const std::vector<Level> kLevels = {{Modality::CT, "I0 = 5e4 photons", 5e4},
                                    {Modality::CT, "I0 = 1e4 photons", 1e4},
                                    {Modality::MR, "Rician sigma = 3 % of max", 0.03},
                                    {Modality::MR, "Rician sigma = 6 % of max", 0.06}};

cv::Mat toFloat(const cv::Mat& m) {
  cv::Mat f;
  m.convertTo(f, CV_32F);
  return f;
}

// The noisy slice in stored values, drawn with a seed of its own.
cv::Mat addNoise(const Slice& s, const Level& l, std::uint64_t seed) {
  const cv::Mat clean = s.clean.frames[0];
  cae::nn::Rng rng(seed);
  cae::nn::Tensor in({1, 1, clean.rows, clean.cols}), out;
  const cv::Mat f = toFloat(clean);
  double lo = 0, hi = 0;
  cv::minMaxLoc(clean, &lo, &hi);
  // stored -> [0, 1]: CT through the HU window, MR by the slice's maximum.
  double a = 1.0 / hi, b = 0;
  if (l.modality == Modality::CT) {
    a = s.clean.slope / (kCtHi - kCtLo);
    b = (s.clean.intercept - kCtLo) / (kCtHi - kCtLo);
  }
  cv::Mat u(clean.rows, clean.cols, CV_32F, in.data());
  f.convertTo(u, CV_32F, a, b);
  if (l.modality == Modality::CT) {
    cae::train::LowDoseCtNoise::Options o;
    o.photonsLo = o.photonsHi = l.value;
    cae::train::LowDoseCtNoise(o).apply(in, out, rng);
  } else {
    cae::nn::RicianNoise(float(l.value)).apply(in, out, rng);
  }
  const cv::Mat n(clean.rows, clean.cols, CV_32F, out.data());
  cv::Mat stored;
  n.convertTo(stored, CV_32S, 1.0 / a, -b / a);
  cv::max(stored, s.clean.storedMin, stored);
  cv::min(stored, s.clean.storedMax, stored);
  return stored;
}

double range(const cv::Mat& clean) {
  double lo = 0, hi = 0;
  cv::minMaxLoc(clean, &lo, &hi);
  return std::max(1.0, hi - lo);
}

double psnr(const cv::Mat& x, const cv::Mat& clean) {
  cv::Mat d = toFloat(x) - toFloat(clean);
  const double mse = cv::mean(d.mul(d))[0];
  return 10 * std::log10(range(clean) * range(clean) / std::max(mse, 1e-12));
}

// SSIM (Wang et al. 2004): Gaussian window sigma 1.5 (11 taps), K1 0.01, K2 0.03, L the clean
// slice's value range; the mean of the map.
double ssim(const cv::Mat& xs, const cv::Mat& ys) {
  const double L = range(ys), c1 = (0.01 * L) * (0.01 * L), c2 = (0.03 * L) * (0.03 * L);
  cv::Mat x, y;
  xs.convertTo(x, CV_64F);
  ys.convertTo(y, CV_64F);
  auto blur = [](const cv::Mat& m) {
    cv::Mat o;
    cv::GaussianBlur(m, o, cv::Size(11, 11), 1.5);
    return o;
  };
  const cv::Mat mx = blur(x), my = blur(y);
  const cv::Mat vx = blur(x.mul(x)) - mx.mul(mx), vy = blur(y.mul(y)) - my.mul(my);
  const cv::Mat cxy = blur(x.mul(y)) - mx.mul(my);
  cv::Mat num = (2 * mx.mul(my) + c1).mul(2 * cxy + c2);
  cv::Mat den = (mx.mul(mx) + my.mul(my) + c1).mul(vx + vy + c2);
  cv::Mat s;
  cv::divide(num, den, s);
  return cv::mean(s)[0];
}

// Stored values shifted to unsigned 16 bits for NLM and ffmpeg, and back.
cv::Mat toU16(const cv::Mat& stored, int shift) {
  cv::Mat u;
  stored.convertTo(u, CV_16U, 1.0, shift);
  return u;
}
cv::Mat fromU16(const cv::Mat& u, int shift) {
  cv::Mat s;
  u.convertTo(s, CV_32S, 1.0, -shift);
  return s;
}

cv::Mat nlm16(const cv::Mat& noisy, int shift, float h) {
  cv::Mat out;
  cv::fastNlMeansDenoising(toU16(noisy, shift), out, std::vector<float>{h}, 7, 21, cv::NORM_L1);
  return fromU16(out, shift);
}

// ffmpeg's bm3d (estim=basic, as the photographic benchmark) on one frame. ffmpeg 5.1's bm3d
// is broken on gray16le (measured: camera.png at 12 bits with noise 400 gives 24.8 dB at best,
// and a black frame from sigma 400 up), but right on gray12le, where its sigma is in 8-bit
// units (3.75 x the noise std, as at 8 bits, is best there too): values are fed as gray12le,
// shifted right by k bits when they exceed 12 (none of the slices here do), and `sigma` is the
// noise std in stored units, turned into ffmpeg's units here.
cv::Mat bm3d16(const cv::Mat& noisy, int shift, double sigma) {
  static const fs::path dir =
      fs::temp_directory_path() / ("cae_enhance_bench_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const cv::Mat u = toU16(noisy, shift);
  double hi = 0;
  cv::minMaxLoc(u, nullptr, &hi);
  int k = 0;
  while ((int(hi) >> k) > 4095) ++k;
  const fs::path src = dir / "in.raw", dst = dir / "out.raw";
  {
    std::ofstream f(src, std::ios::binary);
    for (int y = 0; y < u.rows; ++y)
      for (int x = 0; x < u.cols; ++x) {
        const std::uint16_t v = std::uint16_t(u.at<std::uint16_t>(y, x) >> k);
        f.write(reinterpret_cast<const char*>(&v), 2);
      }
  }
  char filter[96];
  std::snprintf(filter, sizeof filter, "bm3d=sigma=%.4f:estim=basic",
                sigma / (1 << k) * 255.0 / 4095.0);
  const std::string cmd =
      "ffmpeg -nostdin -hide_banner -v error -threads 2 -f rawvideo -pix_fmt gray12le -s " +
      std::to_string(u.cols) + "x" + std::to_string(u.rows) + " -i '" + src.string() + "' -vf '" +
      filter + "' -frames:v 1 -f rawvideo -pix_fmt gray12le -y '" + dst.string() + "'";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("ffmpeg failed: " + cmd);
  cv::Mat out(u.size(), CV_16U);
  std::ifstream f(dst, std::ios::binary);
  for (int y = 0; y < out.rows && f; ++y)
    f.read(reinterpret_cast<char*>(out.ptr(y)), std::streamsize(out.cols) * 2);
  if (!f) throw std::runtime_error("ffmpeg wrote a short frame: " + cmd);
  out *= double(1 << k);
  return fromU16(out, shift);
}

int shiftOf(const Slice& s) { return s.clean.storedMin < 0 ? -s.clean.storedMin : 0; }

// The parameter of `run` (h or sigma) with the best mean PSNR over the tuning slices of the
// level's modality, from a geometric grid around the noise's own std.
template <typename Run>
double tune(const std::vector<Slice>& slices, const Level& l, const std::vector<double>& factors,
            Run run) {
  double best = 0, bestPsnr = -1e9;
  for (double f : factors) {
    double sum = 0;
    int n = 0;
    for (std::size_t i = 0; i < slices.size(); ++i) {
      const Slice& s = slices[i];
      if (!s.tuning || s.modality != l.modality) continue;
      const cv::Mat noisy = addNoise(s, l, 1000 + i);
      cv::Mat d = toFloat(noisy) - toFloat(s.clean.frames[0]), mean, sd;
      cv::meanStdDev(d, mean, sd);
      sum += psnr(run(noisy, shiftOf(s), f * sd.at<double>(0)), s.clean.frames[0]);
      ++n;
    }
    if (n && sum / n > bestPsnr) bestPsnr = sum / n, best = f;
  }
  return best;
}

struct Options {
  std::vector<std::string> models;
  std::string images;
  bool bm3d = true, json = false;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--model" && i + 1 < argc)
      o.models.emplace_back(argv[++i]);
    else if (a == "--images" && i + 1 < argc)
      o.images = argv[++i];
    else if (a == "--no-bm3d")
      o.bm3d = false;
    else if (a == "--json")
      o.json = true;
    else
      throw std::runtime_error("unknown option " + a);
  }
  return o;
}

// A crop for the report: the stored values windowed onto 8 bits by the clean slice's range.
void writeCrop(const fs::path& p, const cv::Mat& stored, const cv::Mat& clean) {
  double lo = 0, hi = 0;
  cv::minMaxLoc(clean, &lo, &hi);
  cv::Mat v;
  stored.convertTo(v, CV_8U, 255.0 / std::max(1.0, hi - lo), -lo * 255.0 / std::max(1.0, hi - lo));
  cv::imwrite(p.string(), v);
}

}  // namespace

namespace {

// Models trained for one modality (their cae.noise: ct-lowdose or rician), by name.
std::map<std::string, Modality> kModelModality;

struct Score {
  double psnr = 0, ssim = 0, ms = 0;
  int n = 0;
};

// The test slices of one level through every method; rows of `table` by method name.
void scoreLevel(const std::vector<Slice>& slices, const Level& l, const Options& o,
                std::vector<std::pair<std::string, std::unique_ptr<en::Enhancer>>>& models,
                double hFactor, double bm3dFactor, std::map<std::string, Score>& table) {
  bool firstImage = true;
  for (std::size_t i = 0; i < slices.size(); ++i) {
    const Slice& s = slices[i];
    if (s.tuning || s.modality != l.modality) continue;
    const cv::Mat clean = s.clean.frames[0];
    const cv::Mat noisy = addNoise(s, l, 2000 + i);
    cv::Mat d = toFloat(noisy) - toFloat(clean), mean, sd;
    cv::meanStdDev(d, mean, sd);
    const double noiseSd = sd.at<double>(0);
    std::vector<std::pair<std::string, cv::Mat>> outs = {{"noisy", noisy}};
    std::vector<double> times = {0};
    auto timed = [&](const std::string& name, auto&& f) {
      const auto t0 = std::chrono::steady_clock::now();
      outs.emplace_back(name, f());
      times.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    };
    timed("OpenCV NLM (16-bit, L1)",
          [&] { return nlm16(noisy, shiftOf(s), float(hFactor * noiseSd)); });
    if (o.bm3d)
      timed("ffmpeg bm3d (gray12)",
            [&] { return bm3d16(noisy, shiftOf(s), bm3dFactor * noiseSd); });
    for (auto& m : models) {
      if (const auto f = kModelModality.find(m.first);
          f != kModelModality.end() && f->second != l.modality)
        continue;  // a CT model is scored on CT noise, an MR model on MR noise
      en::Slices in = s.clean;
      in.frames = {noisy};
      en::Enhancer& e = *m.second;
      timed(m.first, [&] { return e.run(in, en::Window{})[0]; });
    }
    for (std::size_t k = 0; k < outs.size(); ++k) {
      Score& sc = table[outs[k].first];
      const double p = psnr(outs[k].second, clean), q = ssim(outs[k].second, clean);
      sc.psnr += p, sc.ssim += q, sc.ms += times[k], ++sc.n;
      if (o.json)
        std::printf("%s\n", json{{"slice", s.name},
                                 {"level", l.name},
                                 {"method", outs[k].first},
                                 {"psnr", p},
                                 {"ssim", q},
                                 {"ms", times[k]},
                                 {"noise_sd", noiseSd}}
                                .dump()
                                .c_str());
    }
    if (!o.images.empty() && firstImage && &l != &kLevels.front() && &l != &kLevels[2]) {
      firstImage = false;
      const std::string tag = l.modality == Modality::CT ? "ct" : "mr";
      writeCrop(fs::path(o.images) / ("enhance-" + tag + "-clean.png"), clean, clean);
      for (std::size_t k = 0; k < outs.size(); ++k) {
        std::string n = outs[k].first.substr(0, outs[k].first.find(' '));
        for (char& c : n) c = char(std::tolower(static_cast<unsigned char>(c)));
        std::string file = "enhance-" + tag;
        file += "-" + n + ".png";
        writeCrop(fs::path(o.images) / file, outs[k].second, clean);
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) try {
  const Options o = parse(argc, argv);
  if (!o.images.empty()) fs::create_directories(o.images);
  const std::vector<Slice> slices = loadSlices();
  std::vector<std::pair<std::string, std::unique_ptr<en::Enhancer>>> models;
  for (const std::string& m : o.models) {
    const auto info = cae::onnx::readModelInfo(m);
    const std::string kind = info.noise ? info.noise->kind : "";
    if (kind == "ct-lowdose") kModelModality[fs::path(m).stem().string()] = Modality::CT;
    if (kind == "rician") kModelModality[fs::path(m).stem().string()] = Modality::MR;
    models.emplace_back(
        fs::path(m).stem().string(),
        std::make_unique<en::Enhancer>(en::ModelRef::load(m), cae::infer::Backend::Auto, 1));
  }
  auto nlmRun = [](const cv::Mat& n, int shift, double h) { return nlm16(n, shift, float(h)); };
  auto bm3dRun = [](const cv::Mat& n, int shift, double sigma) { return bm3d16(n, shift, sigma); };
  const std::vector<double> nlmGrid = {0.4, 0.6, 0.8, 1.0, 1.3, 1.7, 2.2};
  const std::vector<double> bm3dGrid = {1.5, 2.5, 3.75, 5.0, 7.0};
  std::printf(
      "| noise | method | PSNR (dB) | SSIM | ms per slice | tuned on the tuning slices |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (const Level& l : kLevels) {
    const double h = tune(slices, l, nlmGrid, nlmRun);
    const double b = o.bm3d ? tune(slices, l, bm3dGrid, bm3dRun) : 0;
    std::map<std::string, Score> table;
    scoreLevel(slices, l, o, models, h, b, table);
    std::vector<std::string> order = {"noisy", "OpenCV NLM (16-bit, L1)"};
    if (o.bm3d) order.emplace_back("ffmpeg bm3d (gray12)");
    for (auto& m : models) order.push_back(m.first);
    for (const std::string& m : order) {
      const Score& sc = table[m];
      if (!sc.n) continue;
      std::string note = "–";
      if (m.rfind("OpenCV", 0) == 0)
        note = "h = " + std::to_string(h).substr(0, 4) + " × noise std";
      if (m.rfind("ffmpeg", 0) == 0)
        note = "sigma = " + std::to_string(b).substr(0, 4) + " × noise std";
      if (!o.json)
        std::printf("| %s | %s | %.2f | %.4f | %.0f | %s |\n", l.name.c_str(), m.c_str(),
                    sc.psnr / sc.n, sc.ssim / sc.n, sc.ms / sc.n, note.c_str());
    }
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_enhance_quality: %s\n", e.what());
  return 1;
}
