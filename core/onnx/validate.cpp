#include "onnx/validate.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <utility>

#include "error.hpp"
#include "onnx/metadata.hpp"
#include "onnx/proto_io.hpp"
#include "onnx/validate_ops.hpp"

namespace cae::onnx {
namespace {

namespace pb = ::onnx;
using detail::Activation;
using detail::Dims;
using detail::dimsText;
using detail::kMaxElements;

constexpr std::int64_t kMaxExtent = std::int64_t(1) << 16;  // one axis of an activation
constexpr std::int64_t kMinOpset = 7, kMaxOpset = 17;       // what libonnx 1.12 and OpenCV 4.6 know
constexpr int kMaxInputs = 64;                              // node inputs (Concat)

class Validator {
 public:
  Validator(const pb::ModelProto& m, std::string name)
      : m_(m), g_(m.graph()), name_(std::move(name)) {}

  void run() {
    checkModelFields();
    for (const auto& t : g_.initializer()) checkInitializer(t);
    checkGraphInput();
    for (const auto& n : g_.node()) checkNode(n);
    checkOutputs();
    for (const auto& v : g_.value_info()) checkShapeOf(v, "value_info");
    runChecker();
  }

 private:
  std::string where() const {
    return "ONNX model '" + name_ + "' is damaged or not a model cae can load: ";
  }
  [[noreturn]] void fail(const std::string& why) const { throw FormatError(where() + why); }
  [[noreturn]] void fail(const pb::NodeProto& n, const std::string& why) const {
    const std::string& id = n.name().empty() && n.output_size() > 0 ? n.output(0) : n.name();
    fail("node '" + id + "' (" + n.op_type() + ") " + why);
  }

  // --- model, initializers, graph input and outputs -------------------------------------------

  void checkModelFields() const {
    if (m_.functions_size() > 0) fail("it defines functions");
    if (m_.training_info_size() > 0) fail("it carries training_info");
    if (g_.sparse_initializer_size() > 0) fail("it has sparse initializers");
    std::optional<std::int64_t> opset;
    for (const auto& o : m_.opset_import())
      if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
    if (!opset) fail("it imports no version of the default ONNX operator set");
    if (*opset < kMinOpset || *opset > kMaxOpset)
      fail("it uses ONNX opset " + std::to_string(*opset) +
           "; supported: " + std::to_string(kMinOpset) + " to " + std::to_string(kMaxOpset));
  }

  void checkInitializer(const pb::TensorProto& t) {
    const std::string what = "initializer '" + t.name() + "'";
    if (t.name().empty()) fail("an initializer has no name");
    if (!so_.initializers.emplace(t.name(), &t).second)
      fail("two initializers are named '" + t.name() + "'");
    if (t.data_location() != pb::TensorProto::DEFAULT || t.external_data_size() > 0)
      fail(what + " keeps its data outside the file");
    if (t.has_segment()) fail(what + " is a segment of a tensor");
    std::int64_t n = 1;
    for (std::int64_t d : t.dims()) {
      if (d < 0 || d > kMaxElements) fail(what + " has an axis of extent " + std::to_string(d));
      n *= d;  // cannot overflow: both factors are at most 2^28 and n is checked below
      if (n > kMaxElements) fail(what + " has more than 2^28 elements");
    }
    checkTensorData(t, what, n);
    Activation v;
    v.rankKnown = true;
    v.dims.assign(t.dims().begin(), t.dims().end());
    so_.values[t.name()] = v;
  }

  // The data must be in exactly one field and hold exactly the elements the dims say.
  void checkTensorData(const pb::TensorProto& t, const std::string& what, std::int64_t n) const {
    const bool isFloat = t.data_type() == pb::TensorProto::FLOAT;
    if (!isFloat && t.data_type() != pb::TensorProto::INT64)
      fail(what + " has data type " + std::to_string(t.data_type()) +
           "; cae models hold only float and int64 tensors");
    const std::int64_t typed = isFloat ? t.float_data_size() : t.int64_data_size();
    const std::int64_t other = (isFloat ? t.int64_data_size() : t.float_data_size()) +
                               t.int32_data_size() + t.string_data_size() + t.double_data_size() +
                               t.uint64_data_size();
    if (other > 0) fail(what + " has values in a field that does not match its data type");
    if (typed > 0 && !t.raw_data().empty()) fail(what + " has both raw_data and typed values");
    const std::int64_t width = isFloat ? 4 : 8;
    const std::int64_t raw = std::int64_t(t.raw_data().size());
    if (raw % width != 0)
      fail(what + " has " + std::to_string(raw) + " bytes of raw_data, not a whole number of " +
           (isFloat ? "float" : "int64") + " values");
    const std::int64_t have = raw > 0 ? raw / width : typed;
    if (have != n)
      fail(what + " has " + std::to_string(have) + " values but its dims " +
           dimsText({t.dims().begin(), t.dims().end()}) + " need " + std::to_string(n));
  }

  // Dims of a value declared in the graph (input, output, value_info): 1..2^16 or symbolic.
  Dims checkShapeOf(const pb::ValueInfoProto& v, const char* role) const {
    const std::string what = std::string(role) + " '" + v.name() + "'";
    if (v.name().empty()) fail(std::string("a ") + role + " has no name");
    if (!v.type().has_tensor_type()) fail(what + " is not a tensor");
    Dims dims;
    if (!v.type().tensor_type().has_shape()) return dims;
    for (const auto& d : v.type().tensor_type().shape().dim()) {
      if (d.has_dim_value() && (d.dim_value() < 1 || d.dim_value() > kMaxExtent))
        fail(what + " has an axis of extent " + std::to_string(d.dim_value()));
      dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
    }
    return dims;
  }

  void checkGraphInput() {
    const pb::ValueInfoProto* input = nullptr;
    std::set<std::string> names;
    for (const auto& v : g_.input()) {
      if (!names.insert(v.name()).second) fail("two graph inputs are named '" + v.name() + "'");
      const Dims dims = checkShapeOf(v, "graph input");
      if (so_.initializers.count(v.name())) continue;  // an initializer listed as input (IR < 4)
      if (input) fail("the graph has more than one input; cae models read one image");
      input = &v;
      if (v.type().tensor_type().elem_type() != pb::TensorProto::FLOAT || dims.size() != 4)
        fail("the graph input '" + v.name() + "' is not a 4-D float tensor");
      Activation x;
      x.rankKnown = true;
      x.dims = dims;
      so_.values[v.name()] = x;
    }
    if (!input) fail("the graph has no input");
  }

  void checkOutputs() const {
    if (g_.output_size() == 0) fail("the graph has no output");
    std::set<std::string> names;
    for (const auto& v : g_.output()) {
      checkShapeOf(v, "graph output");
      if (!names.insert(v.name()).second) fail("two graph outputs are named '" + v.name() + "'");
      if (!so_.computed.count(v.name()))
        fail("the graph output '" + v.name() + "' is not computed by any node");
    }
  }

  void runChecker() const {
    try {
      detail::checkModelProto(m_);
    } catch (const std::exception& e) {
      fail(std::string("onnx::checker: ") + e.what());
    }
  }

  // --- nodes ------------------------------------------------------------------------------------

  void checkNode(const pb::NodeProto& n) {
    if (!n.domain().empty() && n.domain() != "ai.onnx")
      fail(n, "is from operator domain '" + n.domain() + "'");
    const auto& ops = supportedOps();
    if (!std::binary_search(ops.begin(), ops.end(), n.op_type())) {
      std::string list;
      for (const auto& o : ops) list += (list.empty() ? "" : ", ") + o;
      fail(n, "uses an operator cae does not support (supported: " + list + ")");
    }
    if (n.input_size() > kMaxInputs) fail(n, "has more than 64 inputs");
    for (const auto& x : n.input())
      if (!x.empty() && !so_.values.count(x))
        fail(n, "reads '" + x + "', which no graph input, initializer or earlier node defines");
    if (n.output_size() != 1 || n.output(0).empty()) fail(n, "must have exactly one output");
    const std::string& y = n.output(0);
    if (so_.values.count(y)) fail(n, "writes '" + y + "', which is already defined");
    const Activation out = detail::checkOperator(n, so_, where());
    if (out.growth > detail::kMaxGrowth)
      fail(n, "makes an activation more than 16 times the input's width or height");
    if (out.rankKnown && out.dims.size() == 4 &&
        double(out.dims[1]) * out.growth * out.growth > detail::kMaxValuesPerPixel)
      fail(n, "makes " + std::to_string(out.dims[1]) + " channels at " + formatNumber(out.growth) +
                  " times the input's size: over 1024 values a pixel");
    so_.values[y] = out;
    so_.computed.insert(y);
  }

  const pb::ModelProto& m_;
  const pb::GraphProto& g_;
  const std::string name_;
  detail::GraphSoFar so_;
};

}  // namespace

const std::vector<std::string>& supportedOps() {
  static const std::vector<std::string> ops = [] {
    // Mul, Div and Sqrt: GDN / IGDN of cae's codecs (core/onnx/export.cpp).
    std::vector<std::string> v{"Add",     "Concat", "Conv",     "ConvTranspose", "Div",
                               "Flatten", "Gemm",   "Identity", "LeakyRelu",     "MaxPool",
                               "Mul",     "Relu",   "Reshape",  "Resize",        "Sigmoid",
                               "Sqrt",    "Tanh"};
    std::sort(v.begin(), v.end());
    return v;
  }();
  return ops;
}

void validateModelBytes(const std::string& bytes, const std::string& name) {
  const ::onnx::ModelProto m = detail::parseModelProto(bytes, name);
  Validator(m, name).run();
}

void validateModel(const std::string& path) {
  validateModelBytes(detail::readModelBytes(path), path);
}

}  // namespace cae::onnx
