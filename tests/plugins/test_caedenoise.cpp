// caedenoise through GstHarness with real frames (skimage photographs): PSNR rises on a noisy
// image with the shipped default model, every caps format, odd sizes, padded strides, tiling
// without seams, strength 0 = the input exactly, LATENCY and QoS, and bad models / caps failing
// with a clear GST_ELEMENT_ERROR instead of a crash.
#define BOOST_TEST_MODULE element_caedenoise
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "onnx/export.hpp"
#include "train/architecture.hpp"

namespace fs = std::filesystem;

namespace {

const std::string kSk = "/usr/lib/python3/dist-packages/skimage/data/";

struct GstInit {
  GstInit() { gst_init(nullptr, nullptr); }
};
BOOST_TEST_GLOBAL_FIXTURE(GstInit);

// One scratch folder per process, removed at exit (a function-local static, so it outlives
// every use).
struct Scratch {
  fs::path dir = fs::temp_directory_path() / ("cae_element_test_" + std::to_string(::getpid()));
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

// A residual conv denoiser with random weights (not the identity): for geometry tests, where
// what matters is that every output pixel depends on a wide neighbourhood.
std::string randomModel(const std::string& name, int channels, cae::onnx::Task task, int stem = 2,
                        int stages = 2) {
  const fs::path path = scratch() / name;
  if (fs::exists(path)) return path.string();
  cae::train::ArchSpec s;
  s.kind = cae::train::ArchKind::Conv;
  s.channels = channels;
  s.height = s.width = 32;
  s.stem = stem;
  s.stages = stages;
  s.depth = 1;
  s.width0 = 8;
  s.maxChannels = 16;
  s.skips = true;
  s.residual = true;
  cae::train::BuiltModel b = cae::train::buildAutoencoder(s);
  cv::RNG rng(7);
  auto p = b.model.params();
  for (Eigen::Index i = 0; i < p.size(); ++i) p[i] = float(rng.gaussian(0.15));
  cae::onnx::ExportOptions o;
  o.task = task;
  o.format = channels == 3 ? "RGB" : "GRAY8";
  cae::onnx::exportOnnx(b.model, path.string(), o);
  return path.string();
}

cv::Mat grayImage(const std::string& file, int w, int h) {
  cv::Mat g = cv::imread(kSk + file, cv::IMREAD_GRAYSCALE);
  BOOST_REQUIRE_MESSAGE(!g.empty(), "cannot read " << kSk + file);
  return g(cv::Rect(0, 0, std::min(w, g.cols), std::min(h, g.rows))).clone();
}

cv::Mat addNoise(const cv::Mat& clean, double sigma, uint64 seed) {
  cv::Mat n(clean.size(), CV_MAKETYPE(CV_32F, clean.channels()));
  cv::RNG rng(seed);
  rng.fill(n, cv::RNG::NORMAL, 0, sigma);
  cv::Mat f, out;
  clean.convertTo(f, n.type());
  f += n;
  f.convertTo(out, clean.type());  // saturating: clipped
  return out;
}

double psnr(const cv::Mat& a, const cv::Mat& b, double peak = 255) { return cv::PSNR(a, b, peak); }

// Component k of a mapped frame as a CV_8U / CV_16U matrix (copied; stride-aware).
cv::Mat readComp(GstVideoFrame* f, int k) {
  const int w = GST_VIDEO_FRAME_COMP_WIDTH(f, k), h = GST_VIDEO_FRAME_COMP_HEIGHT(f, k);
  const int ps = GST_VIDEO_FRAME_COMP_PSTRIDE(f, k), rs = GST_VIDEO_FRAME_COMP_STRIDE(f, k);
  const bool wide = GST_VIDEO_FRAME_COMP_DEPTH(f, k) > 8;
  cv::Mat m(h, w, wide ? CV_16U : CV_8U);
  const auto* base = static_cast<const guint8*>(GST_VIDEO_FRAME_COMP_DATA(f, k));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const guint8* p = base + y * rs + x * ps;
      if (wide)
        m.at<uint16_t>(y, x) = uint16_t(p[0] | (p[1] << 8));
      else
        m.at<uint8_t>(y, x) = *p;
    }
  return m;
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

// A buffer of format `info` whose components come from comps (tight layout, or with extra
// bytes per row when padStride > 0: then a GstVideoMeta carries the strides and offsets).
GstBuffer* makeBuffer(const GstVideoInfo& tight, const std::vector<cv::Mat>& comps,
                      int padStride = 0) {
  GstVideoInfo info = tight;
  if (padStride > 0) {
    gsize offset = 0;
    for (guint p = 0; p < GST_VIDEO_INFO_N_PLANES(&info); ++p) {
      GST_VIDEO_INFO_PLANE_STRIDE(&info, p) += padStride;
      GST_VIDEO_INFO_PLANE_OFFSET(&info, p) = offset + 5;  // odd start too
      gint comp[GST_VIDEO_MAX_COMPONENTS];
      gst_video_format_info_component(info.finfo, p, comp);
      offset += 5 + gsize(GST_VIDEO_INFO_PLANE_STRIDE(&info, p)) *
                        GST_VIDEO_INFO_COMP_HEIGHT(&info, comp[0]);
    }
    info.size = offset;
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
  GST_BUFFER_PTS(buf) = 0;
  GST_BUFFER_DURATION(buf) = GST_SECOND / 30;
  return buf;
}

std::vector<cv::Mat> readBuffer(const GstVideoInfo& info, GstBuffer* buf) {
  GstVideoFrame f;
  BOOST_REQUIRE(gst_video_frame_map(&f, &info, buf, GST_MAP_READ));
  std::vector<cv::Mat> comps;
  for (guint k = 0; k < GST_VIDEO_INFO_N_COMPONENTS(&info); ++k)
    comps.push_back(readComp(&f, int(k)));
  gst_video_frame_unmap(&f);
  return comps;
}

GstVideoInfo videoInfo(GstVideoFormat fmt, int w, int h) {
  GstVideoInfo info;
  gst_video_info_set_format(&info, fmt, guint(w), guint(h));
  info.fps_n = 30;
  info.fps_d = 1;
  return info;
}

// The clean components of a real photograph in a given format (YUV via OpenCV's BT.601).
std::vector<cv::Mat> cleanComps(GstVideoFormat fmt, int w, int h) {
  cv::Mat rgb = cv::imread(kSk + "astronaut.png", cv::IMREAD_COLOR);
  BOOST_REQUIRE(!rgb.empty());
  rgb = rgb(cv::Rect(100, 20, w, h)).clone();
  cv::cvtColor(rgb, rgb, cv::COLOR_BGR2RGB);
  const GstVideoFormatInfo* fi = gst_video_format_get_info(fmt);
  std::vector<cv::Mat> c;
  if (GST_VIDEO_FORMAT_INFO_IS_RGB(fi)) {
    cv::split(rgb, c);
  } else if (GST_VIDEO_FORMAT_INFO_IS_GRAY(fi)) {
    cv::Mat g;
    cv::cvtColor(rgb, g, cv::COLOR_RGB2GRAY);
    if (GST_VIDEO_FORMAT_INFO_DEPTH(fi, 0) > 8) g.convertTo(g, CV_16U, 257);
    c.push_back(g);
  } else {
    cv::Mat ycrcb;
    cv::cvtColor(rgb, ycrcb, cv::COLOR_RGB2YCrCb);
    std::vector<cv::Mat> p;
    cv::split(ycrcb, p);
    cv::Mat u, v;
    const cv::Size half((w + 1) / 2, (h + 1) / 2);
    cv::resize(p[2], u, half, 0, 0, cv::INTER_AREA);
    cv::resize(p[1], v, half, 0, 0, cv::INTER_AREA);
    c = {p[0], u, v};
  }
  return c;
}

// A harness around one caedenoise with the given properties ("" = all defaults).
GstHarness* harness(const std::string& props, const GstVideoInfo& info) {
  GstHarness* h = gst_harness_new_parse(("caedenoise " + props).c_str());
  BOOST_REQUIRE(h);
  GstCaps* caps = gst_video_info_to_caps(&info);
  gst_harness_set_src_caps(h, caps);
  return h;
}

// Pushes one buffer and pulls the result (nullptr when nothing came out).
GstBuffer* pushPull(GstHarness* h, GstBuffer* in) {
  if (gst_harness_push(h, in) != GST_FLOW_OK) return nullptr;
  return gst_harness_try_pull(h);
}

std::vector<cv::Mat> roundTrip(const std::string& props, const GstVideoInfo& info,
                               const std::vector<cv::Mat>& comps, int padStride = 0) {
  GstHarness* h = harness(props, info);
  GstBuffer* out = pushPull(h, makeBuffer(info, comps, padStride));
  BOOST_REQUIRE_MESSAGE(out, "caedenoise " << props << " gave no buffer");
  std::vector<cv::Mat> r = readBuffer(info, out);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
  return r;
}

double maxAbsDiff(const cv::Mat& a, const cv::Mat& b) {
  double m;
  cv::Mat d;
  cv::absdiff(a, b, d);
  cv::minMaxLoc(d.reshape(1), nullptr, &m);
  return m;
}

// Sets a pipeline to PAUSED and returns the text of the first ERROR message ("" if none).
std::string pausedError(const std::string& launch, GstStateChangeReturn* ret = nullptr) {
  GError* err = nullptr;
  GstElement* p = gst_parse_launch(launch.c_str(), &err);
  BOOST_REQUIRE_MESSAGE(p && !err, "cannot parse " << launch);
  GstStateChangeReturn r = gst_element_set_state(p, GST_STATE_PLAYING);
  if (r == GST_STATE_CHANGE_ASYNC) r = gst_element_get_state(p, nullptr, nullptr, 30 * GST_SECOND);
  if (ret) *ret = r;
  std::string text;
  GstBus* bus = gst_element_get_bus(p);
  GstMessage* m = gst_bus_timed_pop_filtered(bus, 10 * GST_SECOND,
                                             GstMessageType(GST_MESSAGE_ERROR | GST_MESSAGE_EOS));
  if (m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
    GError* e = nullptr;
    gchar* dbg = nullptr;
    gst_message_parse_error(m, &e, &dbg);
    text = std::string(e->message) + " | " + (dbg ? dbg : "");
    g_error_free(e);
    g_free(dbg);
  }
  if (m) gst_message_unref(m);
  gst_object_unref(bus);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(p);
  return text;
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

}  // namespace

BOOST_AUTO_TEST_CASE(default_model_raises_psnr_on_a_noisy_photograph) {
  const cv::Mat clean = grayImage("camera.png", 512, 512);
  const cv::Mat noisy = addNoise(clean, 25, 1);
  const GstVideoInfo info = videoInfo(GST_VIDEO_FORMAT_GRAY8, 512, 512);
  const cv::Mat out = roundTrip("", info, {noisy})[0];
  const double before = psnr(noisy, clean), after = psnr(out, clean);
  BOOST_TEST_MESSAGE("camera.png sigma 25, shipped default model: PSNR " << before << " -> "
                                                                         << after << " dB");
  BOOST_TEST(after > before + 3.0);
}

BOOST_AUTO_TEST_CASE(every_format_is_denoised) {
  const int w = 96, h = 64;
  for (GstVideoFormat fmt : {GST_VIDEO_FORMAT_GRAY8, GST_VIDEO_FORMAT_GRAY16_LE,
                             GST_VIDEO_FORMAT_RGB, GST_VIDEO_FORMAT_BGR, GST_VIDEO_FORMAT_RGBx,
                             GST_VIDEO_FORMAT_BGRx, GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_NV12}) {
    const std::vector<cv::Mat> clean = cleanComps(fmt, w, h);
    std::vector<cv::Mat> noisy;
    for (std::size_t k = 0; k < clean.size(); ++k)
      noisy.push_back(addNoise(clean[k], clean[k].depth() == CV_16U ? 25 * 257 : 25, 10 + k));
    const GstVideoInfo info = videoInfo(fmt, w, h);
    const std::vector<cv::Mat> out = roundTrip("", info, noisy);
    BOOST_REQUIRE_EQUAL(out.size(), clean.size());
    for (std::size_t k = 0; k < clean.size(); ++k) {
      const double peak = clean[k].depth() == CV_16U ? 65535 : 255;
      const double before = psnr(noisy[k], clean[k], peak), after = psnr(out[k], clean[k], peak);
      BOOST_TEST_MESSAGE(gst_video_format_to_string(fmt)
                         << " component " << k << ": PSNR " << before << " -> " << after);
      BOOST_TEST(after > before + 1.0, gst_video_format_to_string(fmt) << " component " << k);
    }
  }
}

BOOST_AUTO_TEST_CASE(chroma_off_leaves_chroma_untouched) {
  const std::vector<cv::Mat> clean = cleanComps(GST_VIDEO_FORMAT_NV12, 64, 48);
  std::vector<cv::Mat> noisy;
  for (std::size_t k = 0; k < clean.size(); ++k) noisy.push_back(addNoise(clean[k], 20, 20 + k));
  const std::vector<cv::Mat> out =
      roundTrip("chroma=false", videoInfo(GST_VIDEO_FORMAT_NV12, 64, 48), noisy);
  BOOST_TEST(maxAbsDiff(out[0], noisy[0]) > 0);
  BOOST_TEST(maxAbsDiff(out[1], noisy[1]) == 0);
  BOOST_TEST(maxAbsDiff(out[2], noisy[2]) == 0);
}

BOOST_AUTO_TEST_CASE(odd_and_tiny_sizes) {
  for (auto [w, h] : std::vector<std::pair<int, int>>{{33, 17}, {17, 33}, {1, 1}, {2, 3}, {5, 1}}) {
    for (GstVideoFormat fmt : {GST_VIDEO_FORMAT_GRAY8, GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_NV12,
                               GST_VIDEO_FORMAT_RGB}) {
      const std::vector<cv::Mat> clean = cleanComps(fmt, w, h);
      std::vector<cv::Mat> noisy;
      for (std::size_t k = 0; k < clean.size(); ++k) noisy.push_back(addNoise(clean[k], 20, k));
      const std::vector<cv::Mat> out = roundTrip("", videoInfo(fmt, w, h), noisy);
      BOOST_REQUIRE_EQUAL(out.size(), clean.size());
      BOOST_TEST(out[0].cols == w);
      BOOST_TEST(out[0].rows == h);
      if (w * h >= 33 * 17) {
        BOOST_TEST_MESSAGE(w << "x" << h << " " << gst_video_format_to_string(fmt) << ": PSNR "
                             << psnr(noisy[0], clean[0]) << " -> " << psnr(out[0], clean[0]));
        BOOST_TEST(psnr(out[0], clean[0]) > psnr(noisy[0], clean[0]));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(padded_strides_give_the_same_pixels) {
  for (GstVideoFormat fmt :
       {GST_VIDEO_FORMAT_GRAY8, GST_VIDEO_FORMAT_GRAY16_LE, GST_VIDEO_FORMAT_RGBx,
        GST_VIDEO_FORMAT_BGR, GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_NV12}) {
    const int w = 37, h = 23;
    const std::vector<cv::Mat> clean = cleanComps(fmt, w, h);
    std::vector<cv::Mat> noisy;
    for (std::size_t k = 0; k < clean.size(); ++k)
      noisy.push_back(addNoise(clean[k], clean[k].depth() == CV_16U ? 5000 : 20, 30 + k));
    const GstVideoInfo info = videoInfo(fmt, w, h);
    const std::vector<cv::Mat> tight = roundTrip("", info, noisy);
    const std::vector<cv::Mat> padded = roundTrip("", info, noisy, 24);
    for (std::size_t k = 0; k < tight.size(); ++k)
      BOOST_TEST(maxAbsDiff(tight[k], padded[k]) == 0, gst_video_format_to_string(fmt)
                                                           << " component " << k);
  }
}

BOOST_AUTO_TEST_CASE(tiles_leave_no_seams) {
  const std::string model = randomModel("random_gray.onnx", 1, cae::onnx::Task::Denoise);
  cv::Mat clean = grayImage("coins.png", 150, 130);
  cv::Mat wide;
  clean.convertTo(wide, CV_16U, 257);
  const GstVideoInfo info = videoInfo(GST_VIDEO_FORMAT_GRAY16_LE, 150, 130);
  const cv::Mat whole = roundTrip("model=" + model, info, {wide})[0];
  for (int tile : {32, 48}) {
    const cv::Mat tiled =
        roundTrip("model=" + model + " tile-size=" + std::to_string(tile), info, {wide})[0];
    const double d = maxAbsDiff(whole, tiled) / 65535.0;
    BOOST_TEST_MESSAGE("tile-size " << tile << ": max |tiled - whole| = " << d);
    BOOST_TEST(d <= 1e-3);
  }
  // The model really does something (else equality would be trivial).
  BOOST_TEST(maxAbsDiff(whole, wide) > 1000);
}

BOOST_AUTO_TEST_CASE(strength_zero_returns_the_input_exactly) {
  for (GstVideoFormat fmt :
       {GST_VIDEO_FORMAT_GRAY8, GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_BGRx}) {
    const std::vector<cv::Mat> clean = cleanComps(fmt, 64, 48);
    std::vector<cv::Mat> noisy;
    for (std::size_t k = 0; k < clean.size(); ++k) noisy.push_back(addNoise(clean[k], 25, 40 + k));
    const GstVideoInfo info = videoInfo(fmt, 64, 48);
    GstHarness* h = harness("strength=0", info);
    GstBuffer* in = makeBuffer(info, noisy);
    GstMapInfo a;
    gst_buffer_map(in, &a, GST_MAP_READ);
    const std::string inBytes(reinterpret_cast<const char*>(a.data), a.size);
    gst_buffer_unmap(in, &a);
    GstBuffer* out = pushPull(h, in);
    BOOST_REQUIRE(out);
    GstMapInfo b;
    gst_buffer_map(out, &b, GST_MAP_READ);
    BOOST_TEST((std::string(reinterpret_cast<const char*>(b.data), b.size) == inBytes));
    gst_buffer_unmap(out, &b);
    gst_buffer_unref(out);
    gst_harness_teardown(h);
  }
}

BOOST_AUTO_TEST_CASE(strength_blends_between_input_and_model) {
  const cv::Mat noisy = addNoise(grayImage("camera.png", 128, 96), 25, 3);
  const GstVideoInfo info = videoInfo(GST_VIDEO_FORMAT_GRAY8, 128, 96);
  const cv::Mat full = roundTrip("strength=1", info, {noisy})[0];
  const cv::Mat half = roundTrip("strength=0.5", info, {noisy})[0];
  cv::Mat expect;
  cv::addWeighted(full, 0.5, noisy, 0.5, 0, expect);
  BOOST_TEST(maxAbsDiff(half, expect) <= 1.0);  // rounding of the blend vs of the two halves
  BOOST_TEST(maxAbsDiff(half, noisy) > 5);
}

BOOST_AUTO_TEST_CASE(bad_models_fail_the_change_to_paused_with_a_clear_error) {
  const std::string good = randomModel("random_gray.onnx", 1, cae::onnx::Task::Denoise);
  const std::string bytes = slurp(good);
  const std::string anomaly = randomModel("random_anomaly.onnx", 1, cae::onnx::Task::Anomaly);
  struct Case {
    std::string name, path, expect;
  };
  const std::vector<Case> cases = {
      {"missing", (scratch() / "no-such-model.onnx").string(), "does not exist"},
      {"empty", writeBytes("empty.onnx", ""), "not a valid ONNX model"},
      {"truncated", writeBytes("truncated.onnx", bytes.substr(0, bytes.size() / 2)),
       "not a valid ONNX model"},
      {"truncated early", writeBytes("truncated2.onnx", bytes.substr(0, 40)),
       "not a valid ONNX model"},
      {"garbage", writeBytes("garbage.onnx", std::string(4096, '\x7f')), "not a valid ONNX model"},
      {"wrong task", anomaly, "model for task 'anomaly'"},
  };
  for (const Case& c : cases) {
    GstStateChangeReturn r;
    const std::string err = pausedError(
        "videotestsrc num-buffers=2 ! video/x-raw,format=GRAY8,width=64,height=48 ! caedenoise "
        "model=\"" +
            c.path + "\" ! fakesink",
        &r);
    BOOST_TEST_MESSAGE(c.name << ": " << err);
    BOOST_TEST(r == GST_STATE_CHANGE_FAILURE, c.name);
    BOOST_TEST(err.find(c.expect) != std::string::npos, c.name << ": " << err);
  }
}

BOOST_AUTO_TEST_CASE(an_rgb_model_is_refused_for_gray_caps_at_negotiation) {
  const std::string rgb = randomModel("random_rgb.onnx", 3, cae::onnx::Task::Denoise);
  const std::string err = pausedError(
      "videotestsrc num-buffers=2 ! video/x-raw,format=GRAY8,width=64,height=48 ! caedenoise "
      "model=\"" +
      rgb + "\" ! fakesink");
  BOOST_TEST_MESSAGE(err);
  BOOST_TEST(err.find("3-channel (RGB)") != std::string::npos, err);
  BOOST_TEST(err.find("GRAY8") != std::string::npos, err);
  // The same model runs on RGB caps.
  const std::vector<cv::Mat> clean = cleanComps(GST_VIDEO_FORMAT_RGB, 40, 30);
  const std::vector<cv::Mat> out =
      roundTrip("model=" + rgb, videoInfo(GST_VIDEO_FORMAT_RGB, 40, 30), clean);
  BOOST_TEST(out.size() == 3u);
}

BOOST_AUTO_TEST_CASE(latency_query_adds_the_processing_time) {
  const GstVideoInfo info = videoInfo(GST_VIDEO_FORMAT_GRAY8, 320, 240);
  GstHarness* h = gst_harness_new_parse("caedenoise");
  gst_harness_set_upstream_latency(h, 10 * GST_MSECOND);
  gst_harness_set_src_caps(h, gst_video_info_to_caps(&info));
  GstBuffer* out = pushPull(h, makeBuffer(info, {grayImage("camera.png", 320, 240)}));
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
  const cv::Mat img = grayImage("camera.png", 64, 48);
  GstHarness* h = harness("", info);
  GstBuffer* b0 = makeBuffer(info, {img});
  GstBuffer* o0 = pushPull(h, b0);
  BOOST_REQUIRE(o0);
  gst_buffer_unref(o0);
  // Downstream says: a frame at 0 was 1 s late, so anything before ~1 s is useless.
  BOOST_REQUIRE(gst_harness_push_upstream_event(
      h, gst_event_new_qos(GST_QOS_TYPE_UNDERFLOW, 0.5, GST_SECOND, 0)));
  GstBuffer* late = makeBuffer(info, {img});
  GST_BUFFER_PTS(late) = 100 * GST_MSECOND;
  BOOST_TEST(gst_harness_push(h, late) == GST_FLOW_OK);
  BOOST_TEST(gst_harness_try_pull(h) == nullptr);  // dropped, not blocked
  GstBuffer* onTime = makeBuffer(info, {img});
  GST_BUFFER_PTS(onTime) = 3 * GST_SECOND;
  GstBuffer* o = pushPull(h, onTime);
  BOOST_TEST(o != nullptr);
  if (o) gst_buffer_unref(o);
  gst_harness_teardown(h);
}

// `meson install` puts the plugin and the models where the plugin's default model path points:
// installed into a DESTDIR, the plugin loads and its default model file exists there.
BOOST_AUTO_TEST_CASE(meson_install_puts_the_plugin_and_its_default_model_in_place) {
  const char* pp = std::getenv("GST_PLUGIN_PATH");
  BOOST_REQUIRE_MESSAGE(pp, "GST_PLUGIN_PATH (the build tree's plugins/) is not set");
  const fs::path build = fs::path(pp).parent_path(), dest = scratch() / "destdir";
  const fs::path log = scratch() / "install.log";
  const std::string cmd = "meson install -C '" + build.string() + "' --no-rebuild --destdir '" +
                          dest.string() + "' > '" + log.string() + "' 2>&1";
  BOOST_REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0,
                        "meson install failed: " << slurp(log.string()));
  fs::path plugin, model;
  for (const auto& e : fs::recursive_directory_iterator(dest)) {
    if (e.path().filename() == "libgstcae.so") plugin = e.path();
    if (e.path().filename() == "denoise-fast.onnx") model = e.path();
  }
  BOOST_REQUIRE_MESSAGE(!plugin.empty(), "no libgstcae.so installed");
  BOOST_REQUIRE_MESSAGE(!model.empty(), "no denoise-fast.onnx installed");
  BOOST_TEST(fs::exists(model.parent_path() / "denoise-gray.onnx"));
  BOOST_TEST(fs::exists(model.parent_path() / "denoise-fast.md"));
  BOOST_TEST(plugin.parent_path().filename() == "gstreamer-1.0");
  // The default `model` names the installed file (without the DESTDIR).
  GstElement* e = gst_element_factory_make("caedenoise", nullptr);
  BOOST_REQUIRE(e);
  gchar* def = nullptr;
  g_object_get(e, "model", &def, nullptr);
  const std::string installed = "/" + fs::relative(model, dest).string();
  BOOST_TEST(std::string(def) == installed);
  g_free(def);
  gst_object_unref(e);
  // The installed plugin loads on its own.
  const std::string inspect = "GST_PLUGIN_PATH='" + plugin.parent_path().string() +
                              "' GST_REGISTRY='" + (scratch() / "inst.reg").string() +
                              "' gst-inspect-1.0 '" + plugin.string() + "' > '" + log.string() +
                              "' 2>&1";
  BOOST_TEST(std::system(inspect.c_str()) == 0);
  BOOST_TEST(slurp(log.string()).find("caedenoise") != std::string::npos, slurp(log.string()));
}

BOOST_AUTO_TEST_CASE(properties_have_documented_defaults) {
  GstElement* e = gst_element_factory_make("caedenoise", nullptr);
  BOOST_REQUIRE(e);
  gchar* model = nullptr;
  gdouble strength = 0;
  gint tile = -1;
  g_object_get(e, "model", &model, "strength", &strength, "tile-size", &tile, nullptr);
  BOOST_TEST(std::string(model).find("denoise-") != std::string::npos);
  BOOST_TEST(strength == 1.0);
  BOOST_TEST(tile == 0);
  g_free(model);
  gst_object_unref(e);
}
