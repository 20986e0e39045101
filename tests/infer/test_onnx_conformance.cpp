#define BOOST_TEST_MODULE onnx_conformance
#include <boost/test/unit_test.hpp>

// ONNX's own node tests (Debian's libonnx-testdata) for the ops cae's backends run, through both
// backends: OpenCV DNN (readNetFromONNX) and the oneDNN translator (onnx::readGraph +
// onednn::Net). Cases are globbed by prefix, so none is picked by hand; each is compared with its
// stored output or listed with the reason it does not run, in a table printed with
// --log_level=message and written as markdown to $CAE_CONFORMANCE_REPORT when that is set.
//
// Tolerance: |got - want| <= 1e-5 * max(1, |want|) for every value: absolute 1e-5 for values up
// to 1, relative 1e-5 above (conv sums of large inputs carry float rounding in proportion).

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "infer/onednn.hpp"
#include "onnx/graph.hpp"

using namespace cae;
namespace fs = std::filesystem;

namespace {

const fs::path kNodeData = "/usr/share/libonnx-testdata/data/node";
const std::vector<std::string> kPrefixes = {
    "test_conv_", "test_convtranspose", "test_relu",   "test_leakyrelu",   "test_sigmoid",
    "test_tanh",  "test_add",           "test_concat", "test_depthtospace"};
constexpr double kTolerance = 1e-5;

// The cases each backend is expected to pass: written from the results, so that a case that
// stops passing (wrong, or newly refused) fails the test, and one that starts passing asks to be
// added here. Every other globbed case is listed below with the reason it does not run.
//
// Neither backend:
//   test_add_uint8: uint8 tensors; both backends run float tensors only.
//   test_convtranspose_1d, test_convtranspose_3d: 1-D and 3-D convolutions; issue 11 covers the
//     2-D cases (cae's models are images).
// OpenCV DNN 4.6, besides:
//   test_add_bcast, test_concat_1d_axis_0, test_concat_1d_axis_negative_1,
//   test_leakyrelu_example, test_sigmoid_example, test_tanh_example: 1-D tensors, which cv::Mat
//     cannot hold (see oneDimensional()).
//   test_convtranspose, _autopad_same, _dilations, _kernel_shape, _output_shape, _pad, _pads,
//   _with_kernel: the weights are a graph input, and the importer takes ConvTranspose weights
//     only from initializers ("Blob W not found in const blobs"). (Conv takes them as inputs.)
const std::set<std::string> kOpencvPasses = {
    "test_add",
    "test_concat_2d_axis_0",
    "test_concat_2d_axis_1",
    "test_concat_2d_axis_negative_1",
    "test_concat_2d_axis_negative_2",
    "test_concat_3d_axis_0",
    "test_concat_3d_axis_1",
    "test_concat_3d_axis_2",
    "test_concat_3d_axis_negative_1",
    "test_concat_3d_axis_negative_2",
    "test_concat_3d_axis_negative_3",
    "test_conv_with_autopad_same",
    "test_conv_with_strides_and_asymmetric_padding",
    "test_conv_with_strides_no_padding",
    "test_conv_with_strides_padding",
    "test_depthtospace_crd_mode",
    "test_depthtospace_crd_mode_example",
    "test_depthtospace_dcr_mode",
    "test_depthtospace_example",
    "test_leakyrelu",
    "test_leakyrelu_default",
    "test_relu",
    "test_sigmoid",
    "test_tanh",
};
// oneDNN: every case but those neither backend runs (above).
const std::set<std::string> kOnednnPasses = {
    "test_add",
    "test_add_bcast",
    "test_concat_1d_axis_0",
    "test_concat_1d_axis_negative_1",
    "test_concat_2d_axis_0",
    "test_concat_2d_axis_1",
    "test_concat_2d_axis_negative_1",
    "test_concat_2d_axis_negative_2",
    "test_concat_3d_axis_0",
    "test_concat_3d_axis_1",
    "test_concat_3d_axis_2",
    "test_concat_3d_axis_negative_1",
    "test_concat_3d_axis_negative_2",
    "test_concat_3d_axis_negative_3",
    "test_conv_with_autopad_same",
    "test_conv_with_strides_and_asymmetric_padding",
    "test_conv_with_strides_no_padding",
    "test_conv_with_strides_padding",
    "test_convtranspose",
    "test_convtranspose_autopad_same",
    "test_convtranspose_dilations",
    "test_convtranspose_kernel_shape",
    "test_convtranspose_output_shape",
    "test_convtranspose_pad",
    "test_convtranspose_pads",
    "test_convtranspose_with_kernel",
    "test_depthtospace_crd_mode",
    "test_depthtospace_crd_mode_example",
    "test_depthtospace_dcr_mode",
    "test_depthtospace_example",
    "test_leakyrelu",
    "test_leakyrelu_default",
    "test_leakyrelu_example",
    "test_relu",
    "test_sigmoid",
    "test_sigmoid_example",
    "test_tanh",
    "test_tanh_example",
};

enum class Status { Pass, Fail, Unsupported, NotApplicable };

struct Outcome {
  Status status = Status::Unsupported;
  std::string detail;  // the largest difference, or why the case did not run
};

struct CaseResult {
  std::string name;
  Outcome opencv, onednn;
};

// Exception messages spread over lines; a table cell wants one short line without '|'.
std::string oneLine(std::string s, std::size_t most = 160) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '|', '/');
  const auto first = s.find_first_not_of(' ');
  s = first == std::string::npos ? "" : s.substr(first);
  if (s.size() > most) s = s.substr(0, most - 3) + "...";
  return s;
}

std::string shapeText(const std::vector<int64_t>& dims) {
  std::ostringstream o;
  o << "[";
  for (std::size_t i = 0; i < dims.size(); ++i) o << (i ? "," : "") << dims[i];
  o << "]";
  return o.str();
}

// input_0.pb, input_1.pb, ... (or output_K) in index order, which is graph order.
std::vector<onnx::Tensor> readTensors(const fs::path& dir, const std::string& stem) {
  std::map<int, fs::path> byIndex;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string f = e.path().filename().string();
    if (f.rfind(stem + "_", 0) == 0 && e.path().extension() == ".pb")
      byIndex[std::stoi(f.substr(stem.size() + 1))] = e.path();
  }
  std::vector<onnx::Tensor> out;
  out.reserve(byIndex.size());
  for (const auto& [i, p] : byIndex) out.push_back(onnx::readTensorFile(p.string()));
  return out;
}

// Every value within kTolerance of the stored one, with the same shape.
Outcome compare(const std::vector<onnx::Tensor>& want, const std::vector<onnx::Tensor>& got) {
  if (got.size() != want.size())
    return {Status::Fail,
            std::to_string(got.size()) + " outputs, expected " + std::to_string(want.size())};
  double worst = 0;
  for (std::size_t k = 0; k < want.size(); ++k) {
    if (got[k].dims != want[k].dims)
      return {Status::Fail, "output " + std::to_string(k) + " has shape " + shapeText(got[k].dims) +
                                ", expected " + shapeText(want[k].dims)};
    if (got[k].data.size() != want[k].data.size())
      return {Status::Fail, "output " + std::to_string(k) + " holds " +
                                std::to_string(got[k].data.size()) + " values for its shape"};
    for (std::size_t i = 0; i < want[k].data.size(); ++i) {
      const double w = want[k].data[i];
      const double d = std::fabs(double(got[k].data[i]) - w);
      if (!(d <= kTolerance * std::max(1.0, std::fabs(w)))) {  // NaN fails too
        std::ostringstream o;
        o << "output " << k << " value " << i << ": " << got[k].data[i] << ", expected " << w;
        return {Status::Fail, o.str()};
      }
      worst = std::max(worst, d);
    }
  }
  std::ostringstream o;
  o << "max abs diff " << worst;
  return {Status::Pass, o.str()};
}

cv::Mat blobOf(const onnx::Tensor& t) {
  std::vector<int> sizes(t.dims.begin(), t.dims.end());
  cv::Mat m(int(sizes.size()), sizes.data(), CV_32F);
  std::copy(t.data.begin(), t.data.end(), m.ptr<float>());
  return m;
}

onnx::Tensor tensorOf(const cv::Mat& m) {
  onnx::Tensor t;
  for (int i = 0; i < m.dims; ++i) t.dims.push_back(m.size[i]);
  const cv::Mat c = m.isContinuous() ? m : m.clone();
  t.data.assign(c.ptr<float>(), c.ptr<float>() + c.total());
  return t;
}

// OpenCV's importer nests the message of the call that failed inside its own ("> Node [Op@...]
// ... parse error: OpenCV(4.6.0) file:line: error: (-5:Bad argument) Blob W not found ... in
// function 'getBlob'"): the op and the innermost message make the reason.
std::string opencvReason(const std::string& stage, const cv::Exception& e) {
  std::string msg = e.err;
  std::string where = stage;
  const auto node = msg.find("Node [");
  if (node != std::string::npos) {
    const auto at = msg.find_first_of("@]", node);
    where += ", " + msg.substr(node + 6, at - node - 6);
  } else if (!e.func.empty()) {
    where += " (" + e.func + ")";
  }
  const auto inner = msg.rfind("error: (");
  if (inner != std::string::npos && msg.find(") ", inner) != std::string::npos)
    msg = msg.substr(msg.find(") ", inner) + 2);
  const auto fn = msg.find(" in function");
  if (fn != std::string::npos) msg.resize(fn);
  return where + ": " + oneLine(msg);
}

// The first tensor of the case's inputs and outputs for which p holds, or nullptr.
template <class Pred>
const onnx::Tensor* findTensor(const std::vector<onnx::Tensor>& in,
                               const std::vector<onnx::Tensor>& want, Pred p) {
  for (const auto* set : {&in, &want})
    for (const auto& t : *set)
      if (p(t)) return &t;
  return nullptr;
}

// OpenCV 4.6's cv::Mat has no 1-D form: Mat(1, &n, CV_32F) is an n×1 matrix, so a case with a
// 1-D tensor cannot be posed to it. (Run anyway, the element-wise cases give [n,1] outputs with
// the right values, and test_concat_1d_axis_negative_1 joins [2,1] tensors on axis 1: [2,2].)
const onnx::Tensor* oneDimensional(const std::vector<onnx::Tensor>& in,
                                   const std::vector<onnx::Tensor>& want) {
  return findTensor(in, want, [](const onnx::Tensor& t) { return t.dims.size() < 2; });
}

Outcome runOpencv(const fs::path& model, const onnx::Graph& g, const std::vector<onnx::Tensor>& in,
                  const std::vector<onnx::Tensor>& want) {
  if (const onnx::Tensor* t = oneDimensional(in, want))
    return {Status::Unsupported, "tensor '" + t->name + "' is " + shapeText(t->dims) +
                                     "; OpenCV 4.6's cv::Mat has no 1-D form"};
  cv::dnn::Net net;
  try {
    net = cv::dnn::readNetFromONNX(model.string());
  } catch (const cv::Exception& e) {
    return {Status::Unsupported, opencvReason("importer", e)};
  }
  std::vector<cv::String> names;
  for (const auto& o : g.outputs) names.push_back(o.name);
  std::vector<cv::Mat> outs;
  try {
    for (std::size_t k = 0; k < in.size(); ++k) net.setInput(blobOf(in[k]), g.inputs[k].name);
    net.forward(outs, names);
  } catch (const cv::Exception& e) {
    return {Status::Unsupported, opencvReason("forward", e)};
  }
  std::vector<onnx::Tensor> got;
  got.reserve(outs.size());
  for (const auto& m : outs) got.push_back(tensorOf(m));
  return compare(want, got);
}

Outcome runOnednn(const onnx::Graph& g, const std::vector<onnx::Tensor>& in,
                  const std::vector<onnx::Tensor>& want) {
  if (!infer::onednn::built()) return {Status::Unsupported, "oneDNN backend not built"};
  std::string why;
  if (!infer::onednn::covers(g, &why)) return {Status::Unsupported, oneLine(why)};
  // covers() said yes: anything but the right answer is a failure of the translator.
  try {
    infer::onednn::Net net(g, {});
    return compare(want, net.forward(in));
  } catch (const std::exception& e) {
    return {Status::Fail, "covered, but threw: " + oneLine(e.what())};
  }
}

bool isConvCase(const std::string& name) {
  return name.rfind("test_conv_", 0) == 0 || name.rfind("test_convtranspose", 0) == 0;
}

CaseResult runCase(const fs::path& dir) {
  CaseResult r;
  r.name = dir.filename().string();
  const onnx::Graph g = onnx::readGraph((dir / "model.onnx").string());
  std::vector<onnx::Tensor> in = readTensors(dir / "test_data_set_0", "input");
  const std::vector<onnx::Tensor> want = readTensors(dir / "test_data_set_0", "output");
  BOOST_TEST_REQUIRE(in.size() == g.inputs.size(), r.name << ": input files vs graph inputs");
  BOOST_TEST_REQUIRE(want.size() == g.outputs.size(), r.name << ": output files vs outputs");
  for (std::size_t k = 0; k < in.size(); ++k) in[k].name = g.inputs[k].name;

  if (isConvCase(r.name) && in[0].dims.size() != 4) {
    const std::string why = std::to_string(in[0].dims.size() - 2) +
                            "-D convolution; issue 11 covers the 2-D cases (cae's models)";
    r.opencv = r.onednn = {Status::NotApplicable, why};
    return r;
  }
  const onnx::Tensor* t = findTensor(
      in, want, [](const onnx::Tensor& x) { return x.type != int(onnx::DataType::Float); });
  if (t) {
    const std::string why = "tensor '" + t->name + "' is " + onnx::dataTypeName(t->type) +
                            "; the backends run float tensors";
    r.opencv = r.onednn = {Status::Unsupported, why};
    return r;
  }
  r.opencv = runOpencv(dir / "model.onnx", g, in, want);
  r.onednn = runOnednn(g, in, want);
  return r;
}

std::vector<fs::path> caseDirs() {
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(kNodeData)) {
    const std::string n = e.path().filename().string();
    for (const auto& p : kPrefixes)
      if (n.rfind(p, 0) == 0) {
        dirs.push_back(e.path());
        break;
      }
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

// All cases, run once for the whole module.
const std::vector<CaseResult>& results() {
  static const std::vector<CaseResult> all = [] {
    // The importer logs each refusal as an error; the table gives the reason once.
    const auto level = cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_FATAL);
    std::vector<CaseResult> r;
    for (const auto& d : caseDirs()) r.push_back(runCase(d));
    cv::utils::logging::setLogLevel(level);
    return r;
  }();
  return all;
}

std::string cell(const Outcome& o) {
  switch (o.status) {
    case Status::Pass:
      return "pass (" + o.detail + ")";
    case Status::Fail:
      return "**FAIL**: " + o.detail;
    case Status::Unsupported:
      return "unsupported: " + o.detail;
    case Status::NotApplicable:
      return "n/a: " + o.detail;
  }
  return "";
}

std::string table(const std::vector<CaseResult>& rs) {
  std::map<Status, int> cv, dnn;
  for (const auto& r : rs) {
    ++cv[r.opencv.status];
    ++dnn[r.onednn.status];
  }
  std::ostringstream o;
  o << "# ONNX node conformance (libonnx-testdata)\n\n"
    << rs.size() << " cases from " << kNodeData.string() << " whose names start with one of:";
  for (const auto& p : kPrefixes) o << " `" << p << "`";
  o << ".\nPass: every value within 1e-5 * max(1, |expected|) of the stored output (absolute "
       "1e-5 up to 1, relative 1e-5 above), same shape.\n\n"
    << "| backend | pass | FAIL | unsupported | n/a |\n|---|---|---|---|---|\n";
  for (const auto& [name, c] : {std::pair{"OpenCV DNN", &cv}, std::pair{"oneDNN", &dnn}})
    o << "| " << name << " | " << (*c)[Status::Pass] << " | " << (*c)[Status::Fail] << " | "
      << (*c)[Status::Unsupported] << " | " << (*c)[Status::NotApplicable] << " |\n";
  o << "\n| case | OpenCV DNN | oneDNN |\n|---|---|---|\n";
  for (const auto& r : rs)
    o << "| " << r.name << " | " << cell(r.opencv) << " | " << cell(r.onednn) << " |\n";
  return o.str();
}

// Compares the cases a backend passed with its expectation list, both ways.
void checkExpected(const std::string& backend, const std::set<std::string>& expected,
                   Outcome CaseResult::*column) {
  std::set<std::string> seen;
  for (const auto& r : results()) {
    seen.insert(r.name);
    const bool passed = (r.*column).status == Status::Pass;
    if (expected.count(r.name))
      BOOST_TEST(passed, backend << " no longer passes " << r.name << ": " << cell(r.*column));
    else
      BOOST_TEST(!passed, backend << " now passes " << r.name
                                  << ": add it to the expected list in this test");
  }
  for (const auto& e : expected)
    BOOST_TEST(seen.count(e) == 1u, backend << ": expected case " << e << " is not in the data");
}

}  // namespace

BOOST_AUTO_TEST_CASE(onnx_test_data_is_installed) {
  BOOST_TEST_REQUIRE(fs::is_directory(kNodeData),
                     kNodeData.string() << " is missing: install Debian's libonnx-testdata "
                                           "(apt-get install libonnx-testdata; scripts/setup.sh "
                                           "lists it)");
  // Each prefix finds cases, so a renamed data set cannot shrink the test to nothing.
  const auto dirs = caseDirs();
  for (const auto& p : kPrefixes)
    BOOST_TEST(
        std::any_of(dirs.begin(), dirs.end(),
                    [&](const fs::path& d) { return d.filename().string().rfind(p, 0) == 0; }),
        "no case starts with " << p);
}

// The comparison itself: a value just outside the tolerance, a NaN, or another shape fails.
BOOST_AUTO_TEST_CASE(the_comparison_fails_a_wrong_output) {
  const fs::path data = kNodeData / "test_relu" / "test_data_set_0";
  BOOST_TEST_REQUIRE(fs::is_directory(data));
  const std::vector<onnx::Tensor> want = readTensors(data, "output");
  BOOST_TEST_REQUIRE(want.size() == 1u);
  BOOST_TEST((compare(want, want).status == Status::Pass));
  std::vector<onnx::Tensor> got = want;
  got[0].data[7] = float(want[0].data[7] + 2 * kTolerance * std::max(1.0f, want[0].data[7]));
  BOOST_TEST((compare(want, got).status == Status::Fail));
  got[0].data[7] = std::nanf("");
  BOOST_TEST((compare(want, got).status == Status::Fail));
  got = want;
  got[0].dims = {got[0].count()};
  BOOST_TEST((compare(want, got).status == Status::Fail));
  BOOST_TEST((compare(want, {}).status == Status::Fail));
}

BOOST_AUTO_TEST_CASE(no_backend_gives_a_wrong_result) {
  BOOST_TEST_REQUIRE(fs::is_directory(kNodeData));
  const auto& rs = results();
  const std::string md = table(rs);
  BOOST_TEST_MESSAGE("\n" << md);
  if (const char* path = std::getenv("CAE_CONFORMANCE_REPORT")) {
    std::ofstream f(path);
    f << md;
    BOOST_TEST_REQUIRE(f.good(), "cannot write the report to " << path);
  }
  BOOST_TEST(rs.size() == caseDirs().size());  // one row per globbed case
  for (const auto& r : rs) {
    BOOST_TEST(!r.opencv.detail.empty(), r.name);  // a reason (or the difference) in every cell
    BOOST_TEST(!r.onednn.detail.empty(), r.name);
    BOOST_TEST((r.opencv.status != Status::Fail), r.name << " OpenCV DNN: " << r.opencv.detail);
    BOOST_TEST((r.onednn.status != Status::Fail), r.name << " oneDNN: " << r.onednn.detail);
  }
}

BOOST_AUTO_TEST_CASE(opencv_passes_the_expected_cases) {
  BOOST_TEST_REQUIRE(fs::is_directory(kNodeData));
  checkExpected("OpenCV DNN", kOpencvPasses, &CaseResult::opencv);
}

BOOST_AUTO_TEST_CASE(onednn_passes_the_expected_cases) {
  BOOST_TEST_REQUIRE(fs::is_directory(kNodeData));
  if (!infer::onednn::built()) {
    BOOST_TEST_MESSAGE(
        "oneDNN backend not built (meson option 'onednn'): its column is listed "
        "as unsupported and its expectation list is not checked");
    return;
  }
  checkExpected("oneDNN", kOnednnPasses, &CaseResult::onednn);
}

// ONNX's conv cases pass their weights as graph inputs; a second forward with other weights of
// the same shape must use them (the translator lays weights out once per input shape).
BOOST_AUTO_TEST_CASE(weights_given_as_inputs_are_read_on_every_forward) {
  BOOST_TEST_REQUIRE(fs::is_directory(kNodeData));
  if (!infer::onednn::built()) return;
  for (const char* name : {"test_conv_with_strides_padding", "test_convtranspose"}) {
    const fs::path dir = kNodeData / name;
    const onnx::Graph g = onnx::readGraph((dir / "model.onnx").string());
    std::vector<onnx::Tensor> in = readTensors(dir / "test_data_set_0", "input");
    std::vector<onnx::Tensor> want = readTensors(dir / "test_data_set_0", "output");
    BOOST_TEST_REQUIRE(in.size() == 2u);  // X, W; no bias: the output is linear in W
    for (std::size_t k = 0; k < in.size(); ++k) in[k].name = g.inputs[k].name;
    BOOST_TEST_REQUIRE(infer::onednn::covers(g));
    infer::onednn::Net net(g, {});
    BOOST_TEST((compare(want, net.forward(in)).status == Status::Pass), name);
    for (float& w : in[1].data) w *= -3.f;
    for (float& y : want[0].data) y *= -3.f;
    const Outcome second = compare(want, net.forward(in));
    BOOST_TEST((second.status == Status::Pass), name << " with weights * -3: " << second.detail);
  }
}
