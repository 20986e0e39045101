// cae-codec: still pictures through a learned codec (issue 14), the same code caeenc and caedec
// run: encode a PNG/JPEG/... to a .cae frame, decode it back, or describe a frame.
//
//   cae-codec encode photo.png photo.cae [--quality 3] [--model codec-hq]
//   cae-codec decode photo.cae back.png
//   cae-codec info photo.cae
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "codec/bitstream.hpp"
#include "codec/picture_codec.hpp"
#include "error.hpp"

namespace fs = std::filesystem;
using namespace cae;

namespace {

struct Options {
  std::string in, out, model = "codec-hq", backend = "auto", recon;
  int quality = 3;
  bool modelNamed = false;  // decode: --model or --quality given (else the frame's own codec)
};

const char* const kFamilies[] = {"codec-hq", "codec-fast"};

// A shipped model's file (beside the source tree's models/ from a build tree, else the
// installed share/); empty when there is none.
std::string shippedFile(const std::string& file) {
  std::error_code ec;
  const fs::path exe = fs::canonical("/proc/self/exe", ec);
  const fs::path base = ec ? fs::current_path() : exe.parent_path();
  for (const fs::path& dir :
       {base / "../../models", base / "../models", base / "../share/cae/models"})
    if (fs::exists(dir / file, ec)) return fs::weakly_canonical(dir / file, ec).string();
  return {};
}

// A codec family ("codec-hq") and a quality -> its encoder file among the shipped models; a
// path ending in .onnx is taken as it is.
std::string modelPath(const Options& o) {
  if (fs::path(o.model).extension() == ".onnx") return o.model;
  const std::string file = o.model + "-q" + std::to_string(o.quality) + ".onnx";
  std::string path = shippedFile(file);
  if (path.empty())
    throw IoError("no shipped model " + file +
                  " (--model FAMILY with --quality 1..4, or a file "
                  "X.onnx written by cae-train --task compress)");
  return path;
}

// The shipped codec that made a frame: the rate point the frame names first, then the others,
// of each family, the one whose identifier is the frame's. IoError when none is.
std::string frameModel(const std::vector<std::uint8_t>& frame) {
  const codec::FrameView v = codec::parseFrame(frame.data(), frame.size());
  std::vector<int> points{v.header.ratePoint};
  for (int q = 1; q <= 4; ++q)
    if (q != v.header.ratePoint) points.push_back(q);
  for (const char* family : kFamilies)
    for (const int q : points) {
      std::string path = shippedFile(std::string(family) + "-q" + std::to_string(q) + ".onnx");
      if (!path.empty() && codec::readCodec(path).id == v.header.modelId) return path;
    }
  throw IoError("the frame was made by codec " + codec::modelIdHex(v.header.modelId) +
                ", which is none of the shipped ones (codec-hq, codec-fast; rate points 1..4): "
                "name its encoder with --model X.onnx");
}

std::vector<std::uint8_t> readBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw IoError("cannot read '" + path + "'");
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// Written beside the target, then renamed: a failed run leaves no half file.
void writeBytes(const std::string& path, const std::vector<std::uint8_t>& b) {
  const std::string tmp = path + ".part";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
    if (!f) throw IoError("cannot write '" + tmp + "'");
  }
  fs::rename(tmp, path);
}

void writePicture(const std::string& path, const cv::Mat& picture) {
  cv::Mat bgr;  // not a header of `picture`: cvtColor would then convert it in place
  if (picture.channels() == 3)
    cv::cvtColor(picture, bgr, cv::COLOR_RGB2BGR);
  else
    bgr = picture;
  std::vector<std::uint8_t> bytes;
  const std::string ext = fs::path(path).extension().string();
  if (!cv::imencode(ext.empty() ? ".png" : ext, bgr, bytes))
    throw IoError("cannot encode '" + path + "' (use .png, .ppm, .bmp or .tif)");
  writeBytes(path, bytes);
}

// 8-bit gray or RGB, whatever the file holds.
cv::Mat readPicture(const std::string& path) {
  cv::Mat m = cv::imread(path, cv::IMREAD_UNCHANGED);
  if (m.empty()) throw IoError("cannot read picture '" + path + "'");
  if (m.depth() != CV_8U) m.convertTo(m, CV_8U, m.depth() == CV_16U ? 1.0 / 257 : 255.0);
  if (m.channels() == 4)
    cv::cvtColor(m, m, cv::COLOR_BGRA2RGB);
  else if (m.channels() == 3)
    cv::cvtColor(m, m, cv::COLOR_BGR2RGB);
  return m;
}

int encode(const Options& o) {
  const cv::Mat picture = readPicture(o.in);
  codec::PictureEncoder enc({modelPath(o), o.backend, 0});
  const std::vector<std::uint8_t> frame = enc.encode(picture, o.quality);
  writeBytes(o.out, frame);
  const cv::Mat back = enc.reconstruct();
  if (!o.recon.empty()) writePicture(o.recon, back);
  std::printf("%s: %dx%d %s -> %s: %zu bytes, %.4f bits per pixel, PSNR %.2f dB (%s)\n",
              o.in.c_str(), picture.cols, picture.rows, picture.channels() == 3 ? "RGB" : "gray",
              o.out.c_str(), frame.size(), 8.0 * double(frame.size()) / double(picture.total()),
              cv::PSNR(picture, back), enc.backendInUse().c_str());
  return 0;
}

int decode(const Options& o) {
  const std::vector<std::uint8_t> frame = readBytes(o.in);
  // Unless told which codec to use, the one the frame names (its identifier).
  const std::string model = o.modelNamed ? modelPath(o) : frameModel(frame);
  codec::PictureDecoder dec({model, o.backend, 0});
  const cv::Mat picture = dec.decode(frame.data(), frame.size());
  writePicture(o.out, picture);
  std::printf("%s -> %s: %dx%d %s (%s)\n", o.in.c_str(), o.out.c_str(), picture.cols, picture.rows,
              picture.channels() == 3 ? "RGB" : "gray", fs::path(model).filename().c_str());
  return 0;
}

// One line per frame (a file caeenc ! filesink wrote holds a stream of them), then the totals.
int info(const Options& o) {
  const std::vector<std::uint8_t> bytes = readBytes(o.in);
  std::size_t at = 0, frames = 0;
  double pixels = 0;
  while (at < bytes.size()) {
    codec::FrameView v;
    try {
      v = codec::parseFrame(bytes.data() + at, bytes.size() - at);
    } catch (const std::exception& e) {
      throw FormatError("frame " + std::to_string(frames + 1) + " at byte " + std::to_string(at) +
                        ": " + e.what());
    }
    std::printf(
        "%s: frame %zu: cae frame v%d, %dx%d %s, rate point %d, model %s, %zu payload bytes, "
        "%.4f bits per pixel\n",
        o.in.c_str(), frames + 1, int(codec::kBitstreamVersion), v.header.width, v.header.height,
        v.header.channels == 3 ? "RGB" : "gray", v.header.ratePoint,
        codec::modelIdHex(v.header.modelId).c_str(), v.payloadSize,
        8.0 * double(v.frameSize) / (double(v.header.width) * v.header.height));
    pixels += double(v.header.width) * v.header.height;
    at += v.frameSize;
    ++frames;
  }
  if (frames == 0) throw FormatError("'" + o.in + "' is empty");
  if (frames > 1)
    std::printf("%s: %zu frames, %zu bytes, %.4f bits per pixel\n", o.in.c_str(), frames,
                bytes.size(), 8.0 * double(bytes.size()) / pixels);
  return 0;
}

void modelOptions(CLI::App& c, Options& o) {
  c.add_option("-m,--model", o.model,
               "codec family (codec-hq, codec-fast) or the encoder file X.onnx of a codec")
      ->capture_default_str();
  c.add_option("-q,--quality", o.quality, "rate point of the family, 1 (smallest) .. 4")
      ->check(CLI::Range(1, 4))
      ->capture_default_str();
  c.add_option("--backend", o.backend, "auto | opencv | onednn")
      ->check(CLI::IsMember({"auto", "opencv", "onednn"}))
      ->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    CLI::App app{"cae-codec: pictures to cae frames and back through a learned codec"};
    app.require_subcommand(1);
    Options o;
    CLI::App* enc = app.add_subcommand("encode", "picture (PNG, JPEG, ...) -> .cae frame");
    enc->add_option("input", o.in, "picture")->required();
    enc->add_option("output", o.out, ".cae frame")->required();
    enc->add_option("--recon", o.recon, "also write the decoder's picture of the frame here");
    modelOptions(*enc, o);
    CLI::App* dec = app.add_subcommand("decode", ".cae frame -> picture (PNG unless named else)");
    dec->add_option("input", o.in, ".cae frame")->required();
    dec->add_option("output", o.out, "picture")->required();
    modelOptions(*dec, o);
    dec->footer(
        "Without --model or --quality the shipped codec the frame names (by its identifier) "
        "decodes it.");
    CLI::App* inf = app.add_subcommand("info", "describe the frames of a .cae file");
    inf->add_option("input", o.in, ".cae file (one frame or a stream of them)")->required();
    CLI11_PARSE(app, argc, argv);
    if (enc->parsed()) return encode(o);
    if (dec->parsed()) {
      o.modelNamed = dec->count("--model") > 0 || dec->count("--quality") > 0;
      return decode(o);
    }
    return info(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cae-codec: %s\n", e.what());
    return 1;
  }
}
