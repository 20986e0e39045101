// Golden outputs of caedenoise and caeanomaly: real frames (skimage photographs and textures) in
// gray, 16-bit, RGB-type and YUV formats, odd sizes and padded strides, through the shipped
// models, compared exactly with outputs stored from an earlier build (tests/data/golden-elements:
// a hash of each output frame's samples, its ROI meta and every cae-anomaly message as JSON).
// Proves that reworking the elements changed no pixel, message field or region.
//
// Every case runs on each backend (kBackends). OpenCV DNN, the reference, must give the stored
// outputs exactly. oneDNN sums in another order, so its floats differ in the last bits and a
// sample may round the other way: its outputs must match the goldens within one grey level on
// 8-bit samples and 4 on 16-bit ones (1 of either is what differs here, in a few samples per
// frame; at most 1 % of 8-bit and 5 % of 16-bit samples may differ), with the same regions and
// message numbers within a relative 1e-3. The goldens hold hashes, not samples, so oneDNN is
// compared with the OpenCV run of the same case after that run has matched the golden file exactly.
//
// CAE_GOLDEN_WRITE=1 writes the files from the current build (OpenCV DNN) instead of comparing.
#define BOOST_TEST_MODULE element_golden
#include <glib.h>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "harness.hpp"

namespace fs = std::filesystem;
namespace bdata = boost::unit_test::data;
using json = nlohmann::json;
using namespace cae::testing;

BOOST_TEST_GLOBAL_FIXTURE(GstInit);

namespace {

const fs::path kGoldenDir = fs::path(CAE_TEST_DATA) / "golden-elements";

std::string shippedModel(const std::string& file) {
  const char* root = std::getenv("CAE_SOURCE_ROOT");
  BOOST_REQUIRE_MESSAGE(root, "CAE_SOURCE_ROOT is not set");
  return (fs::path(root) / "models" / file).string();
}

// An RGB denoiser (none is shipped): random weights, seeded, so its output is reproducible.
std::string rgbDenoiser() {
  cae::onnx::ExportOptions o;
  o.task = cae::onnx::Task::Denoise;
  return randomModel("golden_rgb_denoise.onnx", 3, o, 7);
}

enum class Noise { None, Gaussian };
enum class Defect { None, OnSecondFrame };

struct Case {
  std::string name;
  std::string launch;  // the element and its properties; "{rgb-denoiser}" is replaced
  GstVideoFormat format;
  int width, height, padStride;
  std::string image;  // skimage file; colour files give colour frames
  Noise noise;
  Defect defect;
};

std::vector<Case> cases() {
  const std::string fast = "model=" + dq(shippedModel("denoise-fast.onnx"));
  const std::string gray = "model=" + dq(shippedModel("denoise-gray.onnx"));
  const std::string brick = "model=" + dq(shippedModel("anomaly-brick.onnx"));
  const std::string wood = "model=" + dq(shippedModel("anomaly-wood-fast.onnx"));
  const std::string leaf = "model=" + dq(shippedModel("anomaly-leaf.onnx"));
  // The stored outputs are f32 arithmetic (precision auto would be bf16 on CPUs with it).
  const std::string dn = "caedenoise precision=f32 ", an = "caeanomaly message-every-frame=true ";
  const Noise G = Noise::Gaussian;
  const Defect D = Defect::OnSecondFrame, N = Defect::None;
  return {
      {"denoise_fast_gray8_odd", dn + fast, GST_VIDEO_FORMAT_GRAY8, 67, 45, 0, "camera.png", G, N},
      {"denoise_fast_gray16_padded_strength06", dn + fast + " strength=0.6",
       GST_VIDEO_FORMAT_GRAY16_LE, 64, 48, 24, "camera.png", G, N},
      {"denoise_gray_rgb_odd", dn + gray, GST_VIDEO_FORMAT_RGB, 61, 39, 0, "astronaut.png", G, N},
      {"denoise_gray_bgrx_padded_strength06", dn + gray + " strength=0.6", GST_VIDEO_FORMAT_BGRx,
       48, 32, 12, "astronaut.png", G, N},
      {"denoise_fast_i420_odd", dn + fast, GST_VIDEO_FORMAT_I420, 37, 23, 0, "astronaut.png", G, N},
      {"denoise_gray_i420_padded_strength06", dn + gray + " strength=0.6", GST_VIDEO_FORMAT_I420,
       40, 30, 24, "coffee.png", G, N},
      {"denoise_fast_nv12_chroma_off", dn + fast + " chroma=false strength=0.6",
       GST_VIDEO_FORMAT_NV12, 64, 48, 0, "coffee.png", G, N},
      {"denoise_gray_gray8_brick", dn + gray, GST_VIDEO_FORMAT_GRAY8, 96, 64, 0, "brick.png", G, N},
      {"denoise_rgb_model_rgb", dn + "{rgb-denoiser}", GST_VIDEO_FORMAT_RGB, 40, 30, 0,
       "astronaut.png", G, N},
      {"denoise_rgb_model_bgrx_padded_strength06", dn + "{rgb-denoiser} strength=0.6",
       GST_VIDEO_FORMAT_BGRx, 33, 17, 8, "coffee.png", G, N},
      {"anomaly_brick_gray8", an + brick + " threshold=0.0006", GST_VIDEO_FORMAT_GRAY8, 128, 96, 0,
       "brick.png", Noise::None, D},
      {"anomaly_brick_gray8_overlay", an + brick + " threshold=0.0006 overlay=true",
       GST_VIDEO_FORMAT_GRAY8, 128, 96, 0, "brick.png", Noise::None, D},
      {"anomaly_brick_gray16_padded_overlay", an + brick + " threshold=0.0006 overlay=true",
       GST_VIDEO_FORMAT_GRAY16_LE, 97, 61, 24, "brick.png", Noise::None, D},
      {"anomaly_brick_bgra_padded_overlay", an + brick + " threshold=0.0006 overlay=true",
       GST_VIDEO_FORMAT_BGRA, 80, 64, 16, "brick.png", Noise::None, D},
      {"anomaly_wood_fast_bgrx_overlay", an + wood + " threshold=0.004 overlay=true",
       GST_VIDEO_FORMAT_BGRx, 128, 96, 0, "astronaut.png", Noise::None, D},
      {"anomaly_wood_fast_rgb_odd", an + wood + " threshold=0.004", GST_VIDEO_FORMAT_RGB, 67, 45, 0,
       "coffee.png", Noise::None, D},
      {"anomaly_leaf_rgb_overlay", an + leaf + " threshold=0.0005 overlay=true",
       GST_VIDEO_FORMAT_RGB, 96, 64, 0, "astronaut.png", Noise::None, D},
      {"anomaly_leaf_bgrx_padded", an + leaf + " threshold=0.0005", GST_VIDEO_FORMAT_BGRx, 75, 50,
       20, "coffee.png", Noise::None, D},
  };
}

std::vector<std::string> caseNames() {
  std::vector<std::string> v;
  for (const Case& c : cases()) v.push_back(c.name);
  return v;
}

// Frame i of a case: a crop of the image moving a little per frame, with a dark blob and a
// bright scratch pasted into its middle on frame 1 when the case asks for a defect.
cv::Mat picture(const Case& c, int i) {
  const bool colour = c.image == "astronaut.png" || c.image == "coffee.png";
  cv::Mat m = cv::imread(kSkimage + c.image, colour ? cv::IMREAD_COLOR : cv::IMREAD_GRAYSCALE);
  BOOST_REQUIRE_MESSAGE(!m.empty(), "cannot read " << kSkimage + c.image);
  if (colour) cv::cvtColor(m, m, cv::COLOR_BGR2RGB);
  m = m(cv::Rect(100 + 11 * i, 40 + 7 * i, c.width, c.height)).clone();
  if (c.defect == Defect::OnSecondFrame && i == 1) {
    const cv::Point mid(c.width / 2, c.height / 2);
    const int r = std::max(3, std::min(c.width, c.height) / 8);
    cv::circle(m, mid, r, cv::Scalar::all(15), cv::FILLED, cv::LINE_AA);
    cv::line(m, mid - cv::Point(r, r / 2), mid + cv::Point(r, r / 2), cv::Scalar::all(250), 2,
             cv::LINE_AA);
  }
  return m;
}

// The components of an 8-bit gray or RGB picture in format fmt: gray as BT.601 luma (x257 for
// 16 bits), RGB types with opaque alpha, YUV through OpenCV's YCrCb with area-halved chroma.
std::vector<cv::Mat> comps(GstVideoFormat fmt, const cv::Mat& pic) {
  const GstVideoFormatInfo* fi = gst_video_format_get_info(fmt);
  cv::Mat rgb = pic;
  if (pic.channels() == 1) cv::cvtColor(pic, rgb, cv::COLOR_GRAY2RGB);
  std::vector<cv::Mat> c;
  if (GST_VIDEO_FORMAT_INFO_IS_GRAY(fi)) {
    cv::Mat g = pic;
    if (pic.channels() == 3) cv::cvtColor(pic, g, cv::COLOR_RGB2GRAY);
    if (GST_VIDEO_FORMAT_INFO_DEPTH(fi, 0) > 8) g.convertTo(g, CV_16U, 257);
    c.push_back(g);
  } else if (GST_VIDEO_FORMAT_INFO_IS_RGB(fi)) {
    cv::split(rgb, c);
    if (GST_VIDEO_FORMAT_INFO_N_COMPONENTS(fi) == 4) c.push_back(cv::Mat(rgb.size(), CV_8U, 255));
  } else {
    cv::Mat ycrcb, u, v;
    cv::cvtColor(rgb, ycrcb, cv::COLOR_RGB2YCrCb);
    std::vector<cv::Mat> p;
    cv::split(ycrcb, p);
    const cv::Size half((rgb.cols + 1) / 2, (rgb.rows + 1) / 2);
    cv::resize(p[2], u, half, 0, 0, cv::INTER_AREA);
    cv::resize(p[1], v, half, 0, 0, cv::INTER_AREA);
    c = {p[0], u, v};
  }
  return c;
}

void addNoise(std::vector<cv::Mat>& comps, std::uint64_t seed) {
  cv::RNG rng(seed);
  for (cv::Mat& m : comps) {
    cv::Mat n(m.size(), CV_32F), f;
    rng.fill(n, cv::RNG::NORMAL, 0, m.depth() == CV_16U ? 20 * 257 : 20);
    m.convertTo(f, CV_32F);
    cv::Mat(f + n).convertTo(m, m.depth());  // saturating
  }
}

// SHA-1 of the visible samples of every component (the layout and padding do not count).
std::string pixelHash(const GstVideoInfo& info, GstBuffer* buf) {
  GChecksum* sum = g_checksum_new(G_CHECKSUM_SHA1);
  for (const cv::Mat& m : readBuffer(info, buf))
    g_checksum_update(sum, m.data, gssize(m.total() * m.elemSize()));
  std::string hex = g_checksum_get_string(sum);
  g_checksum_free(sum);
  return hex;
}

json toJson(const GValue* v);

json toJson(const GstStructure* s) {
  json j = json::object();
  j["name"] = gst_structure_get_name(s);
  for (int i = 0; i < gst_structure_n_fields(s); ++i) {
    const char* f = gst_structure_nth_field_name(s, guint(i));
    j[f] = toJson(gst_structure_get_value(s, f));
  }
  return j;
}

json toJson(const GValue* v) {
  const GType t = G_VALUE_TYPE(v);
  if (t == G_TYPE_DOUBLE) return g_value_get_double(v);
  if (t == G_TYPE_INT) return g_value_get_int(v);
  if (t == G_TYPE_UINT) return g_value_get_uint(v);
  if (t == G_TYPE_UINT64) return g_value_get_uint64(v);
  if (t == G_TYPE_BOOLEAN) return bool(g_value_get_boolean(v));
  if (t == G_TYPE_STRING) return g_value_get_string(v);
  if (t == GST_TYPE_STRUCTURE) return toJson(gst_value_get_structure(v));
  if (t == GST_TYPE_ARRAY) {
    json a = json::array();
    for (guint i = 0; i < gst_value_array_get_size(v); ++i)
      a.push_back(toJson(gst_value_array_get_value(v, i)));
    return a;
  }
  gchar* text = gst_value_serialize(v);
  json j = std::string(g_type_name(t)) + ":" + (text ? text : "");
  g_free(text);
  return j;
}

json roisJson(GstBuffer* b) {
  json a = json::array();
  for (const RoiBox& r : roiMeta(b))
    a.push_back({{"type", r.type},
                 {"x", r.box.x},
                 {"y", r.box.y},
                 {"width", r.box.width},
                 {"height", r.box.height},
                 {"has-score", r.hasScore},
                 {"score", r.score},
                 {"area", r.area}});
  return a;
}

constexpr int kFrames = 3;

// What a case's frames produce: as stored (per frame the output hash and ROI meta, and the
// messages), and the output samples themselves.
struct Outputs {
  json stored = json::object();  // not json's noexcept default, which clang-tidy sees may throw
  std::vector<std::vector<cv::Mat>> frames;  // per frame, its components
};

void runCase(const Case& c, const std::string& backend, Outputs& o) {
  std::string launch = c.launch;
  const std::string key = "{rgb-denoiser}";
  if (const auto at = launch.find(key); at != std::string::npos)
    launch.replace(at, key.size(), "model=" + dq(rgbDenoiser()));
  Element e(onBackend(launch, backend), videoInfo(c.format, c.width, c.height));
  json frames = json::array(), messages = json::array();
  for (int i = 0; i < kFrames; ++i) {
    std::vector<cv::Mat> in = comps(c.format, picture(c, i));
    if (c.noise == Noise::Gaussian) addNoise(in, 100 + std::uint64_t(i));
    GstBuffer* out = e.push(in, GstClockTime(i) * GST_SECOND / 30, c.padStride);
    frames.push_back({{"sha1", pixelHash(e.info(), out)}, {"rois", roisJson(out)}});
    o.frames.push_back(readBuffer(e.info(), out));
    gst_buffer_unref(out);
    for (const Structure& s : e.messages()) messages.push_back(toJson(s.get()));
  }
  BOOST_TEST(e.backendInUse() == expectedInUse(backend), c.name);
  o.stored = {{"case", c.name}, {"frames", frames}, {"messages", messages}};
}

std::string mismatch(const std::string& at, const json& a, const json& b) {
  std::string s = at;
  s.append(": ").append(a.dump()).append(" vs ").append(b.dump());
  return s;
}

std::string below(const std::string& at, const std::string& key) {
  std::string s = at;
  s.append("/").append(key);
  return s;
}

// Where two JSON values differ ("" where they agree): the same structure, strings, booleans
// and integers exactly, floating-point numbers within a relative `tol`.
std::string difference(const json& a, const json& b, double tol, const std::string& at = "") {
  if (a.is_number_float() || b.is_number_float()) {
    if (!a.is_number() || !b.is_number()) return mismatch(at, a, b);
    const double x = a.get<double>(), y = b.get<double>();
    const bool near = std::abs(x - y) <= tol * std::max({std::abs(x), std::abs(y), 1e-12});
    return near ? "" : mismatch(at, a, b);
  }
  if (a.type() != b.type() || a.size() != b.size()) return mismatch(at, a, b);
  if (a.is_object()) {
    for (const auto& [k, v] : a.items()) {
      if (!b.contains(k)) return below(at, k) + ": missing";
      if (std::string d = difference(v, b[k], tol, below(at, k)); !d.empty()) return d;
    }
    return "";
  }
  if (a.is_array()) {
    for (std::size_t i = 0; i < a.size(); ++i)
      if (std::string d = difference(a[i], b[i], tol, below(at, std::to_string(i))); !d.empty())
        return d;
    return "";
  }
  return a == b ? "" : mismatch(at, a, b);
}

double maxAbsDiff(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat d;
  cv::absdiff(a, b, d);
  double m = 0;
  cv::minMaxLoc(d, nullptr, &m);
  return m;
}

const Case& caseNamed(const std::string& name) {
  static const std::vector<Case> all = cases();
  for (const Case& k : all)
    if (k.name == name) return k;
  BOOST_FAIL("no case " << name);
  return all.front();
}

// The OpenCV DNN outputs of a case, checked against its golden file once (the reference the
// oneDNN run of the case is held to).
const Outputs& reference(const std::string& name) {
  static std::map<std::string, Outputs> done;
  if (auto it = done.find(name); it != done.end()) return it->second;
  Outputs& o = done[name];
  runCase(caseNamed(name), "opencv", o);
  const fs::path file = kGoldenDir / (name + ".json");
  BOOST_REQUIRE_MESSAGE(fs::exists(file),
                        "no golden file " << file.string() << " (CAE_GOLDEN_WRITE=1 writes it)");
  const json want = json::parse(slurp(file.string()));
  BOOST_TEST(o.stored == want, name << " on opencv differs from " << file.string() << ":\n"
                                    << json::diff(want, o.stored).dump(1));
  return o;
}

}  // namespace

BOOST_DATA_TEST_CASE(outputs_match_the_stored_golden_outputs,
                     bdata::make(caseNames()) * bdata::make(kBackends), name, backend) {
  const char* write = std::getenv("CAE_GOLDEN_WRITE");
  if (write && std::string(write) == "1") {
    if (backend != "opencv") return;  // the goldens are OpenCV DNN's, the reference
    const fs::path file = kGoldenDir / (name + ".json");
    fs::create_directories(kGoldenDir);
    Outputs o;
    runCase(caseNamed(name), backend, o);
    std::ofstream(file) << o.stored.dump(1) << "\n";
    BOOST_TEST_MESSAGE("wrote " << file.string());
    return;
  }
  const Outputs& ref = reference(name);
  if (backend == "opencv") return;  // compared exactly with the golden file just now
  Outputs got;
  runCase(caseNamed(name), backend, got);
  BOOST_REQUIRE_EQUAL(got.frames.size(), ref.frames.size());
  for (std::size_t i = 0; i < ref.frames.size(); ++i) {
    BOOST_REQUIRE_EQUAL(got.frames[i].size(), ref.frames[i].size());
    for (std::size_t k = 0; k < ref.frames[i].size(); ++k) {
      const cv::Mat &r = ref.frames[i][k], &g = got.frames[i][k];
      const bool wide = r.depth() == CV_16U;
      const double d = maxAbsDiff(g, r);
      const int differ = cv::countNonZero(g != r);
      BOOST_TEST_MESSAGE(name << " " << backend << " frame " << i << " component " << k
                              << ": max |diff| " << d << ", " << differ << " of " << r.total()
                              << " samples differ");
      BOOST_TEST(d <= (wide ? 4 : 1), name << " frame " << i << " component " << k << ": " << d);
      // Mostly exact: a few samples round the other way (up to 0.5 % seen on 16 bits).
      BOOST_TEST(differ <= int(r.total() / (wide ? 20 : 100)), name << " frame " << i);
    }
  }
  json refRois = json::array(), gotRois = json::array();
  for (const json& f : ref.stored["frames"]) refRois.push_back(f["rois"]);
  for (const json& f : got.stored["frames"]) gotRois.push_back(f["rois"]);
  const std::string rois = difference(refRois, gotRois, 1e-3);
  BOOST_TEST(rois.empty(), name << ": ROI meta differs at " << rois);
  const std::string msgs = difference(ref.stored["messages"], got.stored["messages"], 1e-3);
  BOOST_TEST(msgs.empty(), name << ": messages differ at " << msgs);
}
