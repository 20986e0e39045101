// An ONNX graph as plain C++ values (no onnx or protobuf types), for executors other than
// OpenCV DNN (core/infer/onednn) and for reading ONNX's own test data (a serialized TensorProto
// per .pb file, as in libonnx-testdata's test_data_set_N/input_K.pb and output_K.pb).
//
//   cae::onnx::Graph g = cae::onnx::readGraph("models/denoise-fast.onnx");
//   for (const auto& n : g.nodes) std::cout << n.op << " " << n.name << "\n";
//
// Reading is parsing only: call validateModel() first for files that may be damaged.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cae::onnx {

// ONNX TensorProto.DataType values cae meets (the numbers are ONNX's).
enum class DataType : int { Undefined = 0, Float = 1, Uint8 = 2, Int8 = 3, Int32 = 6, Int64 = 7 };
std::string dataTypeName(int onnxType);  // "float", "uint8", ... or "type 11"

// A dense tensor. Float data only; `type` says what the file held, and for other types `data`
// is empty (callers list such cases as not supported, with the type name).
struct Tensor {
  std::string name;
  int type = static_cast<int>(DataType::Float);
  std::vector<int64_t> dims;
  std::vector<float> data;
  int64_t count() const;  // product of dims (1 for a scalar)
};

struct Attribute {
  enum class Kind { Int, Float, Ints, Floats, String, Other };
  Kind kind = Kind::Other;
  int64_t i = 0;
  float f = 0.f;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::string s;
};

struct Node {
  std::string op;  // op_type, e.g. "Conv"
  std::string name;
  std::vector<std::string> inputs;  // "" for an omitted optional input
  std::vector<std::string> outputs;
  std::map<std::string, Attribute> attrs;

  bool has(const std::string& a) const { return attrs.count(a) != 0; }
  int64_t intAttr(const std::string& a, int64_t def) const;
  float floatAttr(const std::string& a, float def) const;
  std::vector<int64_t> intsAttr(const std::string& a, std::vector<int64_t> def = {}) const;
  std::string stringAttr(const std::string& a, const std::string& def) const;
};

// A graph input or output: name, element type and dims (-1: symbolic or unknown).
struct ValueInfo {
  std::string name;
  int type = static_cast<int>(DataType::Float);
  std::vector<int64_t> dims;
};

struct Graph {
  std::string path;               // where it was read from (for messages)
  int64_t opset = 0;              // default-domain opset version
  std::vector<ValueInfo> inputs;  // graph inputs that are not initializers
  std::vector<ValueInfo> outputs;
  std::map<std::string, Tensor> initializers;
  std::vector<Node> nodes;  // in file order (topological for valid models)
};

// IoError: missing or unreadable. FormatError: not an ONNX model.
Graph readGraph(const std::string& path);
Graph parseGraph(const std::string& bytes, const std::string& name);

// One serialized TensorProto (.pb). IoError / FormatError as above.
Tensor readTensorFile(const std::string& path);

}  // namespace cae::onnx
