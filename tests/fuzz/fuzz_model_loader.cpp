// libFuzzer target for the model loader: what the Engine does with a model file before the first
// frame. The validator, the metadata and graph readers see every input; OpenCV DNN
// (readNetFromONNX, then one small forward pass) sees only what the validator accepts. A
// cae::Error (or OpenCV's own exception, which the Engine turns into one) is a clean refusal;
// anything else (a crash, a sanitizer report, another exception) is a finding.
//
//   scripts/fuzz.sh model-loader            # builds with clang + libFuzzer and runs it
//   build/tests/fuzz/test_fuzz_replay       # replays tests/fuzz/corpus without libFuzzer
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>
#include <string>

#include "error.hpp"
#include "onnx/graph_info.hpp"
#include "onnx/metadata.hpp"
#include "onnx/validate.hpp"

namespace {

// One forward pass on a frame just large enough for every strided layer, as the Engine would run.
void forwardOnce(cv::dnn::Net& net, const cae::onnx::GraphInfo& g) {
  const int side = std::max(8, 2 * g.sizeMultiple);
  if (side > 64) return;  // a model that needs large frames: loading is what is fuzzed here
  const int shape[4] = {1, std::max(1, g.inputChannels), side, side};
  cv::Mat blob(4, shape, CV_32F, cv::Scalar(0.5));
  net.setInput(blob);
  net.forward();
}

}  // namespace

// Inputs OpenCV loaded and ran (the replay test checks that every good model gets this far).
int caeFuzzLoadedModels = 0;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = [] {
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    cv::setNumThreads(1);  // one core per fuzzing worker
    return true;
  }();
  (void)quiet;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const std::string name = "fuzz input";
  cae::onnx::GraphInfo graph;
  try {
    (void)cae::onnx::parseModelInfo(cae::onnx::readOnnxMetadataBytes(bytes, name));
  } catch (const cae::Error&) {
  }
  try {
    graph = cae::onnx::readGraphInfoBytes(bytes, name);
  } catch (const cae::Error&) {
  }
  try {
    cae::onnx::validateModelBytes(bytes, name);
  } catch (const cae::Error&) {
    return 0;
  }
  try {
    cv::dnn::Net net = cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
    forwardOnce(net, graph);
    ++caeFuzzLoadedModels;
  } catch (const cv::Exception&) {
  }
  return 0;
}
