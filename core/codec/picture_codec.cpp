#include "codec/picture_codec.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "codec/bitstream.hpp"
#include "codec/latents.hpp"
#include "error.hpp"
#include "infer/onednn.hpp"
#include "onnx/graph.hpp"
#include "onnx/metadata.hpp"

namespace cae::codec {

namespace {

const std::string kDecoderSuffix = ".decoder.onnx";

bool endsWith(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// "stride=16 latent=96 id=0123456789abcdef lambda=0.013" into info; FormatError naming the file.
void parseCodecKey(const std::string& text, const std::string& path, CodecInfo& info) {
  std::istringstream in(text);
  std::string item;
  bool hasId = false;
  try {
    while (in >> item) {
      const std::size_t eq = item.find('=');
      if (eq == std::string::npos) throw std::invalid_argument(item);
      const std::string k = item.substr(0, eq), v = item.substr(eq + 1);
      std::size_t used = 0;
      if (k == "stride")
        info.stride = std::stoi(v, &used);
      else if (k == "latent")
        info.latent = std::stoi(v, &used);
      else if (k == "lambda")
        info.lambda = std::stod(v, &used);
      else if (k == "id")
        hasId = v.size() == 16, info.id = std::stoull(v, &used, 16);
      else
        used = v.size();  // a later trainer's key: ignored
      if (used != v.size()) throw std::invalid_argument(item);
    }
  } catch (const std::exception&) {
    throw FormatError(path + ": cae.codec '" + text + "' is not 'stride=S latent=M id=HEX'");
  }
  const bool pow2 = info.stride > 1 && info.stride <= 64 && (info.stride & (info.stride - 1)) == 0;
  if (!pow2 || info.latent < 1 || info.latent > 4096 || !hasId)
    throw FormatError(
        path + ": cae.codec '" + text +
        "' needs a stride of 2..64 (a power of two), 1..4096 latents and a 16-digit id");
}

// One half's metadata, checked against the task it must have.
CodecInfo readHalf(const std::string& path, onnx::Task task) {
  if (!std::filesystem::exists(path))
    throw IoError("codec model '" + path +
                  "' not found (cae-train --task compress writes X.onnx "
                  "and X.decoder.onnx side by side)");
  const onnx::ModelInfo m = onnx::readModelInfo(path);
  if (m.task != task)
    throw FormatError(path + ": not a codec " +
                      (task == onnx::Task::CodecEncoder ? "encoder" : "decoder") +
                      " (cae.task is '" + onnx::taskName(m.task) + "')");
  CodecInfo info;
  parseCodecKey(m.codec, path, info);
  try {
    info.tables = parseTables(m.cdfTables);
  } catch (const FormatError& e) {
    throw FormatError(path + ": cae.cdf_tables: " + e.what());
  }
  if (int(info.tables.size()) != info.latent)
    throw FormatError(path + ": " + std::to_string(info.tables.size()) + " CDF tables for " +
                      std::to_string(info.latent) + " latents");
  info.channels = m.format == "GRAY8" ? 1 : 3;
  if (m.format != "GRAY8" && m.format != "RGB")
    throw FormatError(path + ": codec pictures are GRAY8 or RGB, not '" + m.format + "'");
  return info;
}

// One half run on oneDNN where chosen and covered, else on OpenCV DNN.
class Half {
 public:
  Half(const std::string& path, const std::string& backend, int threads) {
    if (backend != "auto" && backend != "opencv" && backend != "onednn")
      throw InvalidArgument("codec backend '" + backend + "' (auto, opencv or onednn)");
    std::string why = "oneDNN is not built";
    const onnx::Graph g = onnx::readGraph(path);
    const bool dnnl =
        backend != "opencv" && infer::onednn::built() && infer::onednn::covers(g, &why);
    if (backend == "onednn" && !dnnl) throw InvalidArgument("backend onednn: " + why);
    if (dnnl) {
      infer::onednn::Options o;
      o.threads = threads;
      dnnl_ = std::make_unique<infer::onednn::Net>(g, o);
      name_ = "onednn";
      return;
    }
    try {
      net_ = cv::dnn::readNetFromONNX(path);
    } catch (const cv::Exception& e) {
      throw FormatError(path + ": OpenCV DNN cannot load it: " + e.what());
    }
    name_ = "opencv";
  }
  cv::Mat forward(const cv::Mat& blob) {
    if (dnnl_) return dnnl_->forward(blob);
    try {
      net_.setInput(blob);
      return net_.forward().clone();
    } catch (const cv::Exception& e) {
      throw Error(std::string("codec: OpenCV DNN failed: ") + e.what());
    }
  }
  const std::string& name() const { return name_; }

 private:
  std::unique_ptr<infer::onednn::Net> dnnl_;
  cv::dnn::Net net_;
  std::string name_;
};

// OpenCV 4.6's DNN crashes on transposed convolutions of very large inputs (seen: a codec's
// synthesis of a 2560x1600 picture), and memory grows with the picture: both halves run in
// tiles of at most kTileCells x kTileCells latent cells whose inputs overlap by kMarginCells
// cells on every side, more than the receptive field of four stride-2 layers of kernel 5 (under
// 2 cells), so each tile's kept centre is what the whole picture would give.
constexpr int kTileCells = 64, kMarginCells = 4;

// Runs `half` over blob (1xCxHxW) in tiles: `unit` input pixels per latent cell (the stride for
// the analysis, 1 for the synthesis) and `scale` output pixels per input pixel, as num/den.
cv::Mat tiled(Half& half, const cv::Mat& blob, int unit, int num, int den) {
  const int h = blob.size[2], w = blob.size[3];
  const int core = kTileCells * unit, margin = kMarginCells * unit;
  if (h <= core + 2 * margin && w <= core + 2 * margin) return half.forward(blob);
  cv::Mat out;
  for (int y0 = 0; y0 < h; y0 += core)
    for (int x0 = 0; x0 < w; x0 += core) {
      const int ya = std::max(0, y0 - margin), xa = std::max(0, x0 - margin);
      const int y1 = std::min(h, y0 + core), x1 = std::min(w, x0 + core);
      const int yb = std::min(h, y1 + margin), xb = std::min(w, x1 + margin);
      const cv::Range in[4] = {cv::Range::all(), cv::Range::all(), {ya, yb}, {xa, xb}};
      const cv::Mat t = half.forward(blob(in).clone());
      if (out.empty()) {
        const int dims[4] = {1, t.size[1], h * num / den, w * num / den};
        out.create(4, dims, CV_32F);
      }
      const cv::Range from[4] = {cv::Range::all(),
                                 cv::Range::all(),
                                 {(y0 - ya) * num / den, (y1 - ya) * num / den},
                                 {(x0 - xa) * num / den, (x1 - xa) * num / den}};
      const cv::Range to[4] = {cv::Range::all(),
                               cv::Range::all(),
                               {y0 * num / den, y1 * num / den},
                               {x0 * num / den, x1 * num / den}};
      t(from).copyTo(out(to));
    }
  return out;
}

// 8-bit picture (C = model channels) padded to the stride, as a 1xCxHxW blob in [0, 1].
cv::Mat blobOf(const cv::Mat& picture, int channels, int stride) {
  cv::Mat p = picture;
  if (channels == 3 && p.channels() == 1) cv::cvtColor(p, p, cv::COLOR_GRAY2RGB);
  cv::Mat padded;
  cv::copyMakeBorder(p, padded, 0, (stride - p.rows % stride) % stride, 0,
                     (stride - p.cols % stride) % stride, cv::BORDER_REPLICATE);
  cv::Mat f;
  padded.convertTo(f, channels == 3 ? CV_32FC3 : CV_32FC1, 1.0 / 255);
  return cv::dnn::blobFromImage(f);
}

// The synthesis' output cropped to width x height, as 8-bit with `channels` channels.
cv::Mat pictureOf(const cv::Mat& out, int width, int height, int channels) {
  std::vector<cv::Mat> images;
  cv::dnn::imagesFromBlob(out, images);
  cv::Mat p;
  images.at(0)(cv::Rect(0, 0, width, height)).convertTo(p, CV_8U, 255.0);
  if (channels == 1 && p.channels() == 3) cv::cvtColor(p, p, cv::COLOR_RGB2GRAY);
  return p;
}

cv::Mat latentBlob(const std::vector<std::int32_t>& q, const LatentShape& s) {
  const int dims[4] = {1, s.channels, s.height, s.width};
  cv::Mat blob(4, dims, CV_32F);
  auto* p = blob.ptr<float>();
  for (std::size_t i = 0; i < q.size(); ++i) p[i] = float(q[i]);
  return blob;
}

}  // namespace

CodecInfo readCodec(const std::string& model) {
  const bool isDecoder = endsWith(model, kDecoderSuffix);
  const std::string stem = isDecoder ? model.substr(0, model.size() - kDecoderSuffix.size())
                                     : (std::filesystem::path(model).replace_extension().string());
  const std::string encoder = isDecoder ? stem + ".onnx" : model, decoder = stem + kDecoderSuffix;
  CodecInfo info = readHalf(encoder, onnx::Task::CodecEncoder);
  const CodecInfo d = readHalf(decoder, onnx::Task::CodecDecoder);
  if (d.id != info.id || d.stride != info.stride || d.latent != info.latent ||
      formatTables(d.tables) != formatTables(info.tables))
    throw FormatError(encoder + " and " + decoder + " are not one codec (identifiers " +
                      modelIdHex(info.id) + " and " + modelIdHex(d.id) + ")");
  info.encoderPath = encoder;
  info.decoderPath = decoder;
  return info;
}

struct PictureEncoder::Impl {
  CodecInfo info;
  Half analysis, synthesis;
  std::vector<std::int32_t> q;
  LatentShape shape;
  int width = 0, height = 0, channels = 0;
  Impl(const CodecOptions& o, CodecInfo i)
      : info(std::move(i)),
        analysis(info.encoderPath, o.backend, o.threads),
        synthesis(info.decoderPath, o.backend, o.threads) {}
};

PictureEncoder::PictureEncoder(const CodecOptions& o)
    : impl_(std::make_unique<Impl>(o, readCodec(o.model))) {}
PictureEncoder::~PictureEncoder() = default;
const CodecInfo& PictureEncoder::info() const { return impl_->info; }
const std::string& PictureEncoder::backendInUse() const { return impl_->analysis.name(); }

std::vector<std::uint8_t> PictureEncoder::encode(const cv::Mat& picture, int ratePoint) {
  Impl& m = *impl_;
  if (picture.empty() || (picture.type() != CV_8UC1 && picture.type() != CV_8UC3))
    throw InvalidArgument("cae codec: pictures are 8-bit gray or RGB");
  if (picture.channels() == 3 && m.info.channels == 1)
    throw InvalidArgument("cae codec: a gray model codes gray pictures");
  const cv::Mat y = tiled(m.analysis, blobOf(picture, m.info.channels, m.info.stride),
                          m.info.stride, 1, m.info.stride);
  m.shape = latentShapeFor(picture.cols, picture.rows, m.info.stride, m.info.latent);
  if (y.total() != m.shape.size())
    throw FormatError(m.info.encoderPath + ": the analysis wrote " + std::to_string(y.total()) +
                      " latents where its cae.codec promises " + std::to_string(m.shape.size()));
  m.q.resize(y.total());
  const auto* p = y.ptr<float>();
  for (std::size_t i = 0; i < m.q.size(); ++i) {
    const float r = std::nearbyint(p[i]);
    if (!(std::abs(r) < 1e9f)) throw Error("cae codec: the analysis gave a non-finite latent");
    m.q[i] = std::int32_t(r);
  }
  m.width = picture.cols;
  m.height = picture.rows;
  m.channels = picture.channels();
  return writeFrame({m.channels, ratePoint, m.width, m.height, m.info.id},
                    encodeLatents(m.q, m.shape, m.info.tables));
}

cv::Mat PictureEncoder::reconstruct() {
  Impl& m = *impl_;
  if (m.q.empty()) throw InvalidArgument("cae codec: reconstruct() before encode()");
  return pictureOf(tiled(m.synthesis, latentBlob(m.q, m.shape), 1, m.info.stride, 1), m.width,
                   m.height, m.channels);
}

struct PictureDecoder::Impl {
  CodecInfo info;
  Half synthesis;
  Impl(const CodecOptions& o, CodecInfo i)
      : info(std::move(i)), synthesis(info.decoderPath, o.backend, o.threads) {}
};

namespace {
CodecInfo readDecoderSide(const std::string& model) {
  const std::string decoder =
      endsWith(model, kDecoderSuffix)
          ? model
          : std::filesystem::path(model).replace_extension().string() + kDecoderSuffix;
  CodecInfo info = readHalf(decoder, onnx::Task::CodecDecoder);
  info.decoderPath = decoder;
  return info;
}
}  // namespace

PictureDecoder::PictureDecoder(const CodecOptions& o)
    : impl_(std::make_unique<Impl>(o, readDecoderSide(o.model))) {}
PictureDecoder::~PictureDecoder() = default;
const CodecInfo& PictureDecoder::info() const { return impl_->info; }
const std::string& PictureDecoder::backendInUse() const { return impl_->synthesis.name(); }

cv::Mat PictureDecoder::decode(const std::uint8_t* frame, std::size_t size) {
  Impl& m = *impl_;
  const FrameView v = parseFrame(frame, size);
  requireModel(v.header, m.info.id);
  if (v.header.channels == 3 && m.info.channels == 1)
    throw FormatError("cae frame of an RGB picture for a gray codec");
  const LatentShape s =
      latentShapeFor(v.header.width, v.header.height, m.info.stride, m.info.latent);
  const std::vector<std::int32_t> q = decodeLatents(v.payload, v.payloadSize, s, m.info.tables);
  return pictureOf(tiled(m.synthesis, latentBlob(q, s), 1, m.info.stride, 1), v.header.width,
                   v.header.height, v.header.channels);
}

}  // namespace cae::codec
