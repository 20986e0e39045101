// Learned compression against JPEG and WebP (issue 14), side by side in one process: the 11
// pictures of the ANCHORS.md test list (colour where the file is colour), each coded by every
// rate point of every cae codec family given, by JPEG (libjpeg-turbo through OpenCV, 4:2:0) and
// by WebP (libwebp through OpenCV) over a quality sweep; RGB (or gray) PSNR, MS-SSIM
// (msssim.hpp) and bits per pixel counted on the whole file or frame (a cae frame's 32-byte
// header included). cae frames are decoded by PictureDecoder and checked equal to the encoder's
// reconstruction. Prints one JSON line per (codec, picture, rate point).
//
// Usage: bench_codec_rd [--images N] [--backend auto|opencv|onednn] [--jpeg Q,Q,..]
//                       [--webp Q,Q,..] [--dump DIR [--dump-image NAME]]
//                       FAMILY=ENC1.onnx,ENC2.onnx,... ...
// --dump writes every decoded picture of one test picture (default astronaut.png) to
// DIR/<codec>-<param>.png and the original to DIR/original.png (the report's side-by-side crops).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "codec/picture_codec.hpp"
#include "msssim.hpp"

namespace {

const char* kSkimage = "/usr/lib/python3/dist-packages/skimage/data/";
const char* kTestList[] = {"camera.png", "astronaut.png",         "coffee.png", "chelsea.png",
                           "rocket.jpg", "motorcycle_left.png",   "horse.png",  "moon.png",
                           "coins.png",  "hubble_deep_field.jpg", "text.png"};

std::vector<int> ints(const std::string& s) {
  std::vector<int> v;
  std::stringstream in(s);
  for (std::string x; std::getline(in, x, ',');) v.push_back(std::stoi(x));
  return v;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> v;
  std::stringstream in(s);
  for (std::string x; std::getline(in, x, ',');) v.push_back(x);
  return v;
}

// The picture as 8-bit gray or RGB, as the file holds it (gray files stay gray).
cv::Mat load(const std::string& name) {
  cv::Mat m = cv::imread(std::string(kSkimage) + name, cv::IMREAD_UNCHANGED);
  if (m.empty()) throw std::runtime_error("cannot read " + name);
  if (m.channels() == 4) cv::cvtColor(m, m, cv::COLOR_BGRA2BGR);
  if (m.channels() == 3) {
    cv::Mat g;
    cv::cvtColor(m, g, cv::COLOR_BGR2GRAY);
    cv::Mat back;
    cv::cvtColor(g, back, cv::COLOR_GRAY2BGR);
    if (cv::norm(m, back, cv::NORM_INF) == 0) return g;  // stored as colour, gray in fact
    cv::cvtColor(m, m, cv::COLOR_BGR2RGB);
  }
  return m;
}

std::string gDumpDir, gDumpImage = "astronaut.png";

void dump(const std::string& codec, const std::string& image, double param, const cv::Mat& out) {
  if (gDumpDir.empty() || image != gDumpImage) return;
  cv::Mat bgr;
  if (out.channels() == 3)
    cv::cvtColor(out, bgr, cv::COLOR_RGB2BGR);
  else
    bgr = out;
  char name[64];
  std::snprintf(name, sizeof name, "/%s-%g.png", codec.c_str(), param);
  cv::imwrite(gDumpDir + name, bgr);
}

void report(const std::string& codec, const std::string& image, double param, std::size_t bytes,
            const cv::Mat& ref, const cv::Mat& out, double encMs, double decMs) {
  dump(codec, image, param, out);
  std::printf(
      "{\"codec\":\"%s\",\"image\":\"%s\",\"param\":%g,\"bytes\":%zu,\"bpp\":%.5f,"
      "\"psnr\":%.4f,\"msssim\":%.6f,\"channels\":%d,\"encode_ms\":%.2f,"
      "\"decode_ms\":%.2f}\n",
      codec.c_str(), image.c_str(), param, bytes, 8.0 * double(bytes) / double(ref.total()),
      cv::PSNR(ref, out), cae::bench::msssim(ref, out), ref.channels(), encMs, decMs);
  std::fflush(stdout);
}

double msSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

void classic(const std::string& ext, int flag, const std::vector<int>& qs, const std::string& image,
             const cv::Mat& pic) {
  cv::Mat bgr;  // not a header of `pic`: cvtColor would then convert it in place
  if (pic.channels() == 3)
    cv::cvtColor(pic, bgr, cv::COLOR_RGB2BGR);
  else
    bgr = pic;
  for (int q : qs) {
    std::vector<std::uint8_t> bytes;
    auto t0 = std::chrono::steady_clock::now();
    cv::imencode(ext, bgr, bytes, {flag, q});
    const double enc = msSince(t0);
    t0 = std::chrono::steady_clock::now();
    cv::Mat out =
        cv::imdecode(bytes, pic.channels() == 3 ? cv::IMREAD_COLOR : cv::IMREAD_GRAYSCALE);
    const double dec = msSince(t0);
    if (pic.channels() == 3) cv::cvtColor(out, out, cv::COLOR_BGR2RGB);
    report(ext == ".jpg" ? "jpeg" : "webp", image, q, bytes.size(), pic, out, enc, dec);
  }
}

void learned(const std::string& family, const std::vector<std::string>& models,
             const std::string& backend, const std::string& image, const cv::Mat& pic) {
  for (std::size_t k = 0; k < models.size(); ++k) {
    cae::codec::PictureEncoder enc({models[k], backend, 0});
    cae::codec::PictureDecoder dec({models[k], backend, 0});
    auto t0 = std::chrono::steady_clock::now();
    const std::vector<std::uint8_t> frame = enc.encode(pic, int(k) + 1);
    const double encMs = msSince(t0);
    t0 = std::chrono::steady_clock::now();
    const cv::Mat out = dec.decode(frame.data(), frame.size());
    const double decMs = msSince(t0);
    if (cv::norm(out, enc.reconstruct(), cv::NORM_INF) != 0)
      throw std::runtime_error(
          std::string(family).append(": decoder and encoder disagree on ").append(image));
    report(family, image, double(k + 1), frame.size(), pic, out, encMs, decMs);
  }
}

}  // namespace

int main(int argc, char** argv) try {
  int images = 11;
  std::string backend = "auto";
  std::vector<int> jpeg{5, 10, 15, 20, 30, 40, 50, 60, 75, 90};
  std::vector<int> webp{5, 10, 20, 30, 40, 50, 60, 75, 90};
  std::map<std::string, std::vector<std::string>> families;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--images")
      images = std::stoi(next());
    else if (a == "--backend")
      backend = next();
    else if (a == "--jpeg")
      jpeg = ints(next());
    else if (a == "--webp")
      webp = ints(next());
    else if (a == "--dump")
      gDumpDir = next();
    else if (a == "--dump-image")
      gDumpImage = next();
    else if (a.find('=') != std::string::npos)
      families[a.substr(0, a.find('='))] = split(a.substr(a.find('=') + 1));
    else
      throw std::invalid_argument("unknown argument " + a);
  }
  for (int i = 0; i < images && i < 11; ++i) {
    const cv::Mat pic = load(kTestList[i]);
    if (!gDumpDir.empty() && gDumpImage == kTestList[i]) dump("original", kTestList[i], 0, pic);
    classic(".jpg", cv::IMWRITE_JPEG_QUALITY, jpeg, kTestList[i], pic);
    classic(".webp", cv::IMWRITE_WEBP_QUALITY, webp, kTestList[i], pic);
    for (const auto& [family, models] : families)
      learned(family, models, backend, kTestList[i], pic);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_codec_rd: %s\n", e.what());
  return 1;
}
