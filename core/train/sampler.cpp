#include "train/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <vector>

#include "error.hpp"
#include "onnx/metadata.hpp"

namespace cae::train {
namespace {

std::vector<int> intList(const std::string& text, const std::string& key, const std::string& path) {
  std::vector<int> v;
  const auto malformed = [&] {
    return FormatError("'" + path + "': malformed " + key + " '" + text + "'");
  };
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find(',', at);
    if (end == std::string::npos) end = text.size();
    const int x = std::atoi(text.substr(at, end - at).c_str());
    if (x < 1) throw malformed();
    v.push_back(x);
    at = end + 1;
  }
  if (v.size() != 3) throw FormatError("'" + path + "': " + key + " must be C,H,W");
  return v;
}

}  // namespace

void writeVaeSamples(const std::string& decoderPath, int count, std::uint64_t seed,
                     const std::string& outPng) {
  if (count < 1) throw InvalidArgument("--count must be at least 1");
  const auto meta = onnx::readOnnxMetadata(decoderPath);
  const auto lat = meta.find(onnx::key::kLatentShape);
  const auto img = meta.find(onnx::key::kSampleShape);
  if (lat == meta.end() || img == meta.end())
    throw FormatError("'" + decoderPath +
                      "' is not a VAE decoder written by cae-train (no "
                      "cae.latent_shape / cae.sample_shape); pass the .decoder.onnx file");
  const std::vector<int> z = intList(lat->second, onnx::key::kLatentShape, decoderPath);
  const std::vector<int> s = intList(img->second, onnx::key::kSampleShape, decoderPath);
  cv::dnn::Net net;
  try {
    net = cv::dnn::readNetFromONNX(decoderPath);
  } catch (const cv::Exception& e) {
    throw FormatError("OpenCV cannot load '" + decoderPath + "': " + e.what());
  }
  const int dims[4] = {count, z[0], z[1], z[2]};
  cv::Mat blob(4, dims, CV_32F);
  std::mt19937_64 gen(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  float* p = blob.ptr<float>();
  for (std::size_t i = 0; i < blob.total(); ++i) p[i] = normal(gen);
  net.setInput(blob);
  const cv::Mat out = net.forward();
  const std::size_t per = std::size_t(s[0]) * s[1] * s[2];
  if (out.total() != per * std::size_t(count))
    throw FormatError("'" + decoderPath + "' produced " + std::to_string(out.total()) +
                      " values for " + std::to_string(count) + " samples of " +
                      std::to_string(per));
  const int cols = int(std::ceil(std::sqrt(double(count))));
  const int rows = (count + cols - 1) / cols;
  const int gap = 2, C = s[0], H = s[1], W = s[2];
  cv::Mat grid(rows * (H + gap) + gap, cols * (W + gap) + gap, C == 3 ? CV_8UC3 : CV_8UC1,
               cv::Scalar::all(255));
  const float* q = out.ptr<float>();
  for (int n = 0; n < count; ++n) {
    const int y0 = gap + (n / cols) * (H + gap), x0 = gap + (n % cols) * (W + gap);
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x)
        for (int c = 0; c < C; ++c) {
          const float v = q[std::size_t(n) * per + (std::size_t(c) * H + y) * W + x];
          // OpenCV writes BGR: channel c of RGB goes to 2 - c.
          const int dc = C == 3 ? 2 - c : 0;
          grid.ptr<unsigned char>(y0 + y)[(x0 + x) * C + dc] =
              cv::saturate_cast<unsigned char>(std::clamp(v, 0.f, 1.f) * 255.f);
        }
  }
  // A small sample set is hard to see: scale up to at least 256 pixels across.
  if (grid.cols < 256) {
    const double f = std::ceil(256.0 / grid.cols);
    cv::resize(grid, grid, {}, f, f, cv::INTER_NEAREST);
  }
  bool ok = false;
  try {
    ok = cv::imwrite(outPng, grid);
  } catch (const cv::Exception&) {
    ok = false;
  }
  if (!ok) throw IoError("cannot write '" + outPng + "'");
}

}  // namespace cae::train
