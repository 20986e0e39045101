// One input shape's oneDNN primitives for a Program (core/infer/onednn_graph.hpp): the steps
// in execution order and the buffers they read and write. Built by buildPlan (onednn_build.cpp)
// and run by Net (onednn_net.cpp). Only compiled with oneDNN.
#pragma once

#include <climits>
#include <functional>
#include <map>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>
#include <utility>
#include <vector>

#include "infer/onednn.hpp"
#include "infer/onednn_graph.hpp"

namespace cae::infer::onednn::detail {

// A tensor of the plan. Temp buffers share memory slots where their lifetimes do not overlap
// (an intermediate of a 640x480 U-Net is tens of MB); the others own their memory.
struct Buffer {
  enum class Kind { Temp, Input, Output, Const };
  Kind kind = Kind::Temp;
  dnnl::memory::desc md;
  dnnl::memory mem;                // Const: made when built; Input/Output: handle set per forward
  int first = INT_MAX, last = -1;  // steps that touch a Temp buffer
  int slot = -1;
  float scale = 1.f;  // u8/s8 data: the real value of a stored step (real = stored * scale)
};

// A buffer as a step sees it: the whole buffer, or a view (md with its own offset and strides).
struct BufRef {
  int id = -1;
  dnnl::memory::desc view;  // zero: the buffer's own md
};

struct Step {
  dnnl::primitive prim;
  std::vector<std::pair<int, BufRef>> args;  // DNNL_ARG_* -> buffer
  std::function<void()> host;                // run instead of a primitive (weights from inputs)
  LayerTime info;
  std::unordered_map<int, dnnl::memory> bound;  // args as memory objects, made by allocate()
};

struct Plan {
  std::vector<Dims> key;  // input shapes
  std::vector<Buffer> bufs;
  std::vector<Step> steps;
  std::vector<int> inputs, outputs;  // buffer ids, in graph order
  std::vector<dnnl::memory> slots;
  double flops = 0;
  std::map<std::string, int> values;  // built with keepValues: every value's buffer
};

// Builds (and allocates) the plan of p for these input shapes; o.fuse as in Options.
// ShapeError when the shapes do not fit the graph; Error when oneDNN refuses a primitive.
// keepValues: no two buffers share memory, and Plan::values names them (Net::calibrate).
std::unique_ptr<Plan> buildPlan(const Program& p, const onnx::Graph& g,
                                const std::vector<Dims>& inputs, const Options& o,
                                const dnnl::engine& eng, dnnl::stream& strm,
                                bool keepValues = false);

// Whether oneDNN's implementation name is a fast kernel: not a reference one, not a gemm one.
bool fastImpl(const std::string& impl);

}  // namespace cae::infer::onednn::detail
