// Caps changing mid-stream, thousands of times (2,100), under CPU load: appsrc pushes frames whose
// format and size change every other buffer through 7 sets (BGRx 33x17 -> GRAY8 320x240 -> ...)
// into caedenoise or caeanomaly while another thread keeps asking the element's pads for caps
// and accept-caps and reading its model, and a third burns a core. The stream must never end
// in not-negotiated (once 3 runs in 29 did, going from BGRx 33x17 to GRAY8 320x240), and every
// buffer and every caps change must come out; also with a temporal model, whose history each
// change restarts. Each test runs once per backend (kBackends: opencv,
// onednn: oneDNN builds its primitives per frame size, so every change of size is a rebuild).
#define BOOST_TEST_MODULE element_caps_change
#include <atomic>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace bdata = boost::unit_test::data;
using namespace cae::testing;

BOOST_TEST_GLOBAL_FIXTURE(GstInit);

namespace {

struct Set {
  GstVideoFormat format;
  int width, height;
};

struct Counts {
  std::atomic<int> buffers{0}, caps{0};
};

GstPadProbeReturn count(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto* c = static_cast<Counts*>(data);
  if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER) ++c->buffers;
  if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM &&
      GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_CAPS)
    ++c->caps;
  return GST_PAD_PROBE_OK;
}

// What a run did: buffers pushed and seen leaving the element, caps events leaving it, and
// how the stream ended.
struct Run {
  int pushed = 0, buffersOut = 0, capsOut = 0;
  std::string error;  // "message | debug" of an ERROR, "" if none
  bool eos = false;
  std::string inUse;  // the element's backend-in-use at the end of the stream
};

// The application side, as gst-launch-1.0 does it: a LATENCY message from the element (posted
// at each negotiation) makes the pipeline recalculate its latency, from another thread.
GstBusSyncReply onMessage(GstBus*, GstMessage* m, gpointer pending) {
  if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_LATENCY) *static_cast<std::atomic<bool>*>(pending) = true;
  return GST_BUS_PASS;
}

// Another thread's questions to the element while it streams: caps (with and without a
// filter), accept-caps of each set, and the model it runs; and the latency recalculations.
void ask(GstElement* pipeline, GstElement* el, const std::vector<GstCaps*>& caps,
         const std::atomic<bool>& done, std::atomic<bool>& latency, std::atomic<long>& asked) {
  GstPad* sink = gst_element_get_static_pad(el, "sink");
  GstPad* src = gst_element_get_static_pad(el, "src");
  for (std::size_t i = 0; !done; ++i) {
    if (latency.exchange(false)) gst_bin_recalculate_latency(GST_BIN(pipeline));
    GstCaps* c = caps[i % caps.size()];
    gst_caps_unref(gst_pad_query_caps(sink, nullptr));
    gst_caps_unref(gst_pad_query_caps(src, c));
    gst_pad_query_accept_caps(sink, c);
    gchar* model = nullptr;
    g_object_get(el, "model", &model, nullptr);
    g_free(model);
    ++asked;
    std::this_thread::sleep_for(std::chrono::microseconds(200));  // asks, does not hog a core
  }
  gst_object_unref(sink);
  gst_object_unref(src);
}

Run stress(const std::string& element, const std::string& downstream, const std::vector<Set>& sets,
           int changes, int perSet) {
  GError* err = nullptr;
  GstElement* p = gst_parse_launch(("appsrc name=src format=time block=true max-buffers=4 ! " +
                                    element + " name=el ! " + downstream)
                                       .c_str(),
                                   &err);
  BOOST_REQUIRE_MESSAGE(p && !err, "cannot parse the pipeline around " << element);
  GstElement* src = gst_bin_get_by_name(GST_BIN(p), "src");
  GstElement* el = gst_bin_get_by_name(GST_BIN(p), "el");
  Counts counts;
  GstPad* out = gst_element_get_static_pad(el, "src");
  gst_pad_add_probe(
      out, GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM), count,
      &counts, nullptr);
  gst_object_unref(out);
  std::vector<GstVideoInfo> infos;
  std::vector<GstCaps*> caps;
  for (const Set& s : sets) {
    infos.push_back(videoInfo(s.format, s.width, s.height));
    caps.push_back(gst_video_info_to_caps(&infos.back()));
  }
  BOOST_REQUIRE(gst_element_set_state(p, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);

  std::atomic<bool> done{false};
  std::atomic<long> asked{0};
  std::thread busy([&] {  // a competing CPU load
    volatile double x = 1;
    while (!done) x = std::sqrt(x + 1.0);
  });
  std::atomic<bool> latency{false};
  GstBus* bus = gst_element_get_bus(p);
  gst_bus_set_sync_handler(bus, onMessage, &latency, nullptr);
  std::thread asker([&] { ask(p, el, caps, done, latency, asked); });
  Run r;
  for (int i = 0; i < changes * perSet; ++i) {
    const std::size_t k = std::size_t(i / perSet) % sets.size();
    GstBuffer* b = gst_buffer_new_allocate(nullptr, infos[k].size, nullptr);
    gst_buffer_memset(b, 0, guint8(i * 37), infos[k].size);
    GST_BUFFER_PTS(b) = GstClockTime(i) * GST_SECOND / 30;
    GST_BUFFER_DURATION(b) = GST_SECOND / 30;
    GstSample* sample = gst_sample_new(b, caps[k], nullptr, nullptr);
    gst_buffer_unref(b);
    GstFlowReturn ret = GST_FLOW_OK;
    g_signal_emit_by_name(src, "push-sample", sample, &ret);
    gst_sample_unref(sample);
    if (ret != GST_FLOW_OK) break;
    ++r.pushed;
  }
  GstFlowReturn ret = GST_FLOW_OK;
  g_signal_emit_by_name(src, "end-of-stream", &ret);
  if (GstMessage* m = gst_bus_timed_pop_filtered(
          bus, 120 * GST_SECOND, GstMessageType(GST_MESSAGE_ERROR | GST_MESSAGE_EOS))) {
    r.eos = GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS;
    if (!r.eos) r.error = messageText(m);
    gst_message_unref(m);
  }
  done = true;
  busy.join();
  asker.join();
  gchar* inUse = nullptr;
  g_object_get(el, "backend-in-use", &inUse, nullptr);
  r.inUse = inUse ? inUse : "";
  g_free(inUse);
  gst_bus_set_sync_handler(bus, nullptr, nullptr, nullptr);
  BOOST_TEST_MESSAGE(element << ": " << asked << " caps/accept-caps/model questions meanwhile");
  gst_element_set_state(p, GST_STATE_NULL);
  r.buffersOut = counts.buffers;
  r.capsOut = counts.caps;
  for (GstCaps* c : caps) gst_caps_unref(c);
  gst_object_unref(bus);
  gst_object_unref(src);
  gst_object_unref(el);
  gst_object_unref(p);
  return r;
}

void expectEveryChangeThrough(const std::string& element, const std::string& backend,
                              const std::vector<Set>& sets, int changes, int perSet,
                              const std::string& downstream = "fakesink sync=false") {
  const auto t0 = std::chrono::steady_clock::now();
  const Run r = stress(onBackend(element, backend), downstream, sets, changes, perSet);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  BOOST_TEST_MESSAGE(element << ": " << changes << " caps changes, " << r.pushed
                             << " buffers pushed, " << r.buffersOut << " out, " << r.capsOut
                             << " caps events out, in " << s << " s; " << (r.eos ? "EOS" : "no EOS")
                             << (r.error.empty() ? "" : ": ") << r.error);
  BOOST_TEST(r.error.find("not-negotiated") == std::string::npos, r.error);
  BOOST_TEST(r.error.empty(), r.error);
  BOOST_TEST(r.eos);
  BOOST_TEST(r.pushed == changes * perSet);
  BOOST_TEST(r.buffersOut == changes * perSet);
  BOOST_TEST(r.capsOut == changes);  // each set differs from the one before it
  BOOST_TEST(r.inUse == expectedInUse(backend));
}

}  // namespace

const std::vector<Set> kDenoiseSets = {
    {GST_VIDEO_FORMAT_BGRx, 33, 17}, {GST_VIDEO_FORMAT_GRAY8, 320, 240},
    {GST_VIDEO_FORMAT_I420, 64, 48}, {GST_VIDEO_FORMAT_RGB, 37, 23},
    {GST_VIDEO_FORMAT_NV12, 96, 64}, {GST_VIDEO_FORMAT_GRAY16_LE, 50, 30},
    {GST_VIDEO_FORMAT_BGR, 17, 33}};

std::string denoiser() {
  cae::onnx::ExportOptions o;
  o.task = cae::onnx::Task::Denoise;
  return "caedenoise threads=1 model=" + dq(randomModel("caps_gray.onnx", 1, o, 5));
}

// The sets of the report: every format caedenoise takes, odd and tiny sizes, a gray model.
BOOST_DATA_TEST_CASE(caedenoise_survives_caps_changes_under_load, bdata::make(kBackends), backend) {
  expectEveryChangeThrough(denoiser(), backend, kDenoiseSets, 700, 2);
}

// A temporal model (3 frames, aligned) keeps frames from buffer to buffer: each caps change
// starts its history again, and the frames of a set (3 each) go through it, under the same load.
BOOST_DATA_TEST_CASE(caedenoise_with_a_temporal_model_survives_caps_changes, bdata::make(kBackends),
                     backend) {
  cae::onnx::ExportOptions o;
  o.task = cae::onnx::Task::Denoise;
  o.extra[cae::onnx::key::kFrames] = "3";
  o.extra[cae::onnx::key::kAlign] = "translation";
  expectEveryChangeThrough(
      "caedenoise threads=1 model=" + dq(randomModel("caps_temporal.onnx", 1, o, 8)), backend,
      kDenoiseSets, 300, 3);
}

// The same downstream of a converter with its own allocation and a queue (its own thread).
BOOST_DATA_TEST_CASE(caedenoise_survives_caps_changes_into_videoconvert_and_a_queue,
                     bdata::make(kBackends), backend) {
  expectEveryChangeThrough(denoiser(), backend, kDenoiseSets, 700, 2,
                           "videoconvert ! queue max-size-buffers=2 ! fakesink sync=false");
}

BOOST_DATA_TEST_CASE(caeanomaly_survives_caps_changes_under_load, bdata::make(kBackends), backend) {
  cae::onnx::ExportOptions o;
  o.task = cae::onnx::Task::Anomaly;
  o.anomaly = cae::anomaly::Decision{{}, 0.05, 0.01, 0.01, {}};
  const std::string model = randomModel("caps_anomaly.onnx", 1, o, 6);
  expectEveryChangeThrough("caeanomaly threads=1 model=" + dq(model), backend,
                           {{GST_VIDEO_FORMAT_BGRx, 33, 17},
                            {GST_VIDEO_FORMAT_GRAY8, 320, 240},
                            {GST_VIDEO_FORMAT_RGBA, 64, 48},
                            {GST_VIDEO_FORMAT_RGB, 37, 23},
                            {GST_VIDEO_FORMAT_GRAY16_LE, 50, 30},
                            {GST_VIDEO_FORMAT_BGR, 17, 33},
                            {GST_VIDEO_FORMAT_GRAY8, 96, 64}},
                           700, 2);
}
