// The oneDNN backend (DESIGN.md, core/infer): an ONNX graph translated into oneDNN primitives,
// run on the CPU at close to the machine's GEMM rate. OpenCV DNN stays the reference.
//
//   cae::onnx::Graph g = cae::onnx::readGraph("models/denoise-fast.onnx");
//   std::string why;
//   if (!cae::infer::onednn::covers(g, &why)) { /* fall back to OpenCV DNN; `why` names the op */ }
//   cae::infer::onednn::Net net(g, {});
//   cv::Mat y = net.forward(x);              // x: N×C×H×W CV_32F; primitives built per size
//
// Op set: Conv (2-D, any pads/strides/dilations/group), ConvTranspose (2-D, run as one stride-1
// convolution per output phase plus an interleave, never oneDNN's deconvolution), Relu,
// LeakyRelu, Sigmoid, Tanh (fused into the producing conv as post-ops where that keeps a fast
// implementation), Add (with ONNX broadcasting of equal-rank tensors), Concat (any axis),
// DepthToSpace (DCR and CRD), and the Reshape/Transpose/Reshape form of a pixel shuffle.
// Other ops or attributes: covers() is false and says which.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "error.hpp"
#include "onnx/graph.hpp"

namespace cae::infer::onednn {

// Whether this build has the oneDNN backend (meson option 'onednn').
bool built();

// Whether Net can run g; if not, *why names the first node (op and name) or feature it does not
// cover, e.g. "op MaxPool (node 'pool1') is not covered by the oneDNN backend".
bool covers(const onnx::Graph& g, std::string* why = nullptr);

// Thrown by Net for a graph covers() refuses, or when oneDNN is not built.
class Unsupported : public Error {
 public:
  using Error::Error;
};

// Per value name: the smallest and largest element seen (Options::int8, Net::calibrate).
using Ranges = std::map<std::string, std::pair<float, float>>;

struct Options {
  // OpenMP threads used for each forward (set on the calling thread before every run, so a
  // GStreamer streaming thread gets its own count); 0: kDefaultThreads.
  int threads = 0;
  // Fuse activations / sums into convolutions only when oneDNN then still picks a fast
  // (non-reference, non-gemm) implementation; false: never fuse (for tests and profiling).
  bool fuse = true;
  // Time every primitive in forward() (adds a barrier per primitive).
  bool profile = false;
  // Convolutions in bfloat16 (8-bit mantissa; f32 accumulation, f32 biases): their inputs,
  // weights and the activations between them are bf16, while graph inputs and outputs, Adds that
  // read an f32 value (a residual's input) and convolutions writing fewer than 16 channels (an
  // image's) stay f32. About twice the f32 speed where the CPU has bf16 instructions
  // (nativeBf16()); outputs then differ from f32 by ~1e-3 of the signal, so OpenCV DNN parity
  // (1e-5) is an f32 property. Without bf16 instructions oneDNN emulates it (slower than f32).
  bool bf16 = false;
  // Convolutions in 8-bit integers (u8 or s8 activations, s8 weights with one scale per output
  // channel, s32 accumulation) where this map holds the range of what they read: value name ->
  // the smallest and largest value seen on calibration data (ModelInfo::int8Ranges, written by
  // `cae-train calibrate`). Empty: no int8. As with bf16, convolutions reading or writing fewer
  // than 16 channels, graph inputs and outputs and what is added to an f32 value stay f32; a
  // conv ending in a ReLU writes u8 at its output's range, others f32. About twice the bf16
  // speed where the CPU has VNNI (nativeInt8()); outputs differ from f32 by about a step of the
  // activations' 8-bit grid. Takes precedence over bf16 for the convolutions it covers.
  Ranges int8;
};

// Whether this CPU has bfloat16 dot-product instructions oneDNN uses (AVX512_BF16 or AMX).
bool nativeBf16();
// Whether this CPU has 8-bit dot-product instructions (AVX512_VNNI, AVX_VNNI or AMX) oneDNN uses.
bool nativeInt8();

// Chosen from bench/engine_backends (1 vs 2 threads under a competing load): see the report.
extern const int kDefaultThreads;

// Per-primitive timing of the last forward() with Options::profile.
struct LayerTime {
  std::string node;  // ONNX node name (or names, joined by '+', when fused)
  std::string op;    // "conv", "conv(convtranspose phase)", "binary_add", "concat", "reorder", ...
  std::string impl;  // oneDNN's implementation name, e.g. "brg:avx512_core"
  double ms = 0;
  double flops = 0;  // multiply-adds × 2
};

class Net {
 public:
  // Throws Unsupported when !covers(g), FormatError for inconsistent weights.
  Net(const onnx::Graph& g, const Options& o);
  ~Net();
  Net(const Net&) = delete;
  Net& operator=(const Net&) = delete;

  // One 4-D float input and one output (cae's image models): N×C×H×W CV_32F, continuous.
  cv::Mat forward(const cv::Mat& blob);
  // The same into `out`, reallocated only when its shape or type differs (or it shares the
  // input's memory), so a stream of frames of one size allocates nothing per forward.
  void forward(const cv::Mat& blob, cv::Mat& out);
  // Any graph the translator covers: inputs in graph-input order, outputs in graph-output order.
  std::vector<onnx::Tensor> forward(const std::vector<onnx::Tensor>& inputs);

  const Options& options() const;
  // Input shapes whose primitives are built and cached (a new frame size builds a new set).
  std::size_t cachedShapes() const;
  // For the last shape run: one line per primitive, "node: kind impl", so callers can see that
  // no reference kernel was chosen.
  std::vector<std::string> implementations() const;
  // True when any primitive of the last shape run is a reference ("ref") implementation.
  bool usesReference() const;
  const std::vector<LayerTime>& profile() const;  // last forward with Options::profile
  double flopsPerForward() const;                 // for the last shape run

  // Widens `ranges` to every value's smallest and largest element on this input (one N×C×H×W
  // blob; graph inputs too): an unfused f32 forward that keeps every intermediate. The data
  // for Options::int8, taken on inputs like those the model will see.
  void calibrate(const cv::Mat& blob, Ranges& ranges);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cae::infer::onednn
