#include "infer/onednn_graph.hpp"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "error.hpp"

namespace cae::infer::onednn::detail {
namespace {

// Thrown inside analyse() for the first thing not covered; analyse() turns it into *why.
struct NotCovered {
  std::string why;
};

std::string where(const onnx::Node& n, const std::string& name) {
  return "op " + n.op + " (node '" + name + "')";
}

[[noreturn]] void refuse(const onnx::Node& n, const std::string& name, const std::string& what) {
  throw NotCovered{where(n, name) + " " + what};
}

int64_t floorMod(int64_t a, int64_t m) { return ((a % m) + m) % m; }

// The attributes each covered op may carry; any other one is refused rather than ignored.
const std::map<std::string, std::set<std::string>>& knownAttrs() {
  static const std::map<std::string, std::set<std::string>> k = {
      {"Conv", {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}},
      {"ConvTranspose",
       {"auto_pad", "dilations", "group", "kernel_shape", "output_padding", "output_shape", "pads",
        "strides"}},
      {"Relu", {}},
      {"LeakyRelu", {"alpha"}},
      {"Sigmoid", {}},
      {"Tanh", {}},
      {"Add", {}},
      {"Concat", {"axis"}},
      {"DepthToSpace", {"blocksize", "mode"}},
      {"Identity", {}},
  };
  return k;
}

// An ints attribute of exactly n values (or its default), each at least `min`.
std::array<int64_t, 2> pair(const onnx::Node& n, const std::string& name, const std::string& a,
                            int64_t def, int64_t min) {
  const Dims v = n.intsAttr(a, {def, def});
  if (v.size() != 2)
    refuse(n, name,
           "has " + a + " of " + std::to_string(v.size()) +
               " values; the oneDNN backend covers 2-D convolutions only");
  for (int64_t x : v)
    if (x < min)
      refuse(n, name,
             "has " + a + " " + std::to_string(x) + ", which the oneDNN backend does not cover");
  return {v[0], v[1]};
}

ConvAttrs convAttrs(const onnx::Node& n, const std::string& name, bool transposed) {
  ConvAttrs c;
  if (n.has("kernel_shape")) c.kernel = pair(n, name, "kernel_shape", 0, 1);
  c.strides = pair(n, name, "strides", 1, 1);
  c.dilations = pair(n, name, "dilations", 1, 1);
  const Dims pads = n.intsAttr("pads", {0, 0, 0, 0});
  if (pads.size() != 4)
    refuse(n, name,
           "has pads of " + std::to_string(pads.size()) +
               " values; the oneDNN backend covers 2-D convolutions (4 pads) only");
  c.padBegin = {pads[0], pads[1]};
  c.padEnd = {pads[2], pads[3]};
  c.autoPad = n.stringAttr("auto_pad", "NOTSET");
  if (c.autoPad != "NOTSET" && c.autoPad != "VALID" && c.autoPad != "SAME_UPPER" &&
      c.autoPad != "SAME_LOWER")
    refuse(n, name, "has auto_pad '" + c.autoPad + "', which is not an ONNX value");
  c.group = n.intAttr("group", 1);
  if (c.group < 1) refuse(n, name, "has group " + std::to_string(c.group) + ", below 1");
  if (transposed) {
    c.outputPadding = pair(n, name, "output_padding", 0, 0);
    c.outputShape = n.intsAttr("output_shape", {});
    if (c.outputShape.size() > 2)  // some exporters write N and C too
      c.outputShape.erase(c.outputShape.begin(), c.outputShape.end() - 2);
    if (!c.outputShape.empty() && c.outputShape.size() != 2)
      refuse(n, name,
             "has an output_shape of " + std::to_string(c.outputShape.size()) +
                 " values; the oneDNN backend covers 2-D convolutions only");
  }
  return c;
}

struct Analyser {
  const onnx::Graph& g;
  std::map<std::string, int> known;  // value -> 0: graph input, 1: initializer, 2: node output

  void checkInputs(const onnx::Node& n, const std::string& name) const {
    for (const std::string& in : n.inputs) {
      if (in.empty()) continue;
      const auto it = known.find(in);
      if (it == known.end())
        refuse(n, name, "reads '" + in + "', which no earlier node, input or initializer makes");
      if (it->second == 1) {
        const onnx::Tensor& t = g.initializers.at(in);
        if (t.type != int(onnx::DataType::Float))
          refuse(n, name,
                 "reads initializer '" + in + "' of type " + onnx::dataTypeName(t.type) +
                     "; the oneDNN backend covers float tensors only");
      }
    }
  }

  // Conv weights and bias must be constants or graph inputs: they are laid out once per shape.
  void checkWeights(const onnx::Node& n, const std::string& name) const {
    if (n.inputs.size() < 2 || n.inputs.size() > 3 || n.inputs[1].empty())
      refuse(n, name, "needs 2 or 3 inputs (X, W, optional B)");
    for (std::size_t k = 1; k < n.inputs.size(); ++k) {
      const std::string& in = n.inputs[k];
      if (!in.empty() && known.at(in) == 2)
        refuse(n, name,
               "has weights '" + in +
                   "' computed by the graph; the oneDNN backend covers constant or input "
                   "weights only");
    }
    for (std::size_t k = 0; k < 2; ++k) {  // data and weights: 4-D where the rank is known
      const std::size_t r = rankOf(n.inputs[k]);
      if (r != 0 && r != 4)
        refuse(n, name,
               "reads " + std::to_string(r) + "-D '" + n.inputs[k] +
                   "'; the oneDNN backend covers 2-D convolutions (4-D tensors) only");
    }
  }

  // The rank of a graph input or initializer as the file gives it; 0: not known here.
  std::size_t rankOf(const std::string& v) const {
    const auto init = g.initializers.find(v);
    if (init != g.initializers.end()) return init->second.dims.size();
    for (const onnx::ValueInfo& i : g.inputs)
      if (i.name == v) return i.dims.size();
    return 0;
  }

  Op op(const onnx::Node& n, const std::string& name) const {
    const auto attrs = knownAttrs().find(n.op);
    if (attrs == knownAttrs().end())
      throw NotCovered{where(n, name) + " is not covered by the oneDNN backend"};
    for (const auto& [a, v] : n.attrs)
      if (attrs->second.count(a) == 0)
        refuse(n, name, "has attribute " + a + ", which the oneDNN backend does not cover");
    if (n.outputs.size() != 1 || n.outputs[0].empty())
      refuse(n, name, "has other than 1 output, which the oneDNN backend does not cover");
    checkInputs(n, name);
    Op o;
    o.op = n.op;
    o.name = name;
    o.inputs = n.inputs;
    o.output = n.outputs[0];
    const std::size_t arity = n.op == "Add" ? 2 : 1;
    if (n.op == "Conv" || n.op == "ConvTranspose") {
      checkWeights(n, name);
      o.kind = n.op == "Conv" ? OpKind::Conv : OpKind::ConvTranspose;
      o.conv = convAttrs(n, name, o.kind == OpKind::ConvTranspose);
      return o;
    }
    if (n.op == "Concat") {
      if (!n.has("axis")) refuse(n, name, "has no axis (ONNX requires one)");
      o.kind = OpKind::Concat;
      o.axis = n.intAttr("axis", 0);
    } else if (n.inputs.size() != arity || n.inputs[0].empty()) {
      refuse(n, name, "needs " + std::to_string(arity) + " input(s)");
    }
    if (n.op == "Add") o.kind = OpKind::Add;
    if (n.op == "Identity") o.kind = OpKind::Identity;
    if (n.op == "DepthToSpace") {
      o.kind = OpKind::DepthToSpace;
      o.block = n.intAttr("blocksize", 0);
      if (o.block < 1) refuse(n, name, "has blocksize " + std::to_string(o.block) + ", below 1");
      const std::string mode = n.stringAttr("mode", "DCR");
      if (mode != "DCR" && mode != "CRD")
        refuse(n, name, "has mode '" + mode + "', which is not an ONNX value");
      o.crd = mode == "CRD";
    }
    if (n.op == "Relu" || n.op == "LeakyRelu" || n.op == "Sigmoid" || n.op == "Tanh") {
      o.kind = OpKind::Eltwise;
      o.act = n.op == "Relu"        ? Act::Relu
              : n.op == "LeakyRelu" ? Act::LeakyRelu
              : n.op == "Sigmoid"   ? Act::Sigmoid
                                    : Act::Tanh;
      o.alpha = n.floatAttr("alpha", 0.01f);  // ONNX's LeakyRelu default
    }
    return o;
  }

  Program run() {
    Program p;
    for (const onnx::ValueInfo& v : g.inputs) {
      if (v.type != int(onnx::DataType::Float))
        throw NotCovered{"graph input '" + v.name + "' is " + onnx::dataTypeName(v.type) +
                         "; the oneDNN backend covers float tensors only"};
      known[v.name] = 0;
      p.inputs.push_back(v.name);
    }
    for (const auto& [name, t] : g.initializers) known.emplace(name, 1);
    for (std::size_t i = 0; i < g.nodes.size(); ++i) {
      const onnx::Node& n = g.nodes[i];
      const std::string name = n.name.empty() ? n.op + "#" + std::to_string(i) : n.name;
      p.ops.push_back(op(n, name));
      known[n.outputs[0]] = 2;
    }
    for (const onnx::ValueInfo& v : g.outputs) {
      if (known.count(v.name) == 0)
        throw NotCovered{"graph output '" + v.name + "' is made by no node"};
      p.outputs.push_back(v.name);
    }
    return p;
  }
};

}  // namespace

bool analyse(const onnx::Graph& g, Program* out, std::string* why) {
  try {
    Program p = Analyser{g, {}}.run();
    if (out) *out = std::move(p);
    return true;
  } catch (const NotCovered& e) {
    if (why) *why = e.why;
  } catch (const Error& e) {  // an attribute of the wrong kind
    if (why) *why = e.what();
  }
  return false;
}

std::vector<std::vector<int>> consumersOf(const Program& p, const std::vector<std::string>& names) {
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < names.size(); ++i) index[names[i]] = i;
  std::vector<std::vector<int>> c(names.size());
  for (std::size_t i = 0; i < p.ops.size(); ++i)
    for (const std::string& in : p.ops[i].inputs) {
      const auto it = index.find(in);
      if (it != index.end()) c[it->second].push_back(int(i));
    }
  return c;
}

void convPads(const ConvAttrs& c, int a, int64_t in, int64_t k, int64_t* begin, int64_t* end) {
  const std::size_t ax = std::size_t(a);
  if (c.autoPad == "NOTSET") {
    *begin = c.padBegin[ax];
    *end = c.padEnd[ax];
    return;
  }
  *begin = *end = 0;
  if (c.autoPad == "VALID") return;
  const int64_t s = c.strides[ax], out = (in + s - 1) / s;
  const int64_t total = std::max<int64_t>(0, (out - 1) * s + (k - 1) * c.dilations[ax] + 1 - in);
  *begin = c.autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
  *end = total - *begin;
}

int64_t convOutput(const ConvAttrs& c, int a, int64_t in, int64_t k) {
  int64_t b = 0, e = 0;
  convPads(c, a, in, k, &b, &e);
  const std::size_t ax = std::size_t(a);
  const int64_t ext = (k - 1) * c.dilations[ax] + 1;
  if (in + b + e < ext) return 0;
  return (in + b + e - ext) / c.strides[ax] + 1;
}

void deconvPads(const ConvAttrs& c, int a, int64_t in, int64_t k, int64_t* begin, int64_t* end) {
  const std::size_t ax = std::size_t(a);
  const bool same = c.autoPad == "SAME_UPPER" || c.autoPad == "SAME_LOWER";
  if (c.outputShape.empty() && !same) {
    if (c.autoPad == "VALID") {
      *begin = *end = 0;
    } else {
      *begin = c.padBegin[ax];
      *end = c.padEnd[ax];
    }
    return;
  }
  // ONNX: total_padding = stride·(in−1) + output_padding + ((k−1)·dilation + 1) − output_shape,
  // split with the larger half at the end for SAME_UPPER, else at the start.
  const int64_t s = c.strides[ax];
  const int64_t want = c.outputShape.empty() ? in * s : c.outputShape[ax];
  const int64_t total = s * (in - 1) + c.outputPadding[ax] + (k - 1) * c.dilations[ax] + 1 - want;
  if (total < 0) {  // larger than the full output: the extra rows are at the end (as ONNX's
    *begin = 0;     // test data and onnxruntime have it), like output_padding
    *end = total;
    return;
  }
  *begin = c.autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
  *end = total - *begin;
}

int64_t deconvOutput(const ConvAttrs& c, int a, int64_t in, int64_t k) {
  int64_t b = 0, e = 0;
  deconvPads(c, a, in, k, &b, &e);
  const std::size_t ax = std::size_t(a);
  return c.strides[ax] * (in - 1) + c.outputPadding[ax] + (k - 1) * c.dilations[ax] + 1 - b - e;
}

std::vector<Phase1d> deconvPhases(int64_t in, int64_t k, int64_t stride, int64_t dilation,
                                  int64_t padBegin, int64_t padEnd, int64_t out) {
  (void)padEnd;  // the output size `out` already accounts for it
  // Output o = i·stride + t·dilation − padBegin; for o = q·stride + p the taps t with
  // (p + padBegin − t·dilation) ≡ 0 (mod stride) read input q + (p + padBegin − t·dilation)/stride.
  // Consecutive taps differ by stride/g (g = gcd), their inputs by dilation/g.
  const int64_t g = std::gcd(stride, dilation);
  std::vector<Phase1d> ph(static_cast<std::size_t>(stride));
  for (int64_t p = 0; p < stride; ++p) {
    Phase1d& f = ph[std::size_t(p)];
    f.count = out > p ? (out - p + stride - 1) / stride : 0;
    for (int64_t t = k - 1; t >= 0; --t)
      if (floorMod(p + padBegin - t * dilation, stride) == 0) f.taps.push_back(t);
    if (f.taps.empty()) {  // no tap lands here: the phase is the bias alone
      f.padR = std::max<int64_t>(0, f.count - in);
      continue;
    }
    f.dilation = dilation / g;
    f.padL = -((p + padBegin - f.taps[0] * dilation) / stride);
    if (f.padL < 0) {  // the first output reads past the input's start: compute and skip
      f.skip = -f.padL;
      f.padL = 0;
    }
    const int64_t ext = (f.size() - 1) * f.dilation + 1;
    f.padR = std::max<int64_t>(0, f.skip + f.count + ext - 1 - in - f.padL);
  }
  return ph;
}

std::vector<float> phaseWeights(const float* w, int64_t cin, int64_t coutPerGroup, int64_t group,
                                int64_t kh, int64_t kw, const Phase1d& py, const Phase1d& px) {
  const int64_t cinG = cin / group, nh = py.size(), nw = px.size();
  std::vector<float> out(std::size_t(group * coutPerGroup * cinG * nh * nw), 0.f);
  if (py.taps.empty() || px.taps.empty()) return out;
  std::size_t at = 0;
  for (int64_t gi = 0; gi < group; ++gi)
    for (int64_t o = 0; o < coutPerGroup; ++o)
      for (int64_t i = 0; i < cinG; ++i)
        for (int64_t jy = 0; jy < nh; ++jy)
          for (int64_t jx = 0; jx < nw; ++jx) {
            const int64_t ci = gi * cinG + i;
            const int64_t ky = py.taps[std::size_t(jy)], kx = px.taps[std::size_t(jx)];
            out[at++] = w[((ci * coutPerGroup + o) * kh + ky) * kw + kx];
          }
  return out;
}

Dims broadcastShape(const Dims& a, const Dims& b, const std::string& node) {
  const std::size_t r = std::max(a.size(), b.size());
  Dims out(r);
  for (std::size_t i = 0; i < r; ++i) {
    const int64_t x = i + a.size() >= r ? a[i + a.size() - r] : 1;
    const int64_t y = i + b.size() >= r ? b[i + b.size() - r] : 1;
    if (x != y && x != 1 && y != 1)
      throw ShapeError("Add (node '" + node + "'): shapes " + dimsStr(a) + " and " + dimsStr(b) +
                       " do not broadcast");
    out[i] = x == 1 ? y : x;
  }
  return out;
}

std::string dimsStr(const Dims& d) {
  std::string s;
  for (std::size_t i = 0; i < d.size(); ++i) s += (i ? "x" : "") + std::to_string(d[i]);
  return s.empty() ? "scalar" : s;
}

}  // namespace cae::infer::onednn::detail
