// Internal to core/onnx (validate.cpp): each supported operator's rules, applied to one node
// once the graph walk has checked that its inputs are defined. Includes libonnx's protobuf
// header, so only core/onnx's .cpp files include it.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace cae::onnx::detail {

using Dims = std::vector<std::int64_t>;  // one entry per axis; -1: extent not known from the file

// Far above any cae model, far below what would let a few bytes make OpenCV allocate gigabytes.
inline constexpr std::int64_t kMaxElements = std::int64_t(1) << 28;  // 1 GiB of float
inline constexpr double kMaxGrowth = 16;  // how much larger than the input frame a value may be
// Values an activation may hold per input pixel (channels x growth^2): 16 times a 64-channel
// full-resolution layer, so that no file makes a tile's forward pass take gigabytes.
inline constexpr double kMaxValuesPerPixel = 1024;

// An activation as far as the file tells: its extents and its size relative to the input frame.
struct Activation {
  bool rankKnown = false;
  Dims dims;
  double growth = 1;
};

// What the graph walk has defined before a node.
struct GraphSoFar {
  std::map<std::string, const ::onnx::TensorProto*> initializers;
  std::map<std::string, Activation> values;  // every name defined so far
  std::set<std::string> computed;            // names written by nodes
};

// Checks node n (an op in supportedOps(), every input defined in g) against its operator's
// attributes, inputs and weights, and returns its output. FormatError: the message is `where`
// (naming the model), then the node and what is wrong with it.
Activation checkOperator(const ::onnx::NodeProto& n, const GraphSoFar& g, const std::string& where);

// "48x24x3x3"; "?" for an unknown extent, "scalar" for none.
std::string dimsText(const Dims& d);

}  // namespace cae::onnx::detail
