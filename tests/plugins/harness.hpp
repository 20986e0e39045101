// What the element suites share: GStreamer set-up, a per-process scratch folder, real frames in
// any video format (tight or with padded strides whose padding holds garbage), a GstHarness
// around one element whose bus keeps its element messages, ROI meta, and playing a launch line
// to its first ERROR or EOS.
//
//   BOOST_TEST_GLOBAL_FIXTURE(cae::testing::GstInit);
//   cae::testing::Element e("caedenoise strength=0.5", videoInfo(GST_VIDEO_FORMAT_GRAY8, 64, 48));
//   GstBuffer* out = e.push({gray});                      // pushed and pulled (REQUIREd)
//   std::vector<cv::Mat> comps = readBuffer(e.info(), out);
#pragma once

#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "infer/onednn.hpp"
#include "onnx/export.hpp"
#include "shell.hpp"
#include "train/architecture.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <dlfcn.h>
#include <sanitizer/asan_interface.h>
#endif

namespace cae::testing {

// A prefix for a shell command that runs an uninstrumented GStreamer tool (gst-inspect-1.0,
// gst-launch-1.0) on this build's plugin: in an ASan build the plugin needs the ASan runtime
// loaded first, so it preloads the runtime this process uses (and leaves leak checks to the
// suites); elsewhere nothing.
inline std::string sanitizerPreload() {
#if defined(__SANITIZE_ADDRESS__)
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&__asan_address_is_poisoned), &info) && info.dli_fname)
    return "LD_PRELOAD='" + std::string(info.dli_fname) + "' ASAN_OPTIONS=detect_leaks=0 ";
#endif
  return "";
}

inline const std::string kSkimage = "/usr/lib/python3/dist-packages/skimage/data/";

struct GstInit {
  GstInit() { gst_init(nullptr, nullptr); }
};

// One scratch folder per process, removed at exit (a function-local static, so it outlives
// every use).
inline std::filesystem::path scratch() {
  struct Scratch {
    std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("cae_element_test_" + std::to_string(::getpid()));
    Scratch() { std::filesystem::create_directories(dir); }
    ~Scratch() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  };
  static Scratch s;
  return s.dir;
}

inline std::string writeBytes(const std::string& name, const std::string& bytes) {
  const std::filesystem::path p = scratch() / name;
  std::ofstream(p, std::ios::binary) << bytes;
  return p.string();
}

inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// gst-launch-1.0 -v of a pipeline (the tool as a user runs it, on this build's plugin).
inline Result launch(const std::string& pipeline, int timeoutS = 120) {
  return run(sanitizerPreload() + "gst-launch-1.0 -v " + pipeline, timeoutS);
}

// The format negotiated on the sink pad of the first `element` in a gst-launch-1.0 -v log ("" if
// none was).
inline std::string sinkFormat(const std::string& log, const std::string& element) {
  const auto line = log.find(element + "0.GstPad:sink: caps = video/x-raw");
  if (line == std::string::npos) return "";
  const std::string key = "format=(string)";
  const auto at = log.find(key, line);
  if (at == std::string::npos || at > log.find('\n', line)) return "";
  const auto from = at + key.size();
  return log.substr(from, log.find_first_of(",\n", from) - from);
}

// A residual conv autoencoder with random weights (seeded; not the identity) in the scratch
// folder, exported with `o` (format from the channels when o.format is empty): for tests where
// what matters is that every output pixel depends on a wide neighbourhood, or any model of a
// given shape and metadata. A temporal model (frames x channels in, channels out) when
// o.extra[cae.frames] says so. Made once per name and process.
inline std::string randomModel(const std::string& name, int channels, onnx::ExportOptions o,
                               std::uint64_t seed, int stem = 2, int stages = 2) {
  const std::filesystem::path path = scratch() / name;
  if (std::filesystem::exists(path)) return path.string();
  train::ArchSpec s;
  s.kind = train::ArchKind::Conv;
  s.channels = channels;
  if (const auto f = o.extra.find(onnx::key::kFrames); f != o.extra.end())
    s.frames = std::stoi(f->second);
  s.height = s.width = 32;
  s.stem = stem;
  s.stages = stages;
  s.depth = 1;
  s.width0 = 8;
  s.maxChannels = 16;
  s.skips = true;
  s.residual = true;
  train::BuiltModel b = train::buildAutoencoder(s);
  cv::RNG rng(seed);
  auto p = b.model.params();
  for (Eigen::Index i = 0; i < p.size(); ++i) p[i] = float(rng.gaussian(0.15));
  if (o.format.empty()) o.format = channels == 3 ? "RGB" : "GRAY8";
  onnx::exportOnnx(b.model, path.string(), o);
  return path.string();
}

// Double-quoted for a gst-launch property value.
inline std::string dq(const std::string& s) { return '"' + s + '"'; }

inline GstVideoInfo videoInfo(GstVideoFormat fmt, int w, int h) {
  GstVideoInfo info;
  gst_video_info_set_format(&info, fmt, guint(w), guint(h));
  info.fps_n = 30;
  info.fps_d = 1;
  return info;
}

// Component k of a mapped frame as a CV_8U / CV_16U matrix (copied; stride-aware; 16-bit
// samples little-endian).
inline cv::Mat readComp(GstVideoFrame* f, int k) {
  const int w = GST_VIDEO_FRAME_COMP_WIDTH(f, k), h = GST_VIDEO_FRAME_COMP_HEIGHT(f, k);
  const int ps = GST_VIDEO_FRAME_COMP_PSTRIDE(f, k), rs = GST_VIDEO_FRAME_COMP_STRIDE(f, k);
  const bool wide = GST_VIDEO_FRAME_COMP_DEPTH(f, k) > 8;
  cv::Mat m(h, w, wide ? CV_16U : CV_8U);
  const auto* base = static_cast<const guint8*>(GST_VIDEO_FRAME_COMP_DATA(f, k));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const guint8* p = base + std::ptrdiff_t(y) * rs + std::ptrdiff_t(x) * ps;
      if (wide)
        m.at<uint16_t>(y, x) = uint16_t(p[0] | (p[1] << 8));
      else
        m.at<uint8_t>(y, x) = *p;
    }
  return m;
}

inline void writeComp(GstVideoFrame* f, int k, const cv::Mat& m) {
  const int w = GST_VIDEO_FRAME_COMP_WIDTH(f, k), h = GST_VIDEO_FRAME_COMP_HEIGHT(f, k);
  BOOST_REQUIRE(m.cols == w && m.rows == h);
  const int ps = GST_VIDEO_FRAME_COMP_PSTRIDE(f, k), rs = GST_VIDEO_FRAME_COMP_STRIDE(f, k);
  auto* base = static_cast<guint8*>(GST_VIDEO_FRAME_COMP_DATA(f, k));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      guint8* p = base + std::ptrdiff_t(y) * rs + std::ptrdiff_t(x) * ps;
      if (m.depth() == CV_16U) {
        const uint16_t v = m.at<uint16_t>(y, x);
        p[0] = guint8(v & 0xff);
        p[1] = guint8(v >> 8);
      } else {
        *p = m.at<uint8_t>(y, x);
      }
    }
}

// A buffer of format `tight` whose components come from comps (tight layout, or with extra
// bytes per row and an odd start per plane when padStride > 0: then a GstVideoMeta carries the
// strides and offsets). Padding bytes hold garbage (0xA5).
inline GstBuffer* makeBuffer(const GstVideoInfo& tight, const std::vector<cv::Mat>& comps,
                             GstClockTime pts = 0, int padStride = 0) {
  GstVideoInfo info = tight;
  if (padStride > 0) {
    gsize offset = 0;
    for (guint p = 0; p < GST_VIDEO_INFO_N_PLANES(&info); ++p) {
      GST_VIDEO_INFO_PLANE_STRIDE(&info, p) += padStride;
      GST_VIDEO_INFO_PLANE_OFFSET(&info, p) = offset + 5;
      gint comp[GST_VIDEO_MAX_COMPONENTS];
      gst_video_format_info_component(info.finfo, p, comp);
      offset += 5 + gsize(GST_VIDEO_INFO_PLANE_STRIDE(&info, p)) *
                        GST_VIDEO_INFO_COMP_HEIGHT(&info, comp[0]);
    }
    info.size = offset;
  }
  GstBuffer* buf = gst_buffer_new_allocate(nullptr, info.size, nullptr);
  gst_buffer_memset(buf, 0, 0xA5, info.size);
  if (padStride > 0)
    gst_buffer_add_video_meta_full(buf, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_INFO_FORMAT(&info),
                                   GST_VIDEO_INFO_WIDTH(&info), GST_VIDEO_INFO_HEIGHT(&info),
                                   GST_VIDEO_INFO_N_PLANES(&info), info.offset, info.stride);
  GstVideoFrame f;
  BOOST_REQUIRE(gst_video_frame_map(&f, &info, buf, GST_MAP_WRITE));
  for (std::size_t k = 0; k < comps.size(); ++k) writeComp(&f, int(k), comps[k]);
  gst_video_frame_unmap(&f);
  GST_BUFFER_PTS(buf) = pts;
  GST_BUFFER_DURATION(buf) = GST_SECOND / 30;
  return buf;
}

// Every component of a buffer of format `info` (its GstVideoMeta's layout when it has one).
inline std::vector<cv::Mat> readBuffer(const GstVideoInfo& info, GstBuffer* buf) {
  GstVideoFrame f;
  BOOST_REQUIRE(gst_video_frame_map(&f, &info, buf, GST_MAP_READ));
  std::vector<cv::Mat> comps;
  for (guint k = 0; k < GST_VIDEO_INFO_N_COMPONENTS(&info); ++k)
    comps.push_back(readComp(&f, int(k)));
  gst_video_frame_unmap(&f);
  return comps;
}

inline std::string bytesOf(GstBuffer* b) {
  GstMapInfo m;
  BOOST_REQUIRE(gst_buffer_map(b, &m, GST_MAP_READ));
  std::string s(reinterpret_cast<const char*>(m.data), m.size);
  gst_buffer_unmap(b, &m);
  return s;
}

struct RoiBox {
  cv::Rect box;
  std::string type;
  bool hasScore = false;  // a "cae-anomaly" parameter with double score and int area
  double score = 0;
  int area = 0;
};

inline std::vector<RoiBox> roiMeta(GstBuffer* b) {
  std::vector<RoiBox> out;
  gpointer state = nullptr;
  while (GstMeta* m = gst_buffer_iterate_meta_filtered(
             b, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)) {
    auto* r = reinterpret_cast<GstVideoRegionOfInterestMeta*>(m);
    RoiBox box;
    box.box = cv::Rect(int(r->x), int(r->y), int(r->w), int(r->h));
    box.type = g_quark_to_string(r->roi_type);
    if (const GstStructure* p = gst_video_region_of_interest_meta_get_param(r, "cae-anomaly"))
      box.hasScore = gst_structure_get_double(p, "score", &box.score) &&
                     gst_structure_get_int(p, "area", &box.area);
    out.push_back(box);
  }
  return out;
}

using Structure = std::shared_ptr<GstStructure>;

// The backends the element suites run every test that puts frames through a model on, once each
// (the `backend` property's nicks). "onednn" must really run the model there: the tests check
// that `backend-in-use` reads what they asked for, so a silent fallback to OpenCV fails them.
inline const std::vector<std::string> kBackends = {"opencv", "onednn"};

// An element's launch description on `backend` (appended, so it wins over one in `launch`).
inline std::string onBackend(const std::string& launch, const std::string& backend) {
  return launch + " backend=" + backend;
}

// What `backend-in-use` must read on `backend` for a model the oneDNN translator covers: the
// backend asked for; in a build without oneDNN (meson -Donednn=false) the OpenCV fallback.
inline bool onednnBuilt() { return cae::infer::onednn::built(); }
inline std::string expectedInUse(const std::string& backend) {
  return backend == "onednn" && !onednnBuilt() ? "opencv" : backend;
}

// One element (a launch description: "caedenoise strength=0.5") in a GstHarness with src caps
// from `info`, and a bus that keeps its element messages.
class Element {
 public:
  Element(const std::string& launch, const GstVideoInfo& info)
      : info_(info), factory_(launch.substr(0, launch.find(' '))) {
    h_ = gst_harness_new_parse(launch.c_str());
    BOOST_REQUIRE_MESSAGE(h_, "cannot make a harness around " << launch);
    bus_ = gst_bus_new();
    gst_element_set_bus(h_->element, bus_);
    gst_harness_set_src_caps(h_, gst_video_info_to_caps(&info));
  }
  ~Element() {
    gst_harness_teardown(h_);
    gst_bus_set_flushing(bus_, TRUE);
    gst_object_unref(bus_);
  }
  Element(const Element&) = delete;
  Element& operator=(const Element&) = delete;

  GstHarness* harness() { return h_; }
  const GstVideoInfo& info() const { return info_; }

  // New src caps mid-stream (another size or format): buffers pushed from now on are of `info`.
  void setCaps(const GstVideoInfo& info) {
    info_ = info;
    gst_harness_set_src_caps(h_, gst_video_info_to_caps(&info_));
  }

  // A string property of the element ("" for NULL).
  std::string getString(const char* name) {
    GstElement* e = gst_harness_find_element(h_, factory_.c_str());
    BOOST_REQUIRE(e);
    gchar* v = nullptr;
    g_object_get(e, name, &v, nullptr);
    gst_object_unref(e);
    std::string s = v ? v : "";
    g_free(v);
    return s;
  }
  // The backend running the model ("" before it is loaded).
  std::string backendInUse() { return getString("backend-in-use"); }

  // The element itself (the harness holds it in a bin).
  template <class T>
  void set(const char* name, T value) {
    GstElement* e = gst_harness_find_element(h_, factory_.c_str());
    BOOST_REQUIRE(e);
    g_object_set(e, name, value, nullptr);
    gst_object_unref(e);
  }

  // Pushes one buffer and pulls what came out (nullptr when nothing did).
  GstBuffer* tryPush(GstBuffer* in) {
    if (gst_harness_push(h_, in) != GST_FLOW_OK) return nullptr;
    return gst_harness_try_pull(h_);
  }
  // A buffer made of comps, pushed; what came out (there must be a buffer).
  GstBuffer* push(const std::vector<cv::Mat>& comps, GstClockTime pts = 0, int padStride = 0) {
    GstBuffer* out = tryPush(makeBuffer(info_, comps, pts, padStride));
    BOOST_REQUIRE_MESSAGE(out, "the element gave no buffer");
    return out;
  }
  // The same, read back (every component) and released; the buffer flagged DISCONT if asked.
  std::vector<cv::Mat> pushRead(const std::vector<cv::Mat>& comps, GstClockTime pts,
                                bool discont = false) {
    GstBuffer* in = makeBuffer(info_, comps, pts);
    if (discont) GST_BUFFER_FLAG_SET(in, GST_BUFFER_FLAG_DISCONT);
    GstBuffer* out = tryPush(in);
    BOOST_REQUIRE_MESSAGE(out, "the element gave no buffer");
    std::vector<cv::Mat> r = readBuffer(info_, out);
    gst_buffer_unref(out);
    return r;
  }
  // An event into the element's sink (flush-start, a segment, ...).
  void event(GstEvent* e) { BOOST_REQUIRE(gst_harness_push_event(h_, e)); }

  // The element messages named `name` posted since the last call.
  std::vector<Structure> messages(const char* name = "cae-anomaly") {
    std::vector<Structure> v;
    while (GstMessage* m = gst_bus_pop_filtered(bus_, GST_MESSAGE_ELEMENT)) {
      const GstStructure* s = gst_message_get_structure(m);
      if (s && gst_structure_has_name(s, name))
        v.emplace_back(gst_structure_copy(s), gst_structure_free);
      gst_message_unref(m);
    }
    return v;
  }

 private:
  GstVideoInfo info_;
  std::string factory_;
  GstHarness* h_ = nullptr;
  GstBus* bus_ = nullptr;
};

struct PipelineRun {
  GstStateChangeReturn ret = GST_STATE_CHANGE_FAILURE;
  std::string error;  // "message | debug" of the first ERROR, "" if none
  std::vector<std::string> warnings;
  bool eos = false;
};

// "message | debug" of an ERROR or WARNING message.
inline std::string messageText(GstMessage* m) {
  GError* e = nullptr;
  gchar* dbg = nullptr;
  if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR)
    gst_message_parse_error(m, &e, &dbg);
  else
    gst_message_parse_warning(m, &e, &dbg);
  std::string text = std::string(e->message) + " | " + (dbg ? dbg : "");
  g_error_free(e);
  g_free(dbg);
  return text;
}

// Plays a launch line until its first ERROR or EOS (warnings on the way are kept).
inline PipelineRun play(const std::string& launch, GstClockTime timeout = 30 * GST_SECOND) {
  GError* err = nullptr;
  GstElement* p = gst_parse_launch(launch.c_str(), &err);
  BOOST_REQUIRE_MESSAGE(p && !err, "cannot parse " << launch);
  PipelineRun r;
  r.ret = gst_element_set_state(p, GST_STATE_PLAYING);
  if (r.ret == GST_STATE_CHANGE_ASYNC) r.ret = gst_element_get_state(p, nullptr, nullptr, timeout);
  GstBus* bus = gst_element_get_bus(p);
  while (GstMessage* m = gst_bus_timed_pop_filtered(
             bus, timeout,
             GstMessageType(GST_MESSAGE_ERROR | GST_MESSAGE_EOS | GST_MESSAGE_WARNING))) {
    const GstMessageType t = GST_MESSAGE_TYPE(m);
    if (t == GST_MESSAGE_ERROR) r.error = messageText(m);
    if (t == GST_MESSAGE_WARNING) r.warnings.push_back(messageText(m));
    r.eos = t == GST_MESSAGE_EOS;
    gst_message_unref(m);
    if (t != GST_MESSAGE_WARNING) break;
  }
  gst_object_unref(bus);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(p);
  return r;
}

// A short test stream of `format` frames into an element (a launch fragment with properties).
inline std::string testLaunch(const std::string& element, const std::string& format = "GRAY8") {
  return "videotestsrc num-buffers=2 ! video/x-raw,format=" + format + ",width=64,height=48 ! " +
         element + " ! fakesink";
}

// Model files that must fail the change to PAUSED, made from a good one: what each is and a
// piece of the error it must give.
struct BadModel {
  std::string name, path, expect;
};

inline std::vector<BadModel> brokenCopiesOf(const std::string& good) {
  const std::string bytes = slurp(good);
  const std::string invalid = "not a valid ONNX model";
  return {
      {"missing", (scratch() / "no-such-model.onnx").string(), "does not exist"},
      {"empty", writeBytes("empty.onnx", ""), invalid},
      {"truncated", writeBytes("truncated.onnx", bytes.substr(0, bytes.size() / 2)), invalid},
      {"truncated early", writeBytes("truncated2.onnx", bytes.substr(0, 40)), invalid},
      {"garbage", writeBytes("garbage.onnx", std::string(4096, '\x7f')), invalid},
  };
}

// Each bad model in `element model=<it>` fails the change to PAUSED with its error.
inline void expectStartFailures(const std::string& element, const std::vector<BadModel>& cases) {
  for (const BadModel& c : cases) {
    const PipelineRun r = play(testLaunch(element + " model=" + dq(c.path)));
    BOOST_TEST_MESSAGE(c.name << ": " << r.error);
    BOOST_TEST(r.ret == GST_STATE_CHANGE_FAILURE, c.name);
    BOOST_TEST(r.error.find(c.expect) != std::string::npos, c.name << ": " << r.error);
  }
}

// The latency an element reports after one frame, with `upstream` latency before it.
inline GstClockTime latencyAfterOneFrame(const std::string& launch, const GstVideoInfo& info,
                                         const std::vector<cv::Mat>& comps, GstClockTime upstream) {
  Element e(launch, info);
  gst_harness_set_upstream_latency(e.harness(), upstream);
  gst_buffer_unref(e.push(comps));
  const GstClockTime lat = gst_harness_query_latency(e.harness());
  BOOST_TEST_MESSAGE("reported latency " << double(lat) / GST_MSECOND << " ms");
  return lat;
}

// QoS: after downstream says a frame at 0 was 1 s late, a frame at 100 ms is dropped (not
// blocked) and one at 3 s passes. Pushes three frames of comps.
inline void expectLateFramesDropped(Element& e, const std::vector<cv::Mat>& comps) {
  gst_buffer_unref(e.push(comps, 0));
  BOOST_REQUIRE(gst_harness_push_upstream_event(
      e.harness(), gst_event_new_qos(GST_QOS_TYPE_UNDERFLOW, 0.5, GST_SECOND, 0)));
  BOOST_TEST(gst_harness_push(e.harness(), makeBuffer(e.info(), comps, 100 * GST_MSECOND)) ==
             GST_FLOW_OK);
  BOOST_TEST(gst_harness_try_pull(e.harness()) == nullptr);  // dropped, not blocked
  gst_buffer_unref(e.push(comps, 3 * GST_SECOND));
}

// A picture through `filesrc ! pngdec ! videoconvert ! <element> <tail>` with gst-launch-1.0 and
// no caps filter: the pipeline must run, and the element's sink must get one of `formats`.
struct Negotiation {
  std::string props, image;  // image: a skimage file
  std::vector<std::string> formats;
};

inline void expectNegotiated(const std::string& element, const std::string& tail,
                             const std::vector<Negotiation>& cases) {
  for (const Negotiation& c : cases) {
    std::string line = "filesrc location=" + quote(kSkimage + c.image);
    for (const std::string& part : {" ! pngdec ! videoconvert ! " + element, c.props, tail})
      line.append(" ").append(part);
    const Result r = launch(line);
    const std::string got = sinkFormat(r.out, element);
    BOOST_TEST_MESSAGE("gst-launch-1.0 " << line << ": rc " << r.rc << ", " << element << " got "
                                         << got);
    BOOST_TEST(r.rc == 0, line << "\n" << r.out);
    BOOST_TEST((std::find(c.formats.begin(), c.formats.end(), got) != c.formats.end()),
               line << ": " << got);
  }
}

}  // namespace cae::testing
