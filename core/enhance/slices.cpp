#include "enhance/slices.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "error.hpp"
#include "io/dicom.hpp"
#include "io/hash.hpp"
#include "onnx/metadata.hpp"

namespace cae::enhance {

namespace fs = std::filesystem;

OutputFormat parseOutputFormat(const std::string& s) {
  if (s == "same") return OutputFormat::Same;
  if (s == "dicom") return OutputFormat::Dicom;
  if (s == "png16") return OutputFormat::Png16;
  if (s == "tiff") return OutputFormat::Tiff;
  throw InvalidArgument("unknown output format '" + s + "' (same, dicom, png16 or tiff)");
}

std::string formatName(OutputFormat f) {
  switch (f) {
    case OutputFormat::Same:
      return "same";
    case OutputFormat::Dicom:
      return "dicom";
    case OutputFormat::Png16:
      return "png16";
    case OutputFormat::Tiff:
      return "tiff";
  }
  return "?";
}

std::string outputExtension(OutputFormat f, InputKind in, const std::string& inputExtension) {
  switch (f) {
    case OutputFormat::Dicom:
      return ".dcm";
    case OutputFormat::Png16:
      return ".png";
    case OutputFormat::Tiff:
      return ".tif";
    case OutputFormat::Same:
      break;
  }
  if (in == InputKind::Dicom) return inputExtension;  // often none: DICOM files keep their names
  return inputExtension.empty() ? ".png" : inputExtension;
}

std::string Window::str() const {
  if (!set()) return "auto";
  std::ostringstream os;
  os.precision(10);
  os << lo << ':' << hi;
  return os.str();
}

Window parseWindow(const std::string& s) {
  if (s.empty() || s == "auto") return {};
  const auto colon = s.find(':', 1);  // a leading '-' is a sign, not the separator
  Window w;
  try {
    if (colon == std::string::npos) throw std::invalid_argument("no colon");
    std::size_t used = 0;
    w.lo = std::stod(s.substr(0, colon), &used);
    if (used != colon) throw std::invalid_argument("trailing text");
    const std::string hi = s.substr(colon + 1);
    w.hi = std::stod(hi, &used);
    if (used != hi.size()) throw std::invalid_argument("trailing text");
  } catch (const std::exception&) {
    throw InvalidArgument("window '" + s +
                          "' is not LO:HI (modality values, e.g. -1000:2000) or auto");
  }
  if (!(w.lo < w.hi) || !std::isfinite(w.lo) || !std::isfinite(w.hi))
    throw InvalidArgument("window '" + s + "': LO must be below HI");
  return w;
}

Slices readSlices(const std::string& path, InputKind kind) {
  Slices s;
  s.kind = kind;
  s.path = path;
  if (kind == InputKind::Dicom) {
    io::DicomInstance d = io::readDicomInstance(path);
    s.frames = d.frames;
    s.slope = d.slope;
    s.intercept = d.intercept;
    s.storedMin = d.storedMin();
    s.storedMax = d.storedMax();
    s.dicom = std::move(d);
    return s;
  }
  std::vector<cv::Mat> pages;
  bool read = false;
  try {
    read = cv::imreadmulti(path, pages, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw FormatError("'" + path + "': OpenCV could not decode it: " + e.what());
  }
  if (!read || pages.empty())
    throw FormatError("'" + path + "': not an image OpenCV can read (16-bit PNG or TIFF expected)");
  for (const cv::Mat& p : pages) {
    if (p.channels() != 1)
      throw FormatError("'" + path + "': " + std::to_string(p.channels()) +
                        " channels; cae-enhance takes gray scans (one channel)");
    if (p.depth() != CV_16U && p.depth() != CV_8U)
      throw FormatError("'" + path + "': samples are not 8 or 16-bit unsigned integers");
    if (p.size() != pages[0].size() || p.depth() != pages[0].depth())
      throw FormatError("'" + path + "': pages differ in size or depth");
    cv::Mat f;
    p.convertTo(f, CV_32S);
    s.frames.push_back(f);
  }
  s.imageDepth = pages[0].depth();
  s.storedMax = s.imageDepth == CV_8U ? 255 : 65535;
  return s;
}

ModelRef ModelRef::load(const std::string& path) {
  infer::ModelDescription d;
  try {
    d = infer::describeModel(path);
  } catch (const FormatError& e) {  // metadata errors (a malformed cae.window) name the key only
    if (std::string(e.what()).find(path) != std::string::npos) throw;
    throw FormatError("model '" + path + "': " + e.what());
  }
  if (d.info.frames != 1)
    throw InvalidArgument("model '" + path + "' is temporal (cae.frames " +
                          std::to_string(d.info.frames) +
                          "); cae-enhance runs single-frame models");
  if (d.channels != 1)
    throw InvalidArgument("model '" + path + "' reads " + std::to_string(d.channels) +
                          " channels; cae-enhance runs gray (1-channel) models");
  if (d.info.task != onnx::Task::Unknown && d.info.task != onnx::Task::Denoise)
    throw InvalidArgument("model '" + path + "' is not an image-to-image denoiser (cae.task " +
                          onnx::taskName(d.info.task) + ")");
  ModelRef m;
  m.path = path;
  m.sha256 = io::hex(io::sha256File(path));
  if (d.info.window) m.window = Window{d.info.window->lo, d.info.window->hi};
  m.sampleSlope = d.info.sampleRescale.slope;
  m.sampleIntercept = d.info.sampleRescale.intercept;
  return m;
}

Enhancer::Enhancer(const ModelRef& model, infer::Backend backend, int threads) : model_(model) {
  infer::EngineOptions o;
  o.model = model.path;
  o.backend = backend;
  o.threads = threads;
  o.task = onnx::Task::Denoise;
  engine_ = std::make_unique<infer::Engine>(o);
}

std::pair<double, double> Enhancer::rescaleOf(const Slices& s) const {
  if (s.kind == InputKind::Image) return {model_.sampleSlope, model_.sampleIntercept};
  return {s.slope, s.intercept};
}

Window Enhancer::windowFor(const Slices& s, Window window) const {
  if (window.set()) return window;
  if (model_.window.set()) return model_.window;
  double lo = 0, hi = 0;
  bool first = true;
  for (const cv::Mat& f : s.frames) {
    double a = 0, b = 0;
    cv::minMaxLoc(f, &a, &b);
    lo = first ? a : std::min(lo, a);
    hi = first ? b : std::max(hi, b);
    first = false;
  }
  const auto [slope, intercept] = rescaleOf(s);
  Window w{lo * slope + intercept, hi * slope + intercept};
  if (w.lo > w.hi) std::swap(w.lo, w.hi);  // negative slope
  if (!(w.hi > w.lo)) w.hi = w.lo + 1;     // a flat scan: any window keeps it flat
  return w;
}

std::vector<cv::Mat> Enhancer::run(const Slices& s, Window window) {
  const Window w = windowFor(s, window);
  // stored -> units: u = (stored * slope + intercept - lo) / (hi - lo), as one affine map in
  // double; its inverse is applied in double to the float32 output, then rounded.
  const auto [slope, intercept] = rescaleOf(s);
  const double a = slope / (w.hi - w.lo), b = (intercept - w.lo) / (w.hi - w.lo);
  std::vector<cv::Mat> out;
  out.reserve(s.frames.size());
  for (const cv::Mat& f : s.frames) {
    const int sz[] = {1, 1, f.rows, f.cols};
    blob_.create(4, sz, CV_32F);
    cv::Mat plane(f.rows, f.cols, CV_32F, blob_.ptr<float>());
    f.convertTo(plane, CV_32F, a, b);
    engine_->run(blob_, out_);
    const cv::Mat y(f.rows, f.cols, CV_32F, out_.ptr<float>());
    cv::Mat stored(f.rows, f.cols, CV_32S);
    for (int r = 0; r < f.rows; ++r) {
      const float* in = y.ptr<float>(r);
      int* o = stored.ptr<int>(r);
      for (int c = 0; c < f.cols; ++c) {
        const double v = std::nearbyint((double(in[c]) - b) / a);
        o[c] = int(std::clamp(v, double(s.storedMin), double(s.storedMax)));
      }
    }
    out.push_back(stored);
  }
  return out;
}

namespace {

cv::Mat toUnsigned(const cv::Mat& stored, int shift, int depth) {
  cv::Mat u;
  stored.convertTo(u, depth, 1.0, double(shift));
  return u;
}

}  // namespace

void writeSlices(const Slices& s, const std::vector<cv::Mat>& frames, OutputFormat format,
                 const io::DerivedSeries& derived, const std::string& path) {
  if (frames.size() != s.frames.size())
    throw InvalidArgument("writeSlices: " + std::to_string(frames.size()) +
                          " frames for an input of " + std::to_string(s.frames.size()));
  if (format == OutputFormat::Same)
    format = s.kind == InputKind::Dicom             ? OutputFormat::Dicom
             : fs::path(path).extension() == ".png" ? OutputFormat::Png16
                                                    : OutputFormat::Tiff;
  if (format == OutputFormat::Dicom) {
    if (!s.dicom)
      throw InvalidArgument("'" + s.path +
                            "' is not DICOM: it cannot be written as a derived DICOM instance");
    io::writeDerivedDicom(*s.dicom, frames, derived, path);
    return;
  }
  // Signed scans are shifted into unsigned 16 bits; 8-bit images keep their depth.
  const int shift = s.storedMin < 0 ? -s.storedMin : 0;
  const int depth = s.kind == InputKind::Image && s.imageDepth == CV_8U ? CV_8U : CV_16U;
  std::vector<cv::Mat> pages;
  pages.reserve(frames.size());
  for (const cv::Mat& f : frames) pages.push_back(toUnsigned(f, shift, depth));
  bool ok = false;
  try {
    if (format == OutputFormat::Png16) {
      if (pages.size() != 1)
        throw InvalidArgument("'" + s.path + "' has " + std::to_string(pages.size()) +
                              " frames; PNG holds one (use --format tiff or dicom)");
      std::vector<uchar> bytes;
      ok = cv::imencode(".png", pages[0], bytes);
      if (ok) {
        FILE* f = std::fopen(path.c_str(), "wb");
        ok = f && std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
        if (f) ok = std::fclose(f) == 0 && ok;
      }
    } else {
      // imwritemulti picks the codec from the name: the caller's temporary name ends in .tif.
      ok = cv::imwritemulti(path, pages);
    }
  } catch (const cv::Exception& e) {
    throw IoError("cannot write '" + path + "': " + e.what());
  }
  if (!ok) throw IoError("cannot write '" + path + "'");
}

}  // namespace cae::enhance
