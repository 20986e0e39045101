// The oneDNN backend's view of an ONNX graph, without oneDNN types (core/infer/onednn.hpp):
// which nodes it covers, their attributes resolved to numbers, and the arithmetic that turns a
// transposed convolution into one stride-1 convolution per output phase. Compiled whether or not
// oneDNN is, so covers() answers in every build.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "onnx/graph.hpp"

namespace cae::infer::onednn::detail {

using Dims = std::vector<int64_t>;

enum class OpKind { Conv, ConvTranspose, Eltwise, Add, Concat, DepthToSpace, Identity };
enum class Act { Relu, LeakyRelu, Sigmoid, Tanh };

// Conv / ConvTranspose attributes with ONNX's defaults filled in. Pads are per axis (H, W);
// with autoPad SAME_* or an outputShape they are derived from the input size (resolvePads).
struct ConvAttrs {
  std::array<int64_t, 2> kernel{0, 0};  // 0: take it from the weights
  std::array<int64_t, 2> strides{1, 1};
  std::array<int64_t, 2> dilations{1, 1};
  std::array<int64_t, 2> padBegin{0, 0};
  std::array<int64_t, 2> padEnd{0, 0};
  std::array<int64_t, 2> outputPadding{0, 0};  // ConvTranspose
  Dims outputShape;                            // ConvTranspose, spatial (H, W); empty: none
  std::string autoPad = "NOTSET";
  int64_t group = 1;
};

// One covered ONNX node.
struct Op {
  OpKind kind = OpKind::Identity;
  std::string op;                   // ONNX op_type
  std::string name;                 // ONNX node name (op_type#index when the node has none)
  std::vector<std::string> inputs;  // values read; "" for an omitted optional input
  std::string output;
  ConvAttrs conv;
  Act act = Act::Relu;
  float alpha = 0.f;  // LeakyRelu
  int64_t axis = 0;   // Concat (may be negative: counted from the end)
  int64_t block = 0;  // DepthToSpace
  bool crd = false;   // DepthToSpace mode CRD (else DCR)
};

struct Program {
  std::vector<Op> ops;  // in graph order
  std::vector<std::string> inputs, outputs;
};

// The graph as Ops, or false with *why naming the first node or feature not covered.
bool analyse(const onnx::Graph& g, Program* out, std::string* why);

// For each value: the indices of the ops that read it (graph outputs are not counted here).
std::vector<std::vector<int>> consumersOf(const Program& p, const std::vector<std::string>& names);

// Pads of a Conv over input size `in` along axis a (auto_pad resolved).
void convPads(const ConvAttrs& c, int a, int64_t in, int64_t k, int64_t* begin, int64_t* end);
int64_t convOutput(const ConvAttrs& c, int a, int64_t in, int64_t k);

// ConvTranspose along one axis: pads (auto_pad and output_shape resolved) and output size.
void deconvPads(const ConvAttrs& c, int a, int64_t in, int64_t k, int64_t* begin, int64_t* end);
int64_t deconvOutput(const ConvAttrs& c, int a, int64_t in, int64_t k);

// Output phase p (output indices o ≡ p mod stride) of a transposed convolution along one axis,
// as a stride-1 convolution of the input: y_p[q] = Σ_j x[q + j·dilation − padL] · w[taps[j]],
// whose outputs skip, skip+1, ... are the phase's `count` outputs in order.
struct Phase1d {
  std::vector<int64_t> taps;  // kernel indices, in input order (descending); empty: bias only
  int64_t dilation = 1;
  int64_t padL = 0, padR = 0;
  int64_t skip = 0;
  int64_t count = 0;
  int64_t size() const { return taps.empty() ? 1 : int64_t(taps.size()); }  // conv kernel size
  int64_t convOutput(int64_t in) const {
    return in + padL + padR - ((size() - 1) * dilation + 1) + 1;
  }
};
std::vector<Phase1d> deconvPhases(int64_t in, int64_t k, int64_t stride, int64_t dilation,
                                  int64_t padBegin, int64_t padEnd, int64_t out);

// ConvTranspose weights [Cin, Cout/g, KH, KW] → the phase's stride-1 convolution weights
// [g, Cout/g, Cin/g, nH, nW] (taps that do not exist are zero).
std::vector<float> phaseWeights(const float* w, int64_t cin, int64_t coutPerGroup, int64_t group,
                                int64_t kh, int64_t kw, const Phase1d& py, const Phase1d& px);

// Shape of Add's result under ONNX (numpy) broadcasting; ShapeError when they do not fit.
Dims broadcastShape(const Dims& a, const Dims& b, const std::string& node);

std::string dimsStr(const Dims& d);  // "1x16x32x32"

}  // namespace cae::infer::onednn::detail
