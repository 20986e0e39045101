// Shared by the ONNX suites: scratch files, random inputs, running an exported file through
// OpenCV DNN's CPU backend and comparing with the engine.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <opencv2/dnn.hpp>
#include <string>

#include "nn/model.hpp"
#include "nn/rng.hpp"
#include "nn/tensor.hpp"

namespace cae::test {

static_assert(sizeof(nn::Scalar) == 4, "ONNX suites link the float32 engine");

// A scratch directory per process, removed at exit.
class ScratchDir {
 public:
  ScratchDir()
      : dir_(std::filesystem::temp_directory_path() /
             ("cae_onnx_test_" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(dir_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }

 private:
  std::filesystem::path dir_;
};

inline ScratchDir& scratch() {
  static ScratchDir d;
  return d;
}

inline nn::Tensor randomTensor(nn::Shape s, std::uint64_t seed, float lo = 0, float hi = 1) {
  nn::Rng rng(seed);
  nn::Tensor t(s);
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = rng.uniform(lo, hi);
  return t;
}

inline cv::Mat toBlob(const nn::Tensor& t) {
  const int dims[4] = {t.shape().n, t.shape().c, t.shape().h, t.shape().w};
  return cv::Mat(4, dims, CV_32F, const_cast<float*>(t.data())).clone();
}

inline cv::dnn::Net loadOpenCv(const std::string& path) {
  cv::dnn::Net net = cv::dnn::readNetFromONNX(path);
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  return net;
}

inline cv::Mat runOpenCv(cv::dnn::Net& net, const nn::Tensor& x) {
  net.setInput(toBlob(x), "input");
  return net.forward().clone();
}

// Runs one input through a file with OpenCV DNN on the CPU.
inline cv::Mat runOpenCv(const std::string& path, const nn::Tensor& x) {
  cv::dnn::Net net = loadOpenCv(path);
  return runOpenCv(net, x);
}

struct Diff {
  double maxAbs = INFINITY;
  double meanAbs = INFINITY;
  bool sameCount = false;
};

inline Diff compare(const cv::Mat& got, const nn::Tensor& want) {
  Diff d;
  d.sameCount = got.total() == want.size() && got.type() == CV_32F;
  if (!d.sameCount) return d;
  const float* g = got.ptr<float>();
  double mx = 0, sum = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double e = std::abs(double(g[i]) - double(want[i]));
    // A NaN must fail the comparison, so it counts as infinite error.
    mx = std::isnan(e) ? INFINITY : std::max(mx, e);
    sum += e;
  }
  d.maxAbs = mx;
  d.meanAbs = sum / double(want.size());
  return d;
}

}  // namespace cae::test
