#include "io/image.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "error.hpp"

namespace cae::io {

using nn::Scalar;
using nn::Shape;
using nn::Tensor;

namespace {

constexpr int kScalarType = cv::DataType<Scalar>::depth;

// Start of row y of channel c of sample 0 (Tensor::at() const returns a value, not a place).
const Scalar* rowOf(const Tensor& t, int c, int y) {
  const Shape s = t.shape();
  return t.data() + (std::size_t(c) * s.h + std::size_t(y)) * s.w;
}

void checkReadable(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw IoError("cannot open image '" + path + "': " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw IoError("cannot open image '" + path + "': it is a folder");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw IoError("cannot open image '" + path + "': " + std::strerror(errno));
}

// Tensor planes (RGB order) <-> interleaved OpenCV matrix (BGR order).
Tensor fromMat(const cv::Mat& m) {
  const int c = m.channels();
  Tensor t(Shape{1, c, m.rows, m.cols});
  std::vector<cv::Mat> planes(static_cast<std::size_t>(c));
  for (int k = 0; k < c; ++k) {
    // OpenCV stores colour as BGR(A); the tensor holds RGB(A).
    const int dst = (c >= 3 && k < 3) ? 2 - k : k;
    Scalar* plane = t.data() + t.shape().plane() * std::size_t(dst);
    planes[std::size_t(k)] = cv::Mat(m.rows, m.cols, kScalarType, plane);
  }
  cv::split(m, planes);  // writes straight into the tensor, planes already have the right size
  return t;
}

cv::Mat toMat(const Tensor& t) {
  const Shape s = t.shape();
  std::vector<cv::Mat> planes(static_cast<std::size_t>(s.c));
  for (int k = 0; k < s.c; ++k) {
    const int src = (s.c >= 3 && k < 3) ? 2 - k : k;
    // cv::Mat has no const view; merge() only reads these planes.
    Scalar* plane = const_cast<Scalar*>(t.data() + s.plane() * std::size_t(src));
    planes[std::size_t(k)] = cv::Mat(s.h, s.w, kScalarType, plane);
  }
  cv::Mat m;
  cv::merge(planes, m);
  return m;
}

}  // namespace

Tensor readImage(const std::string& path, ColorMode mode) {
  checkReadable(path);
  int flags = cv::IMREAD_UNCHANGED;
  if (mode == ColorMode::Gray) flags = cv::IMREAD_GRAYSCALE | cv::IMREAD_ANYDEPTH;
  if (mode == ColorMode::Color) flags = cv::IMREAD_COLOR | cv::IMREAD_ANYDEPTH;
  cv::Mat m;
  try {
    m = cv::imread(path, flags);
  } catch (const cv::Exception& e) {
    throw FormatError("cannot decode image '" + path + "': " + e.what());
  }
  if (m.empty()) throw FormatError("cannot decode image '" + path + "' (not a supported image)");
  if (m.channels() != 1 && m.channels() != 3 && m.channels() != 4)
    throw FormatError("image '" + path + "' has " + std::to_string(m.channels()) +
                      " channels; 1, 3 or 4 are supported");
  double scale = 1;
  switch (m.depth()) {
    case CV_8U:
      scale = 1.0 / 255;
      break;
    case CV_16U:
      scale = 1.0 / 65535;
      break;
    case CV_32F:
      break;
    default:
      throw FormatError("image '" + path + "' has an unsupported sample type (depth " +
                        std::to_string(m.depth()) + ")");
  }
  cv::Mat f;
  m.convertTo(f, CV_MAKETYPE(kScalarType, m.channels()), scale);
  return fromMat(f);
}

GraySamples readGraySamples(const std::string& path) {
  checkReadable(path);
  cv::Mat m;
  try {
    m = cv::imread(path, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw FormatError("cannot decode image '" + path + "': " + e.what());
  }
  if (m.empty()) throw FormatError("cannot decode image '" + path + "' (not a supported image)");
  if (m.channels() != 1)
    throw FormatError("image '" + path + "' has " + std::to_string(m.channels()) +
                      " channels; a gray (one-channel) image is needed");
  GraySamples g;
  switch (m.depth()) {
    case CV_8U:
      g.bitDepth = 8;
      break;
    case CV_16U:
      g.bitDepth = 16;
      break;
    case CV_32F:
      g.bitDepth = 32;
      break;
    default:
      throw FormatError("image '" + path + "' has an unsupported sample type (depth " +
                        std::to_string(m.depth()) + ")");
  }
  cv::Mat f;
  m.convertTo(f, kScalarType);
  g.samples = fromMat(f);
  return g;
}

void writePng(const std::string& path, const Tensor& image, int bitDepth) {
  const Shape s = image.shape();
  if (s.n < 1 || (s.c != 1 && s.c != 3 && s.c != 4) || s.h < 1 || s.w < 1)
    throw InvalidArgument("writePng: need a {N, 1|3|4, H, W} tensor, got " + s.str());
  if (bitDepth != 8 && bitDepth != 16) throw InvalidArgument("writePng: bit depth must be 8 or 16");
  Tensor first(Shape{1, s.c, s.h, s.w});
  std::copy(image.data(), image.data() + first.size(), first.data());
  cv::Mat out;
  // convertTo rounds and saturates, which clamps to [0, 1] on the way.
  toMat(first).convertTo(out, bitDepth == 8 ? CV_8U : CV_16U, bitDepth == 8 ? 255.0 : 65535.0);
  std::vector<uchar> bytes;
  try {
    if (!cv::imencode(".png", out, bytes)) throw IoError("cannot encode PNG for '" + path + "'");
  } catch (const cv::Exception& e) {
    throw IoError("cannot encode PNG for '" + path + "': " + e.what());
  }
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw IoError("cannot create '" + path + "': " + std::strerror(errno));
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  f.close();
  if (!f) throw IoError("cannot write '" + path + "'");
}

Tensor crop(const Tensor& image, int y, int x, int h, int w) {
  const Shape s = image.shape();
  if (s.n < 1 || h < 1 || w < 1 || y < 0 || x < 0 || y + h > s.h || x + w > s.w)
    throw InvalidArgument("crop: window " + std::to_string(h) + "x" + std::to_string(w) + " at (" +
                          std::to_string(y) + ", " + std::to_string(x) + ") leaves image " +
                          s.str());
  Tensor out(Shape{1, s.c, h, w});
  for (int c = 0; c < s.c; ++c)
    for (int r = 0; r < h; ++r) {
      const Scalar* src = rowOf(image, c, y + r) + x;
      std::copy(src, src + w, &out.at(0, c, r, 0));
    }
  return out;
}

Tensor resizeArea(const Tensor& image, double factor) {
  const Shape s = image.shape();
  if (!(factor > 0) || factor > 1 || s.n < 1)
    throw InvalidArgument("resizeArea: the factor must be in (0, 1], got " +
                          std::to_string(factor));
  const int h = std::max(1, int(std::lround(s.h * factor)));
  const int w = std::max(1, int(std::lround(s.w * factor)));
  Tensor out(Shape{1, s.c, h, w});
  for (int c = 0; c < s.c; ++c) {
    cv::Mat src(s.h, s.w, sizeof(Scalar) == 4 ? CV_32F : CV_64F,
                const_cast<Scalar*>(rowOf(image, c, 0)));
    cv::Mat dst(h, w, src.type(), &out.at(0, c, 0, 0));
    cv::resize(src, dst, dst.size(), 0, 0, cv::INTER_AREA);
  }
  return out;
}

Tensor sideBySide(const std::vector<Tensor>& images, int gap, Scalar background) {
  if (images.empty()) throw InvalidArgument("sideBySide: no images");
  if (gap < 0) throw InvalidArgument("sideBySide: gap must be >= 0");
  const int c = images[0].shape().c;
  int h = 0, w = -gap;
  for (const Tensor& t : images) {
    if (t.shape().c != c || t.shape().n < 1)
      throw InvalidArgument("sideBySide: images differ in channel count");
    h = std::max(h, t.shape().h);
    w += t.shape().w + gap;
  }
  Tensor out(Shape{1, c, h, w}, background);
  int x0 = 0;
  for (const Tensor& t : images) {
    const Shape s = t.shape();
    for (int k = 0; k < c; ++k)
      for (int r = 0; r < s.h; ++r) {
        const Scalar* src = rowOf(t, k, r);
        std::copy(src, src + s.w, &out.at(0, k, r, x0));
      }
    x0 += s.w + gap;
  }
  return out;
}

}  // namespace cae::io
