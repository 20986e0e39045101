// Reconstruction by inpainting (RIAD; anomaly/inpainting.hpp, train/grid_mask, the Engine's
// cae.inpaint path): the sets of a scale partition the frame and are balanced; cae.inpaint's text
// form and its refusals; the grid-mask corruption blanks exactly one set of whole cells per sample
// and nothing else; and a short cae-train run (--noise grid-mask, U-Net skips) writes cae.inpaint,
// and the Engine's reconstruction on OpenCV DNN and oneDNN equals the trainer's composite of
// masked OpenCV DNN passes — so the threshold cae-train calibrates is the one caeanomaly applies.
#define BOOST_TEST_MODULE inpainting
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <opencv2/dnn.hpp>
#include <string>
#include <vector>

#include "anomaly/inpainting.hpp"
#include "error.hpp"
#include "infer/engine.hpp"
#include "onnx/metadata.hpp"
#include "train/dataset.hpp"
#include "train/grid_mask.hpp"
#include "train/trainer.hpp"

namespace fs = std::filesystem;
using namespace cae;
using namespace cae::train;
using nn::Scalar;
using nn::Shape;
using nn::Tensor;

namespace {

const std::string kData = "/usr/lib/python3/dist-packages/skimage/data/";

Tensor patchesOf(const std::string& file, int n, int size, std::uint64_t seed) {
  LoadOptions lo;
  lo.channels = 1;
  BatchSource::Options bo;
  bo.patchH = bo.patchW = size;
  return BatchSource(loadImages({kData + file}, lo), bo).fixed(n, seed);
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_sets_of_a_scale_partition_the_frame_evenly) {
  const int h = 96, w = 128;
  for (int scale : {1, 2, 8, 16}) {
    std::vector<float> sum(std::size_t(h) * std::size_t(w), 0.f), m(sum.size());
    for (int g = 0; g < 3; ++g) {
      anomaly::fillGroupMask(m.data(), h, w, w, scale, g, 3, anomaly::inferenceSeed(scale));
      double share = 0;
      for (std::size_t k = 0; k < m.size(); ++k) {
        sum[k] += m[k];
        share += m[k];
      }
      share /= double(m.size());
      // Each cell falls in a set with probability 1/3: within 4 deviations of the binomial.
      const int rows = (h + scale - 1) / scale, cols = (w + scale - 1) / scale;
      const double cells = double(rows) * double(cols);
      const double tol = 4 * std::sqrt((1.0 / 3) * (2.0 / 3) / cells);
      BOOST_TEST_CONTEXT("scale " << scale << " set " << g) {
        BOOST_TEST(std::abs(share - 1.0 / 3) < tol);
      }
      // Whole cells: every pixel of a cell is in the same set.
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
          BOOST_REQUIRE(
              m[std::size_t(y) * std::size_t(w) + std::size_t(x)] ==
              m[std::size_t(y / scale * scale) * std::size_t(w) + std::size_t(x / scale * scale)]);
    }
    for (float s : sum) BOOST_REQUIRE(s == 1.f);
  }
}

BOOST_AUTO_TEST_CASE(text_form_round_trips_and_bad_values_are_refused) {
  const anomaly::Inpainting p = anomaly::parseInpainting("2,4,8,16/3");
  BOOST_TEST(p.scales == (std::vector<int>{2, 4, 8, 16}));
  BOOST_TEST(p.groups == 3);
  BOOST_TEST(p.passes() == 12);
  BOOST_TEST(anomaly::formatInpainting(p) == "2,4,8,16/3");
  for (const char* bad : {"", "2,4", "/3", "2,,4/3", "0/3", "2/1", "2/17", "300/3", "2/x", "a/3"})
    BOOST_CHECK_THROW(anomaly::parseInpainting(bad), InvalidArgument);
  // In a model file, a malformed value names the key.
  try {
    onnx::parseModelInfo({{"cae.inpaint", "2,4/1"}});
    BOOST_FAIL("accepted a malformed cae.inpaint");
  } catch (const FormatError& e) {
    BOOST_TEST(std::string(e.what()).find("cae.inpaint") != std::string::npos);
  }
  const onnx::ModelInfo info = onnx::parseModelInfo({{"cae.inpaint", "4,8/3"}});
  BOOST_REQUIRE(info.inpaint.has_value());
  BOOST_TEST(info.inpaint->scales == (std::vector<int>{4, 8}));
}

BOOST_AUTO_TEST_CASE(grid_mask_blanks_one_set_of_whole_cells_per_sample) {
  anomaly::Inpainting p;
  p.scales = {4, 8};
  const GridMaskNoise noise(p);
  Tensor clean(Shape{6, 2, 32, 40});
  for (std::size_t k = 0; k < clean.size(); ++k) clean.data()[k] = 0.2f + 0.6f * float(k % 7) / 7;
  Tensor noisy;
  nn::Rng rng(3);
  noise.apply(clean, noisy, rng);
  BOOST_REQUIRE(noisy.shape() == clean.shape());
  for (int n = 0; n < 6; ++n) {
    // Blanked pixels: 0 in both channels, at the same places; the rest untouched.
    std::vector<int> blank(std::size_t(32) * 40, 0);
    int count = 0;
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 40; ++x) {
        const bool b0 = noisy.at(n, 0, y, x) == 0, b1 = noisy.at(n, 1, y, x) == 0;
        BOOST_REQUIRE(b0 == b1);
        if (!b0)
          for (int c = 0; c < 2; ++c) BOOST_REQUIRE(noisy.at(n, c, y, x) == clean.at(n, c, y, x));
        blank[std::size_t(y) * 40 + std::size_t(x)] = b0;
        count += b0;
      }
    BOOST_TEST(count > 0);
    BOOST_TEST(count < 32 * 40);
    // Whole cells of one of the scales.
    bool whole = false;
    for (int s : p.scales) {
      bool ok = true;
      for (int y = 0; y < 32 && ok; ++y)
        for (int x = 0; x < 40 && ok; ++x)
          ok = blank[std::size_t(y) * 40 + std::size_t(x)] ==
               blank[std::size_t(y / s * s) * 40 + std::size_t(x / s * s)];
      whole |= ok;
    }
    BOOST_TEST(whole);
  }
  BOOST_CHECK_THROW(GridMaskNoise(anomaly::Inpainting{{}, 3}), InvalidArgument);
}

BOOST_AUTO_TEST_CASE(the_engine_reconstructs_as_the_trainer_calibrated) {
  const fs::path dir = fs::temp_directory_path() / ("cae_riad_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  TrainConfig c;
  c.data = {kData + "brick.png"};
  c.task = TrainTask::Anomaly;
  c.corruption = CorruptionKind::GridMask;
  c.maskScales = {2, 8};
  c.anomalyMap = "lowpass";
  c.mapSigma = 2;
  c.patch = 32;
  c.valFraction = 0.2;
  c.valSamples = 16;
  c.arch.kind = ArchKind::Conv;
  c.arch.depth = 1;
  c.arch.stages = 2;
  c.arch.width0 = 8;
  c.arch.maxChannels = 16;
  c.arch.latent = 8;
  c.arch.stem = 2;
  c.arch.skips = true;
  c.batch = 8;
  c.epochs = 4;
  c.stepsPerEpoch = 20;
  c.lr = 2e-3;
  c.threads = 1;
  c.calibSize = 64;
  c.output = (dir / "riad.onnx").string();
  c.recipe = "test";
  const TrainResult r = Trainer(c).run();
  BOOST_TEST(r.history.back().valLoss < r.history.front().valLoss);
  const onnx::ModelInfo info = onnx::readModelInfo(c.output);
  BOOST_REQUIRE(info.inpaint.has_value());
  BOOST_TEST(anomaly::formatInpainting(*info.inpaint) == "2,8/3");
  BOOST_REQUIRE(info.anomaly.threshold.has_value());

  // The trainer's composite, each pass through OpenCV DNN.
  const int side = 64;
  const Tensor x = patchesOf("brick.png", 1, side, 9);
  cv::dnn::Net net = cv::dnn::readNetFromONNX(c.output);
  const auto forward = [&](const Tensor& in) {
    const int dims[4] = {1, 1, side, side};
    net.setInput(cv::Mat(4, dims, CV_32F, const_cast<float*>(in.data())));
    const cv::Mat y = net.forward();
    Tensor out(in.shape());
    std::copy(y.ptr<float>(), y.ptr<float>() + out.size(), out.data());
    return out;
  };
  const Tensor ref = inpaintedReconstruction(x, *info.inpaint, forward);
  // One plain pass differs from it: the model sees the pixels there.
  const Tensor plain = forward(x);
  double plainDiff = 0;
  for (std::size_t k = 0; k < ref.size(); ++k)
    plainDiff = std::max(plainDiff, double(std::abs(plain.data()[k] - ref.data()[k])));
  BOOST_TEST(plainDiff > 1e-3);

  const int dims[4] = {1, 1, side, side};
  const cv::Mat blob(4, dims, CV_32F, const_cast<float*>(x.data()));
  for (infer::Backend be : {infer::Backend::OpenCV, infer::Backend::OneDNN}) {
    infer::EngineOptions eo;
    eo.model = c.output;
    eo.task = onnx::Task::Anomaly;
    eo.backend = be;
    eo.threads = 1;
    infer::Engine e(eo);
    const cv::Mat out = e.run(blob);
    double d = 0;
    for (std::size_t k = 0; k < ref.size(); ++k)
      d = std::max(d, double(std::abs(out.ptr<float>()[k] - ref.data()[k])));
    BOOST_TEST_CONTEXT(infer::backendName(e.backendInUse())) BOOST_TEST(d < 1e-4);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}
