#include "onnx/validate_ops.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

#include "error.hpp"

namespace cae::onnx::detail {
namespace {

namespace pb = ::onnx;
using AttrType = pb::AttributeProto::AttributeType;

constexpr std::int64_t kMaxWindow = 64;  // kernel, stride and dilation of Conv / pooling
constexpr int kMaxInputs = 64;           // node inputs (Concat)

// Kernel geometry of a Conv, ConvTranspose or MaxPool node, checked.
struct Window {
  Dims kernel{1, 1}, strides{1, 1}, dilations{1, 1}, pads{0, 0, 0, 0};
  std::int64_t extent(int axis) const { return dilations[axis] * (kernel[axis] - 1) + 1; }
};

class NodeRules {
 public:
  NodeRules(const GraphSoFar& g, const std::string& where) : g_(g), where_(where) {}

  Activation apply(const pb::NodeProto& n) const {
    checkAttributeTypes(n);
    const std::string& op = n.op_type();
    if (op == "Conv") return conv(n);
    if (op == "ConvTranspose") return convTranspose(n);
    if (op == "MaxPool") return maxPool(n);
    if (op == "Gemm") return gemm(n);
    if (op == "Resize") return resize(n);
    if (op == "Reshape") return reshape(n);
    if (op == "Flatten") return flatten(n);
    if (op == "Add" || op == "Mul" || op == "Div") return add(n);
    if (op == "Concat") return concat(n);
    arity(n, 1, 1);
    if (op == "LeakyRelu") {
      const auto alpha = floatAttr(n, "alpha");
      if (alpha && !std::isfinite(*alpha)) fail(n, "has a non-finite alpha");
    }
    return computedInput(n, 0);  // Relu, LeakyRelu, Sigmoid, Tanh, Sqrt, Identity keep the shape
  }

  // Every attribute is one the op takes, of the type it takes, once.
  void checkAttributeTypes(const pb::NodeProto& n) const {
    static const std::map<std::string, std::map<std::string, AttrType>> kAllowed = [] {
      const AttrType I = pb::AttributeProto::INT, F = pb::AttributeProto::FLOAT,
                     S = pb::AttributeProto::STRING, L = pb::AttributeProto::INTS;
      const std::map<std::string, AttrType> conv{{"kernel_shape", L}, {"strides", L},
                                                 {"pads", L},         {"dilations", L},
                                                 {"group", I},        {"auto_pad", S}};
      auto convT = conv;
      convT["output_padding"] = L;
      return std::map<std::string, std::map<std::string, AttrType>>{
          {"Conv", conv},
          {"ConvTranspose", convT},
          {"MaxPool",
           {{"kernel_shape", L},
            {"strides", L},
            {"pads", L},
            {"dilations", L},
            {"ceil_mode", I},
            {"storage_order", I},
            {"auto_pad", S}}},
          {"Gemm", {{"alpha", F}, {"beta", F}, {"transA", I}, {"transB", I}}},
          {"Resize",
           {{"mode", S},
            {"coordinate_transformation_mode", S},
            {"nearest_mode", S},
            {"cubic_coeff_a", F},
            {"exclude_outside", I},
            {"extrapolation_value", F}}},
          {"Reshape", {{"allowzero", I}}},
          {"Flatten", {{"axis", I}}},
          {"Concat", {{"axis", I}}},
          {"LeakyRelu", {{"alpha", F}}},
      };
    }();
    const auto op = kAllowed.find(n.op_type());
    std::set<std::string> seen;
    for (const auto& a : n.attribute()) {
      if (!seen.insert(a.name()).second) fail(n, "has two attributes named '" + a.name() + "'");
      const bool known = op != kAllowed.end() && op->second.count(a.name());
      if (!known) fail(n, "has an attribute '" + a.name() + "' the operator does not take");
      if (a.type() != op->second.at(a.name()))
        fail(n, "has an attribute '" + a.name() + "' of the wrong type");
    }
  }

  const pb::AttributeProto* attr(const pb::NodeProto& n, const char* name) const {
    for (const auto& a : n.attribute())
      if (a.name() == name) return &a;
    return nullptr;
  }
  std::optional<std::int64_t> intAttr(const pb::NodeProto& n, const char* name) const {
    const auto* a = attr(n, name);
    return a ? std::optional<std::int64_t>(a->i()) : std::nullopt;
  }
  std::optional<float> floatAttr(const pb::NodeProto& n, const char* name) const {
    const auto* a = attr(n, name);
    return a ? std::optional<float>(a->f()) : std::nullopt;
  }
  std::string stringAttr(const pb::NodeProto& n, const char* name, const char* def) const {
    const auto* a = attr(n, name);
    return a ? a->s() : def;
  }
  // An INTS attribute with exactly `size` entries in [lo, hi], or `def` when absent.
  Dims intsAttr(const pb::NodeProto& n, const char* name, std::size_t size, std::int64_t lo,
                std::int64_t hi, const Dims& def) const {
    const auto* a = attr(n, name);
    if (!a) return def;
    if (std::size_t(a->ints_size()) != size)
      fail(n, "has " + std::to_string(a->ints_size()) + " values in '" + name + "', not " +
                  std::to_string(size));
    for (std::int64_t v : a->ints())
      if (v < lo || v > hi)
        fail(n, "has " + std::string(name) + " " + std::to_string(v) + ", outside [" +
                    std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return {a->ints().begin(), a->ints().end()};
  }

  // --- node inputs ------------------------------------------------------------------------------

  void arity(const pb::NodeProto& n, int lo, int hi) const {
    if (n.input_size() < lo || n.input_size() > hi)
      fail(n, "has " + std::to_string(n.input_size()) + " inputs");
  }
  bool present(const pb::NodeProto& n, int i) const {
    return i < n.input_size() && !n.input(i).empty();
  }
  // Input i, an activation computed from the graph input (not a constant).
  const Activation& computedInput(const pb::NodeProto& n, int i) const {
    if (!present(n, i)) fail(n, "lacks its input " + std::to_string(i));
    if (!g_.computed.count(n.input(i)) && g_.initializers.count(n.input(i)))
      fail(n, "reads the initializer '" + n.input(i) + "' where it needs an activation");
    return g_.values.at(n.input(i));
  }
  const Activation& imageInput(const pb::NodeProto& n, int i) const {
    const Activation& x = computedInput(n, i);
    if (!x.rankKnown || x.dims.size() != 4) fail(n, "needs a 4-D input (N, C, H, W)");
    return x;
  }
  // Input i, an initializer of this type and rank whose extents are all >= 1.
  const pb::TensorProto& constInput(const pb::NodeProto& n, int i, int type, int rank) const {
    if (!present(n, i) || !g_.initializers.count(n.input(i)) || g_.computed.count(n.input(i)))
      fail(n, "needs an initializer as its input " + std::to_string(i));
    const pb::TensorProto& t = *g_.initializers.at(n.input(i));
    if (t.data_type() != type || t.dims_size() != rank)
      fail(n, "reads '" + t.name() + "' (" + dimsText({t.dims().begin(), t.dims().end()}) +
                  ") where it needs a " + std::to_string(rank) + "-D " +
                  (type == pb::TensorProto::FLOAT ? "float" : "int64") + " tensor");
    for (std::int64_t d : t.dims())
      if (d < 1) fail(n, "reads the empty tensor '" + t.name() + "'");
    return t;
  }
  // The optional bias: absent, or a 1-D float initializer of `channels` values.
  void checkBias(const pb::NodeProto& n, int i, std::int64_t channels) const {
    if (!present(n, i)) return;
    const pb::TensorProto& b = constInput(n, i, pb::TensorProto::FLOAT, 1);
    if (b.dims(0) != channels)
      fail(n, "has a bias of " + std::to_string(b.dims(0)) + " values for " +
                  std::to_string(channels) + " output channels");
  }
  std::vector<double> numbers(const pb::TensorProto& t) const {
    std::vector<double> v;
    const bool isFloat = t.data_type() == pb::TensorProto::FLOAT;
    const std::string& raw = t.raw_data();
    const std::size_t width = isFloat ? 4 : 8;
    for (std::size_t k = 0; k < raw.size() / width; ++k) {
      float f = 0;
      std::int64_t i = 0;
      std::memcpy(isFloat ? static_cast<void*>(&f) : static_cast<void*>(&i), raw.data() + k * width,
                  width);
      v.push_back(isFloat ? double(f) : double(i));
    }
    for (float f : t.float_data()) v.push_back(f);
    for (std::int64_t i : t.int64_data()) v.push_back(double(i));
    return v;
  }

  // --- operators --------------------------------------------------------------------------------

  // Kernel, strides, dilations and pads; the kernel from kernel_shape, which OpenCV requires,
  // checked against the weights' spatial extents when there are weights.
  Window window(const pb::NodeProto& n, const Dims* weightHw) const {
    if (stringAttr(n, "auto_pad", "NOTSET") != "NOTSET") fail(n, "uses auto_pad");
    if (!attr(n, "kernel_shape")) fail(n, "has no kernel_shape");
    Window w;
    w.kernel = intsAttr(n, "kernel_shape", 2, 1, kMaxWindow, w.kernel);
    if (weightHw && w.kernel != *weightHw)
      fail(n,
           "has kernel_shape " + dimsText(w.kernel) + " but " + dimsText(*weightHw) + " weights");
    w.strides = intsAttr(n, "strides", 2, 1, kMaxWindow, w.strides);
    w.dilations = intsAttr(n, "dilations", 2, 1, kMaxWindow, w.dilations);
    w.pads = intsAttr(n, "pads", 4, 0, kMaxWindow * kMaxWindow, w.pads);
    for (int k = 0; k < 4; ++k)
      if (w.pads[k] >= w.extent(k % 2)) fail(n, "pads more than its kernel covers");
    return w;
  }
  std::int64_t group(const pb::NodeProto& n, std::int64_t divides) const {
    const std::int64_t g = intAttr(n, "group").value_or(1);
    if (g < 1 || divides % g != 0)
      fail(n, "has group " + std::to_string(g) + ", which does not divide its " +
                  std::to_string(divides) + " channels");
    return g;
  }
  // Output extent of a window sliding over `in` (unknown stays unknown).
  std::int64_t slide(const pb::NodeProto& n, std::int64_t in, const Window& w, int axis,
                     bool ceil) const {
    if (in < 0) return -1;
    const std::int64_t span = in + w.pads[axis] + w.pads[axis + 2] - w.extent(axis);
    if (span < 0) fail(n, "has a kernel larger than its padded " + std::to_string(in) + " input");
    return (span + (ceil ? w.strides[axis] - 1 : 0)) / w.strides[axis] + 1;
  }
  void sameChannels(const pb::NodeProto& n, const Activation& x, std::int64_t want) const {
    if (x.dims[1] >= 0 && x.dims[1] != want)
      fail(n, "reads " + std::to_string(x.dims[1]) + " channels where its weights take " +
                  std::to_string(want));
  }

  Activation conv(const pb::NodeProto& n) const {
    arity(n, 2, 3);
    const Activation& x = imageInput(n, 0);
    const pb::TensorProto& wt = constInput(n, 1, pb::TensorProto::FLOAT, 4);
    const Dims w(wt.dims().begin(), wt.dims().end()), hw{w[2], w[3]};
    const Window win = window(n, &hw);
    const std::int64_t g = group(n, w[0]);
    sameChannels(n, x, w[1] * g);
    checkBias(n, 2, w[0]);
    Activation y = x;
    y.dims = {x.dims[0], w[0], slide(n, x.dims[2], win, 0, false),
              slide(n, x.dims[3], win, 1, false)};
    y.growth = x.growth / double(std::min(win.strides[0], win.strides[1]));
    return y;
  }

  Activation convTranspose(const pb::NodeProto& n) const {
    arity(n, 2, 3);
    const Activation& x = imageInput(n, 0);
    const pb::TensorProto& wt = constInput(n, 1, pb::TensorProto::FLOAT, 4);
    const Dims w(wt.dims().begin(), wt.dims().end()), hw{w[2], w[3]};
    const Window win = window(n, &hw);
    if (win.dilations != Dims{1, 1}) fail(n, "is dilated, which OpenCV 4.6 ignores");
    const std::int64_t g = group(n, w[0]);
    sameChannels(n, x, w[0]);
    checkBias(n, 2, w[1] * g);
    const Dims outPad = intsAttr(n, "output_padding", 2, 0, kMaxWindow, {0, 0});
    Activation y = x;
    y.dims = {x.dims[0], w[1] * g, -1, -1};
    for (int k = 0; k < 2; ++k) {
      if (outPad[k] >= win.strides[k]) fail(n, "has output_padding not below its stride");
      if (x.dims[2 + k] < 0) continue;
      y.dims[2 + k] = win.strides[k] * (x.dims[2 + k] - 1) + outPad[k] + win.extent(k) -
                      win.pads[k] - win.pads[k + 2];
      if (y.dims[2 + k] < 1) fail(n, "computes an empty output");
    }
    y.growth = x.growth * double(std::max(win.strides[0], win.strides[1]));
    return y;
  }

  Activation maxPool(const pb::NodeProto& n) const {
    arity(n, 1, 1);
    const Activation& x = imageInput(n, 0);
    const Window win = window(n, nullptr);
    if (win.dilations != Dims{1, 1}) fail(n, "is dilated");
    if (intAttr(n, "storage_order").value_or(0) != 0) fail(n, "has storage_order 1");
    const std::int64_t ceil = intAttr(n, "ceil_mode").value_or(0);
    if (ceil != 0 && ceil != 1) fail(n, "has ceil_mode " + std::to_string(ceil));
    Activation y = x;
    y.dims[2] = slide(n, x.dims[2], win, 0, ceil == 1);
    y.dims[3] = slide(n, x.dims[3], win, 1, ceil == 1);
    y.growth = x.growth / double(std::min(win.strides[0], win.strides[1]));
    return y;
  }

  Activation gemm(const pb::NodeProto& n) const {
    arity(n, 2, 3);
    const Activation& a = computedInput(n, 0);
    if (!a.rankKnown || a.dims.size() != 2) fail(n, "needs a 2-D input (Flatten first)");
    if (intAttr(n, "transA").value_or(0) != 0) fail(n, "has transA set");
    const std::int64_t transB = intAttr(n, "transB").value_or(0);
    if (transB != 0 && transB != 1) fail(n, "has transB " + std::to_string(transB));
    for (const char* k : {"alpha", "beta"})
      if (!std::isfinite(floatAttr(n, k).value_or(1.f)))
        fail(n, std::string("has a non-finite ") + k);
    const pb::TensorProto& b = constInput(n, 1, pb::TensorProto::FLOAT, 2);
    const std::int64_t outs = transB ? b.dims(0) : b.dims(1), ins = transB ? b.dims(1) : b.dims(0);
    if (a.dims[1] >= 0 && a.dims[1] != ins)
      fail(n, "reads " + std::to_string(a.dims[1]) + " features where its weights take " +
                  std::to_string(ins));
    checkBias(n, 2, outs);
    Activation y = a;
    y.dims[1] = outs;
    return y;
  }

  Activation resize(const pb::NodeProto& n) const {
    arity(n, 2, 4);
    const Activation& x = imageInput(n, 0);
    if (present(n, 3)) fail(n, "gives sizes; cae reads only scales");
    const int si = n.input_size() == 2 ? 1 : 2;  // opset 10 Resize(X, scales); later (X, roi, ...)
    if (si == 2 && present(n, 1) && !g_.initializers.count(n.input(1)))
      fail(n, "needs an initializer (or nothing) as its roi");
    const std::vector<double> s = numbers(constInput(n, si, pb::TensorProto::FLOAT, 1));
    if (s.size() != 4 || s[0] != 1 || s[1] != 1)
      fail(n, "needs scales (1, 1, h, w): it scales only height and width");
    for (int k = 2; k < 4; ++k)
      if (!(s[k] >= 1.0 / kMaxGrowth && s[k] <= kMaxGrowth)) fail(n, "has a scale out of range");
    const std::string mode = stringAttr(n, "mode", "nearest");
    const std::string ctm = stringAttr(n, "coordinate_transformation_mode", "half_pixel");
    const std::string nearest = stringAttr(n, "nearest_mode", "round_prefer_floor");
    const std::set<std::string> ctms{"asymmetric", "half_pixel", "pytorch_half_pixel",
                                     "align_corners"};
    const std::set<std::string> nearests{"floor", "ceil", "round_prefer_floor",
                                         "round_prefer_ceil"};
    if ((mode != "nearest" && mode != "linear") || !ctms.count(ctm) || !nearests.count(nearest))
      fail(n, "has mode '" + mode + "', coordinate_transformation_mode '" + ctm +
                  "', nearest_mode '" + nearest + "'; cae supports nearest and linear");
    if (intAttr(n, "exclude_outside").value_or(0) != 0) fail(n, "sets exclude_outside");
    Activation y = x;
    for (int k = 2; k < 4; ++k)
      if (x.dims[k] >= 0)
        y.dims[k] = std::max<std::int64_t>(1, std::int64_t(double(x.dims[k]) * s[k]));
    y.growth = x.growth * std::max(s[2], s[3]);
    return y;
  }

  Activation reshape(const pb::NodeProto& n) const {
    arity(n, 2, 2);
    const Activation& x = computedInput(n, 0);
    if (intAttr(n, "allowzero").value_or(0) != 0) fail(n, "sets allowzero");
    const std::vector<double> s = numbers(constInput(n, 1, pb::TensorProto::INT64, 1));
    if (s.size() < 2 || s.size() > 4) fail(n, "reshapes to " + std::to_string(s.size()) + "-D");
    Activation y = x;
    y.rankKnown = true;
    y.dims.assign(s.size(), -1);
    int inferred = 0;
    for (std::size_t k = 0; k < s.size(); ++k) {
      if (s[k] < -1 || s[k] > double(kMaxElements)) fail(n, "has a target extent out of range");
      if (s[k] == -1) ++inferred;
      if (s[k] == 0 && (!x.rankKnown || k >= x.dims.size()))
        fail(n, "copies an extent its input does not have");
      y.dims[k] = s[k] == 0 ? x.dims[k] : std::int64_t(s[k]);
    }
    if (inferred > 1) fail(n, "has more than one -1 in its target shape");
    return y;  // the inferred axis stays unknown (-1)
  }

  Activation flatten(const pb::NodeProto& n) const {
    arity(n, 1, 1);
    const Activation& x = computedInput(n, 0);
    if (!x.rankKnown || x.dims.size() < 2) fail(n, "needs an input of known rank >= 2");
    if (intAttr(n, "axis").value_or(1) != 1) fail(n, "has an axis other than 1");
    std::int64_t features = 1;
    for (std::size_t k = 1; k < x.dims.size(); ++k) {
      if (features > 0 && x.dims[k] > kMaxElements / features)
        fail(n, "flattens to more than 2^28 features");
      features = (features < 0 || x.dims[k] < 0) ? -1 : features * x.dims[k];
    }
    Activation y = x;
    y.dims = {x.dims[0], features};
    return y;
  }

  // Two activations of equal shape (no broadcasting: cae never writes it).
  Activation add(const pb::NodeProto& n) const {
    arity(n, 2, 2);
    const Activation& a = computedInput(n, 0);
    const Activation& b = computedInput(n, 1);
    if (!a.rankKnown || !b.rankKnown || a.dims.size() != b.dims.size())
      fail(n, "adds inputs of different rank");
    Activation y = a;
    for (std::size_t k = 0; k < a.dims.size(); ++k) {
      if (a.dims[k] >= 0 && b.dims[k] >= 0 && a.dims[k] != b.dims[k])
        fail(n, "adds " + dimsText(a.dims) + " to " + dimsText(b.dims));
      y.dims[k] = std::max(a.dims[k], b.dims[k]);
    }
    y.growth = std::max(a.growth, b.growth);
    return y;
  }

  Activation concat(const pb::NodeProto& n) const {
    arity(n, 1, kMaxInputs);
    if (intAttr(n, "axis").value_or(0) != 1) fail(n, "needs axis 1 (channels)");
    Activation y = computedInput(n, 0);
    if (!y.rankKnown || y.dims.size() < 2) fail(n, "needs inputs of known rank >= 2");
    for (int i = 1; i < n.input_size(); ++i) {
      const Activation& x = computedInput(n, i);
      if (!x.rankKnown || x.dims.size() != y.dims.size()) fail(n, "joins inputs of different rank");
      for (std::size_t k = 0; k < y.dims.size(); ++k) {
        if (k == 1) {
          y.dims[1] = (y.dims[1] < 0 || x.dims[1] < 0) ? -1 : y.dims[1] + x.dims[1];
          if (y.dims[1] > kMaxElements) fail(n, "joins more than 2^28 channels");
        } else if (y.dims[k] >= 0 && x.dims[k] >= 0 && y.dims[k] != x.dims[k]) {
          fail(n, "joins " + dimsText(y.dims) + " and " + dimsText(x.dims));
        } else {
          y.dims[k] = std::max(y.dims[k], x.dims[k]);
        }
      }
      y.growth = std::max(y.growth, x.growth);
    }
    return y;
  }

 private:
  [[noreturn]] void fail(const pb::NodeProto& n, const std::string& why) const {
    const std::string& id = n.name().empty() && n.output_size() > 0 ? n.output(0) : n.name();
    throw FormatError(where_ + "node '" + id + "' (" + n.op_type() + ") " + why);
  }

  const GraphSoFar& g_;
  const std::string& where_;
};

}  // namespace

std::string dimsText(const Dims& d) {
  std::string s;
  for (std::int64_t v : d) s += (s.empty() ? "" : "x") + (v < 0 ? "?" : std::to_string(v));
  return s.empty() ? "scalar" : s;
}

Activation checkOperator(const pb::NodeProto& n, const GraphSoFar& g, const std::string& where) {
  return NodeRules(g, where).apply(n);
}

}  // namespace cae::onnx::detail
