#include "train/dataset.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <system_error>

#include "audio/stft.hpp"
#include "error.hpp"
#include "io/dicom.hpp"
#include "io/idx.hpp"
#include "io/image.hpp"
#include "io/video.hpp"
#include "io/wav.hpp"

namespace cae::train {

namespace fs = std::filesystem;
using nn::Scalar;
using nn::Shape;
using nn::Tensor;

namespace {

enum class Kind { None, Picture, Dicom, Video, Audio, Idx };

const char* const kSupported =
    "images .png .jpg .jpeg .tif .tiff .bmp .pgm .ppm, DICOM .dcm, videos .mp4 .avi .mkv .mov "
    ".webm, sound .wav, IDX *-idx3-ubyte[.gz]";

std::string lower(std::string s) {
  for (char& ch : s) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The kind of a file by its name; extension-less files count as DICOM only when probing finds
// the DICM preamble (folders hold READMEs and the like too).
Kind kindOf(const fs::path& p, bool probeDicom) {
  const std::string name = lower(p.filename().string());
  const std::string ext = lower(p.extension().string());
  if (endsWith(name, "idx3-ubyte") || endsWith(name, "idx3-ubyte.gz")) return Kind::Idx;
  for (const char* e : {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".pgm", ".ppm"})
    if (ext == e) return Kind::Picture;
  for (const char* e : {".mp4", ".avi", ".mkv", ".mov", ".webm"})
    if (ext == e) return Kind::Video;
  if (ext == ".dcm") return Kind::Dicom;
  if (ext == ".wav") return Kind::Audio;
  if (ext.empty() && (!probeDicom || io::hasDicomMagic(p.string()))) return Kind::Dicom;
  return Kind::None;
}

struct Entry {
  std::string path;
  Kind kind;
};

void collectFolder(const std::string& dir, std::vector<Entry>& out) {
  std::vector<Entry> found;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') {  // hidden files and folders (.git, .DS_Store)
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    const Kind k = kindOf(it->path(), true);
    if (k != Kind::None) found.push_back({it->path().string(), k});
  }
  if (ec) throw IoError("cannot list folder '" + dir + "': " + ec.message());
  if (found.empty())
    throw IoError("folder '" + dir + "' holds no supported files (" + kSupported + ")");
  std::sort(found.begin(), found.end(),
            [](const Entry& a, const Entry& b) { return a.path < b.path; });
  out.insert(out.end(), found.begin(), found.end());
}

std::vector<Entry> collect(const std::vector<std::string>& paths) {
  std::vector<Entry> out;
  for (const std::string& p : paths) {
    std::error_code ec;
    const fs::file_status st = fs::status(p, ec);
    if (!fs::exists(st)) throw IoError("no such file or folder: '" + p + "'");
    if (fs::is_directory(st)) {
      collectFolder(p, out);
      continue;
    }
    const Kind k = kindOf(p, false);
    if (k == Kind::None)
      throw FormatError("'" + p + "' is not a supported kind of file (" + kSupported + ")");
    out.push_back({p, k});
  }
  return out;
}

// k of n indices chosen uniformly without replacement, returned in increasing order.
std::vector<std::size_t> chooseSorted(std::size_t n, std::size_t k, nn::Rng& rng) {
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), std::size_t(0));
  k = std::min(k, n);
  for (std::size_t i = 0; i < k; ++i) std::swap(idx[i], idx[i + rng.below(n - i)]);
  idx.resize(k);
  std::sort(idx.begin(), idx.end());
  return idx;
}

// Gray <-> RGB(A) so that every image has `channels` planes (luma weights as in OpenCV).
Tensor toChannels(Tensor t, int channels) {
  const Shape s = t.shape();
  if (s.c == channels) return t;
  const std::size_t plane = s.plane();
  Tensor out(Shape{1, channels, s.h, s.w});
  if (channels == 1 && s.c >= 3) {
    for (std::size_t i = 0; i < plane; ++i)
      out[i] =
          Scalar(0.299) * t[i] + Scalar(0.587) * t[plane + i] + Scalar(0.114) * t[2 * plane + i];
  } else if (channels == 3 && s.c == 1) {
    for (int k = 0; k < 3; ++k) std::copy(t.data(), t.data() + plane, out.data() + plane * k);
  } else if (channels == 3 && s.c == 4) {
    std::copy(t.data(), t.data() + 3 * plane, out.data());
  } else {
    throw FormatError("cannot convert " + std::to_string(s.c) + " channels to " +
                      std::to_string(channels));
  }
  return out;
}

// With a window: a 16-bit gray picture's samples as stored values, made modality values by
// o.sampleRescale, in model units u = s * scale + offset (io::unitMap).
Tensor windowedPicture(const std::string& path, const LoadOptions& o) {
  io::GraySamples g = io::readGraySamples(path);
  if (g.bitDepth != 16)
    throw FormatError("'" + path + "' has " + std::to_string(g.bitDepth) +
                      "-bit samples; --window reads 16-bit gray PNG/TIFF (stored values) and "
                      "DICOM files only");
  const io::UnitMap m = io::unitMap(o.sampleRescale, *o.window);
  Tensor t = std::move(g.samples);
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = Scalar(double(t[i]) * m.scale + m.offset);
  return t;
}

// The kinds --window cannot read: their samples are no modality values.
void requireModality(const Entry& e, const LoadOptions& o) {
  if (!o.window || e.kind == Kind::Picture || e.kind == Kind::Dicom) return;
  throw FormatError("'" + e.path +
                    "' is not a scan; --window reads DICOM files and 16-bit gray PNG/TIFF only");
}

void loadEntry(const Entry& e, const LoadOptions& o, std::vector<Image>& out) {
  const io::ColorMode mode = o.channels == 1 ? io::ColorMode::Gray : io::ColorMode::Color;
  requireModality(e, o);
  switch (e.kind) {
    case Kind::Picture:
      if (o.window)
        out.push_back({windowedPicture(e.path, o), e.path});
      else
        out.push_back({io::readImage(e.path, mode), e.path});
      break;
    case Kind::Dicom: {
      io::DicomImageData d = o.window ? io::readDicom(e.path, io::DicomScaling::Window, *o.window)
                                      : io::readDicom(e.path, o.dicomScaling);
      if (o.window && !d.frames.empty() && d.frames[0].shape().c != 1)
        throw FormatError("DICOM '" + e.path +
                          "' is a colour image; --window reads monochrome scans only");
      const bool many = d.frames.size() > 1;
      for (std::size_t i = 0; i < d.frames.size(); ++i)
        out.push_back({toChannels(std::move(d.frames[i]), o.channels),
                       many ? e.path + "#frame " + std::to_string(i) : e.path});
      break;
    }
    case Kind::Video:
      for (io::VideoFrame& f :
           io::readVideoFrames(e.path, mode, o.videoFrameStep, o.maxVideoFrames))
        out.push_back({std::move(f.pixels), e.path + "#frame " + std::to_string(f.index)});
      break;
    case Kind::Audio: {
      const io::MonoAudio a = io::readMonoAudio(e.path);
      std::vector<Tensor> chunks =
          audio::logSpectrogramChunks(a.samples, o.stftSize, o.stftHop, o.stftChunk);
      for (std::size_t i = 0; i < chunks.size(); ++i)
        out.push_back(
            {toChannels(std::move(chunks[i]), o.channels), e.path + "#chunk " + std::to_string(i)});
      break;
    }
    case Kind::Idx: {
      const Tensor all = io::readIdxImages(e.path);
      const Shape s = all.shape();
      for (int i = 0; i < s.n; ++i) {
        Tensor t(Shape{1, 1, s.h, s.w});
        std::copy(all.sample(i), all.sample(i) + s.perSample(), t.data());
        out.push_back({toChannels(std::move(t), o.channels), e.path + "#" + std::to_string(i)});
      }
      break;
    }
    case Kind::None:
      break;
  }
}

}  // namespace

std::vector<Image> loadImages(const std::vector<std::string>& paths, const LoadOptions& opts) {
  if (paths.empty()) throw InvalidArgument("no input files or folders given");
  if (opts.channels != 1 && opts.channels != 3)
    throw InvalidArgument("channels must be 1 (gray) or 3 (RGB), got " +
                          std::to_string(opts.channels));
  if (opts.videoFrameStep < 1) throw InvalidArgument("video frame step must be >= 1");
  if (opts.window) {
    const io::Window& w = *opts.window;
    if (!(w.lo < w.hi && std::isfinite(w.lo) && std::isfinite(w.hi)))
      throw InvalidArgument("the window must be LO:HI with finite LO < HI");
    const io::Rescale& r = opts.sampleRescale;
    if (r.slope == 0 || !std::isfinite(r.slope) || !std::isfinite(r.intercept))
      throw InvalidArgument("the sample rescale must be SLOPE:INTERCEPT, finite, SLOPE != 0");
    if (opts.channels != 1)
      throw InvalidArgument("a window (modality values) needs gray images (channels 1)");
  }
  std::vector<Entry> entries = collect(paths);

  nn::Rng rng(opts.seed);
  const bool onePerFile = std::all_of(entries.begin(), entries.end(),
                                      [](const Entry& e) { return e.kind == Kind::Picture; });
  if (opts.sample > 0 && onePerFile && entries.size() > opts.sample) {
    // Each picture is one image: choose files before decoding them.
    std::vector<Entry> kept;
    for (std::size_t i : chooseSorted(entries.size(), opts.sample, rng)) kept.push_back(entries[i]);
    entries.swap(kept);
  }
  std::vector<Image> images;
  for (const Entry& e : entries) loadEntry(e, opts, images);
  if (opts.sample > 0 && images.size() > opts.sample) {
    std::vector<Image> kept;
    kept.reserve(opts.sample);
    for (std::size_t i : chooseSorted(images.size(), opts.sample, rng))
      kept.push_back(std::move(images[i]));
    images.swap(kept);
  }
  return images;
}

void splitValidation(std::vector<Image>& train, std::vector<Image>& val, double fraction,
                     nn::Rng& rng) {
  if (!(fraction >= 0 && fraction < 1))
    throw InvalidArgument("validation fraction must be in [0, 1), got " + std::to_string(fraction));
  val.clear();
  if (fraction == 0 || train.empty()) return;
  if (train.size() == 1) {
    Image& im = train[0];
    const Shape s = im.pixels.shape();
    if (s.h < 2)
      throw InvalidArgument("image '" + im.source + "' is too small to split off validation rows");
    const int hv = std::max(1, s.h / 5);
    val.push_back({io::crop(im.pixels, s.h - hv, 0, hv, s.w), im.source + " (bottom fifth)"});
    im.pixels = io::crop(im.pixels, 0, 0, s.h - hv, s.w);
    return;
  }
  const std::size_t n = train.size();
  const std::size_t k =
      std::clamp<std::size_t>(std::size_t(std::llround(fraction * double(n))), 1, n - 1);
  std::vector<bool> isVal(n, false);
  for (std::size_t i : chooseSorted(n, k, rng)) isVal[i] = true;
  std::vector<Image> kept;
  kept.reserve(n - k);
  for (std::size_t i = 0; i < n; ++i) (isVal[i] ? val : kept).push_back(std::move(train[i]));
  train.swap(kept);
}

nn::Tensor sliceSamples(const nn::Tensor& t, int from, int n) {
  Shape s = t.shape();
  s.n = n;
  nn::Tensor out(s);
  std::copy(t.sample(from), t.sample(from) + s.size(), out.data());
  return out;
}

BatchSource::BatchSource(std::vector<Image> images, const Options& o)
    : images_(std::move(images)), o_(o) {
  if (images_.empty()) throw InvalidArgument("no images to draw batches from");
  if (o_.patchH < 0 || o_.patchW < 0 || (o_.patchH == 0) != (o_.patchW == 0))
    throw InvalidArgument(
        "patch size must be two positive numbers (or 0x0 for whole frames), got " +
        std::to_string(o_.patchH) + "x" + std::to_string(o_.patchW));
  const Image& first = images_[0];
  const Shape s0 = first.pixels.shape();
  auto size = [](const Shape& s) { return std::to_string(s.h) + "x" + std::to_string(s.w); };
  for (const Image& im : images_) {
    const Shape s = im.pixels.shape();
    if (s.n < 1 || s.h < 1 || s.w < 1) throw InvalidArgument("image '" + im.source + "' is empty");
    if (s.c != s0.c)
      throw InvalidArgument("'" + first.source + "' has " + std::to_string(s0.c) +
                            " channels but '" + im.source + "' has " + std::to_string(s.c));
    if (o_.patchH == 0 && (s.h != s0.h || s.w != s0.w))
      throw InvalidArgument("whole frames need images of one size, but '" + first.source + "' is " +
                            size(s0) + " and '" + im.source + "' is " + size(s) +
                            "; train on patches instead (--patch)");
    if (o_.patchH > 0 && (s.h < o_.patchH || s.w < o_.patchW))
      throw InvalidArgument("image '" + im.source + "' (" + size(s) + ") is smaller than the " +
                            std::to_string(o_.patchH) + "x" + std::to_string(o_.patchW) +
                            " patch; use a smaller --patch or leave that file out");
  }
}

int BatchSource::channels() const { return images_[0].pixels.shape().c; }
int BatchSource::height() const { return o_.patchH > 0 ? o_.patchH : images_[0].pixels.shape().h; }
int BatchSource::width() const { return o_.patchW > 0 ? o_.patchW : images_[0].pixels.shape().w; }

namespace {

// Copies the h×w window at (y, x) of src into sample n of out, turned by rot quarter turns
// (counter-clockwise, as numpy.rot90) after optional mirror flips of the output.
void copyWindow(const Tensor& src, int y, int x, int rot, bool flipH, bool flipV, int n,
                Tensor& out) {
  const Shape o = out.shape();
  const int h = o.h, w = o.w, iw = src.shape().w, ih = src.shape().h;
  for (int c = 0; c < o.c; ++c) {
    const Scalar* plane = src.data() + std::size_t(c) * std::size_t(ih) * std::size_t(iw);
    Scalar* dst = &out.at(n, c, 0, 0);
    if (rot == 0 && !flipH && !flipV) {
      for (int r = 0; r < h; ++r) {
        const Scalar* row = plane + std::size_t(y + r) * std::size_t(iw) + std::size_t(x);
        std::copy(row, row + w, dst + std::size_t(r) * std::size_t(w));
      }
      continue;
    }
    for (int r = 0; r < h; ++r)
      for (int col = 0; col < w; ++col) {
        const int rr = flipV ? h - 1 - r : r, cc = flipH ? w - 1 - col : col;
        int sr = rr, sc = cc;  // odd rot only happens for square windows (h == w)
        if (rot == 1) sr = cc, sc = w - 1 - rr;
        if (rot == 2) sr = h - 1 - rr, sc = w - 1 - cc;
        if (rot == 3) sr = h - 1 - cc, sc = rr;
        dst[std::size_t(r) * std::size_t(w) + std::size_t(col)] =
            plane[std::size_t(y + sr) * std::size_t(iw) + std::size_t(x + sc)];
      }
  }
}

}  // namespace

void BatchSource::next(int n, nn::Rng& rng, Tensor& out) const {
  if (n < 1) throw InvalidArgument("batch size must be >= 1, got " + std::to_string(n));
  const int h = height(), w = width();
  out.resize(Shape{n, channels(), h, w});
  for (int i = 0; i < n; ++i) {
    const Tensor& img = images_[rng.below(images_.size())].pixels;
    const int ySpan = img.shape().h - h + 1;
    const int y = int(rng.below(std::uint64_t(ySpan)));
    const int xSpan = img.shape().w - w + 1;
    const int x = int(rng.below(std::uint64_t(xSpan)));
    bool flipH = false, flipV = false;
    if (o_.flips) {
      flipH = rng.below(2) == 1;
      flipV = rng.below(2) == 1;
    }
    int rot = 0;
    // Quarter turns would change a non-square sample's shape; those get half turns only.
    if (o_.rotations) rot = h == w ? int(rng.below(4)) : 2 * int(rng.below(2));
    copyWindow(img, y, x, rot, flipH, flipV, i, out);
    applyDefocus(out.sample(i), channels(), h, w, o_.defocus, rng);
    if (o_.lighting.any()) applyLighting(out.sample(i), out.shape().perSample(), o_.lighting, rng);
  }
}

Tensor BatchSource::fixed(int n, std::uint64_t seed) const {
  if (n < 1) throw InvalidArgument("batch size must be >= 1, got " + std::to_string(n));
  // Images in turn (each one covered), positions from the seed, no augmentation.
  nn::Rng rng(seed);
  const int h = height(), w = width();
  Tensor out(Shape{n, channels(), h, w});
  for (int i = 0; i < n; ++i) {
    const Tensor& img = images_[std::size_t(i) % images_.size()].pixels;
    const int ySpan = img.shape().h - h + 1;
    const int y = int(rng.below(std::uint64_t(ySpan)));
    const int xSpan = img.shape().w - w + 1;
    const int x = int(rng.below(std::uint64_t(xSpan)));
    copyWindow(img, y, x, 0, false, false, i, out);
  }
  return out;
}

}  // namespace cae::train
