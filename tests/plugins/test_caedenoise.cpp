// caedenoise through GstHarness with real frames (skimage photographs): PSNR rises on a noisy
// image with the shipped default model, every caps format, odd sizes, padded strides, tiling
// without seams, strength 0 = the input exactly, LATENCY and QoS, and bad models / caps failing
// with a clear GST_ELEMENT_ERROR instead of a crash. Every test that runs frames through a model
// runs once per backend (kBackends: opencv, onednn); oneDNN's outputs are also compared with
// OpenCV DNN's across frame-size changes, its threads setting must not change them, and a
// model it does not cover runs on OpenCV DNN.
#define BOOST_TEST_MODULE element_caedenoise
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "harness.hpp"
#include "infer/engine.hpp"
#include "nn/layers/activation.hpp"
#include "nn/layers/conv2d.hpp"
#include "nn/layers/conv_transpose2d.hpp"
#include "nn/layers/pool.hpp"

namespace fs = std::filesystem;
namespace bdata = boost::unit_test::data;
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

// The clean components of a real photograph in a given format (YUV via OpenCV's BT.601), seen
// from (x, y) (sub-pixel: bicubic; a camera panning over it).
std::vector<cv::Mat> cleanComps(GstVideoFormat fmt, int w, int h, double x = 100, double y = 20) {
  const cv::Mat photo = cv::imread(kSkimage + "astronaut.png", cv::IMREAD_COLOR);
  BOOST_REQUIRE(!photo.empty());
  cv::Mat rgb;
  cv::warpAffine(photo, rgb, cv::Matx23d(1, 0, x, 0, 1, y), cv::Size(w, h),
                 cv::INTER_CUBIC | cv::WARP_INVERSE_MAP, cv::BORDER_REFLECT_101);
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

// One frame through a caedenoise on `backend` with the given properties ("" = all defaults),
// which must run on that backend.
std::vector<cv::Mat> roundTrip(const std::string& backend, const std::string& props,
                               const GstVideoInfo& info, const std::vector<cv::Mat>& comps,
                               int padStride = 0) {
  Element e(onBackend("caedenoise " + props, backend), info);
  GstBuffer* out = e.push(comps, 0, padStride);
  BOOST_TEST(e.backendInUse() == expectedInUse(backend));
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

// An image-to-image denoiser the oneDNN translator does not cover (MaxPool is not in its op
// set): conv 3x3 -> ReLU -> max pool 2 -> transposed conv 2x2 stride 2, random weights (seeded).
std::string maxPoolModel() {
  const fs::path path = scratch() / "maxpool_gray.onnx";
  if (fs::exists(path)) return path.string();
  cae::nn::Model m({1, 1, 32, 32});
  cae::nn::Conv2dOptions c;
  c.inChannels = 1;
  c.outChannels = 4;
  c.kernel = 3;
  c.padding = 1;
  m.add(std::make_unique<cae::nn::Conv2d>(c));
  m.add(std::make_unique<cae::nn::ReLU>());
  m.add(std::make_unique<cae::nn::MaxPool2d>(2));
  cae::nn::ConvTranspose2dOptions d;
  d.inChannels = 4;
  d.outChannels = 1;
  d.kernel = 2;
  d.stride = 2;
  d.padding = 0;
  m.add(std::make_unique<cae::nn::ConvTranspose2d>(d));
  m.compile();
  cv::RNG rng(9);
  auto p = m.params();
  for (Eigen::Index i = 0; i < p.size(); ++i) p[i] = float(rng.gaussian(0.3));
  cae::onnx::ExportOptions o;
  o.task = cae::onnx::Task::Denoise;
  o.format = "GRAY8";
  cae::onnx::exportOnnx(m, path.string(), o);
  return path.string();
}

// Pixels that differ between two outputs of the same size.
int differing(const cv::Mat& a, const cv::Mat& b) {
  return cv::countNonZero(a.reshape(1) != b.reshape(1));
}

}  // namespace

BOOST_DATA_TEST_CASE(default_model_raises_psnr_on_a_noisy_photograph, bdata::make(kBackends),
                     backend) {
  const cv::Mat clean = grayImage("camera.png", 512, 512);
  const cv::Mat noisy = addNoise(clean, 25, 1);
  const GstVideoInfo info = videoInfo(GST_VIDEO_FORMAT_GRAY8, 512, 512);
  const cv::Mat out = roundTrip(backend, "", info, {noisy})[0];
  const double before = psnr(noisy, clean), after = psnr(out, clean);
  BOOST_TEST_MESSAGE("camera.png sigma 25, shipped default model: PSNR " << before << " -> "
                                                                         << after << " dB");
  BOOST_TEST(after > before + 3.0);
}

BOOST_DATA_TEST_CASE(every_format_is_denoised, bdata::make(kBackends), backend) {
  const int w = 96, h = 64;
  for (GstVideoFormat fmt : {GST_VIDEO_FORMAT_GRAY8, GST_VIDEO_FORMAT_GRAY16_LE,
                             GST_VIDEO_FORMAT_RGB, GST_VIDEO_FORMAT_BGR, GST_VIDEO_FORMAT_RGBx,
                             GST_VIDEO_FORMAT_BGRx, GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_NV12}) {
    const std::vector<cv::Mat> clean = cleanComps(fmt, w, h);
    std::vector<cv::Mat> noisy;
    for (std::size_t k = 0; k < clean.size(); ++k)
      noisy.push_back(addNoise(clean[k], clean[k].depth() == CV_16U ? 25 * 257 : 25, 10 + k));
    const GstVideoInfo info = videoInfo(fmt, w, h);
    const std::vector<cv::Mat> out = roundTrip(backend, "", info, noisy);
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

BOOST_DATA_TEST_CASE(chroma_off_leaves_chroma_untouched, bdata::make(kBackends), backend) {
  const std::vector<cv::Mat> clean = cleanComps(GST_VIDEO_FORMAT_NV12, 64, 48);
  std::vector<cv::Mat> noisy;
  for (std::size_t k = 0; k < clean.size(); ++k) noisy.push_back(addNoise(clean[k], 20, 20 + k));
  const std::vector<cv::Mat> out =
      roundTrip(backend, "chroma=false", videoInfo(GST_VIDEO_FORMAT_NV12, 64, 48), noisy);
  BOOST_TEST(maxAbsDiff(out[0], noisy[0]) > 0);
  BOOST_TEST(maxAbsDiff(out[1], noisy[1]) == 0);
  BOOST_TEST(maxAbsDiff(out[2], noisy[2]) == 0);
}

BOOST_DATA_TEST_CASE(odd_and_tiny_sizes, bdata::make(kBackends), backend) {
  for (auto [w, h] : std::vector<std::pair<int, int>>{{33, 17}, {17, 33}, {1, 1}, {2, 3}, {5, 1}}) {
    for (GstVideoFormat fmt : {GST_VIDEO_FORMAT_GRAY8, GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_NV12,
                               GST_VIDEO_FORMAT_RGB}) {
      const std::vector<cv::Mat> clean = cleanComps(fmt, w, h);
      std::vector<cv::Mat> noisy;
      for (std::size_t k = 0; k < clean.size(); ++k) noisy.push_back(addNoise(clean[k], 20, k));
      const std::vector<cv::Mat> out = roundTrip(backend, "", videoInfo(fmt, w, h), noisy);
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

BOOST_DATA_TEST_CASE(padded_strides_give_the_same_pixels, bdata::make(kBackends), backend) {
  for (GstVideoFormat fmt :
       {GST_VIDEO_FORMAT_GRAY8, GST_VIDEO_FORMAT_GRAY16_LE, GST_VIDEO_FORMAT_RGBx,
        GST_VIDEO_FORMAT_BGR, GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_NV12}) {
    const int w = 37, h = 23;
    const std::vector<cv::Mat> clean = cleanComps(fmt, w, h);
    std::vector<cv::Mat> noisy;
    for (std::size_t k = 0; k < clean.size(); ++k)
      noisy.push_back(addNoise(clean[k], clean[k].depth() == CV_16U ? 5000 : 20, 30 + k));
    const GstVideoInfo info = videoInfo(fmt, w, h);
    const std::vector<cv::Mat> tight = roundTrip(backend, "", info, noisy);
    const std::vector<cv::Mat> padded = roundTrip(backend, "", info, noisy, 24);
    for (std::size_t k = 0; k < tight.size(); ++k)
      BOOST_TEST(maxAbsDiff(tight[k], padded[k]) == 0, gst_video_format_to_string(fmt)
                                                           << " component " << k);
  }
}

BOOST_DATA_TEST_CASE(tiles_leave_no_seams, bdata::make(kBackends), backend) {
  const std::string model = randomModel("random_gray.onnx", 1);
  cv::Mat clean = grayImage("coins.png", 150, 130);
  cv::Mat wide;
  clean.convertTo(wide, CV_16U, 257);
  const GstVideoInfo info = videoInfo(GST_VIDEO_FORMAT_GRAY16_LE, 150, 130);
  const cv::Mat whole = roundTrip(backend, "model=" + model, info, {wide})[0];
  for (int tile : {32, 48}) {
    const cv::Mat tiled = roundTrip(
        backend, "model=" + model + " tile-size=" + std::to_string(tile), info, {wide})[0];
    const double d = maxAbsDiff(whole, tiled) / 65535.0;
    BOOST_TEST_MESSAGE("tile-size " << tile << ": max |tiled - whole| = " << d);
    BOOST_TEST(d <= 1e-3);
  }
  // The model really does something (else equality would be trivial).
  BOOST_TEST(maxAbsDiff(whole, wide) > 1000);
}

// tile-size=1 once cut a 512x512 frame into 16,384 tiles (14 s a frame): sizes below the
// model's smallest useful tile are raised to it, with a warning, and give that tile's pixels.
BOOST_DATA_TEST_CASE(tile_sizes_below_the_smallest_useful_tile_are_raised_to_it,
                     bdata::make(kBackends), backend) {
  GstElement* probe = gst_element_factory_make("caedenoise", nullptr);
  gchar* path = nullptr;
  g_object_get(probe, "model", &path, nullptr);
  cae::infer::EngineOptions o;
  o.model = path;
  g_free(path);
  gst_object_unref(probe);
  const int min = cae::infer::Engine(o).minTileSize();
  const PipelineRun r = play(testLaunch(onBackend("caedenoise tile-size=1", backend)));
  BOOST_TEST(r.error.empty(), r.error);
  BOOST_TEST(r.eos);
  BOOST_REQUIRE_EQUAL(r.warnings.size(), 1u);
  BOOST_TEST(r.warnings[0].find("smallest useful tile") != std::string::npos, r.warnings[0]);
  BOOST_TEST(r.warnings[0].find("using " + std::to_string(min)) != std::string::npos);
  const GstVideoInfo info = videoInfo(GST_VIDEO_FORMAT_GRAY8, 512, 512);
  const cv::Mat noisy = addNoise(grayImage("camera.png", 512, 512), 25, 4);
  const cv::Mat one = roundTrip(backend, "tile-size=1", info, {noisy})[0];
  const cv::Mat raised = roundTrip(backend, "tile-size=" + std::to_string(min), info, {noisy})[0];
  BOOST_TEST_MESSAGE("tile-size 1 raised to " << min);
  BOOST_TEST(maxAbsDiff(one, raised) == 0);
}

BOOST_DATA_TEST_CASE(strength_zero_returns_the_input_exactly, bdata::make(kBackends), backend) {
  for (GstVideoFormat fmt :
       {GST_VIDEO_FORMAT_GRAY8, GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_BGRx}) {
    const std::vector<cv::Mat> clean = cleanComps(fmt, 64, 48);
    std::vector<cv::Mat> noisy;
    for (std::size_t k = 0; k < clean.size(); ++k) noisy.push_back(addNoise(clean[k], 25, 40 + k));
    const GstVideoInfo info = videoInfo(fmt, 64, 48);
    Element e(onBackend("caedenoise strength=0", backend), info);
    GstBuffer* in = makeBuffer(info, noisy);
    const std::string inBytes = bytesOf(in);
    GstBuffer* out = e.tryPush(in);
    BOOST_REQUIRE(out);
    BOOST_TEST(e.backendInUse() == expectedInUse(backend));
    BOOST_TEST((bytesOf(out) == inBytes));
    gst_buffer_unref(out);
  }
}

BOOST_DATA_TEST_CASE(strength_blends_between_input_and_model, bdata::make(kBackends), backend) {
  const cv::Mat noisy = addNoise(grayImage("camera.png", 128, 96), 25, 3);
  const GstVideoInfo info = videoInfo(GST_VIDEO_FORMAT_GRAY8, 128, 96);
  const cv::Mat full = roundTrip(backend, "strength=1", info, {noisy})[0];
  const cv::Mat half = roundTrip(backend, "strength=0.5", info, {noisy})[0];
  cv::Mat expect;
  cv::addWeighted(full, 0.5, noisy, 0.5, 0, expect);
  BOOST_TEST(maxAbsDiff(half, expect) <= 1.0);  // rounding of the blend vs of the two halves
  BOOST_TEST(maxAbsDiff(half, noisy) > 5);
}

// The engine builds oneDNN primitives per input size: a stream whose frames change size and
// change back (new caps each time) must give OpenCV DNN's pixels at every size; a primitive or
// buffer kept from the wrong size would not. (precision=f32: OpenCV DNN's arithmetic; auto would
// be bf16 on CPUs that have it.)
BOOST_AUTO_TEST_CASE(frame_size_changes_on_onednn_give_the_pixels_of_opencv_dnn) {
  const std::vector<std::pair<int, int>> sizes = {{64, 48}, {80, 60}, {64, 48}};
  std::vector<cv::Mat> noisy;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const cv::Mat clean = grayImage("camera.png", 200, 200);
    const cv::Rect crop(int(30 * i), int(20 * i), sizes[i].first, sizes[i].second);
    noisy.push_back(addNoise(clean(crop).clone(), 20, 60 + i));
  }
  std::map<std::string, std::vector<cv::Mat>> outs;
  for (const std::string& backend : kBackends) {
    Element e(onBackend("caedenoise precision=f32", backend),
              videoInfo(GST_VIDEO_FORMAT_GRAY8, sizes[0].first, sizes[0].second));
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      if (i > 0) e.setCaps(videoInfo(GST_VIDEO_FORMAT_GRAY8, sizes[i].first, sizes[i].second));
      GstBuffer* out = e.push({noisy[i]}, GstClockTime(i) * GST_SECOND / 30);
      outs[backend].push_back(readBuffer(e.info(), out)[0]);
      gst_buffer_unref(out);
    }
    BOOST_TEST(e.backendInUse() == expectedInUse(backend));
  }
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const cv::Mat &ref = outs["opencv"][i], &got = outs["onednn"][i];
    BOOST_REQUIRE(got.size() == ref.size());
    BOOST_TEST_MESSAGE("frame " << i << " " << ref.cols << "x" << ref.rows << ": onednn vs opencv "
                                << "max |diff| " << maxAbsDiff(got, ref) << ", "
                                << differing(got, ref) << " of " << ref.total()
                                << " pixels differ");
    BOOST_TEST(maxAbsDiff(got, ref) <= 1, "frame " << i);
    BOOST_TEST(differing(got, ref) <= int(ref.total() / 100), "frame " << i);  // mostly exact
    BOOST_TEST(maxAbsDiff(got, noisy[i]) > 5, "frame " << i);  // the model did something
  }
}

// threads sets the OpenMP threads of the element's own oneDNN forwards; the split of the work
// must not change a sample (16-bit output, so that differences below 1/255 show too).
BOOST_AUTO_TEST_CASE(threads_do_not_change_the_output_on_onednn) {
  const GstVideoInfo info = videoInfo(GST_VIDEO_FORMAT_GRAY16_LE, 160, 120);
  cv::Mat wide;
  addNoise(grayImage("coins.png", 160, 120), 20, 5).convertTo(wide, CV_16U, 257);
  for (const std::string& model :
       {std::string(), "model=" + dq(randomModel("random_gray.onnx", 1))}) {
    const cv::Mat one = roundTrip("onednn", model + " threads=1", info, {wide})[0];
    const cv::Mat two = roundTrip("onednn", model + " threads=2", info, {wide})[0];
    const cv::Mat dflt = roundTrip("onednn", model, info, {wide})[0];
    BOOST_TEST_MESSAGE((model.empty() ? "shipped model" : model)
                       << ": threads 1 vs 2: " << differing(one, two) << " samples differ");
    BOOST_TEST(differing(one, two) == 0, model);
    BOOST_TEST(differing(one, dflt) == 0, model);
    BOOST_TEST(maxAbsDiff(one, wide) > 1000, model);  // the model did something
  }
}

// precision: bf16 runs oneDNN's convolutions in bfloat16 and stays within a few 8-bit steps of f32
// on a real noisy photograph, with the same PSNR to a tenth of a dB (measured: max 1-2 steps,
// ~0.01 dB); precision-in-use reads what runs; auto is bf16 on oneDNN only where the CPU has bf16
// instructions; OpenCV DNN runs f32 whatever is asked, with a warning when bf16 was; a frame size
// change rebuilds the bf16 primitives too.
BOOST_AUTO_TEST_CASE(precision_bf16_stays_close_to_f32_and_auto_follows_the_cpu) {
  const cv::Mat clean = grayImage("coins.png", 160, 120);
  const cv::Mat noisy = addNoise(clean, 25, 9);
  const GstVideoInfo info = videoInfo(GST_VIDEO_FORMAT_GRAY8, 160, 120);
  std::map<std::string, cv::Mat> out;
  for (const std::string precision : {"f32", "bf16", "auto"}) {
    Element e("caedenoise backend=onednn precision=" + precision, info);
    out[precision] = e.pushRead({noisy}, 0)[0];
    const std::string runs = !onednnBuilt() || precision == "f32" ||
                                     (precision == "auto" && !cae::infer::onednn::nativeBf16())
                                 ? "f32"
                                 : "bf16";
    BOOST_TEST(e.getString("precision-in-use") == runs, precision);
    if (!onednnBuilt()) continue;
    // The same element at another size, and back: primitives rebuilt in the same precision.
    e.setCaps(videoInfo(GST_VIDEO_FORMAT_GRAY8, 96, 72));
    const cv::Mat small = e.pushRead({noisy(cv::Rect(0, 0, 96, 72)).clone()}, GST_SECOND / 30)[0];
    BOOST_TEST(psnr(small, clean(cv::Rect(0, 0, 96, 72))) > psnr(noisy, clean) + 5, precision);
  }
  const double f32 = psnr(out["f32"], clean), bf16 = psnr(out["bf16"], clean);
  BOOST_TEST_MESSAGE("PSNR noisy " << psnr(noisy, clean) << " dB, f32 " << f32 << ", bf16 " << bf16
                                   << "; bf16 vs f32: max |diff| "
                                   << maxAbsDiff(out["bf16"], out["f32"]) << ", "
                                   << differing(out["bf16"], out["f32"]) << " of " << noisy.total()
                                   << " pixels differ");
  BOOST_TEST(maxAbsDiff(out["bf16"], out["f32"]) <= 3);
  BOOST_TEST(std::abs(bf16 - f32) < 0.1);
  BOOST_TEST(f32 > psnr(noisy, clean) + 5);
  // OpenCV DNN: f32, and a warning when bf16 was asked for.
  const PipelineRun r = play(testLaunch("caedenoise backend=opencv precision=bf16"));
  BOOST_TEST(r.error.empty(), r.error);
  BOOST_REQUIRE_EQUAL(r.warnings.size(), 1u);
  BOOST_TEST(r.warnings[0].find("precision bf16") != std::string::npos, r.warnings[0]);
  Element cv(onBackend("caedenoise precision=bf16", "opencv"), info);
  gst_buffer_unref(cv.push({noisy}));
  BOOST_TEST(cv.getString("precision-in-use") == "f32");
  const std::string inspect = run(sanitizerPreload() + "gst-inspect-1.0 caedenoise").out;
  BOOST_TEST(inspect.find("Enum \"GstCaePrecision\" Default: 2, \"auto\"") != std::string::npos,
             inspect);
}

// backend=onednn (or auto) on a model the translator does not cover: the element still runs it,
// on OpenCV DNN, says so in backend-in-use and in a warning naming the op, and gives OpenCV's
// pixels.
BOOST_AUTO_TEST_CASE(a_model_onednn_does_not_cover_runs_on_opencv_dnn) {
  const std::string model = "model=" + dq(maxPoolModel());
  const PipelineRun r = play(testLaunch("caedenoise backend=onednn " + model));
  BOOST_TEST(r.error.empty(), r.error);
  BOOST_TEST(r.eos);
  BOOST_REQUIRE_EQUAL(r.warnings.size(), 1u);
  BOOST_TEST_MESSAGE("warning: " << r.warnings[0]);
  if (onednnBuilt()) BOOST_TEST(r.warnings[0].find("MaxPool") != std::string::npos, r.warnings[0]);
  const GstVideoInfo info = videoInfo(GST_VIDEO_FORMAT_GRAY8, 64, 48);
  const cv::Mat noisy = addNoise(grayImage("camera.png", 64, 48), 20, 7);
  const cv::Mat ref = roundTrip("opencv", model, info, {noisy})[0];
  for (const std::string backend : {"onednn", "auto"}) {
    Element e(onBackend("caedenoise " + model, backend), info);
    GstBuffer* out = e.push({noisy});
    BOOST_TEST(e.backendInUse() == "opencv", backend);
    BOOST_TEST(maxAbsDiff(readBuffer(info, out)[0], ref) == 0, backend);
    gst_buffer_unref(out);
  }
  BOOST_TEST(maxAbsDiff(ref, noisy) > 5);  // the model did something
}

// backend-in-use: "" until the model is loaded, then the backend that runs it (auto: oneDNN for
// the shipped model, which it covers), "" again once stopped; gst-launch-1.0 -v prints it, and
// gst-inspect-1.0 lists the backends with auto the default.
BOOST_AUTO_TEST_CASE(backend_in_use_reads_the_backend_that_runs_the_model) {
  const GstVideoInfo info = videoInfo(GST_VIDEO_FORMAT_GRAY8, 64, 48);
  const cv::Mat frame = grayImage("camera.png", 64, 48);
  for (const auto& [asked, runs] :
       std::vector<std::pair<std::string, std::string>>{{"auto", expectedInUse("onednn")},
                                                        {"onednn", expectedInUse("onednn")},
                                                        {"opencv", "opencv"}}) {
    Element e(onBackend("caedenoise", asked), info);  // the harness starts it: loaded
    gst_buffer_unref(e.push({frame}));
    BOOST_TEST(e.backendInUse() == runs, asked);
  }
  // cuda selects OpenCV's CUDA backend: where OpenCV has none (Debian's), the element says so.
  std::string why;
  if (!cae::infer::available(cae::infer::Backend::Cuda, cae::infer::Target::Cuda, &why)) {
    const std::string cuda = play(testLaunch("caedenoise backend=cuda target=cuda")).error;
    BOOST_TEST(cuda.find(why) != std::string::npos, cuda);
  }
  GstElement* p = gst_parse_launch(testLaunch("caedenoise name=d").c_str(), nullptr);
  BOOST_REQUIRE(p);
  GstElement* d = gst_bin_get_by_name(GST_BIN(p), "d");
  auto inUse = [d] {
    gchar* v = nullptr;
    g_object_get(d, "backend-in-use", &v, nullptr);
    std::string s = v ? v : "";
    g_free(v);
    return s;
  };
  BOOST_TEST(inUse().empty());
  gst_element_set_state(p, GST_STATE_PAUSED);
  BOOST_TEST(gst_element_get_state(p, nullptr, nullptr, 30 * GST_SECOND) ==
             GST_STATE_CHANGE_SUCCESS);
  BOOST_TEST(inUse() == expectedInUse("onednn"));
  gst_element_set_state(p, GST_STATE_NULL);
  BOOST_TEST(inUse().empty());
  gst_object_unref(d);
  gst_object_unref(p);

  const Result r = launch(testLaunch("caedenoise"));
  BOOST_TEST(r.rc == 0, r.out);
  BOOST_TEST(
      r.out.find("caedenoise0: backend-in-use = " + expectedInUse("onednn")) != std::string::npos,
      r.out);
  const std::string inspect = run(sanitizerPreload() + "gst-inspect-1.0 caedenoise").out;
  BOOST_TEST_MESSAGE(inspect.substr(inspect.find("backend"), 1200));
  BOOST_TEST(inspect.find("Enum \"GstCaeBackend\" Default: 3, \"auto\"") != std::string::npos,
             inspect);
  for (const char* nick : {"auto", "onednn", "opencv", "cuda"})
    BOOST_TEST(inspect.find(std::string("): ") + nick + " ") != std::string::npos, nick);
}

BOOST_DATA_TEST_CASE(bad_models_fail_the_change_to_paused_with_a_clear_error,
                     bdata::make(kBackends), backend) {
  std::vector<BadModel> cases = brokenCopiesOf(randomModel("random_gray.onnx", 1));
  cases.push_back({"wrong task", randomModel("random_anomaly.onnx", 1, cae::onnx::Task::Anomaly),
                   "model for task 'anomaly'"});
  expectStartFailures(onBackend("caedenoise", backend), cases);
}

BOOST_DATA_TEST_CASE(an_rgb_model_is_refused_for_gray_caps_at_negotiation, bdata::make(kBackends),
                     backend) {
  const std::string rgb = randomModel("random_rgb.onnx", 3);
  const std::string err = play(testLaunch(onBackend("caedenoise model=" + dq(rgb), backend))).error;
  BOOST_TEST_MESSAGE(err);
  BOOST_TEST(err.find("3-channel (RGB)") != std::string::npos, err);
  BOOST_TEST(err.find("GRAY8") != std::string::npos, err);
  // The same model runs on RGB caps.
  const std::vector<cv::Mat> clean = cleanComps(GST_VIDEO_FORMAT_RGB, 40, 30);
  const std::vector<cv::Mat> out =
      roundTrip(backend, "model=" + rgb, videoInfo(GST_VIDEO_FORMAT_RGB, 40, 30), clean);
  BOOST_TEST(out.size() == 3u);
}

// Caps come from the model: behind a plain videoconvert a gray model takes the gray, YUV or RGB
// format nearest the input (each of R, G, B denoised) and an RGB model an RGB type.
BOOST_DATA_TEST_CASE(videoconvert_negotiates_what_the_model_takes_with_no_caps_filter,
                     bdata::make(kBackends), backend) {
  const std::string gray = "backend=" + backend;
  const std::string rgb = gray + " model=" + quote(randomModel("random_rgb.onnx", 3));
  const std::vector<std::string> rgbTypes = {"RGB", "BGR", "RGBx", "BGRx"};
  expectNegotiated("caedenoise", "! videoconvert ! fakesink",
                   {{gray, "camera.png", {"GRAY8"}},
                    {gray, "astronaut.png", {"RGB"}},
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
  BOOST_TEST(fs::path(loaded).filename() == "denoise-gray.onnx");
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

BOOST_DATA_TEST_CASE(latency_query_adds_the_processing_time, bdata::make(kBackends), backend) {
  const GstClockTime lat = latencyAfterOneFrame(
      onBackend("caedenoise", backend), videoInfo(GST_VIDEO_FORMAT_GRAY8, 320, 240),
      {grayImage("camera.png", 320, 240)}, 10 * GST_MSECOND);
  BOOST_TEST(lat > 10 * GST_MSECOND);
  BOOST_TEST(lat < 10 * GST_SECOND);
}

BOOST_DATA_TEST_CASE(qos_drops_frames_that_are_already_late, bdata::make(kBackends), backend) {
  Element e(onBackend("caedenoise", backend), videoInfo(GST_VIDEO_FORMAT_GRAY8, 64, 48));
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
    if (e.path().filename() == "denoise-gray.onnx") model = e.path();
  }
  BOOST_REQUIRE_MESSAGE(!plugin.empty(), "no libgstcae.so installed");
  BOOST_REQUIRE_MESSAGE(!model.empty(), "no denoise-gray.onnx installed");
  BOOST_TEST(fs::exists(model.parent_path() / "denoise-fast.onnx"));
  BOOST_TEST(fs::exists(model.parent_path() / "denoise-gray.md"));
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
  BOOST_TEST(fs::path(def).filename() == "denoise-gray.onnx");
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
  const auto at = out.find(key, out.find("\n  model "));
  BOOST_REQUIRE_MESSAGE(at != std::string::npos, out);
  const std::string shown =
      out.substr(at + key.size(), out.find('"', at + key.size()) - at - key.size());
  BOOST_TEST_MESSAGE("gst-inspect-1.0 caedenoise: model default " << shown);
  BOOST_TEST(fs::path(shown).filename() == "denoise-gray.onnx");
  BOOST_TEST(fs::exists(shown), shown);
}

BOOST_AUTO_TEST_CASE(properties_have_documented_defaults) {
  GstElement* e = gst_element_factory_make("caedenoise", nullptr);
  BOOST_REQUIRE(e);
  gchar* model = nullptr;
  gchar* inUse = nullptr;
  gdouble strength = 0;
  gint tile = -1, threads = -1, backend = -1;
  g_object_get(e, "model", &model, "strength", &strength, "tile-size", &tile, "threads", &threads,
               "backend", &backend, "backend-in-use", &inUse, nullptr);
  BOOST_TEST(std::string(model).find("denoise-") != std::string::npos);
  BOOST_TEST(strength == 1.0);
  BOOST_TEST(tile == 0);
  BOOST_TEST(threads == 0);
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(e), "backend");
  BOOST_REQUIRE(spec);
  auto* enums = static_cast<GEnumClass*>(g_type_class_ref(G_PARAM_SPEC_VALUE_TYPE(spec)));
  const GEnumValue* v = g_enum_get_value(enums, backend);
  BOOST_REQUIRE(v);
  BOOST_TEST(std::string(v->value_nick) == "auto");
  // The nicks are the core's backend names, all four of them.
  BOOST_TEST(enums->n_values == 4u);
  for (guint i = 0; i < enums->n_values; ++i) {
    const std::string nick = enums->values[i].value_nick;
    BOOST_TEST(cae::infer::backendName(cae::infer::parseBackend(nick)) == nick);
  }
  g_type_class_unref(enums);
  BOOST_TEST(std::string(inUse ? inUse : "x").empty());  // nothing is loaded yet
  GParamSpec* ro = g_object_class_find_property(G_OBJECT_GET_CLASS(e), "backend-in-use");
  BOOST_REQUIRE(ro);
  BOOST_TEST((ro->flags & G_PARAM_WRITABLE) == 0);
  g_free(inUse);
  g_free(model);
  gst_object_unref(e);
}

// ---- temporal models: caedenoise keeps the frames before the current one -------------------

namespace {

std::string shippedModel(const std::string& file) {
  const char* root = std::getenv("CAE_SOURCE_ROOT");
  BOOST_REQUIRE_MESSAGE(root, "CAE_SOURCE_ROOT is not set");
  return (fs::path(root) / "models" / file).string();
}

// A gray temporal denoiser with random weights (cae.frames = 3) and cae.align as given.
std::string randomTemporalModel(const std::string& align,
                                cae::onnx::Task task = cae::onnx::Task::Denoise) {
  cae::onnx::ExportOptions o;
  o.task = task;
  o.extra[cae::onnx::key::kFrames] = "3";
  o.extra[cae::onnx::key::kAlign] = align;
  return cae::testing::randomModel(
      "random_temporal_" + align + "_" + cae::onnx::taskName(task) + ".onnx", 1, o, 11);
}

// A 3-frame gray model whose output is its input's frame 1 (the frame before the current one,
// as the element feeds it): a 1x1 convolution with weights (0, 1, 0), cae.align as given.
std::string previousFrameModel(const std::string& align) {
  const fs::path path = scratch() / ("previous_frame_" + align + ".onnx");
  if (fs::exists(path)) return path.string();
  cae::nn::Model m({1, 3, 32, 32});
  cae::nn::Conv2dOptions c;
  c.inChannels = 3;
  c.outChannels = 1;
  c.kernel = 1;
  c.padding = 0;
  c.bias = false;
  m.add(std::make_unique<cae::nn::Conv2d>(c));
  m.compile();
  auto p = m.params();
  BOOST_REQUIRE_EQUAL(p.size(), 3);
  p[0] = 0;
  p[1] = 1;
  p[2] = 0;
  cae::onnx::ExportOptions o;
  o.task = cae::onnx::Task::Denoise;
  o.format = "GRAY8";
  o.extra[cae::onnx::key::kFrames] = "3";
  o.extra[cae::onnx::key::kAlign] = align;
  cae::onnx::exportOnnx(m, path.string(), o);
  return path.string();
}

constexpr GstClockTime kFrame = GST_SECOND / 30;  // makeBuffer's duration

bool identical(const std::vector<cv::Mat>& a, const std::vector<cv::Mat>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t k = 0; k < a.size(); ++k)
    if (a[k].size() != b[k].size() || maxAbsDiff(a[k], b[k]) != 0) return false;
  return true;
}

// Noisy frames of a still camera: the same photograph, new noise each frame.
std::vector<std::vector<cv::Mat>> stillSequence(GstVideoFormat fmt, int w, int h, int n,
                                                double sigma, int seed) {
  const std::vector<cv::Mat> clean = cleanComps(fmt, w, h);
  std::vector<std::vector<cv::Mat>> frames(static_cast<std::size_t>(n));
  for (int t = 0; t < n; ++t)
    for (std::size_t k = 0; k < clean.size(); ++k)
      frames[std::size_t(t)].push_back(
          addNoise(clean[k], sigma, uint64(seed) + 10 * uint64(t) + k));
  return frames;
}

}  // namespace

// The shipped temporal model (5 frames) on a still camera over a real photograph, sigma 25:
// once the element has the frames before, each output is closer to the clean frame than the
// first frame's (which has none), and than what a fresh element makes of the same frame.
BOOST_DATA_TEST_CASE(temporal_model_denoises_a_still_sequence_better_with_history,
                     bdata::make(kBackends), backend) {
  const int w = 192, h = 144;
  const GstVideoInfo info = videoInfo(GST_VIDEO_FORMAT_GRAY8, w, h);
  const cv::Mat clean = cleanComps(GST_VIDEO_FORMAT_GRAY8, w, h)[0];
  const auto frames = stillSequence(GST_VIDEO_FORMAT_GRAY8, w, h, 5, 25, 500);
  const std::string props = "model=" + dq(shippedModel("denoise-temporal.onnx"));
  Element e(onBackend("caedenoise " + props, backend), info);
  std::vector<double> stream, fresh;
  for (std::size_t t = 0; t < frames.size(); ++t) {
    stream.push_back(psnr(e.pushRead(frames[t], t * kFrame)[0], clean));
    fresh.push_back(psnr(roundTrip(backend, props, info, frames[t])[0], clean));
    BOOST_TEST_MESSAGE(backend << " frame " << t << ": noisy " << psnr(frames[t][0], clean)
                               << " dB, stream " << stream.back() << ", fresh element "
                               << fresh.back());
  }
  BOOST_TEST(e.backendInUse() == expectedInUse(backend));
  BOOST_TEST(stream[0] == fresh[0]);  // no history on the first frame
  // Measured: +0.23..+0.26 dB over a fresh element on every frame with history; frames differ
  // by ~0.1 dB among themselves (their noise).
  double mean = 0;
  for (std::size_t t = 2; t < frames.size(); ++t) {
    BOOST_TEST(stream[t] > stream[0], "frame " << t);
    BOOST_TEST(stream[t] > fresh[t] + 0.15, "frame " << t);
    mean += stream[t] / double(frames.size() - 2);
  }
  BOOST_TEST(mean > stream[0] + 0.15);
}

// Wherever the stream is not continuous, the next output is what a fresh element makes of that
// frame, bit for bit: after a flush (and the segment that follows it, as after a seek), a new
// segment, a DISCONT buffer, a timestamp gap (a dropped frame), timestamps going back, and new
// caps (another size). Without one, the history changes it. Models: random 3-frame ones,
// unaligned and aligned (cae.align = translation).
BOOST_DATA_TEST_CASE(history_restarts_wherever_the_stream_is_not_continuous, bdata::make(kBackends),
                     backend) {
  const int w = 96, h = 72;
  const GstVideoInfo info = videoInfo(GST_VIDEO_FORMAT_I420, w, h);
  const auto frames = stillSequence(GST_VIDEO_FORMAT_I420, w, h, 4, 20, 600);
  const GstVideoInfo other = videoInfo(GST_VIDEO_FORMAT_I420, 80, 60);
  const auto resized = stillSequence(GST_VIDEO_FORMAT_I420, 80, 60, 1, 20, 700);
  for (const std::string align : {"none", "translation"}) {
    const std::string props = "model=" + dq(randomTemporalModel(align));
    const std::vector<cv::Mat> fresh = roundTrip(backend, props, info, frames[3]);
    enum Break { None, Flush, Segment, Discont, Gap, Back, Caps };
    for (Break b : {None, Flush, Segment, Discont, Gap, Back, Caps}) {
      const char* names[] = {"none", "flush", "segment", "DISCONT", "gap", "back", "caps"};
      BOOST_TEST_CONTEXT("align " << align << ", " << names[b]) {
        Element e(onBackend("caedenoise " + props, backend), info);
        for (std::size_t t = 0; t < 3; ++t) e.pushRead(frames[t], t * kFrame);
        GstClockTime pts = 3 * kFrame;
        if (b == Flush) {
          e.event(gst_event_new_flush_start());
          e.event(gst_event_new_flush_stop(TRUE));
        }
        if (b == Flush || b == Segment) {
          GstSegment seg;
          gst_segment_init(&seg, GST_FORMAT_TIME);
          e.event(gst_event_new_segment(&seg));
        }
        if (b == Gap) pts = 5 * kFrame;  // frames 3 and 4 dropped upstream
        if (b == Back) pts = kFrame;
        if (b == Caps) {
          e.setCaps(other);
          const std::vector<cv::Mat> got = e.pushRead(resized[0], pts);
          BOOST_TEST(identical(got, roundTrip(backend, props, other, resized[0])));
          continue;
        }
        const std::vector<cv::Mat> got = e.pushRead(frames[3], pts, b == Discont);
        BOOST_TEST(e.backendInUse() == expectedInUse(backend));
        if (b == None)
          BOOST_TEST(!identical(got, fresh));  // the history is read
        else
          BOOST_TEST(identical(got, fresh));
      }
    }
  }
}

// strength blends the model's output with the input; changing it keeps the history (at 0 the
// frame still goes into it): a stream whose strength changes on frames 1 and 2 gives frame 3
// exactly as a stream at strength 1 throughout.
BOOST_DATA_TEST_CASE(strength_changes_keep_the_history, bdata::make(kBackends), backend) {
  const GstVideoInfo info = videoInfo(GST_VIDEO_FORMAT_GRAY8, 96, 72);
  const auto frames = stillSequence(GST_VIDEO_FORMAT_GRAY8, 96, 72, 4, 20, 800);
  const std::string props = "model=" + dq(randomTemporalModel("none"));
  Element steady(onBackend("caedenoise " + props, backend), info);
  Element changing(onBackend("caedenoise " + props, backend), info);
  std::vector<cv::Mat> a, b;
  for (std::size_t t = 0; t < frames.size(); ++t) {
    changing.set("strength", t == 1 ? 0.5 : t == 2 ? 0.0 : 1.0);
    a = steady.pushRead(frames[t], t * kFrame);
    b = changing.pushRead(frames[t], t * kFrame);
    if (t == 2) BOOST_TEST(identical(b, frames[t]));  // strength 0: the input
  }
  BOOST_TEST(identical(a, b));
}

// A model trained on aligned frames (cae.align = translation) reads the older frames moved
// onto the current one. The fixture model outputs the frame before the current one: on a
// camera panning over a photograph, aligned it shows the current frame (here within the noise
// and interpolation), unaligned the previous frame exactly, a pan away. I420: Y and the chroma
// planes (their shift scaled from the luma's); RGB through the gray model: one shift for R, G, B.
BOOST_DATA_TEST_CASE(an_aligned_model_reads_older_frames_moved_onto_the_current_one,
                     bdata::make(kBackends), backend) {
  const int w = 160, h = 120;
  const double vx = 2.6, vy = -1.4;
  for (GstVideoFormat fmt : {GST_VIDEO_FORMAT_GRAY8, GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_RGB}) {
    const GstVideoInfo info = videoInfo(fmt, w, h);
    std::vector<std::vector<cv::Mat>> clean, noisy;
    for (int t = 0; t < 4; ++t) {
      clean.push_back(cleanComps(fmt, w, h, 60 + vx * t, 100 + vy * t));
      noisy.emplace_back();
      for (std::size_t k = 0; k < clean.back().size(); ++k)
        noisy.back().push_back(addNoise(clean.back()[k], 3, 900 + 10 * uint64(t) + k));
    }
    std::map<std::string, std::vector<std::vector<double>>> toNow;  // by align: [t][k]
    for (const std::string align : {"none", "translation"}) {
      Element e(onBackend("caedenoise model=" + dq(previousFrameModel(align)), backend), info);
      for (std::size_t t = 0; t < noisy.size(); ++t) {
        const std::vector<cv::Mat> out = e.pushRead(noisy[t], t * kFrame);
        toNow[align].emplace_back();
        for (std::size_t k = 0; k < out.size(); ++k) {
          // Inside a margin: at the borders the shifted frame repeats its edge.
          const cv::Rect in(6, 6, out[k].cols - 12, out[k].rows - 12);
          toNow[align].back().push_back(psnr(out[k](in), clean[t][k](in)));
          // The frame before, exactly; on the first frame there is none, and the frame itself
          // stands in (not the blank frame run_model timed at negotiation).
          if (align == "none") BOOST_TEST(maxAbsDiff(out[k], noisy[t > 0 ? t - 1 : 0][k]) == 0);
        }
      }
    }
    for (std::size_t t = 1; t < noisy.size(); ++t)
      for (std::size_t k = 0; k < clean[t].size(); ++k) {
        const double a = toNow["translation"][t][k], u = toNow["none"][t][k];
        BOOST_TEST_MESSAGE(gst_video_format_to_string(fmt)
                           << " frame " << t << " component " << k
                           << ": PSNR of the frame before to the current clean frame, aligned " << a
                           << " dB, unaligned " << u);
        // Measured: aligned 34.9..40.3 dB; unaligned 17.7..18.5 (Y, R, G, B), 34.2..35.5 (the
        // smooth chroma planes).
        BOOST_TEST(a > 33, gst_video_format_to_string(fmt) << " frame " << t << " comp " << k);
        BOOST_TEST(a > u + 3, gst_video_format_to_string(fmt) << " frame " << t << " comp " << k);
      }
  }
}

// Only caedenoise keeps earlier frames: caeanomaly refuses a temporal model when it loads it,
// saying so; caedenoise runs the shipped one in a pipeline, and gst-inspect-1.0 says how.
BOOST_AUTO_TEST_CASE(temporal_models_run_in_caedenoise_and_are_refused_by_caeanomaly) {
  const std::string anomaly = randomTemporalModel("none", cae::onnx::Task::Anomaly);
  expectStartFailures("caeanomaly", {{"temporal model", anomaly, "is a temporal model (3 frames"}});
  const PipelineRun r =
      play(testLaunch("caedenoise model=" + dq(shippedModel("denoise-temporal.onnx"))));
  BOOST_TEST(r.error.empty(), r.error);
  BOOST_TEST(r.eos);
  const std::string inspect = run(sanitizerPreload() + "gst-inspect-1.0 caedenoise").out;
  for (const char* words : {"model=models/denoise-temporal.onnx", "DISCONT", "timestamp gap",
                            "cae.align=translation", "strength does not reset"})
    BOOST_TEST(inspect.find(words) != std::string::npos, words);
}
