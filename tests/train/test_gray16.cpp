// 16-bit scans end to end in the trainer (core/io/modality.hpp): the DICOM loader's modality
// values under a window, 16-bit PNG samples through a sample rescale, cae.window and
// cae.sample_rescale in the metadata, Engine::normalisation of a GRAY16 model, and a short
// cae-train --window run on real CT and MR slices (python3-pydicom's test files) writing a
// GRAY16_LE model with the window's input_scale / input_offset.
// The binary: $CAE_TRAIN_EXE, else ../tools/cae-train beside this test's build folder.
#define BOOST_TEST_MODULE gray16
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "enhance/slices.hpp"
#include "error.hpp"
#include "infer/engine.hpp"
#include "io/dicom.hpp"
#include "nn/layers/conv2d.hpp"
#include "nn/model.hpp"
#include "onnx/export.hpp"
#include "onnx/metadata.hpp"
#include "shell.hpp"
#include "train/dataset.hpp"
#include "train/denoise_metrics.hpp"

namespace fs = std::filesystem;
namespace io = cae::io;
namespace onnx = cae::onnx;
namespace train = cae::train;
using cae::nn::Tensor;

namespace {

const std::string kFiles = "/usr/lib/python3/dist-packages/pydicom/data/test_files/";
const std::string kSk = "/usr/lib/python3/dist-packages/skimage/data/";
const io::Window kCtWindow{-1000, 2000};
const io::Rescale kCtRescale{1, -1024};  // unsigned 16-bit CT: stored = HU + 1024

// One folder per process, removed at exit.
const fs::path& scratch() {
  struct Scratch {
    fs::path dir = fs::temp_directory_path() / ("cae_gray16_" + std::to_string(::getpid()));
    Scratch() { fs::create_directories(dir); }
    ~Scratch() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  };
  static Scratch s;
  return s.dir;
}

std::string trainExe() {
  if (const char* e = std::getenv("CAE_TRAIN_EXE")) return e;
  return (fs::canonical("/proc/self/exe").parent_path().parent_path() / "tools" / "cae-train")
      .string();
}

// CT_small's stored values (signed 16-bit, 128..2191, HU = stored - 1024) as CV_32S, read back
// exactly from the full stored range (a float holds v = (s + 32768) / 65535 to 1e-3 samples).
cv::Mat ctSmallStored() {
  const io::DicomImageData d =
      io::readDicom(kFiles + "CT_small.dcm", io::DicomScaling::StoredRange);
  BOOST_REQUIRE_EQUAL(d.lo, -32768.0);
  const Tensor& t = d.frames.at(0);
  cv::Mat m(t.shape().h, t.shape().w, CV_32S);
  for (int y = 0; y < m.rows; ++y)
    for (int x = 0; x < m.cols; ++x)
      m.at<int>(y, x) = int(std::lround(double(t.at(0, 0, y, x)) * 65535 - 32768));
  return m;
}

// A 16-bit PNG of CT_small's stored values: the same slice as an unsigned 16-bit CT image with
// stored = HU + 1024 (CT_small's own rescale is 1:-1024 too).
std::string ctSmallPng16() {
  const fs::path p = scratch() / "ct_small16.png";
  if (!fs::exists(p)) {
    cv::Mat u16;
    ctSmallStored().convertTo(u16, CV_16U);
    BOOST_REQUIRE(cv::imwrite(p.string(), u16));
  }
  return p.string();
}

// One 1x1 convolution with zero weights: a model of any metadata.
cae::nn::Model zeroModel() {
  cae::nn::Model m({1, 1, 8, 8});
  cae::nn::Conv2dOptions c;
  c.kernel = 1;
  m.add(std::make_unique<cae::nn::Conv2d>(c));
  m.compile();
  m.params().setZero();
  return m;
}

// Runs f and returns the message of the exception E it throws (fails when nothing or else is).
template <class E, class F>
std::string messageOf(F f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    BOOST_ERROR("wrong exception: " << e.what());
    return {};
  }
  BOOST_ERROR("nothing thrown");
  return {};
}

}  // namespace

// References: /usr/bin/python3, pydicom 2.3.1: CT_small.dcm BitsStored 16, PixelRepresentation
// 1, RescaleSlope 1, RescaleIntercept -1024; pixel_array[64, 64] == 1928, [10, 20] == 185,
// [100, 37] == 1060, [0, 0] == 175, [127, 127] == 909.
BOOST_AUTO_TEST_CASE(ct_small_under_a_window_gives_modality_values) {
  const io::DicomImageData d =
      io::readDicom(kFiles + "CT_small.dcm", io::DicomScaling::Window, kCtWindow);
  BOOST_TEST(d.bitsStored == 16);
  BOOST_TEST(d.isSigned);
  BOOST_TEST(d.rescale.slope == 1.0);
  BOOST_TEST(d.rescale.intercept == -1024.0);
  BOOST_TEST(d.lo == 24.0);  // the window's ends as stored values: HU + 1024
  BOOST_TEST(d.hi == 3024.0);
  const struct {
    int y, x, stored;
  } refs[] = {{64, 64, 1928}, {10, 20, 185}, {100, 37, 1060}, {0, 0, 175}, {127, 127, 909}};
  for (const auto& r : refs) {
    const double hu = r.stored * 1.0 - 1024;
    const float want = float((hu - kCtWindow.lo) / (kCtWindow.hi - kCtWindow.lo));
    BOOST_TEST(d.frames.at(0).at(0, 0, r.y, r.x) == want, boost::test_tools::tolerance(1e-6f)
                                                              << "at " << r.y << "," << r.x);
  }
  // The rescale is recorded whatever the scaling; MR_small has none: 1 and 0.
  BOOST_TEST(io::readDicom(kFiles + "CT_small.dcm").rescale.intercept == -1024.0);
  const io::DicomImageData mr = io::readDicom(kFiles + "MR_small.dcm");
  BOOST_TEST(mr.rescale.slope == 1.0);
  BOOST_TEST(mr.rescale.intercept == 0.0);
}

// A slope other than 1 (CT_small with Rescale Slope 2.5 and Intercept -100 set by dcmodify):
// value = stored * 2.5 - 100.
BOOST_AUTO_TEST_CASE(rescale_slope_and_intercept_are_applied) {
  const fs::path copy = scratch() / "ct_slope.dcm";
  fs::copy_file(kFiles + "CT_small.dcm", copy, fs::copy_options::overwrite_existing);
  const cae::testing::Result r = cae::testing::run(
      "dcmodify -nb -m '(0028,1053)=2.5' -m '(0028,1052)=-100' " + cae::testing::quote(copy));
  BOOST_REQUIRE_MESSAGE(r.rc == 0, r.out);
  const io::DicomImageData d = io::readDicom(copy.string(), io::DicomScaling::Window, kCtWindow);
  BOOST_TEST(d.rescale.slope == 2.5);
  BOOST_TEST(d.rescale.intercept == -100.0);
  const float want = float((1928 * 2.5 - 100 + 1000) / 3000);
  BOOST_TEST(d.frames.at(0).at(0, 0, 64, 64) == want, boost::test_tools::tolerance(1e-6f));

  // A zero slope maps nothing: refused, naming the file.
  BOOST_REQUIRE(
      cae::testing::run("dcmodify -nb -m '(0028,1053)=0' " + cae::testing::quote(copy)).rc == 0);
  const std::string msg = messageOf<cae::FormatError>(
      [&] { io::readDicom(copy.string(), io::DicomScaling::Window, kCtWindow); });
  BOOST_TEST(msg.find("ct_slope.dcm") != std::string::npos, msg);
  BOOST_TEST(msg.find("Rescale") != std::string::npos, msg);
  // Without a window the slope does not matter (stored values, as before).
  BOOST_CHECK_NO_THROW(io::readDicom(copy.string()));
  BOOST_CHECK_THROW(io::readDicom(kFiles + "CT_small.dcm", io::DicomScaling::Window, {5, 5}),
                    cae::InvalidArgument);
}

// The trainer's loader: CT_small as DICOM and as a 16-bit PNG of its stored values read with
// the sample rescale 1:-1024 are the same slice in the same units; MR_small (no rescale) is
// stored values through the window.
BOOST_AUTO_TEST_CASE(dicom_and_png16_load_as_the_same_units) {
  train::LoadOptions o;
  o.window = kCtWindow;
  o.sampleRescale = kCtRescale;
  const std::vector<train::Image> ims =
      train::loadImages({kFiles + "CT_small.dcm", ctSmallPng16(), kFiles + "MR_small.dcm"}, o);
  BOOST_REQUIRE_EQUAL(ims.size(), 3u);
  const Tensor &dcm = ims[0].pixels, &png = ims[1].pixels, &mr = ims[2].pixels;
  BOOST_REQUIRE(dcm.shape().h == png.shape().h && dcm.shape().w == png.shape().w);
  for (std::size_t i = 0; i < dcm.size(); ++i) BOOST_REQUIRE_EQUAL(dcm[i], png[i]);
  BOOST_TEST(dcm.at(0, 0, 64, 64) == float((1928.0 - 1024 + 1000) / 3000),
             boost::test_tools::tolerance(1e-6f));
  // MR_small: pixel_array.min() == 127 and max() == 2145 (pydicom), no rescale.
  float lo = mr[0], hi = mr[0];
  for (std::size_t i = 0; i < mr.size(); ++i) lo = std::min(lo, mr[i]), hi = std::max(hi, mr[i]);
  BOOST_TEST(lo == float((127.0 + 1000) / 3000), boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(hi == float((2145.0 + 1000) / 3000), boost::test_tools::tolerance(1e-6f));

  // Without a window nothing changes: the PNG is divided by 65535, the DICOM by its min..max.
  const std::vector<train::Image> plain =
      train::loadImages({kFiles + "CT_small.dcm", ctSmallPng16()}, train::LoadOptions{});
  BOOST_TEST(plain[0].pixels.at(0, 0, 64, 64) == float((1928.0 - 128) / 2063),
             boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(plain[1].pixels.at(0, 0, 64, 64) == float(1928.0 / 65535),
             boost::test_tools::tolerance(1e-6f));
}

BOOST_AUTO_TEST_CASE(a_window_refuses_what_holds_no_modality_values) {
  train::LoadOptions o;
  o.window = kCtWindow;
  const std::string png8 = kSk + "camera.png";
  std::string msg = messageOf<cae::FormatError>([&] { train::loadImages({png8}, o); });
  BOOST_TEST(msg.find("camera.png") != std::string::npos, msg);
  BOOST_TEST(msg.find("8-bit") != std::string::npos, msg);
  msg = messageOf<cae::FormatError>([&] {
    train::loadImages({"/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"}, o);
  });
  BOOST_TEST(msg.find("t10k-images") != std::string::npos, msg);
  o.channels = 3;
  BOOST_CHECK_THROW(train::loadImages({kFiles + "CT_small.dcm"}, o), cae::InvalidArgument);
  o.channels = 1;
  o.sampleRescale = {0, 5};
  BOOST_CHECK_THROW(train::loadImages({kFiles + "CT_small.dcm"}, o), cae::InvalidArgument);
  o.sampleRescale = {};
  o.window = io::Window{2000, -1000};
  BOOST_CHECK_THROW(train::loadImages({kFiles + "CT_small.dcm"}, o), cae::InvalidArgument);
}

BOOST_AUTO_TEST_CASE(window_and_rescale_metadata_parse_and_format) {
  const io::Window w = onnx::parseWindow("-1000:2000");
  BOOST_TEST(w.lo == -1000.0);
  BOOST_TEST(w.hi == 2000.0);
  BOOST_TEST(onnx::formatWindow({-160, 240}) == "-160:240");
  BOOST_TEST(onnx::formatWindow({-0.1, 1e-3}) == "-0.1:0.001");
  const io::Window back = onnx::parseWindow(onnx::formatWindow({-1.0 / 3, 2.0 / 7}));
  BOOST_TEST(back.lo == -1.0 / 3);  // shortest exact text
  BOOST_TEST(back.hi == 2.0 / 7);
  const io::Rescale r = onnx::parseRescale("1:-1024");
  BOOST_TEST(r.slope == 1.0);
  BOOST_TEST(r.intercept == -1024.0);
  BOOST_TEST(onnx::formatRescale({0.5, -3000}) == "0.5:-3000");
  BOOST_TEST(onnx::parseRescale("-1:0").slope == -1.0);  // MONOCHROME1-style inversions
  for (const char* bad : {"", ":", "1", "1:", ":2", "2:1", "1:1", "x:2", "1:2 ", "1:2:3"}) {
    const std::string msg = messageOf<cae::FormatError>([&] { onnx::parseWindow(bad); });
    BOOST_TEST(msg.find("cae.window") != std::string::npos, "'" << bad << "': " << msg);
  }
  const std::string msg = messageOf<cae::FormatError>([] { onnx::parseRescale("0:1"); });
  BOOST_TEST(msg.find("cae.sample_rescale") != std::string::npos, msg);
  // Through parseModelInfo: known keys, not "unknown" ones.
  const onnx::ModelInfo info =
      onnx::parseModelInfo({{"cae.window", "-1000:2000"}, {"cae.sample_rescale", "1:-1024"}});
  BOOST_TEST_REQUIRE(info.window.has_value());
  BOOST_TEST(info.window->hi == 2000.0);
  BOOST_TEST(info.sampleRescale.intercept == -1024.0);
  BOOST_TEST(info.unknown.empty());
}

// A GRAY16_LE model with a window: 16-bit frames are multiplied by cae.input_scale as it is
// (the format's full scale is 65535), 8-bit frames are taken as 257 times their value.
BOOST_AUTO_TEST_CASE(engine_normalisation_of_a_gray16_model_is_the_window_map) {
  cae::nn::Model m = zeroModel();
  onnx::ExportOptions o;
  o.task = onnx::Task::Denoise;
  o.format = "GRAY16_LE";
  const io::UnitMap u = io::unitMap(kCtRescale, kCtWindow);
  o.inputScale = u.scale;
  o.inputOffset = u.offset;
  o.extra[onnx::key::kWindow] = onnx::formatWindow(kCtWindow);
  o.extra[onnx::key::kSampleRescale] = onnx::formatRescale(kCtRescale);
  const std::string path = (scratch() / "gray16_norm.onnx").string();
  onnx::exportOnnx(m, path, o);
  cae::infer::EngineOptions eo;
  eo.model = path;
  eo.backend = cae::infer::Backend::OpenCV;
  const cae::infer::Engine e(eo);
  BOOST_TEST(u.scale == 1.0 / 3000);
  BOOST_TEST(u.offset == (-1024.0 + 1000) / 3000);
  const cae::infer::Normalisation n16 = e.normalisation(16);
  BOOST_TEST(n16.scale == u.scale);  // exactly
  BOOST_TEST(n16.offset == u.offset);
  // Sample 3024 (HU 2000) is 1, sample 24 (HU -1000) is 0.
  BOOST_TEST(3024 * n16.scale + n16.offset == 1.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(24 * n16.scale + n16.offset == 0.0, boost::test_tools::tolerance(1e-12));
  const cae::infer::Normalisation n8 = e.normalisation(8);
  BOOST_TEST(n8.scale == u.scale * 65535 / 255, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(n8.offset == u.offset);
  BOOST_TEST_REQUIRE(e.info().window.has_value());
  BOOST_TEST(e.info().window->lo == -1000.0);
}

// cae-enhance takes a model's window from the typed metadata; a malformed one is refused,
// naming the model and the key.
BOOST_AUTO_TEST_CASE(cae_enhance_reads_the_window_from_the_metadata) {
  cae::nn::Model m = zeroModel();
  onnx::ExportOptions o;
  o.task = onnx::Task::Denoise;
  o.format = "GRAY16_LE";
  o.extra[onnx::key::kWindow] = "-160:240";
  const std::string good = (scratch() / "window_good.onnx").string();
  onnx::exportOnnx(m, good, o);
  const cae::enhance::ModelRef ref = cae::enhance::ModelRef::load(good);
  BOOST_TEST(ref.window.lo == -160.0);
  BOOST_TEST(ref.window.hi == 240.0);
  o.extra[onnx::key::kWindow] = "240:-160";
  const std::string bad = (scratch() / "window_bad.onnx").string();
  onnx::exportOnnx(m, bad, o);
  const std::string msg = messageOf<cae::FormatError>([&] { cae::enhance::ModelRef::load(bad); });
  BOOST_TEST(msg.find("window_bad.onnx") != std::string::npos, msg);
  BOOST_TEST(msg.find("cae.window") != std::string::npos, msg);
}

// cae-train --window on CT_small, MR_small and a 16-bit PNG of CT_small: a GRAY16_LE model whose
// input_scale / input_offset are the window's map of the sample rescale, and the recipe.
BOOST_AUTO_TEST_CASE(cae_train_window_writes_a_gray16_model) {
  const fs::path dir = scratch() / "train";
  fs::create_directories(dir);
  const std::string model = (dir / "ct.onnx").string();
  const std::vector<std::string> args{kFiles + "CT_small.dcm",
                                      kFiles + "MR_small.dcm",
                                      ctSmallPng16(),
                                      "--window",
                                      "-1000:2000",
                                      "--sample-rescale",
                                      "1:-1024",
                                      "--task",
                                      "denoise",
                                      "--noise",
                                      "gaussian",
                                      "--sigma",
                                      "10",
                                      "--arch",
                                      "conv",
                                      "--depth",
                                      "1",
                                      "--stages",
                                      "1",
                                      "--channels",
                                      "8",
                                      "--residual",
                                      "--allow-overcomplete",
                                      "--patch",
                                      "32",
                                      "--epochs",
                                      "2",
                                      "--steps",
                                      "5",
                                      "--batch",
                                      "4",
                                      "--val-samples",
                                      "8",
                                      "--threads",
                                      "1",
                                      "-q",
                                      "-o",
                                      model};
  std::string cmd = cae::testing::quote(trainExe());
  for (const std::string& a : args) cmd += " " + cae::testing::quote(a);
  const cae::testing::Result r = cae::testing::run(cmd, 600);
  BOOST_TEST_MESSAGE(cmd << "\n -> " << r.rc << "\n" << r.out);
  BOOST_REQUIRE_EQUAL(r.rc, 0);
  const onnx::ModelInfo info = onnx::readModelInfo(model);
  BOOST_TEST(info.format == "GRAY16_LE");
  BOOST_TEST_REQUIRE(info.window.has_value());
  BOOST_TEST(info.window->lo == -1000.0);
  BOOST_TEST(info.window->hi == 2000.0);
  BOOST_TEST(info.sampleRescale.slope == 1.0);
  BOOST_TEST(info.sampleRescale.intercept == -1024.0);
  BOOST_TEST(info.inputScale == 1.0 / 3000);                // slope / (HI - LO)
  BOOST_TEST(info.inputOffset == (-1024.0 + 1000) / 3000);  // (intercept - LO) / (HI - LO)
  const auto meta = onnx::readOnnxMetadata(model);
  BOOST_TEST(meta.at("cae.window") == "-1000:2000");
  BOOST_TEST(meta.at("cae.sample_rescale") == "1:-1024");
  BOOST_TEST(info.recipe.find("--window -1000:2000") != std::string::npos, info.recipe);
  BOOST_TEST(info.recipe.find("--sample-rescale 1:-1024") != std::string::npos, info.recipe);
  BOOST_TEST((info.task == onnx::Task::Denoise));
  BOOST_CHECK_NO_THROW(onnx::checkOnnxFile(model));
  // The end-of-run PSNR is in window units, unclamped, and without 8-bit NLM.
  BOOST_TEST(r.out.find("peak: the window's width") != std::string::npos, r.out);
  BOOST_TEST(r.out.find("OpenCV NLM") == std::string::npos, r.out);
}

// Model units past the window (bone above the window's top, air below its bottom) are real
// values of a windowed model: clamping them to [0, 1] as for 8-bit frames would count a perfect
// output as an error.
BOOST_AUTO_TEST_CASE(denoise_scores_of_a_window_keep_values_past_it) {
  Tensor clean({1, 1, 4, 4}), noisy({1, 1, 4, 4});
  for (std::size_t i = 0; i < clean.size(); ++i) {
    clean[i] = cae::nn::Scalar(-0.25 + 0.1 * double(i));  // -0.25 .. 1.25
    noisy[i] = clean[i] + cae::nn::Scalar(i % 2 ? 0.01 : -0.01);
  }
  const train::DenoiseScores exact = train::denoiseScores(clean, noisy, clean, 0.01, false, false);
  BOOST_TEST(std::isinf(exact.model));
  BOOST_TEST(exact.noisy == 40.0, boost::test_tools::tolerance(1e-5));  // mse 1e-4 (floats)
  const train::DenoiseScores clamped = train::denoiseScores(clean, noisy, clean, 0.01, false);
  BOOST_TEST(std::isfinite(clamped.model));  // what an 8-bit frame stores
  BOOST_TEST(!clamped.hasNlm);
}

BOOST_AUTO_TEST_CASE(cae_train_window_options_are_documented_and_checked) {
  const std::string exe = cae::testing::quote(trainExe());
  const cae::testing::Result help = cae::testing::run(exe + " --help");
  BOOST_TEST(help.rc == 0);
  for (const char* s : {"--window", "--sample-rescale", "1:-1024", "HU", "GRAY16_LE"})
    BOOST_TEST(help.out.find(s) != std::string::npos, s);
  const std::string ct = cae::testing::quote(kFiles + "CT_small.dcm");
  const std::string out = " -o " + cae::testing::quote((scratch() / "bad.onnx").string());
  const struct {
    std::string args;
    int rc;
    std::string says;
  } bad[] = {
      {ct + " --window 2000:-1000", 2, "--window"},
      {ct + " --window -1000", 2, "--window"},
      {ct + " --window -1000:2000 --sample-rescale 0:1", 2, "--sample-rescale"},
      {ct + " --sample-rescale 1:-1024", 2, "--window"},
      {ct + " --window -1000:2000 --color rgb", 2, "gray"},
      {cae::testing::quote(kSk + "camera.png") + " --window -1000:2000", 1, "camera.png"},
  };
  for (const auto& b : bad) {
    std::string cmd = exe;
    cmd += " " + b.args;
    cmd += out;
    const cae::testing::Result r = cae::testing::run(cmd);
    BOOST_TEST(r.rc == b.rc, b.args << ": " << r.out);
    BOOST_TEST(r.out.find(b.says) != std::string::npos, b.args << ": " << r.out);
  }
}
