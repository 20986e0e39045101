// caedenoise through GstHarness with real frames (skimage photographs): PSNR rises on a noisy
// image with the shipped default model, every caps format, odd sizes, padded strides, tiling
// without seams, strength 0 = the input exactly, LATENCY and QoS, and bad models / caps failing
// with a clear GST_ELEMENT_ERROR instead of a crash.
#define BOOST_TEST_MODULE element_caedenoise
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "harness.hpp"
#include "infer/engine.hpp"

namespace fs = std::filesystem;
using namespace cae::testing;

BOOST_TEST_GLOBAL_FIXTURE(GstInit);

namespace {

// A residual conv model with random weights for `task` (a denoiser unless said otherwise).
std::string randomModel(const std::string& name, int channels,
                        cae::onnx::Task task = cae::onnx::Task::Denoise) {
  cae::onnx::ExportOptions o;
  o.task = task;
  return cae::testing::randomModel(name, channels, o, 7);
}

cv::Mat grayImage(const std::string& file, int w, int h) {
  cv::Mat g = cv::imread(kSkimage + file, cv::IMREAD_GRAYSCALE);
  BOOST_REQUIRE_MESSAGE(!g.empty(), "cannot read " << kSkimage + file);
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

// The clean components of a real photograph in a given format (YUV via OpenCV's BT.601).
std::vector<cv::Mat> cleanComps(GstVideoFormat fmt, int w, int h) {
  cv::Mat rgb = cv::imread(kSkimage + "astronaut.png", cv::IMREAD_COLOR);
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

// One frame through a caedenoise with the given properties ("" = all defaults).
std::vector<cv::Mat> roundTrip(const std::string& props, const GstVideoInfo& info,
                               const std::vector<cv::Mat>& comps, int padStride = 0) {
  Element e("caedenoise " + props, info);
  GstBuffer* out = e.push(comps, 0, padStride);
  std::vector<cv::Mat> r = readBuffer(info, out);
  gst_buffer_unref(out);
  return r;
}

double maxAbsDiff(const cv::Mat& a, const cv::Mat& b) {
  double m;
  cv::Mat d;
  cv::absdiff(a, b, d);
  cv::minMaxLoc(d.reshape(1), nullptr, &m);
  return m;
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
  const std::string model = randomModel("random_gray.onnx", 1);
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

// tile-size=1 once cut a 512x512 frame into 16,384 tiles (14 s a frame): sizes below the
// model's smallest useful tile are raised to it, with a warning, and give that tile's pixels.
BOOST_AUTO_TEST_CASE(tile_sizes_below_the_smallest_useful_tile_are_raised_to_it) {
  GstElement* probe = gst_element_factory_make("caedenoise", nullptr);
  gchar* path = nullptr;
  g_object_get(probe, "model", &path, nullptr);
  cae::infer::EngineOptions o;
  o.model = path;
  g_free(path);
  gst_object_unref(probe);
  const int min = cae::infer::Engine(o).minTileSize();
  const PipelineRun r = play(testLaunch("caedenoise tile-size=1"));
  BOOST_TEST(r.error.empty(), r.error);
  BOOST_TEST(r.eos);
  BOOST_REQUIRE_EQUAL(r.warnings.size(), 1u);
  BOOST_TEST(r.warnings[0].find("smallest useful tile") != std::string::npos, r.warnings[0]);
  BOOST_TEST(r.warnings[0].find("using " + std::to_string(min)) != std::string::npos);
  const GstVideoInfo info = videoInfo(GST_VIDEO_FORMAT_GRAY8, 512, 512);
  const cv::Mat noisy = addNoise(grayImage("camera.png", 512, 512), 25, 4);
  const cv::Mat one = roundTrip("tile-size=1", info, {noisy})[0];
  const cv::Mat raised = roundTrip("tile-size=" + std::to_string(min), info, {noisy})[0];
  BOOST_TEST_MESSAGE("tile-size 1 raised to " << min);
  BOOST_TEST(maxAbsDiff(one, raised) == 0);
}

BOOST_AUTO_TEST_CASE(strength_zero_returns_the_input_exactly) {
  for (GstVideoFormat fmt :
       {GST_VIDEO_FORMAT_GRAY8, GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_BGRx}) {
    const std::vector<cv::Mat> clean = cleanComps(fmt, 64, 48);
    std::vector<cv::Mat> noisy;
    for (std::size_t k = 0; k < clean.size(); ++k) noisy.push_back(addNoise(clean[k], 25, 40 + k));
    const GstVideoInfo info = videoInfo(fmt, 64, 48);
    Element e("caedenoise strength=0", info);
    GstBuffer* in = makeBuffer(info, noisy);
    const std::string inBytes = bytesOf(in);
    GstBuffer* out = e.tryPush(in);
    BOOST_REQUIRE(out);
    BOOST_TEST((bytesOf(out) == inBytes));
    gst_buffer_unref(out);
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
  std::vector<BadModel> cases = brokenCopiesOf(randomModel("random_gray.onnx", 1));
  cases.push_back({"wrong task", randomModel("random_anomaly.onnx", 1, cae::onnx::Task::Anomaly),
                   "model for task 'anomaly'"});
  expectStartFailures("caedenoise", cases);
}

BOOST_AUTO_TEST_CASE(an_rgb_model_is_refused_for_gray_caps_at_negotiation) {
  const std::string rgb = randomModel("random_rgb.onnx", 3);
  const std::string err = play(testLaunch("caedenoise model=" + dq(rgb))).error;
  BOOST_TEST_MESSAGE(err);
  BOOST_TEST(err.find("3-channel (RGB)") != std::string::npos, err);
  BOOST_TEST(err.find("GRAY8") != std::string::npos, err);
  // The same model runs on RGB caps.
  const std::vector<cv::Mat> clean = cleanComps(GST_VIDEO_FORMAT_RGB, 40, 30);
  const std::vector<cv::Mat> out =
      roundTrip("model=" + rgb, videoInfo(GST_VIDEO_FORMAT_RGB, 40, 30), clean);
  BOOST_TEST(out.size() == 3u);
}

// Caps come from the model: behind a plain videoconvert a gray model takes the gray, YUV or RGB
// format nearest the input (each of R, G, B denoised) and an RGB model an RGB type.
BOOST_AUTO_TEST_CASE(videoconvert_negotiates_what_the_model_takes_with_no_caps_filter) {
  const std::string rgb = "model=" + quote(randomModel("random_rgb.onnx", 3));
  const std::vector<std::string> rgbTypes = {"RGB", "BGR", "RGBx", "BGRx"};
  expectNegotiated("caedenoise", "! videoconvert ! fakesink",
                   {{"", "camera.png", {"GRAY8"}},
                    {"", "astronaut.png", {"RGB"}},
                    {rgb, "camera.png", rgbTypes},
                    {rgb, "astronaut.png", {"RGB"}}});
}

// The formats the sink offers an asker that could give any (as videoconvert asks), by model.
std::vector<std::string> offered(const std::string& props) {
  GstElement* e = gst_element_factory_make("caedenoise", nullptr);
  if (!props.empty()) g_object_set(e, "model", props.c_str(), nullptr);
  GstPad* sink = gst_element_get_static_pad(e, "sink");
  GstCaps* any = gst_caps_from_string(
      "video/x-raw, format={ GRAY8, GRAY16_LE, I420, NV12, RGB, BGR, RGBx, BGRx, AYUV, RGBA }");
  GstCaps* caps = gst_pad_query_caps(sink, any);
  std::vector<std::string> formats;
  for (guint i = 0; i < gst_caps_get_size(caps); ++i) {
    const GValue* f = gst_structure_get_value(gst_caps_get_structure(caps, i), "format");
    if (G_VALUE_HOLDS_STRING(f)) formats.emplace_back(g_value_get_string(f));
    for (guint k = 0; GST_VALUE_HOLDS_LIST(f) && k < gst_value_list_get_size(f); ++k)
      formats.emplace_back(g_value_get_string(gst_value_list_get_value(f, k)));
  }
  gst_caps_unref(caps);
  gst_caps_unref(any);
  gst_object_unref(sink);
  gst_object_unref(e);
  return formats;
}

BOOST_AUTO_TEST_CASE(caps_queries_offer_only_what_the_model_takes) {
  const std::vector<std::string> gray = offered(""),
                                 rgb = offered(randomModel("random_rgb.onnx", 3));
  const std::vector<std::string> rgbTypes = {"RGB", "BGR", "RGBx", "BGRx"};
  BOOST_TEST(rgb == rgbTypes, boost::test_tools::per_element());
  const std::vector<std::string> grayFirst = {"GRAY8", "GRAY16_LE", "I420", "NV12",
                                              "RGB",   "BGR",       "RGBx", "BGRx"};
  BOOST_TEST(gray == grayFirst, boost::test_tools::per_element());
}

// `model` reads back the file the running element loaded, and a set value as it was set.
BOOST_AUTO_TEST_CASE(model_reads_back_the_file_loaded) {
  Element e("caedenoise", videoInfo(GST_VIDEO_FORMAT_GRAY8, 64, 48));
  gst_buffer_unref(e.push({grayImage("camera.png", 64, 48)}));
  GstElement* el = gst_harness_find_element(e.harness(), "caedenoise");
  gchar* loaded = nullptr;
  g_object_get(el, "model", &loaded, nullptr);
  BOOST_TEST(fs::path(loaded).filename() == "denoise-fast.onnx");
  BOOST_TEST(fs::exists(loaded), loaded);
  g_free(loaded);
  gst_object_unref(el);
  const std::string rgb = randomModel("random_rgb.onnx", 3);
  GstElement* fresh = gst_element_factory_make("caedenoise", nullptr);
  g_object_set(fresh, "model", rgb.c_str(), nullptr);
  gchar* set = nullptr;
  g_object_get(fresh, "model", &set, nullptr);
  BOOST_TEST(std::string(set) == rgb);
  g_free(set);
  gst_object_unref(fresh);
}

// pipelines/denoise-video.sh (decodebin ! videoconvert ! caedenoise ! videoconvert ! encoder)
// on a VP8 clip (I420 frames) with the gray default and with an RGB model, no caps filter.
BOOST_AUTO_TEST_CASE(denoise_video_script_runs_gray_and_rgb_models) {
  const fs::path in = scratch() / "clip.mkv";
  const Result mk = launch(
      "videotestsrc num-buffers=6 pattern=snow ! video/x-raw,width=96,"
      "height=64,framerate=10/1 ! vp8enc ! matroskamux ! filesink location=" +
      quote(in));
  BOOST_TEST_REQUIRE(mk.rc == 0, mk.out);
  const fs::path root = env("CAE_SOURCE_ROOT"),
                 build = fs::path(env("GST_PLUGIN_PATH")).parent_path();
  for (const std::string& model : {std::string(), randomModel("random_rgb.onnx", 3)}) {
    const fs::path out = scratch() / (model.empty() ? "gray.webm" : "rgb.webm");
    const Result r = run(sanitizerPreload() + "CAE_BUILD_DIR=" + quote(build) + " " +
                         quote(root / "pipelines" / "denoise-video.sh") + " " + quote(in) + " " +
                         quote(out) + (model.empty() ? "" : " --model " + quote(model)));
    BOOST_TEST_MESSAGE("denoise-video.sh " << (model.empty() ? "(default gray model)" : model)
                                           << ": rc " << r.rc << "\n"
                                           << r.out);
    BOOST_TEST(r.rc == 0, r.out);
    BOOST_TEST(r.out.find("denoised 6 frames") != std::string::npos, r.out);
    BOOST_TEST(fs::file_size(out) > 0u);
  }
}

BOOST_AUTO_TEST_CASE(latency_query_adds_the_processing_time) {
  const GstClockTime lat =
      latencyAfterOneFrame("caedenoise", videoInfo(GST_VIDEO_FORMAT_GRAY8, 320, 240),
                           {grayImage("camera.png", 320, 240)}, 10 * GST_MSECOND);
  BOOST_TEST(lat > 10 * GST_MSECOND);
  BOOST_TEST(lat < 10 * GST_SECOND);
}

BOOST_AUTO_TEST_CASE(qos_drops_frames_that_are_already_late) {
  Element e("caedenoise", videoInfo(GST_VIDEO_FORMAT_GRAY8, 64, 48));
  expectLateFramesDropped(e, {grayImage("camera.png", 64, 48)});
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
  // The plugin looks for its default model where meson install puts it (the DESTDIR aside):
  // its `model` property says so. Installed into a DESTDIR only, that file is not there, so the
  // default reads back the file that will be used instead, the source tree's.
  GstElement* e = gst_element_factory_make("caedenoise", nullptr);
  BOOST_REQUIRE(e);
  const std::string installed = "/" + fs::relative(model, dest).string();
  const std::string blurb =
      g_param_spec_get_blurb(g_object_class_find_property(G_OBJECT_GET_CLASS(e), "model"));
  BOOST_TEST(blurb.find(fs::path(installed).parent_path().string()) != std::string::npos, blurb);
  gchar* def = nullptr;
  g_object_get(e, "model", &def, nullptr);
  BOOST_TEST(fs::path(def).filename() == "denoise-fast.onnx");
  BOOST_TEST(fs::exists(def), def);
  g_free(def);
  gst_object_unref(e);
  // The installed plugin loads on its own, in a gst-inspect-1.0 of its own (with the ASan
  // runtime preloaded in a sanitizer build: the tool itself is not instrumented).
  const std::string inspect = sanitizerPreload() + "GST_PLUGIN_PATH='" +
                              plugin.parent_path().string() + "' GST_REGISTRY='" +
                              (scratch() / "inst.reg").string() + "' gst-inspect-1.0 '" +
                              plugin.string() + "' > '" + log.string() + "' 2>&1";
  BOOST_TEST(std::system(inspect.c_str()) == 0, slurp(log.string()));
  BOOST_TEST(slurp(log.string()).find("caedenoise") != std::string::npos, slurp(log.string()));
}

// gst-inspect-1.0 shows a property's value on a new element as its default: the model file
// the element would load, which exists (the installed one, else the source tree's), never an
// installed path that is not there.
BOOST_AUTO_TEST_CASE(inspect_shows_the_default_model_that_will_be_used) {
  const std::string out = run(sanitizerPreload() + "gst-inspect-1.0 caedenoise").out;
  const std::string key = "Default: \"";
  const auto at = out.find(key, out.find("model"));
  BOOST_REQUIRE_MESSAGE(at != std::string::npos, out);
  const std::string shown =
      out.substr(at + key.size(), out.find('"', at + key.size()) - at - key.size());
  BOOST_TEST_MESSAGE("gst-inspect-1.0 caedenoise: model default " << shown);
  BOOST_TEST(fs::path(shown).filename() == "denoise-fast.onnx");
  BOOST_TEST(fs::exists(shown), shown);
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
