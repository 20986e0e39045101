#define BOOST_TEST_MODULE onnx_validate
#include <boost/test/unit_test.hpp>

// Damaged models (issue 10): the validator names what is wrong with a model before OpenCV DNN,
// which trusts the file, sees it. Each damage below is one byte-level story of a broken file
// (a bias longer than its data, a renamed weight, an op name hit by a bit flip, ...) applied to
// the shipped anomaly-wood-fast model; the two repro files are the ones that crashed the process
// (SIGSEGV, and a heap over-read under ASan) through the Engine and the caeanomaly element.

#include <gst/gst.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "error.hpp"
#include "infer/engine.hpp"
#include "onnx/onnx_util.hpp"
#include "onnx/validate.hpp"
#include "plugins/harness.hpp"
#include "shell.hpp"

namespace fs = std::filesystem;
namespace pb = ::onnx;
using cae::FormatError;

namespace {

const fs::path kData = CAE_TEST_DATA;
const fs::path kModels = kData.parent_path().parent_path() / "models";
const fs::path kSegv = kData / "repro" / "onnx-segv.onnx";
const fs::path kOverflow = kData / "repro" / "onnx-heap-overflow.onnx";
// What the validator says about each repro.
const char* kSegvWhy = "two initializers are named 'enc0.bias'";
const char* kOverflowWhy = "initializer 'enc1.bias' has 48 values but its dims 53 need 53";

std::string readBytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

pb::ModelProto woodFast() {
  pb::ModelProto m;
  BOOST_TEST_REQUIRE(m.ParseFromString(readBytes(kModels / "anomaly-wood-fast.onnx")));
  return m;
}

// Writes m to a scratch file named after the case and returns its path.
std::string write(const pb::ModelProto& m, const std::string& name) {
  std::string p = cae::test::scratch().file(name + ".onnx");
  std::ofstream(p, std::ios::binary) << m.SerializeAsString();
  return p;
}

// The message of the FormatError f throws ("" when it throws none).
std::string formatErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

pb::TensorProto& init(pb::ModelProto& m, const std::string& name) {
  for (auto& t : *m.mutable_graph()->mutable_initializer())
    if (t.name() == name) return t;
  throw std::runtime_error("no initializer " + name);
}
pb::NodeProto& node(pb::ModelProto& m, const std::string& name) {
  for (auto& n : *m.mutable_graph()->mutable_node())
    if (n.name() == name) return n;
  throw std::runtime_error("no node " + name);
}
pb::AttributeProto& attr(pb::NodeProto& n, const std::string& name) {
  for (auto& a : *n.mutable_attribute())
    if (a.name() == name) return a;
  throw std::runtime_error("no attribute " + name);
}

struct Damage {
  const char* name;
  std::function<void(pb::ModelProto&)> apply;
  const char* says;  // part of the FormatError's message
};

const std::vector<Damage>& damages() {
  static const std::vector<Damage> d{
      {"bias_longer_than_its_data", [](auto& m) { init(m, "enc1.bias").set_dims(0, 53); },
       kOverflowWhy},
      {"weights_in_raw_data_cut_short",
       [](auto& m) {
         auto& t = init(m, "stem.bias");
         t.clear_float_data();
         t.set_raw_data(std::string(std::size_t(24 * 4 - 2), '\0'));
       },
       "bytes of raw_data, not a whole number of float values"},
      {"raw_data_and_float_data_both",
       [](auto& m) { init(m, "stem.bias").set_raw_data(std::string(std::size_t(24 * 4), '\0')); },
       "has both raw_data and typed values"},
      {"two_initializers_with_one_name",
       [](auto& m) { init(m, "enc2.bias").set_name("enc0.bias"); }, kSegvWhy},
      {"weights_kept_in_another_file",
       [](auto& m) { init(m, "stem.weight").set_data_location(pb::TensorProto::EXTERNAL); },
       "keeps its data outside the file"},
      {"weights_as_double",
       [](auto& m) { init(m, "stem.bias").set_data_type(pb::TensorProto::DOUBLE); },
       "has data type 11"},
      {"input_nobody_defines", [](auto& m) { node(m, "dec0").set_input(0, "code_act_"); },
       "reads 'code_act_', which no graph input, initializer or earlier node defines"},
      {"output_written_twice", [](auto& m) { node(m, "code_act").set_output(0, "enc0_act"); },
       "writes 'enc0_act', which is already defined"},
      {"unknown_operator", [](auto& m) { node(m, "dec2").set_op_type("BNLLTranspose"); },
       "node 'dec2' (BNLLTranspose) uses an operator cae does not support (supported: Add"},
      {"kernel_shape_not_the_weights",
       [](auto& m) { attr(node(m, "enc1"), "kernel_shape").set_ints(0, 5); },
       "has kernel_shape 5x3 but 3x3 weights"},
      {"stride_zero", [](auto& m) { attr(node(m, "enc1"), "strides").set_ints(1, 0); },
       "has strides 0, outside [1, 64]"},
      {"pads_beyond_the_kernel", [](auto& m) { attr(node(m, "enc1"), "pads").set_ints(2, 7); },
       "pads more than its kernel covers"},
      {"group_not_dividing_channels", [](auto& m) { attr(node(m, "enc1"), "group").set_i(5); },
       "has group 5, which does not divide its 48 channels"},
      {"weights_of_another_layer", [](auto& m) { node(m, "enc2").set_input(1, "enc1.weight"); },
       "node 'enc2' (Conv) reads 48 channels where its weights take 24"},
      {"bias_of_another_layer", [](auto& m) { node(m, "enc2").set_input(2, "code.bias"); },
       "has a bias of 32 values for 48 output channels"},
      {"weights_where_an_activation_goes",
       [](auto& m) { node(m, "enc0_act").set_input(0, "enc0.weight"); },
       "reads the initializer 'enc0.weight' where it needs an activation"},
      {"output_padding_not_below_stride",
       [](auto& m) { attr(node(m, "dec1"), "output_padding").set_ints(0, 2); },
       "has output_padding not below its stride"},
      {"attribute_of_the_wrong_type",
       [](auto& m) { attr(node(m, "enc1"), "group").set_type(pb::AttributeProto::FLOAT); },
       "has an attribute 'group' of the wrong type"},
      {"upsampled_to_gigabytes", [](auto& m) { attr(node(m, "dec1"), "strides").set_ints(0, 64); },
       "node 'dec2' (ConvTranspose) makes 24 channels at 8 times the input's size: over 1024 "
       "values a pixel"},
      {"graph_output_renamed",
       [](auto& m) { m.mutable_graph()->mutable_output(0)->set_name("out"); },
       "the graph output 'out' is not computed by any node"},
      {"opset_from_the_future", [](auto& m) { m.mutable_opset_import(0)->set_version(99); },
       "it uses ONNX opset 99"},
      {"graph_without_a_name", [](auto& m) { m.mutable_graph()->clear_name(); }, "onnx::checker: "},
  };
  return d;
}

// The error an element posts when `launch` is set to PAUSED; "" when the change succeeds.
std::string pausedError(const std::string& launch) {
  GError* err = nullptr;
  GstElement* p = gst_parse_launch(launch.c_str(), &err);
  BOOST_TEST_REQUIRE((p != nullptr && err == nullptr), (err ? err->message : "parse failed"));
  const GstStateChangeReturn r = gst_element_set_state(p, GST_STATE_PAUSED);
  std::string text;
  GstBus* bus = gst_element_get_bus(p);
  if (GstMessage* msg = gst_bus_timed_pop_filtered(bus, GST_SECOND * 5, GST_MESSAGE_ERROR)) {
    GError* e = nullptr;
    gst_message_parse_error(msg, &e, nullptr);
    text = e->message;
    g_error_free(e);
    gst_message_unref(msg);
  }
  BOOST_TEST((r == GST_STATE_CHANGE_FAILURE) == !text.empty());
  gst_object_unref(bus);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(p);
  return text;
}

// sanitizerPreload() plus libstdc++: gst-launch is C, so in an ASan build the runtime finds no
// __cxa_throw to intercept (a CHECK failure) unless libstdc++ is loaded before the plugin.
std::string preload() {
  std::string p = cae::testing::sanitizerPreload();
  const auto end = p.find("' ");
  if (end != std::string::npos) p.insert(end, " libstdc++.so.6");
  return p;
}

std::string anomalyLaunch(const fs::path& model) {
  return "videotestsrc num-buffers=2 ! video/x-raw,format=GRAY8,width=320,height=240 ! "
         "caeanomaly model=\"" +
         model.string() + "\" ! fakesink";
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_shipped_and_test_model_passes) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(kModels))
    // The codecs' halves (codec-*.onnx) are checked by core/codec's readCodec (tests/codec).
    if (e.path().extension() == ".onnx" && e.path().filename().string().rfind("codec-", 0) != 0) {
      BOOST_TEST_CONTEXT(e.path()) { BOOST_CHECK_NO_THROW(cae::onnx::validateModel(e.path())); }
      ++n;
    }
  BOOST_TEST(n >= 8);
  BOOST_CHECK_NO_THROW(cae::onnx::validateModel(kData / "golden_conv_ae.onnx"));
}

BOOST_AUTO_TEST_CASE(each_damage_is_named_in_a_format_error) {
  const std::string good = write(woodFast(), "undamaged");
  BOOST_CHECK_NO_THROW(cae::onnx::validateModel(good));
  for (const Damage& d : damages()) {
    pb::ModelProto m = woodFast();
    d.apply(m);
    const std::string path = write(m, d.name);
    const std::string msg = formatErrorOf([&] { cae::onnx::validateModel(path); });
    BOOST_TEST_CONTEXT(d.name << ": " << msg) {
      BOOST_TEST(msg.find(d.says) != std::string::npos);
      BOOST_TEST(msg.find(path) != std::string::npos);  // the message names the file
    }
  }
}

BOOST_AUTO_TEST_CASE(the_repro_models_are_refused_with_what_is_wrong) {
  BOOST_TEST(formatErrorOf([] { cae::onnx::validateModel(kSegv); }).find(kSegvWhy) !=
             std::string::npos);
  BOOST_TEST(formatErrorOf([] { cae::onnx::validateModel(kOverflow); }).find(kOverflowWhy) !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_engine_refuses_the_repro_models_before_opencv_reads_them) {
  for (const auto& [model, why] :
       {std::pair{kSegv, kSegvWhy}, std::pair{kOverflow, kOverflowWhy}}) {
    cae::infer::EngineOptions o;
    o.model = model.string();
    o.task = cae::onnx::Task::Anomaly;
    const std::string msg = formatErrorOf([&] { cae::infer::Engine e(o); });
    BOOST_TEST_CONTEXT(model) { BOOST_TEST(msg.find(why) != std::string::npos, msg); }
  }
}

BOOST_FIXTURE_TEST_CASE(the_elements_fail_the_change_to_paused_with_the_reason,
                        cae::testing::GstInit) {
  for (const auto& [model, why] :
       {std::pair{kSegv, kSegvWhy}, std::pair{kOverflow, kOverflowWhy}}) {
    BOOST_TEST_CONTEXT(model) {
      const std::string anomaly = pausedError(anomalyLaunch(model));
      BOOST_TEST(anomaly.find(why) != std::string::npos, anomaly);
      // caedenoise refuses an anomaly model for its task before the validator runs: an error too.
      const std::string denoise = pausedError(
          "videotestsrc num-buffers=2 ! video/x-raw,format=GRAY8,width=64,height=48 ! "
          "caedenoise model=\"" +
          model.string() + "\" ! fakesink");
      BOOST_TEST(!denoise.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(gst_launch_of_the_reported_pipeline_exits_with_the_error_not_a_crash) {
  using cae::testing::quote;
  for (const auto& [model, why] :
       {std::pair{kSegv, kSegvWhy}, std::pair{kOverflow, kOverflowWhy}}) {
    const std::string launch = preload() +
                               "gst-launch-1.0 videotestsrc num-buffers=2 ! "
                               "video/x-raw,format=GRAY8,width=320,height=240 ! caeanomaly model=" +
                               quote(model) + " ! fakesink";
    const cae::testing::Result r = cae::testing::run(launch, 120);
    BOOST_TEST_CONTEXT(launch << "\n" << r.out) {
      BOOST_TEST(r.rc == 255);  // gst-launch's error exit (-1); a crash gives 128 + the signal
      BOOST_TEST(r.out.find(why) != std::string::npos);
      BOOST_TEST(r.out.find("Failed to set pipeline to PAUSED") != std::string::npos);
    }
  }
}
