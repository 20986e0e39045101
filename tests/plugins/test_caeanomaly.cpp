// caeanomaly through GstHarness with real frames: a small anomaly model trained once per process
// by cae-train on brick texture (skimage brick.png, left three quarters), tested on crops of the
// right quarter it never saw, clean and with a pasted defect. Flagging, the cae-anomaly message,
// ROI meta, overlay, inference-interval, threshold, every format, odd sizes and padded strides,
// RGB models, LATENCY, QoS, and bad models failing with a clear GST_ELEMENT_ERROR.
#define BOOST_TEST_MODULE element_caeanomaly
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <string>
#include <vector>

#include "nn/layers/activation.hpp"
#include "nn/layers/conv2d.hpp"
#include "onnx/export.hpp"
#include "onnx/metadata.hpp"
#include "shell.hpp"
#include "train/architecture.hpp"

namespace fs = std::filesystem;

using namespace cae::testing;

namespace {

const std::string kSk = "/usr/lib/python3/dist-packages/skimage/data/";

struct GstInit {
  GstInit() { gst_init(nullptr, nullptr); }
};
BOOST_TEST_GLOBAL_FIXTURE(GstInit);

// One scratch folder per process, removed at exit (a function-local static, so it outlives
// every use).
struct Scratch {
  fs::path dir = fs::temp_directory_path() / ("cae_anomaly_test_" + std::to_string(::getpid()));
  Scratch() { fs::create_directories(dir); }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

fs::path scratch() {
  static Scratch s;
  return s.dir;
}

// Double-quoted for a gst-launch property value.
std::string dq(const std::string& s) { return '"' + s + '"'; }

cv::Mat brick() {
  cv::Mat b = cv::imread(kSk + "brick.png", cv::IMREAD_GRAYSCALE);
  BOOST_REQUIRE_MESSAGE(!b.empty(), "cannot read " << kSk << "brick.png");
  return b;
}

// A hand-made anomaly model for brick: output = clamp(input, darkest, brightest brick sample),
// as 1x1 conv (x - lo, x - hi) -> ReLU -> 1x1 conv (a - b + lo). It reconstructs every brick
// pixel exactly and nothing outside brick's range: pasted defects (darker, brighter) score.
std::string rangeModel(const fs::path& path, double& threshold) {
  double lo255, hi255;
  cv::minMaxLoc(brick(), &lo255, &hi255);
  const float lo = float(lo255 / 255), hi = float(hi255 / 255);
  cae::nn::Model m({1, 1, 32, 32});
  cae::nn::Conv2dOptions a;
  a.inChannels = 1;
  a.outChannels = 2;
  a.kernel = 1;
  const int c1 = m.add(std::make_unique<cae::nn::Conv2d>(a));
  m.add(std::make_unique<cae::nn::ReLU>());
  cae::nn::Conv2dOptions b;
  b.inChannels = 2;
  b.outChannels = 1;
  b.kernel = 1;
  const int c2 = m.add(std::make_unique<cae::nn::Conv2d>(b));
  m.compile();
  auto p = m.params();
  const float w1[] = {1, 1, -lo, -hi}, w2[] = {1, -1, lo};  // weights then biases
  for (int i = 0; i < 4; ++i) p[Eigen::Index(m.node(c1).paramOffset) + i] = w1[i];
  for (int i = 0; i < 3; ++i) p[Eigen::Index(m.node(c2).paramOffset) + i] = w2[i];
  threshold = 0.002;  // an error of ~11 grey levels over a few pixels
  cae::onnx::ExportOptions o;
  o.task = cae::onnx::Task::Anomaly;
  o.format = "GRAY8";
  o.anomaly = cae::anomaly::Decision{{cae::anomaly::MapKind::L2, 2.0}, threshold, 0.0, threshold / 4};
  cae::onnx::exportOnnx(m, path.string(), o);
  return path.string();
}

// The test model: cae-train --task anomaly on 128x128 tiles of brick's left three quarters (a
// third of them held out for validation and the threshold's calibration), once per process.
// Sanitizer builds (debug, ASan) train about a hundred times slower, too slow for a test; they
// use rangeModel() instead, which takes every code path of the element the trained model does.
struct WoodModel {
  std::string path;
  cae::onnx::ModelInfo info;
  WoodModel() {
#if defined(__SANITIZE_ADDRESS__)
    double t = 0;
    path = rangeModel(scratch() / "wood-range.onnx", t);
    BOOST_TEST_MESSAGE("sanitizer build: the hand-made brick range model, threshold " << t);
#else
    train();
#endif
    info = cae::onnx::readModelInfo(path);
    BOOST_REQUIRE(info.anomaly.threshold.has_value());
  }

  void train() {
    const char* exe = std::getenv("CAE_TRAIN_EXE");
    BOOST_REQUIRE_MESSAGE(exe, "CAE_TRAIN_EXE (the built cae-train) is not set");
    const fs::path tiles = scratch() / "brick-tiles";
    fs::create_directories(tiles);
    const cv::Mat b = brick();
    int k = 0;
    for (int y = 0; y + 128 <= b.rows; y += 128)
      for (int x = 0; x + 128 <= b.cols * 3 / 4; x += 128)
        cv::imwrite((tiles / ("tile" + std::to_string(k++) + ".png")).string(),
                    b(cv::Rect(x, y, 128, 128)));
    path = (scratch() / "wood.onnx").string();
    const auto t0 = std::chrono::steady_clock::now();
    const Result r = run(std::string(exe) + " " + quote(tiles.string()) +
                         " --task anomaly --arch conv --stem 2 --channels 16 --stages 3 --depth 1"
                         " --max-channels 64 --latent 16 --patch 64 --epochs 4 --steps 50 --batch 8"
                         " --val-fraction 0.34 --fpr 0 --calib-size 96 --anomaly-map l2"
                         " --map-sigma 2 --seed 3 -q --log - --loss-curve - -o " +
                         quote(path));
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    BOOST_REQUIRE_MESSAGE(r.rc == 0 && fs::exists(path), "cae-train failed:\n" << r.out);
    const cae::onnx::ModelInfo mi = cae::onnx::readModelInfo(path);
    BOOST_TEST_MESSAGE("test model trained in "
                       << sec << " s: threshold " << mi.anomaly.threshold.value_or(-1)
                       << ", calibration mean " << mi.anomaly.scoreMean << " std "
                       << mi.anomaly.scoreStd << ", map "
                       << cae::anomaly::mapKindName(mi.anomaly.map.map) << " sigma "
                       << mi.anomaly.map.smoothSigma);
  }
};

const WoodModel& wood() {
  static WoodModel m;
  return m;
}

std::string woodProp() { return "model=" + dq(wood().path); }

// A random residual conv autoencoder (not the identity), exported with the given metadata.
std::string randomModel(const std::string& name, int channels, cae::onnx::Task task,
                        std::optional<double> threshold, bool nameMap = true) {
  const fs::path path = scratch() / name;
  if (fs::exists(path)) return path.string();
  cae::train::ArchSpec s;
  s.kind = cae::train::ArchKind::Conv;
  s.channels = channels;
  s.height = s.width = 32;
  s.stem = 2;
  s.stages = 2;
  s.depth = 1;
  s.width0 = 8;
  s.maxChannels = 16;
  s.skips = true;
  s.residual = true;
  cae::train::BuiltModel b = cae::train::buildAutoencoder(s);
  cv::RNG rng(11);
  auto p = b.model.params();
  for (Eigen::Index i = 0; i < p.size(); ++i) p[i] = float(rng.gaussian(0.15));
  cae::onnx::ExportOptions o;
  o.task = task;
  o.format = channels == 3 ? "RGB" : "GRAY8";
  if (threshold && nameMap) {
    o.anomaly = cae::anomaly::Decision{{}, threshold, *threshold / 2, *threshold / 10};
  } else if (threshold) {  // the decision's keys but cae.anomaly_map (an older cae-train)
    o.extra = {{cae::onnx::key::kThreshold, cae::onnx::formatNumber(*threshold)},
               {cae::onnx::key::kScoreMean, cae::onnx::formatNumber(*threshold / 2)},
               {cae::onnx::key::kScoreStd, cae::onnx::formatNumber(*threshold / 10)}};
  }
  cae::onnx::exportOnnx(b.model, path.string(), o);
  return path.string();
}

// A crop of brick's right quarter (never trained on).
cv::Mat cleanFrame(int w = 128, int h = 96, int y0 = 200) {
  return brick()(cv::Rect(384, y0, w, h)).clone();
}

// The defect every case pastes: a dark blob with a bright scratch through it.
const cv::Rect kDefect(50, 38, 20, 20);

cv::Mat withDefect(const cv::Mat& clean) {
  cv::Mat d = clean.clone();
  const cv::Point c(kDefect.x + 10, kDefect.y + 10);
  cv::circle(d, c, 10, cv::Scalar::all(15), cv::FILLED, cv::LINE_AA);
  cv::line(d, c - cv::Point(9, 6), c + cv::Point(9, 6), cv::Scalar::all(250), 2, cv::LINE_AA);
  return d;
}

// The components of a gray picture in format fmt (R = G = B for RGB types, opaque alpha).
std::vector<cv::Mat> grayComps(GstVideoFormat fmt, const cv::Mat& g) {
  const GstVideoFormatInfo* fi = gst_video_format_get_info(fmt);
  if (GST_VIDEO_FORMAT_INFO_IS_GRAY(fi)) {
    if (GST_VIDEO_FORMAT_INFO_DEPTH(fi, 0) <= 8) return {g};
    cv::Mat w;
    g.convertTo(w, CV_16U, 257);
    return {w};
  }
  std::vector<cv::Mat> c = {g, g, g};
  if (GST_VIDEO_FORMAT_INFO_N_COMPONENTS(fi) == 4) c.push_back(cv::Mat(g.size(), CV_8U, 255));
  return c;
}

// The R, G, B (and opaque alpha) components of an RGB picture.
std::vector<cv::Mat> colourComps(GstVideoFormat fmt, const cv::Mat& rgb) {
  std::vector<cv::Mat> c;
  cv::split(rgb, c);
  if (GST_VIDEO_FORMAT_INFO_N_COMPONENTS(gst_video_format_get_info(fmt)) == 4)
    c.push_back(cv::Mat(rgb.size(), CV_8U, 255));
  return c;
}

cv::Mat astronaut(int w, int h) {
  cv::Mat bgr = cv::imread(kSk + "astronaut.png", cv::IMREAD_COLOR);
  BOOST_REQUIRE(!bgr.empty());
  cv::Mat rgb;
  cv::cvtColor(bgr(cv::Rect(100, 20, w, h)), rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

void writeComp(GstVideoFrame* f, int k, const cv::Mat& m) {
  const int w = GST_VIDEO_FRAME_COMP_WIDTH(f, k), h = GST_VIDEO_FRAME_COMP_HEIGHT(f, k);
  BOOST_REQUIRE(m.cols == w && m.rows == h);
  const int ps = GST_VIDEO_FRAME_COMP_PSTRIDE(f, k), rs = GST_VIDEO_FRAME_COMP_STRIDE(f, k);
  auto* base = static_cast<guint8*>(GST_VIDEO_FRAME_COMP_DATA(f, k));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      guint8* p = base + y * rs + x * ps;
      if (m.depth() == CV_16U) {
        const uint16_t v = m.at<uint16_t>(y, x);
        p[0] = guint8(v & 0xff);
        p[1] = guint8(v >> 8);
      } else {
        *p = m.at<uint8_t>(y, x);
      }
    }
}

GstVideoInfo videoInfo(GstVideoFormat fmt, int w, int h) {
  GstVideoInfo info;
  gst_video_info_set_format(&info, fmt, guint(w), guint(h));
  info.fps_n = 30;
  info.fps_d = 1;
  return info;
}

// A buffer of format `tight` whose components come from comps (tight layout, or with extra
// bytes per row when padStride > 0: then a GstVideoMeta carries the strides and offsets).
GstBuffer* makeBuffer(const GstVideoInfo& tight, const std::vector<cv::Mat>& comps,
                      GstClockTime pts = 0, int padStride = 0) {
  GstVideoInfo info = tight;
  if (padStride > 0) {
    GST_VIDEO_INFO_PLANE_STRIDE(&info, 0) += padStride;
    GST_VIDEO_INFO_PLANE_OFFSET(&info, 0) = 5;  // odd start too
    info.size = 5 + gsize(GST_VIDEO_INFO_PLANE_STRIDE(&info, 0)) * GST_VIDEO_INFO_HEIGHT(&info);
  }
  GstBuffer* buf = gst_buffer_new_allocate(nullptr, info.size, nullptr);
  gst_buffer_memset(buf, 0, 0xA5, info.size);  // padding bytes hold garbage
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

std::string bytesOf(GstBuffer* b) {
  GstMapInfo m;
  BOOST_REQUIRE(gst_buffer_map(b, &m, GST_MAP_READ));
  std::string s(reinterpret_cast<const char*>(m.data), m.size);
  gst_buffer_unmap(b, &m);
  return s;
}

// Component 0 (or k) of a tight buffer as an 8-bit matrix.
cv::Mat readComp(const GstVideoInfo& info, GstBuffer* buf, int k) {
  GstVideoFrame f;
  BOOST_REQUIRE(gst_video_frame_map(&f, &info, buf, GST_MAP_READ));
  const int w = GST_VIDEO_FRAME_COMP_WIDTH(&f, k), h = GST_VIDEO_FRAME_COMP_HEIGHT(&f, k);
  const int ps = GST_VIDEO_FRAME_COMP_PSTRIDE(&f, k), rs = GST_VIDEO_FRAME_COMP_STRIDE(&f, k);
  cv::Mat m(h, w, CV_8U);
  const auto* base = static_cast<const guint8*>(GST_VIDEO_FRAME_COMP_DATA(&f, k));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) m.at<uint8_t>(y, x) = base[y * rs + x * ps];
  gst_video_frame_unmap(&f);
  return m;
}

struct RoiBox {
  cv::Rect box;
  std::string type;
  bool hasScore = false;
  double score = 0;
  int area = 0;
};

std::vector<RoiBox> roiMeta(GstBuffer* b) {
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

// One caeanomaly in a GstHarness, with a bus that keeps its cae-anomaly messages.
class Element {
 public:
  Element(const std::string& props, const GstVideoInfo& info) : info_(info) {
    h_ = gst_harness_new_parse(("caeanomaly " + props).c_str());
    BOOST_REQUIRE(h_);
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

  template <class T>
  void set(const char* name, T value) {
    GstElement* e = gst_harness_find_element(h_, "caeanomaly");
    BOOST_REQUIRE(e);
    g_object_set(e, name, value, nullptr);
    gst_object_unref(e);
  }

  // Pushes one buffer and pulls what came out (nullptr when nothing did).
  GstBuffer* push(GstBuffer* in) {
    if (gst_harness_push(h_, in) != GST_FLOW_OK) return nullptr;
    return gst_harness_try_pull(h_);
  }
  GstBuffer* push(const std::vector<cv::Mat>& comps, GstClockTime pts = 0, int padStride = 0) {
    GstBuffer* out = push(makeBuffer(info_, comps, pts, padStride));
    BOOST_REQUIRE_MESSAGE(out, "caeanomaly gave no buffer");
    return out;
  }

  // The cae-anomaly messages posted since the last call.
  std::vector<Structure> messages() {
    std::vector<Structure> v;
    while (GstMessage* m = gst_bus_pop_filtered(bus_, GST_MESSAGE_ELEMENT)) {
      const GstStructure* s = gst_message_get_structure(m);
      if (s && gst_structure_has_name(s, "cae-anomaly"))
        v.emplace_back(gst_structure_copy(s), gst_structure_free);
      gst_message_unref(m);
    }
    return v;
  }

 private:
  GstVideoInfo info_;
  GstHarness* h_ = nullptr;
  GstBus* bus_ = nullptr;
};

double field(const Structure& s, const char* name) {
  double v = NAN;
  BOOST_REQUIRE_MESSAGE(gst_structure_get_double(s.get(), name, &v), "no double " << name);
  return v;
}

// The score of one frame (message-every-frame=true, one message expected).
double scoreOf(const std::string& props, const GstVideoInfo& info,
               const std::vector<cv::Mat>& comps, int padStride = 0) {
  Element e(props + " message-every-frame=true", info);
  gst_buffer_unref(e.push(comps, 0, padStride));
  const std::vector<Structure> m = e.messages();
  BOOST_REQUIRE_EQUAL(m.size(), 1u);
  return field(m[0], "score");
}

struct PipelineRun {
  GstStateChangeReturn ret = GST_STATE_CHANGE_FAILURE;
  std::string error;  // "message | debug" of the first ERROR, "" if none
  std::vector<std::string> warnings;
  bool eos = false;
};

// Plays a pipeline until ERROR or EOS.
PipelineRun play(const std::string& launch) {
  GError* err = nullptr;
  GstElement* p = gst_parse_launch(launch.c_str(), &err);
  BOOST_REQUIRE_MESSAGE(p && !err, "cannot parse " << launch);
  PipelineRun r;
  r.ret = gst_element_set_state(p, GST_STATE_PLAYING);
  if (r.ret == GST_STATE_CHANGE_ASYNC)
    r.ret = gst_element_get_state(p, nullptr, nullptr, 30 * GST_SECOND);
  GstBus* bus = gst_element_get_bus(p);
  while (GstMessage* m = gst_bus_timed_pop_filtered(
             bus, 30 * GST_SECOND,
             GstMessageType(GST_MESSAGE_ERROR | GST_MESSAGE_EOS | GST_MESSAGE_WARNING))) {
    const GstMessageType t = GST_MESSAGE_TYPE(m);
    if (t == GST_MESSAGE_ERROR || t == GST_MESSAGE_WARNING) {
      GError* e = nullptr;
      gchar* dbg = nullptr;
      if (t == GST_MESSAGE_ERROR)
        gst_message_parse_error(m, &e, &dbg);
      else
        gst_message_parse_warning(m, &e, &dbg);
      const std::string text = std::string(e->message) + " | " + (dbg ? dbg : "");
      if (t == GST_MESSAGE_ERROR)
        r.error = text;
      else
        r.warnings.push_back(text);
      g_error_free(e);
      g_free(dbg);
    }
    r.eos = t == GST_MESSAGE_EOS;
    gst_message_unref(m);
    if (t != GST_MESSAGE_WARNING) break;
  }
  gst_object_unref(bus);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(p);
  return r;
}

std::string grayLaunch(const std::string& props, const std::string& format = "GRAY8") {
  return "videotestsrc num-buffers=2 ! video/x-raw,format=" + format +
         ",width=64,height=48 ! caeanomaly " + props + " ! fakesink";
}

std::string writeBytes(const std::string& name, const std::string& bytes) {
  const fs::path p = scratch() / name;
  std::ofstream(p, std::ios::binary) << bytes;
  return p.string();
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

bool overlaps(const cv::Rect& a, const cv::Rect& b) { return (a & b).area() > 0; }

}  // namespace

BOOST_AUTO_TEST_CASE(a_clean_frame_is_not_flagged) {
  const double t = *wood().info.anomaly.threshold;
  const GstVideoInfo info = videoInfo(GST_VIDEO_FORMAT_GRAY8, 128, 96);
  for (int y0 : {0, 200, 400}) {
    Element e(woodProp() + " message-every-frame=true", info);
    GstBuffer* out = e.push(grayComps(GST_VIDEO_FORMAT_GRAY8, cleanFrame(128, 96, y0)));
    const std::vector<Structure> m = e.messages();
    BOOST_REQUIRE_EQUAL(m.size(), 1u);
    const double score = field(m[0], "score");
    gboolean flagged = TRUE;
    BOOST_TEST(gst_structure_get_boolean(m[0].get(), "is-anomaly", &flagged));
    BOOST_TEST_MESSAGE("clean crop at y " << y0 << ": score " << score << " = " << score / t
                                          << " x threshold");
    BOOST_TEST(score < 0.8 * t);
    BOOST_TEST(!flagged);
    BOOST_TEST(roiMeta(out).empty());
    gst_buffer_unref(out);
  }
  // Without message-every-frame a clean frame posts nothing.
  Element quiet(woodProp(), info);
  gst_buffer_unref(quiet.push(grayComps(GST_VIDEO_FORMAT_GRAY8, cleanFrame())));
  BOOST_TEST(quiet.messages().empty());
}

BOOST_AUTO_TEST_CASE(a_pasted_defect_is_flagged_with_message_and_roi_meta) {
  const cae::onnx::ModelInfo& mi = wood().info;
  const GstVideoInfo info = videoInfo(GST_VIDEO_FORMAT_GRAY8, 128, 96);
  Element e(woodProp(), info);
  const GstClockTime pts = 2 * GST_SECOND + 5 * GST_MSECOND;
  GstBuffer* out = e.push(grayComps(GST_VIDEO_FORMAT_GRAY8, withDefect(cleanFrame())), pts);
  const std::vector<Structure> m = e.messages();
  BOOST_REQUIRE_EQUAL(m.size(), 1u);
  GstStructure* s = m[0].get();
  gchar* text = gst_structure_to_string(s);
  BOOST_TEST_MESSAGE(text);
  g_free(text);
  const double score = field(m[0], "score");
  BOOST_TEST_MESSAGE("defect: score " << score << " = " << score / *mi.anomaly.threshold << " x threshold");
  BOOST_TEST(score > 1.5 * *mi.anomaly.threshold);
  BOOST_TEST(field(m[0], "threshold") == *mi.anomaly.threshold);
  BOOST_TEST(field(m[0], "z-score") == (score - mi.anomaly.scoreMean) / mi.anomaly.scoreStd,
             boost::test_tools::tolerance(1e-9));
  gboolean flagged = FALSE;
  BOOST_TEST(gst_structure_get_boolean(s, "is-anomaly", &flagged));
  BOOST_TEST(flagged);
  // Times under the harness's default TIME segment: running = stream = PTS.
  guint64 running = 0, stream = 0, ts = 0, frame = 99;
  BOOST_TEST(gst_structure_get_uint64(s, "running-time", &running));
  BOOST_TEST(gst_structure_get_uint64(s, "stream-time", &stream));
  BOOST_TEST(gst_structure_get_uint64(s, "timestamp", &ts));
  BOOST_TEST(gst_structure_get_uint64(s, "frame", &frame));
  BOOST_TEST(running == pts);
  BOOST_TEST(stream == pts);
  BOOST_TEST(ts == pts);
  BOOST_TEST(frame == 0u);
  // Regions: an array of region structures, one of them on the defect.
  const GValue* regions = gst_structure_get_value(s, "regions");
  BOOST_REQUIRE(regions);
  BOOST_REQUIRE(GST_VALUE_HOLDS_ARRAY(regions));
  const guint n = gst_value_array_get_size(regions);
  BOOST_TEST(n >= 1u);
  bool onDefect = false;
  for (guint i = 0; i < n; ++i) {
    const GValue* v = gst_value_array_get_value(regions, i);
    BOOST_REQUIRE(GST_VALUE_HOLDS_STRUCTURE(v));
    const GstStructure* r = gst_value_get_structure(v);
    BOOST_TEST(gst_structure_has_name(r, "region"));
    int x, y, w, h, area;
    double peak, mean;
    BOOST_REQUIRE(gst_structure_get(r, "x", G_TYPE_INT, &x, "y", G_TYPE_INT, &y, "width",
                                    G_TYPE_INT, &w, "height", G_TYPE_INT, &h, "area", G_TYPE_INT,
                                    &area, "score", G_TYPE_DOUBLE, &peak, "mean", G_TYPE_DOUBLE,
                                    &mean, nullptr));
    BOOST_TEST(area >= 16);  // min-region-area's default
    BOOST_TEST(area <= w * h);
    BOOST_TEST(peak > *mi.anomaly.threshold);
    BOOST_TEST(mean <= peak);
    if (overlaps(cv::Rect(x, y, w, h), kDefect)) onDefect = true;
  }
  BOOST_TEST(onDefect);
  // ROI meta: one per region, type "anomaly", with the score parameter.
  const std::vector<RoiBox> rois = roiMeta(out);
  BOOST_TEST(rois.size() == n);
  bool metaOnDefect = false;
  for (const RoiBox& r : rois) {
    BOOST_TEST(r.type == "anomaly");
    BOOST_TEST(r.hasScore);
    BOOST_TEST(r.score > *mi.anomaly.threshold);
    BOOST_TEST(r.area >= 16);
    if (overlaps(r.box, kDefect)) metaOnDefect = true;
  }
  BOOST_TEST(metaOnDefect);
  gst_buffer_unref(out);
}

// A model whose answer is known without training: brick reconstructs exactly, so a clean frame
// scores (nearly) 0 and only the pasted defect's pixels are above the threshold.
BOOST_AUTO_TEST_CASE(a_hand_made_range_model_flags_only_the_defect) {
  double t = 0;
  const std::string m = "model=" + dq(rangeModel(scratch() / "range.onnx", t));
  const GstVideoInfo info = videoInfo(GST_VIDEO_FORMAT_GRAY8, 128, 96);
  BOOST_TEST(scoreOf(m, info, {cleanFrame()}) < 1e-9);
  Element e(m, info);
  GstBuffer* out = e.push({withDefect(cleanFrame())});
  const std::vector<Structure> msgs = e.messages();
  BOOST_REQUIRE_EQUAL(msgs.size(), 1u);
  BOOST_TEST(field(msgs[0], "score") > 5 * t);
  const std::vector<RoiBox> rois = roiMeta(out);
  BOOST_REQUIRE_EQUAL(rois.size(), 1u);
  cv::Rect grown(kDefect.x - 8, kDefect.y - 8, kDefect.width + 16, kDefect.height + 16);
  BOOST_TEST((rois[0].box & grown) == rois[0].box);  // within the smoothing's reach
  BOOST_TEST(overlaps(rois[0].box, kDefect));
  gst_buffer_unref(out);
}

BOOST_AUTO_TEST_CASE(overlay_off_leaves_the_pixels_exactly) {
  const GstVideoInfo info = videoInfo(GST_VIDEO_FORMAT_GRAY8, 128, 96);
  Element e(woodProp(), info);
  GstBuffer* in = makeBuffer(info, grayComps(GST_VIDEO_FORMAT_GRAY8, withDefect(cleanFrame())));
  const std::string before = bytesOf(in);
  GstBuffer* out = e.push(in);
  BOOST_REQUIRE(out);
  BOOST_TEST(!roiMeta(out).empty());  // flagged
  BOOST_TEST((bytesOf(out) == before));
  gst_buffer_unref(out);
}

BOOST_AUTO_TEST_CASE(overlay_draws_only_on_flagged_frames_near_the_defect) {
  for (GstVideoFormat fmt : {GST_VIDEO_FORMAT_GRAY8, GST_VIDEO_FORMAT_BGRx}) {
    const GstVideoInfo info = videoInfo(fmt, 128, 96);
    Element e(woodProp() + " overlay=true", info);
    // Clean: untouched.
    GstBuffer* clean = makeBuffer(info, grayComps(fmt, cleanFrame()));
    const std::string cleanBytes = bytesOf(clean);
    GstBuffer* o1 = e.push(clean);
    BOOST_REQUIRE(o1);
    BOOST_TEST((bytesOf(o1) == cleanBytes), gst_video_format_to_string(fmt));
    gst_buffer_unref(o1);
    // Flagged: drawn, around the defect.
    const cv::Mat defect = withDefect(cleanFrame());
    GstBuffer* o2 = e.push(grayComps(fmt, defect));
    const cv::Mat c0 = readComp(info, o2, 0);
    cv::Mat changed = c0 != defect;
    if (fmt == GST_VIDEO_FORMAT_BGRx) {
      // Component 0 is R: the tint raises R and lowers G and B (the boxes are yellow).
      const cv::Mat g = readComp(info, o2, 1), b = readComp(info, o2, 2);
      changed |= (g != defect) | (b != defect);
      BOOST_TEST(cv::countNonZero((c0 >= defect) & (g < defect) & (b < defect)) > 50);
    } else {
      BOOST_TEST(cv::countNonZero(changed & (c0 < defect)) == 0);  // brighter only
    }
    const int n = cv::countNonZero(changed);
    cv::Rect near(kDefect.x - 20, kDefect.y - 20, kDefect.width + 40, kDefect.height + 40);
    cv::Mat far = changed.clone();
    far(near).setTo(0);
    BOOST_TEST_MESSAGE(gst_video_format_to_string(fmt)
                       << ": overlay changed " << n << " pixels, " << cv::countNonZero(far)
                       << " of them more than 20 px from the defect");
    BOOST_TEST(cv::countNonZero(changed(kDefect)) > 0);
    BOOST_TEST(n > 100);
    BOOST_TEST(cv::countNonZero(far) == 0);
    gst_buffer_unref(o2);
  }
}

BOOST_AUTO_TEST_CASE(inference_interval_analyses_every_nth_frame_from_the_first) {
  const GstVideoInfo info = videoInfo(GST_VIDEO_FORMAT_GRAY8, 128, 96);
  Element e(woodProp() + " inference-interval=3 message-every-frame=true overlay=true", info);
  const std::vector<cv::Mat> defect = grayComps(GST_VIDEO_FORMAT_GRAY8, withDefect(cleanFrame()));
  std::vector<guint64> frames;
  for (int i = 0; i < 8; ++i) {
    GstBuffer* in = makeBuffer(info, defect, GstClockTime(i) * GST_SECOND / 30);
    const std::string before = bytesOf(in);
    GstBuffer* out = e.push(in);
    BOOST_REQUIRE(out);
    const bool analysed = i % 3 == 0;
    BOOST_TEST(!roiMeta(out).empty() == analysed, "frame " << i);
    BOOST_TEST((bytesOf(out) == before) == !analysed, "frame " << i);
    gst_buffer_unref(out);
    for (const Structure& s : e.messages()) {
      guint64 f = 0;
      BOOST_TEST(gst_structure_get_uint64(s.get(), "frame", &f));
      frames.push_back(f);
    }
  }
  BOOST_TEST(frames == (std::vector<guint64>{0, 3, 6}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(threshold_property_overrides_the_model_and_changes_while_playing) {
  const double t = *wood().info.anomaly.threshold;
  const GstVideoInfo info = videoInfo(GST_VIDEO_FORMAT_GRAY8, 128, 96);
  // A frame the model does not flag, but does not reconstruct perfectly either (a small spot
  // just below brick's darkest value).
  cv::Mat mild = cleanFrame();
  mild(cv::Rect(30, 30, 3, 3)).setTo(60);
  const double c = scoreOf(woodProp(), info, grayComps(GST_VIDEO_FORMAT_GRAY8, mild));
  BOOST_TEST_MESSAGE("mild frame: score " << c << ", model threshold " << t);
  BOOST_REQUIRE(c > 0);
  BOOST_REQUIRE(c < t);
  {
    // A threshold below the model's flags it; the message reports the property's value.
    Element e(woodProp(), info);
    e.set("threshold", c / 2);
    GstBuffer* out = e.push(grayComps(GST_VIDEO_FORMAT_GRAY8, mild));
    const std::vector<Structure> m = e.messages();
    BOOST_REQUIRE_EQUAL(m.size(), 1u);
    BOOST_TEST(field(m[0], "threshold") == c / 2);
    BOOST_TEST(!roiMeta(out).empty());
    gst_buffer_unref(out);
  }
  {
    // From the launch line too; the score does not depend on it.
    Element e(woodProp() + " threshold=123.5 message-every-frame=true", info);
    gst_buffer_unref(e.push(grayComps(GST_VIDEO_FORMAT_GRAY8, mild)));
    const std::vector<Structure> m = e.messages();
    BOOST_REQUIRE_EQUAL(m.size(), 1u);
    BOOST_TEST(field(m[0], "threshold") == 123.5);
    BOOST_TEST(field(m[0], "score") == c);
  }
  // While playing: above the defect's score nothing is flagged; -1 returns to the model's.
  const std::vector<cv::Mat> defect = grayComps(GST_VIDEO_FORMAT_GRAY8, withDefect(cleanFrame()));
  Element e(woodProp(), info);
  gst_buffer_unref(e.push(defect, 0));
  const std::vector<Structure> first = e.messages();
  BOOST_REQUIRE_EQUAL(first.size(), 1u);
  const double s = field(first[0], "score");
  e.set("threshold", 1.1 * s);
  GstBuffer* out = e.push(defect, GST_SECOND / 30);
  BOOST_TEST(e.messages().empty());
  BOOST_TEST(roiMeta(out).empty());
  gst_buffer_unref(out);
  e.set("threshold", -1.0);
  gst_buffer_unref(e.push(defect, 2 * GST_SECOND / 30));
  const std::vector<Structure> again = e.messages();
  BOOST_REQUIRE_EQUAL(again.size(), 1u);
  BOOST_TEST(field(again[0], "threshold") == t);
}

BOOST_AUTO_TEST_CASE(times_follow_the_segment_and_are_none_without_a_timestamp) {
  const GstVideoInfo info = videoInfo(GST_VIDEO_FORMAT_GRAY8, 64, 48);
  const std::vector<cv::Mat> img = {cleanFrame(64, 48)};
  Element e(woodProp() + " message-every-frame=true", info);
  // A segment that starts at 1 s of a stream whose position there is 10 s.
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  seg.start = GST_SECOND;
  seg.time = 10 * GST_SECOND;
  BOOST_REQUIRE(gst_harness_push_event(e.harness(), gst_event_new_segment(&seg)));
  gst_buffer_unref(e.push(img, 3 * GST_SECOND));
  GstBuffer* none = makeBuffer(info, img);
  GST_BUFFER_PTS(none) = GST_CLOCK_TIME_NONE;
  gst_buffer_unref(e.push(none));
  const std::vector<Structure> m = e.messages();
  BOOST_REQUIRE_EQUAL(m.size(), 2u);
  guint64 running = 0, stream = 0, ts = 0, frame = 0;
  BOOST_REQUIRE(gst_structure_get(m[0].get(), "running-time", G_TYPE_UINT64, &running,
                                  "stream-time", G_TYPE_UINT64, &stream, "timestamp", G_TYPE_UINT64,
                                  &ts, "frame", G_TYPE_UINT64, &frame, nullptr));
  BOOST_TEST(ts == 3 * GST_SECOND);
  BOOST_TEST(running == 2 * GST_SECOND);
  BOOST_TEST(stream == 12 * GST_SECOND);
  BOOST_TEST(frame == 0u);
  BOOST_REQUIRE(gst_structure_get(m[1].get(), "running-time", G_TYPE_UINT64, &running,
                                  "stream-time", G_TYPE_UINT64, &stream, "timestamp", G_TYPE_UINT64,
                                  &ts, "frame", G_TYPE_UINT64, &frame, nullptr));
  BOOST_TEST(ts == GST_CLOCK_TIME_NONE);
  BOOST_TEST(running == GST_CLOCK_TIME_NONE);
  BOOST_TEST(stream == GST_CLOCK_TIME_NONE);
  BOOST_TEST(frame == 1u);
}

BOOST_AUTO_TEST_CASE(min_region_area_drops_small_regions) {
  const GstVideoInfo info = videoInfo(GST_VIDEO_FORMAT_GRAY8, 128, 96);
  Element e(woodProp() + " min-region-area=100000", info);
  GstBuffer* out = e.push(grayComps(GST_VIDEO_FORMAT_GRAY8, withDefect(cleanFrame())));
  const std::vector<Structure> m = e.messages();
  BOOST_REQUIRE_EQUAL(m.size(), 1u);  // still flagged: the score is the map's maximum
  BOOST_TEST(gst_value_array_get_size(gst_structure_get_value(m[0].get(), "regions")) == 0u);
  BOOST_TEST(roiMeta(out).empty());
  gst_buffer_unref(out);
}

BOOST_AUTO_TEST_CASE(every_format_gives_the_same_score_for_the_same_picture) {
  const double t = *wood().info.anomaly.threshold;
  const cv::Mat pictures[] = {cleanFrame(), withDefect(cleanFrame())};
  for (const cv::Mat& pic : pictures) {
    const double ref = scoreOf(woodProp(), videoInfo(GST_VIDEO_FORMAT_GRAY8, 128, 96),
                               grayComps(GST_VIDEO_FORMAT_GRAY8, pic));
    for (GstVideoFormat fmt : {GST_VIDEO_FORMAT_GRAY16_LE, GST_VIDEO_FORMAT_RGB,
                               GST_VIDEO_FORMAT_BGR, GST_VIDEO_FORMAT_RGBx, GST_VIDEO_FORMAT_BGRx,
                               GST_VIDEO_FORMAT_RGBA, GST_VIDEO_FORMAT_BGRA}) {
      const double s = scoreOf(woodProp(), videoInfo(fmt, 128, 96), grayComps(fmt, pic));
      BOOST_TEST_MESSAGE(gst_video_format_to_string(fmt) << ": " << s << " (GRAY8 " << ref << ")");
      BOOST_TEST(std::abs(s - ref) <= 1e-4 * std::max(ref, t));
    }
  }
  // A colour picture through a gray model: its BT.601 luma.
  const cv::Mat rgb = astronaut(96, 64);
  cv::Mat luma;
  cv::cvtColor(rgb, luma, cv::COLOR_RGB2GRAY);
  const double fromGray = scoreOf(woodProp(), videoInfo(GST_VIDEO_FORMAT_GRAY8, 96, 64), {luma});
  const double fromRgb = scoreOf(woodProp(), videoInfo(GST_VIDEO_FORMAT_RGB, 96, 64),
                                 colourComps(GST_VIDEO_FORMAT_RGB, rgb));
  BOOST_TEST_MESSAGE("astronaut: GRAY8 luma " << fromGray << ", RGB " << fromRgb);
  BOOST_TEST(fromRgb == fromGray, boost::test_tools::tolerance(0.03));
}

BOOST_AUTO_TEST_CASE(odd_sizes_and_padded_strides_give_the_packed_score) {
  const cv::Mat pic = withDefect(cleanFrame(128, 96))(cv::Rect(20, 15, 67, 45)).clone();
  for (GstVideoFormat fmt :
       {GST_VIDEO_FORMAT_GRAY8, GST_VIDEO_FORMAT_GRAY16_LE, GST_VIDEO_FORMAT_BGR}) {
    const GstVideoInfo info = videoInfo(fmt, 67, 45);
    const double packed = scoreOf(woodProp(), info, grayComps(fmt, pic));
    const double padded = scoreOf(woodProp(), info, grayComps(fmt, pic), 24);
    BOOST_TEST_MESSAGE(gst_video_format_to_string(fmt)
                       << " 67x45: packed " << packed << ", padded " << padded);
    BOOST_TEST(packed == padded);
    BOOST_TEST(packed > 0);
  }
  // Tiny frames pass through and are analysed.
  for (auto [w, h] : std::vector<std::pair<int, int>>{{1, 1}, {2, 3}, {5, 1}, {17, 33}}) {
    const cv::Mat tiny = cleanFrame()(cv::Rect(0, 0, w, h)).clone();
    for (GstVideoFormat fmt : {GST_VIDEO_FORMAT_GRAY8, GST_VIDEO_FORMAT_RGB}) {
      const double s = scoreOf(woodProp(), videoInfo(fmt, w, h), grayComps(fmt, tiny));
      BOOST_TEST(std::isfinite(s), w << "x" << h);
    }
  }
}

BOOST_AUTO_TEST_CASE(an_rgb_model_runs_on_rgb_caps_in_either_channel_order) {
  const std::string rgbModel =
      "model=" + dq(randomModel("random_rgb.onnx", 3, cae::onnx::Task::Anomaly, 0.05));
  const cv::Mat rgb = astronaut(64, 48);
  const double asRgb = scoreOf(rgbModel, videoInfo(GST_VIDEO_FORMAT_RGB, 64, 48),
                               colourComps(GST_VIDEO_FORMAT_RGB, rgb));
  const double asBgrx = scoreOf(rgbModel, videoInfo(GST_VIDEO_FORMAT_BGRx, 64, 48),
                                colourComps(GST_VIDEO_FORMAT_BGRx, rgb));
  cv::Mat swapped;
  cv::cvtColor(rgb, swapped, cv::COLOR_RGB2BGR);
  const double wrongOrder = scoreOf(rgbModel, videoInfo(GST_VIDEO_FORMAT_RGB, 64, 48),
                                    colourComps(GST_VIDEO_FORMAT_RGB, swapped));
  BOOST_TEST_MESSAGE("RGB model: RGB " << asRgb << ", BGRx " << asBgrx << ", R/B swapped "
                                       << wrongOrder);
  BOOST_TEST(asRgb == asBgrx);
  BOOST_TEST(std::abs(wrongOrder - asRgb) > 1e-3 * asRgb);
}

BOOST_AUTO_TEST_CASE(an_rgb_model_is_refused_for_gray_caps_at_negotiation) {
  const std::string rgb = randomModel("random_rgb.onnx", 3, cae::onnx::Task::Anomaly, 0.05);
  const PipelineRun r = play(grayLaunch("model=" + dq(rgb)));
  BOOST_TEST_MESSAGE(r.error);
  BOOST_TEST(r.error.find("3-channel (RGB)") != std::string::npos, r.error);
  BOOST_TEST(r.error.find("GRAY8") != std::string::npos, r.error);
}

BOOST_AUTO_TEST_CASE(bad_models_fail_the_change_to_paused_with_a_clear_error) {
  const std::string good = randomModel("random_gray.onnx", 1, cae::onnx::Task::Anomaly, 0.05);
  const std::string bytes = slurp(good);
  struct Case {
    std::string name, path, expect;
  };
  const std::vector<Case> cases = {
      {"missing", (scratch() / "no-such-model.onnx").string(), "does not exist"},
      {"empty", writeBytes("empty.onnx", ""), "not a valid ONNX model"},
      {"truncated", writeBytes("truncated.onnx", bytes.substr(0, bytes.size() / 2)),
       "not a valid ONNX model"},
      {"garbage", writeBytes("garbage.onnx", std::string(4096, '\x7f')), "not a valid ONNX model"},
      {"denoise model",
       randomModel("random_denoise.onnx", 1, cae::onnx::Task::Denoise, std::nullopt),
       "model for task 'denoise'"},
      {"no threshold",
       randomModel("random_uncalibrated.onnx", 1, cae::onnx::Task::Anomaly, std::nullopt),
       "no calibrated threshold (cae.threshold): set the threshold property, or retrain it with "
       "cae-train --task anomaly"},
  };
  for (const Case& c : cases) {
    const PipelineRun r = play(grayLaunch("model=" + dq(c.path)));
    BOOST_TEST_MESSAGE(c.name << ": " << r.error);
    BOOST_TEST(r.ret == GST_STATE_CHANGE_FAILURE, c.name);
    BOOST_TEST(r.error.find(c.expect) != std::string::npos, c.name << ": " << r.error);
  }
  // The same model runs.
  const PipelineRun ok = play(grayLaunch("model=" + dq(good)));
  BOOST_TEST(ok.error.empty(), ok.error);
  BOOST_TEST(ok.eos);
}

BOOST_AUTO_TEST_CASE(an_uncalibrated_model_runs_with_the_threshold_property) {
  const std::string m =
      randomModel("random_uncalibrated.onnx", 1, cae::onnx::Task::Anomaly, std::nullopt);
  const PipelineRun r = play(grayLaunch("model=" + dq(m) + " threshold=0.5"));
  BOOST_TEST(r.error.empty(), r.error);
  BOOST_TEST(r.eos);
  // A model that does not say what it is for runs too, with a warning.
  const std::string untasked =
      randomModel("random_untasked.onnx", 1, cae::onnx::Task::Unknown, 0.05);
  const PipelineRun u = play(grayLaunch("model=" + dq(untasked)));
  BOOST_TEST(u.error.empty(), u.error);
  BOOST_TEST(u.eos);
  BOOST_REQUIRE_EQUAL(u.warnings.size(), 1u);
  BOOST_TEST(u.warnings[0].find("no cae.task") != std::string::npos, u.warnings[0]);
  // A threshold without the map it belongs to runs with the documented default and a warning;
  // setting the threshold property silences it.
  const std::string unnamed =
      randomModel("random_unnamed_map.onnx", 1, cae::onnx::Task::Anomaly, 0.05, /*nameMap=*/false);
  const PipelineRun n = play(grayLaunch("model=" + dq(unnamed)));
  BOOST_TEST(n.error.empty(), n.error);
  BOOST_TEST(n.eos);
  BOOST_REQUIRE_EQUAL(n.warnings.size(), 1u);
  BOOST_TEST(n.warnings[0].find("no cae.anomaly_map") != std::string::npos, n.warnings[0]);
  const PipelineRun set = play(grayLaunch("model=" + dq(unnamed) + " threshold=0.05"));
  BOOST_TEST(set.warnings.empty());
}

BOOST_AUTO_TEST_CASE(latency_query_adds_the_analysis_time) {
  const GstVideoInfo info = videoInfo(GST_VIDEO_FORMAT_GRAY8, 320, 240);
  GstHarness* h = gst_harness_new_parse(("caeanomaly " + woodProp()).c_str());
  gst_harness_set_upstream_latency(h, 10 * GST_MSECOND);
  gst_harness_set_src_caps(h, gst_video_info_to_caps(&info));
  const cv::Mat frame = brick()(cv::Rect(0, 0, 320, 240)).clone();
  GstBuffer* in = makeBuffer(info, {frame});
  BOOST_REQUIRE(gst_harness_push(h, in) == GST_FLOW_OK);
  GstBuffer* out = gst_harness_try_pull(h);
  BOOST_REQUIRE(out);
  gst_buffer_unref(out);
  const GstClockTime lat = gst_harness_query_latency(h);
  BOOST_TEST_MESSAGE("reported latency " << double(lat) / GST_MSECOND << " ms");
  BOOST_TEST(lat > 10 * GST_MSECOND);
  BOOST_TEST(lat < 10 * GST_SECOND);
  gst_harness_teardown(h);
}

BOOST_AUTO_TEST_CASE(qos_drops_frames_that_are_already_late) {
  const GstVideoInfo info = videoInfo(GST_VIDEO_FORMAT_GRAY8, 64, 48);
  const std::vector<cv::Mat> img = {cleanFrame(64, 48)};
  Element e(woodProp() + " message-every-frame=true", info);
  gst_buffer_unref(e.push(img, 0));
  BOOST_REQUIRE(gst_harness_push_upstream_event(
      e.harness(), gst_event_new_qos(GST_QOS_TYPE_UNDERFLOW, 0.5, GST_SECOND, 0)));
  BOOST_TEST(gst_harness_push(e.harness(), makeBuffer(info, img, 100 * GST_MSECOND)) ==
             GST_FLOW_OK);
  BOOST_TEST(gst_harness_try_pull(e.harness()) == nullptr);  // dropped, not blocked
  GstBuffer* onTime = e.push(img, 3 * GST_SECOND);
  gst_buffer_unref(onTime);
  BOOST_TEST(e.messages().size() == 2u);  // the late frame was not analysed
}

BOOST_AUTO_TEST_CASE(properties_have_documented_defaults) {
  GstElement* e = gst_element_factory_make("caeanomaly", nullptr);
  BOOST_REQUIRE(e);
  gchar* model = nullptr;
  gdouble threshold = 0;
  guint interval = 0, minArea = 0;
  gboolean overlay = TRUE, every = TRUE;
  gint tile = -1;
  g_object_get(e, "model", &model, "threshold", &threshold, "inference-interval", &interval,
               "min-region-area", &minArea, "overlay", &overlay, "message-every-frame", &every,
               "tile-size", &tile, nullptr);
  BOOST_TEST(std::string(model).find("anomaly-wood-fast.onnx") != std::string::npos);
  BOOST_TEST(threshold == -1.0);
  BOOST_TEST(interval == 1u);
  BOOST_TEST(minArea == 16u);
  BOOST_TEST(!overlay);
  BOOST_TEST(!every);
  BOOST_TEST(tile == 0);
  for (const char* p : {"threshold", "overlay", "min-region-area", "message-every-frame"}) {
    GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(e), p);
    BOOST_REQUIRE(spec);
    BOOST_TEST((spec->flags & GST_PARAM_MUTABLE_PLAYING) != 0, p);
  }
  g_free(model);
  gst_object_unref(e);
}
