// caedenoise with GRAY16 models made for modality values (cae-train --window, core/io/
// modality.hpp) on GRAY16_LE frames through GstHarness: a sample goes in as s * input_scale +
// input_offset and comes back through the inverse map, rounded and clamped to 0..65535. An
// identity model gives every 16-bit value back exactly, and a model that adds 100 HU raises
// every sample by 100 (rescale 1:-1024), clamped at the top. Once per backend.
#define BOOST_TEST_MODULE element_caedenoise_gray16
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "harness.hpp"
#include "io/dicom.hpp"
#include "io/modality.hpp"
#include "nn/layers/conv2d.hpp"
#include "onnx/metadata.hpp"

namespace fs = std::filesystem;
namespace bdata = boost::unit_test::data;
using namespace cae::testing;

BOOST_TEST_GLOBAL_FIXTURE(GstInit);

namespace {

const cae::io::Window kCtWindow{-1000, 2000};
const cae::io::Rescale kCtRescale{1, -1024};  // unsigned 16-bit CT: stored = HU + 1024

// What cae-train --window -1000:2000 --sample-rescale 1:-1024 writes (train/model_export.cpp).
cae::onnx::ExportOptions ctOptions() {
  cae::onnx::ExportOptions o;
  o.task = cae::onnx::Task::Denoise;
  o.format = "GRAY16_LE";
  const cae::io::UnitMap u = cae::io::unitMap(kCtRescale, kCtWindow);
  o.inputScale = u.scale;
  o.inputOffset = u.offset;
  o.extra[cae::onnx::key::kWindow] = cae::onnx::formatWindow(kCtWindow);
  o.extra[cae::onnx::key::kSampleRescale] = cae::onnx::formatRescale(kCtRescale);
  return o;
}

// A residual conv autoencoder (stem, stages, skips, as cae-train builds them) with every
// parameter zero: output = input, through the whole graph and its tiles.
std::string identityAutoencoder() {
  const fs::path path = scratch() / "identity_ct.onnx";
  if (fs::exists(path)) return path.string();
  cae::train::ArchSpec s;
  s.kind = cae::train::ArchKind::Conv;
  s.height = s.width = 32;
  s.stem = 2;
  s.stages = 2;
  s.depth = 1;
  s.width0 = 8;
  s.maxChannels = 16;
  s.skips = true;
  s.residual = true;
  cae::train::BuiltModel b = cae::train::buildAutoencoder(s);
  b.model.params().setZero();
  cae::onnx::exportOnnx(b.model, path.string(), ctOptions());
  return path.string();
}

// One 1x1 convolution: u -> u + shift (model units).
std::string shiftModel(const std::string& name, float shift) {
  const fs::path path = scratch() / name;
  if (fs::exists(path)) return path.string();
  cae::nn::Model m({1, 1, 8, 8});
  cae::nn::Conv2dOptions c;
  c.kernel = 1;
  m.add(std::make_unique<cae::nn::Conv2d>(c));
  m.compile();
  auto p = m.params();  // weight, then bias
  BOOST_REQUIRE_EQUAL(p.size(), 2);
  p[0] = 1;
  p[1] = shift;
  cae::onnx::exportOnnx(m, path.string(), ctOptions());
  return path.string();
}

// Every 16-bit value once: sample (y, x) = 256 y + x.
cv::Mat everyValue() {
  cv::Mat m(256, 256, CV_16U);
  for (int y = 0; y < 256; ++y)
    for (int x = 0; x < 256; ++x) m.at<std::uint16_t>(y, x) = std::uint16_t(256 * y + x);
  return m;
}

// CT_small (python3-pydicom) as an unsigned 16-bit CT frame: stored values, which are HU + 1024
// (its rescale is 1:-1024), recovered exactly from the full stored range.
cv::Mat ctSlice() {
  const cae::io::DicomImageData d =
      cae::io::readDicom("/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm",
                         cae::io::DicomScaling::StoredRange);
  const cae::nn::Tensor& t = d.frames.at(0);
  cv::Mat m(t.shape().h, t.shape().w, CV_16U);
  for (int y = 0; y < m.rows; ++y)
    for (int x = 0; x < m.cols; ++x)
      m.at<std::uint16_t>(y, x) =
          std::uint16_t(std::lround(double(t.at(0, 0, y, x)) * 65535 - 32768));
  return m;
}

cv::Mat roundTrip(const std::string& backend, const std::string& model, const cv::Mat& frame,
                  int padStride = 0) {
  const GstVideoInfo info = videoInfo(GST_VIDEO_FORMAT_GRAY16_LE, frame.cols, frame.rows);
  Element e(onBackend("caedenoise model=" + model, backend), info);
  GstBuffer* out = e.push({frame}, 0, padStride);
  BOOST_TEST(e.backendInUse() == expectedInUse(backend));
  cv::Mat r = readBuffer(info, out)[0];
  gst_buffer_unref(out);
  return r;
}

int differing(const cv::Mat& a, const cv::Mat& b) { return cv::countNonZero(a != b); }

}  // namespace

BOOST_DATA_TEST_CASE(an_identity_ct_model_gives_every_16_bit_value_back, bdata::make(kBackends),
                     backend) {
  const std::string model = identityAutoencoder();
  const cv::Mat all = everyValue();
  BOOST_TEST(differing(roundTrip(backend, model, all), all) == 0);
  BOOST_TEST(differing(roundTrip(backend, model, all, 6), all) == 0);  // padded strides
  const cv::Mat ct = ctSlice();
  BOOST_TEST(ct.at<std::uint16_t>(64, 64) == 1928);  // pydicom: pixel_array[64, 64]
  BOOST_TEST(differing(roundTrip(backend, model, ct), ct) == 0);
}

BOOST_DATA_TEST_CASE(a_model_adding_100_hu_raises_every_sample_by_100, bdata::make(kBackends),
                     backend) {
  const float hu100 = float(100.0 / (kCtWindow.hi - kCtWindow.lo));
  const cv::Mat all = everyValue();
  const cv::Mat up = roundTrip(backend, shiftModel("plus100.onnx", hu100), all);
  const cv::Mat down = roundTrip(backend, shiftModel("minus100.onnx", -hu100), all);
  int wrong = 0;
  for (int y = 0; y < 256; ++y)
    for (int x = 0; x < 256; ++x) {
      const int s = 256 * y + x;
      wrong += up.at<std::uint16_t>(y, x) != std::min(s + 100, 65535);
      wrong += down.at<std::uint16_t>(y, x) != std::max(s - 100, 0);
    }
  BOOST_TEST(wrong == 0);
}
