#include "onnx/graph_info.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "error.hpp"
#include "onnx/proto_io.hpp"

namespace cae::onnx {
namespace {

namespace pb = ::onnx;

int dimOf(const pb::TensorShapeProto& s, int i) {
  const auto& d = s.dim(i);
  return d.has_dim_value() && d.dim_value() > 0 ? int(d.dim_value()) : 0;
}

// Integer attribute list (e.g. strides), empty when absent.
std::vector<long long> ints(const pb::NodeProto& n, const char* name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return {a.ints().begin(), a.ints().end()};
  return {};
}

// Reads the model's description; `path` names it in messages.
GraphInfo graphInfoOf(const pb::ModelProto& m, const std::string& path) {
  const pb::GraphProto& g = m.graph();
  std::set<std::string> initializers;
  for (const auto& t : g.initializer()) initializers.insert(t.name());
  const pb::ValueInfoProto* in = nullptr;
  for (const auto& v : g.input())
    if (!initializers.count(v.name())) {
      in = &v;
      break;
    }
  if (!in) throw FormatError("'" + path + "': the ONNX graph has no input");
  if (!in->type().has_tensor_type() || !in->type().tensor_type().has_shape() ||
      in->type().tensor_type().shape().dim_size() != 4)
    throw FormatError("'" + path + "': the model input '" + in->name() +
                      "' is not a 4-D image tensor (N, C, H, W)");
  if (in->type().tensor_type().elem_type() != pb::TensorProto::FLOAT)
    throw FormatError("'" + path + "': the model input '" + in->name() + "' is not float32");
  GraphInfo info;
  const auto& s = in->type().tensor_type().shape();
  info.inputChannels = dimOf(s, 1);
  info.inputHeight = dimOf(s, 2);
  info.inputWidth = dimOf(s, 3);
  if (g.output_size() > 0 && g.output(0).type().has_tensor_type() &&
      g.output(0).type().tensor_type().has_shape() &&
      g.output(0).type().tensor_type().shape().dim_size() == 4)
    info.outputChannels = dimOf(g.output(0).type().tensor_type().shape(), 1);
  info.numNodes = g.node_size();

  // Downsampling factor of every value, in topological order (ONNX requires node order to be
  // topological). Up-sampling divides; the factor never drops below 1.
  std::map<std::string, double> factor{{in->name(), 1.0}};
  double most = 1;
  for (const auto& n : g.node()) {
    double f = 1;
    for (const auto& x : n.input()) {
      auto it = factor.find(x);
      if (it != factor.end()) f = std::max(f, it->second);
    }
    const std::string& op = n.op_type();
    if (op == "Conv" || op == "MaxPool" || op == "AveragePool") {
      const auto st = ints(n, "strides");
      if (!st.empty()) f *= double(*std::max_element(st.begin(), st.end()));
    } else if (op == "ConvTranspose") {
      const auto st = ints(n, "strides");
      if (!st.empty()) f /= double(*std::max_element(st.begin(), st.end()));
    } else if (op == "SpaceToDepth") {
      for (const auto& a : n.attribute())
        if (a.name() == "blocksize") f *= double(a.i());
    } else if (op == "DepthToSpace") {
      for (const auto& a : n.attribute())
        if (a.name() == "blocksize") f /= double(a.i());
    }
    f = std::max(f, 1.0);
    most = std::max(most, f);
    for (const auto& y : n.output()) factor[y] = f;
  }
  info.sizeMultiple = int(std::lround(most));
  return info;
}

}  // namespace

GraphInfo readGraphInfo(const std::string& path) {
  return graphInfoOf(detail::readModelProto(path), path);
}

GraphInfo readGraphInfoBytes(const std::string& bytes, const std::string& name) {
  return graphInfoOf(detail::parseModelProto(bytes, name), name);
}

}  // namespace cae::onnx
