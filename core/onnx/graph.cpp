#include "onnx/graph.hpp"

#include <cstddef>
#include <cstring>
#include <string>

#include "error.hpp"
#include "onnx/proto_io.hpp"

namespace cae::onnx {
namespace {

namespace pb = ::onnx;

// raw_data is little-endian by the ONNX spec; assembling each value from its bytes reads it
// right on any host, not only on little-endian ones.
std::vector<float> floatsFromRaw(const std::string& raw) {
  std::vector<float> out(raw.size() / 4);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto* b = reinterpret_cast<const unsigned char*>(raw.data() + 4 * i);
    const uint32_t bits =
        uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
    static_assert(sizeof(float) == sizeof(uint32_t));
    std::memcpy(&out[i], &bits, sizeof bits);
  }
  return out;
}

// `where` names the file (and the tensor's role) in messages.
Tensor tensorOf(const pb::TensorProto& t, const std::string& where) {
  Tensor out;
  out.name = t.name();
  out.type = t.data_type();
  for (int64_t d : t.dims()) {
    if (d < 0)
      throw FormatError(where + ": tensor '" + t.name() + "' has a negative dimension " +
                        std::to_string(d));
    out.dims.push_back(d);
  }
  if (out.type != static_cast<int>(DataType::Float)) return out;  // recorded, not read
  if (t.data_location() == pb::TensorProto::EXTERNAL)
    throw FormatError(where + ": tensor '" + t.name() +
                      "' keeps its data in an external file, which cae does not read");
  if (t.has_raw_data()) {
    if (t.raw_data().size() % 4 != 0)
      throw FormatError(where + ": float tensor '" + t.name() + "' has " +
                        std::to_string(t.raw_data().size()) + " raw bytes, not a multiple of 4");
    out.data = floatsFromRaw(t.raw_data());
  } else {
    out.data.assign(t.float_data().begin(), t.float_data().end());
  }
  // A file cut at a field boundary still parses; its data then falls short of its dims.
  if (int64_t(out.data.size()) != out.count())
    throw FormatError(where + ": float tensor '" + t.name() + "' holds " +
                      std::to_string(out.data.size()) + " values but its dims need " +
                      std::to_string(out.count()));
  return out;
}

Attribute::Kind kindOf(const pb::AttributeProto& a) {
  switch (a.type()) {
    case pb::AttributeProto::INT:
      return Attribute::Kind::Int;
    case pb::AttributeProto::FLOAT:
      return Attribute::Kind::Float;
    case pb::AttributeProto::INTS:
      return Attribute::Kind::Ints;
    case pb::AttributeProto::FLOATS:
      return Attribute::Kind::Floats;
    case pb::AttributeProto::STRING:
      return Attribute::Kind::String;
    default:
      return Attribute::Kind::Other;
  }
}

Attribute attributeOf(const pb::AttributeProto& a) {
  Attribute out;
  out.kind = kindOf(a);
  out.i = a.i();
  out.f = a.f();
  out.ints.assign(a.ints().begin(), a.ints().end());
  out.floats.assign(a.floats().begin(), a.floats().end());
  out.s = a.s();
  return out;
}

Node nodeOf(const pb::NodeProto& n) {
  Node out;
  out.op = n.op_type();
  out.name = n.name();
  out.inputs.assign(n.input().begin(), n.input().end());
  out.outputs.assign(n.output().begin(), n.output().end());
  for (const auto& a : n.attribute()) out.attrs[a.name()] = attributeOf(a);
  return out;
}

ValueInfo valueInfoOf(const pb::ValueInfoProto& v) {
  ValueInfo out;
  out.name = v.name();
  const auto& tt = v.type().tensor_type();
  out.type = tt.elem_type();
  if (tt.has_shape())
    for (const auto& d : tt.shape().dim())
      out.dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
  return out;
}

Graph graphOf(const pb::ModelProto& m, const std::string& path) {
  Graph g;
  g.path = path;
  for (const auto& o : m.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") g.opset = o.version();
  const pb::GraphProto& gp = m.graph();
  for (const auto& t : gp.initializer())
    g.initializers[t.name()] = tensorOf(t, "ONNX model '" + path + "' initializer");
  // Before IR version 4 every initializer was also listed as a graph input.
  for (const auto& v : gp.input())
    if (!g.initializers.count(v.name())) g.inputs.push_back(valueInfoOf(v));
  for (const auto& v : gp.output()) g.outputs.push_back(valueInfoOf(v));
  for (const auto& n : gp.node()) g.nodes.push_back(nodeOf(n));
  return g;
}

// The attribute `a` of n when it is present and of kind k; nullptr when absent.
const Attribute* attrOfKind(const Node& n, const std::string& a, Attribute::Kind k,
                            const char* kindName) {
  const auto it = n.attrs.find(a);
  if (it == n.attrs.end()) return nullptr;
  if (it->second.kind != k)
    throw FormatError("attribute '" + a + "' of " + n.op + " node '" + n.name + "' is not " +
                      kindName);
  return &it->second;
}

}  // namespace

std::string dataTypeName(int onnxType) {
  switch (static_cast<DataType>(onnxType)) {
    case DataType::Undefined:
      return "undefined";
    case DataType::Float:
      return "float";
    case DataType::Uint8:
      return "uint8";
    case DataType::Int8:
      return "int8";
    case DataType::Int32:
      return "int32";
    case DataType::Int64:
      return "int64";
  }
  return "type " + std::to_string(onnxType);
}

int64_t Tensor::count() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

int64_t Node::intAttr(const std::string& a, int64_t def) const {
  const Attribute* at = attrOfKind(*this, a, Attribute::Kind::Int, "an int");
  return at ? at->i : def;
}

float Node::floatAttr(const std::string& a, float def) const {
  const Attribute* at = attrOfKind(*this, a, Attribute::Kind::Float, "a float");
  return at ? at->f : def;
}

std::vector<int64_t> Node::intsAttr(const std::string& a, std::vector<int64_t> def) const {
  const Attribute* at = attrOfKind(*this, a, Attribute::Kind::Ints, "a list of ints");
  if (at) return at->ints;
  return def;  // moved: a by-value parameter
}

std::string Node::stringAttr(const std::string& a, const std::string& def) const {
  const Attribute* at = attrOfKind(*this, a, Attribute::Kind::String, "a string");
  return at ? at->s : def;
}

Graph readGraph(const std::string& path) { return graphOf(detail::readModelProto(path), path); }

Graph parseGraph(const std::string& bytes, const std::string& name) {
  return graphOf(detail::parseModelProto(bytes, name), name);
}

Tensor readTensorFile(const std::string& path) {
  const std::string bytes = detail::readModelBytes(path);
  const std::string where = "ONNX tensor file '" + path + "'";
  if (bytes.empty()) throw FormatError(where + " is empty");
  pb::TensorProto t;
  if (!t.ParseFromString(bytes))
    throw FormatError(where + " (" + std::to_string(bytes.size()) +
                      " bytes) is truncated or not a TensorProto: protobuf parse failed");
  // Other bytes can parse as a message of unknown fields; a real tensor names its type.
  if (t.data_type() == pb::TensorProto::UNDEFINED)
    throw FormatError(where + " (" + std::to_string(bytes.size()) +
                      " bytes) is truncated or not a TensorProto: no data_type");
  return tensorOf(t, where);
}

}  // namespace cae::onnx
