// Inference forward of CAE-REF on one frame: the engine vs OpenCV DNN running the engine's own
// exported ONNX file, alternating, same input. Prints one JSON line per implementation.
// Usage: bench_engine_vs_opencv [height 512] [width 512] [reps 5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <opencv2/dnn.hpp>
#include <string>
#include <vector>

#include "cae_ref.hpp"
#include "nn/parallel.hpp"
#include "onnx/export.hpp"

using namespace cae;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  const int h = argc > 1 ? std::atoi(argv[1]) : 512;
  const int w = argc > 2 ? std::atoi(argv[2]) : 512;
  const int reps = argc > 3 ? std::atoi(argv[3]) : 5;
  nn::Model model = bench::makeCaeRef(64, 64);
  model.initialize(1);
  const std::string bytes = onnx::exportOnnxBytes(model);
  cv::dnn::Net net = cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  cv::setNumThreads(nn::threads());

  nn::Rng rng(3);
  nn::Tensor x({1, 1, h, w});
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = rng.uniform(0, 1);
  int dims[] = {1, 1, h, w};
  cv::Mat blob(4, dims, CV_32F, x.data());
  std::vector<double> te, to;
  cv::Mat y;
  for (int r = 0; r < reps + 1; ++r) {
    auto t0 = Clock::now();
    model.forward(x);
    auto t1 = Clock::now();
    net.setInput(blob);
    y = net.forward();
    auto t2 = Clock::now();
    if (r > 0) {
      te.push_back(std::chrono::duration<double>(t1 - t0).count());
      to.push_back(std::chrono::duration<double>(t2 - t1).count());
    }
  }
  const nn::Tensor& ye = model.activation(model.output());
  double diff = 0;
  const float* yo = y.ptr<float>();
  for (std::size_t i = 0; i < ye.size(); ++i)
    diff = std::max(diff, double(std::abs(ye[i] - yo[i])));
  std::sort(te.begin(), te.end());
  std::sort(to.begin(), to.end());
  const double flops = bench::forwardFlops(model, h, w);
  const double me = te[te.size() / 2], mo = to[to.size() / 2];
  std::printf("{\"impl\":\"cae-infer\",\"h\":%d,\"w\":%d,\"ms\":%.2f,\"gflops\":%.2f}\n", h, w,
              me * 1e3, flops / me / 1e9);
  std::printf(
      "{\"impl\":\"opencv-dnn\",\"h\":%d,\"w\":%d,\"ms\":%.2f,\"gflops\":%.2f,"
      "\"max_abs_diff\":%.3g}\n",
      h, w, mo * 1e3, flops / mo / 1e9, diff);
  return 0;
}
