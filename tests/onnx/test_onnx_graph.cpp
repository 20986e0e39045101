#define BOOST_TEST_MODULE onnx_graph
#include <boost/test/unit_test.hpp>

// onnx::readGraph and readTensorFile (core/onnx/graph.hpp): a shipped model read as plain values
// (ops, attributes, weights as its model card describes them), a tensor of ONNX's own test data,
// and typed errors for missing, empty, truncated and garbage files.

#include <algorithm>
#include <cmath>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "error.hpp"
#include "onnx/graph.hpp"
#include "onnx/onnx_util.hpp"

using namespace cae;

namespace {

const std::string kModel = std::string(CAE_SOURCE_ROOT) + "/models/denoise-fast.onnx";
const std::string kNodeData = "/usr/share/libonnx-testdata/data/node";

std::string fileBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  BOOST_TEST_REQUIRE(f.good(), "cannot read " << path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void writeBytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), std::streamsize(bytes.size()));
  BOOST_TEST_REQUIRE(f.good(), "cannot write " << path);
}

const onnx::Node& firstOf(const onnx::Graph& g, const std::string& op) {
  for (const auto& n : g.nodes)
    if (n.op == op) return n;
  BOOST_FAIL("no " << op << " node in " << g.path);
  throw std::logic_error("unreachable");
}

const onnx::Node& lastOf(const onnx::Graph& g, const std::string& op) {
  for (auto it = g.nodes.rbegin(); it != g.nodes.rend(); ++it)
    if (it->op == op) return *it;
  BOOST_FAIL("no " << op << " node in " << g.path);
  throw std::logic_error("unreachable");
}

}  // namespace

// models/denoise-fast.md: a 4×4 stride-4 conv to 16 channels (linear stem), 3×3 convs with ReLU,
// a 4×4 stride-4 transposed conv back to one channel; 138,577 parameters; exported at opset 13.
BOOST_AUTO_TEST_CASE(shipped_model_reads_as_its_card_describes) {
  const onnx::Graph g = onnx::readGraph(kModel);
  BOOST_TEST(g.path == kModel);
  BOOST_TEST(g.opset == 13);
  BOOST_TEST_REQUIRE(g.inputs.size() == 1u);  // the weights are initializers, not inputs
  BOOST_TEST(g.inputs[0].name == "input");
  BOOST_TEST(g.inputs[0].type == int(onnx::DataType::Float));
  BOOST_TEST_REQUIRE(g.inputs[0].dims.size() == 4u);
  BOOST_TEST(g.inputs[0].dims[1] == 1);   // gray
  BOOST_TEST(g.inputs[0].dims[2] == -1);  // any height: symbolic
  BOOST_TEST_REQUIRE(g.outputs.size() == 1u);
  BOOST_TEST(g.outputs[0].name == "output");

  const onnx::Node& stem = g.nodes.front();
  BOOST_TEST(stem.op == "Conv");
  BOOST_TEST(stem.inputs.front() == "input");
  BOOST_TEST(stem.intsAttr("kernel_shape") == (std::vector<int64_t>{4, 4}));
  BOOST_TEST(stem.intsAttr("strides") == (std::vector<int64_t>{4, 4}));
  BOOST_TEST_REQUIRE(g.initializers.count(stem.inputs[1]) == 1u);
  BOOST_TEST(g.initializers.at(stem.inputs[1]).dims == (std::vector<int64_t>{16, 1, 4, 4}));
  // The stem is linear: its output feeds no Relu.
  for (const auto& n : g.nodes)
    if (n.op == "Relu") BOOST_TEST(n.inputs[0] != stem.outputs[0]);

  const onnx::Node& inner = firstOf(g, "Relu");
  BOOST_TEST(inner.attrs.empty());
  const onnx::Node& up = lastOf(g, "ConvTranspose");
  BOOST_TEST(up.intsAttr("strides") == (std::vector<int64_t>{4, 4}));
  BOOST_TEST(up.intsAttr("kernel_shape") == (std::vector<int64_t>{4, 4}));
  BOOST_TEST(up.intAttr("group", 1) == 1);
  BOOST_TEST(g.initializers.at(up.inputs[1]).dims[1] == 1);  // (C_in, C_out/group, kH, kW)
  // Absent attributes give the caller's default.
  BOOST_TEST(up.intAttr("no_such_attribute", 7) == 7);
  BOOST_TEST(up.intsAttr("no_such_attribute").empty());
  // A present attribute of another kind is a format error, not a silent default.
  BOOST_CHECK_THROW(up.intAttr("strides", 1), FormatError);

  int64_t params = 0;
  for (const auto& [name, t] : g.initializers) {
    BOOST_TEST(t.name == name);
    BOOST_TEST(t.type == int(onnx::DataType::Float));
    BOOST_TEST(int64_t(t.data.size()) == t.count(), name);
    BOOST_TEST(std::all_of(t.data.begin(), t.data.end(), [](float v) { return std::isfinite(v); }));
    params += t.count();
  }
  BOOST_TEST(params == 138577);
}

BOOST_AUTO_TEST_CASE(parse_graph_reads_bytes_like_read_graph) {
  const onnx::Graph a = onnx::readGraph(kModel);
  const onnx::Graph b = onnx::parseGraph(fileBytes(kModel), "in memory");
  BOOST_TEST(b.path == "in memory");
  BOOST_TEST_REQUIRE(a.nodes.size() == b.nodes.size());
  for (std::size_t i = 0; i < a.nodes.size(); ++i) BOOST_TEST(a.nodes[i].op == b.nodes[i].op);
  BOOST_TEST(a.initializers.begin()->second.data == b.initializers.begin()->second.data);
}

// ONNX's own data (libonnx-testdata): LeakyRelu's attribute, and its stored input tensor, whose
// values are raw little-endian floats.
BOOST_AUTO_TEST_CASE(onnx_test_data_reads) {
  const std::string dir = kNodeData + "/test_leakyrelu";
  const onnx::Graph g = onnx::readGraph(dir + "/model.onnx");
  BOOST_TEST_REQUIRE(g.nodes.size() == 1u);
  BOOST_TEST(g.nodes[0].op == "LeakyRelu");
  BOOST_TEST(g.nodes[0].floatAttr("alpha", 0.01f) == 0.1f);
  BOOST_TEST_REQUIRE(g.inputs.size() == 1u);
  BOOST_TEST(g.inputs[0].dims == (std::vector<int64_t>{3, 4, 5}));

  const onnx::Tensor x = onnx::readTensorFile(dir + "/test_data_set_0/input_0.pb");
  const onnx::Tensor y = onnx::readTensorFile(dir + "/test_data_set_0/output_0.pb");
  BOOST_TEST(x.name == g.inputs[0].name);
  BOOST_TEST(x.dims == (std::vector<int64_t>{3, 4, 5}));
  BOOST_TEST_REQUIRE(int64_t(x.data.size()) == x.count());
  BOOST_TEST_REQUIRE(y.data.size() == x.data.size());
  // The stored output is the op applied to the stored input: the values were read as floats.
  for (std::size_t i = 0; i < x.data.size(); ++i)
    BOOST_TEST(y.data[i] == (x.data[i] < 0 ? 0.1f * x.data[i] : x.data[i]),
               boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(std::any_of(x.data.begin(), x.data.end(), [](float v) { return v < 0; }));
}

BOOST_AUTO_TEST_CASE(non_float_tensors_keep_their_type_and_no_data) {
  const onnx::Tensor t =
      onnx::readTensorFile(kNodeData + "/test_add_uint8/test_data_set_0/input_0.pb");
  BOOST_TEST(t.type == int(onnx::DataType::Uint8));
  BOOST_TEST(onnx::dataTypeName(t.type) == "uint8");
  BOOST_TEST(t.count() == 60);
  BOOST_TEST(t.data.empty());
  BOOST_TEST(onnx::dataTypeName(11) == "type 11");
}

BOOST_AUTO_TEST_CASE(missing_files_give_io_errors) {
  BOOST_CHECK_THROW(onnx::readGraph("/nonexistent/model.onnx"), IoError);
  BOOST_CHECK_THROW(onnx::readTensorFile("/nonexistent/input_0.pb"), IoError);
  BOOST_CHECK_THROW(onnx::readTensorFile("/"), IoError);  // a directory
}

BOOST_AUTO_TEST_CASE(damaged_files_give_format_errors) {
  test::ScratchDir dir;
  const std::string model = fileBytes(kModel);
  const std::string tensor = fileBytes(kNodeData + "/test_leakyrelu/test_data_set_0/input_0.pb");
  std::string garbage(4096, '\0');
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = char((i * 2654435761u) >> 13);

  const std::vector<std::pair<std::string, std::string>> damaged = {
      {"empty", ""},
      {"garbage", garbage},
      {"text", "this is not a protobuf message\n"},
      {"half", model.substr(0, model.size() / 2)},
      {"ten_bytes", model.substr(0, 10)},
  };
  for (const auto& [name, bytes] : damaged) {
    const std::string path = dir.file(name + ".onnx");
    writeBytes(path, bytes);
    BOOST_CHECK_THROW(onnx::readGraph(path), FormatError);
    BOOST_CHECK_THROW(onnx::parseGraph(bytes, name), FormatError);
  }
  // A tensor cut anywhere: inside its data (protobuf fails) or at a field boundary (too few
  // values for its dims); both are format errors, never a short tensor.
  std::vector<std::pair<std::string, std::string>> tensors = {
      {"empty", ""}, {"garbage", garbage}, {"text", "this is not a protobuf message\n"}};
  for (std::size_t cut : {std::size_t(1), std::size_t(8), tensor.size() / 2, tensor.size() - 1})
    tensors.emplace_back("cut" + std::to_string(cut), tensor.substr(0, cut));
  for (const auto& [name, bytes] : tensors) {
    const std::string path = dir.file(name + ".pb");
    writeBytes(path, bytes);
    BOOST_CHECK_THROW(onnx::readTensorFile(path), FormatError);
  }
}
