// Segmentation anomaly models (DRAEM-style, core/train/synthetic_anomaly and the segmentation head
// of core/train/architecture): the synthetic anomalies on real textures (binary Perlin regions,
// nothing changed outside them, the share of samples, colour-only fills, repeatable draws), the
// objective's gradient (reconstruction MSE + the head's BCE) against central differences, and a
// short training run whose exported model writes one probability channel that OpenCV DNN and
// the oneDNN engine compute alike, with its calibration on the segmentation map.
#define BOOST_TEST_MODULE synthetic_anomaly
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <opencv2/dnn.hpp>
#include <string>
#include <vector>

#include "error.hpp"
#include "infer/engine.hpp"
#include "onnx/metadata.hpp"
#include "train/architecture.hpp"
#include "train/dataset.hpp"
#include "train/objective.hpp"
#include "train/synthetic_anomaly.hpp"
#include "train/trainer.hpp"

namespace fs = std::filesystem;
using namespace cae;
using namespace cae::train;
using nn::Tensor;

namespace {

const std::string kData = "/usr/lib/python3/dist-packages/skimage/data/";

Tensor patchesOf(const std::string& file, int channels, int n, int size, std::uint64_t seed) {
  LoadOptions lo;
  lo.channels = channels;
  BatchSource::Options bo;
  bo.patchH = bo.patchW = size;
  const BatchSource src(loadImages({kData + file}, lo), bo);
  return src.fixed(n, seed);
}

std::vector<Image> imagesOf(const std::string& file, int channels) {
  LoadOptions lo;
  lo.channels = channels;
  return loadImages({kData + file}, lo);
}

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("cae_synth_" + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(synthetic_anomaly)

BOOST_AUTO_TEST_CASE(regions_are_binary_and_nothing_outside_them_changes) {
  const Tensor clean = patchesOf("brick.png", 1, 200, 64, 3);
  const SyntheticAnomaly gen(imagesOf("coffee.png", 1), 1, 64, 64, {});
  Tensor out, mask;
  nn::Rng rng(7);
  gen.apply(clean, out, mask, rng);
  BOOST_TEST((mask.shape() == nn::Shape{200, 1, 64, 64}));
  int anomalous = 0;
  double coverage = 0;
  for (int n = 0; n < 200; ++n) {
    const float* m = mask.sample(n);
    const float* x = clean.sample(n);
    const float* y = out.sample(n);
    int inside = 0;
    double change = 0;
    for (int i = 0; i < 64 * 64; ++i) {
      BOOST_REQUIRE((m[i] == 0.f || m[i] == 1.f));
      BOOST_REQUIRE((y[i] >= 0.f && y[i] <= 1.f));
      if (m[i] == 0.f) {
        BOOST_REQUIRE(y[i] == x[i]);
      } else {
        ++inside;
        change += std::abs(y[i] - x[i]);
      }
    }
    if (inside > 0) {
      ++anomalous;
      coverage += inside / 4096.0;
      BOOST_TEST_CONTEXT("sample " << n) BOOST_TEST(change / inside > 0.002);
    }
  }
  BOOST_TEST_MESSAGE("anomalous samples " << anomalous << " of 200, mean coverage "
                                          << coverage / std::max(anomalous, 1));
  BOOST_TEST(anomalous > 70);  // share 0.5 (binomial: 100 +- 7)
  BOOST_TEST(anomalous < 130);
  BOOST_TEST(coverage / anomalous > 0.03);
  BOOST_TEST(coverage / anomalous < 0.6);
}

BOOST_AUTO_TEST_CASE(the_same_rng_state_gives_the_same_draw) {
  const Tensor clean = patchesOf("grass.png", 1, 16, 32, 1);
  const SyntheticAnomaly gen({}, 1, 32, 32, {});
  Tensor a, ma, b, mb;
  nn::Rng r1(11), r2(11);
  gen.apply(clean, a, ma, r1);
  gen.apply(clean, b, mb, r2);
  BOOST_TEST(std::equal(a.data(), a.data() + a.size(), b.data()));
  BOOST_TEST(std::equal(ma.data(), ma.data() + ma.size(), mb.data()));
  Tensor c, mc;
  gen.apply(clean, c, mc, r1);  // the generator moved on
  BOOST_TEST(!std::equal(ma.data(), ma.data() + ma.size(), mc.data()));
}

// Colour models see colour-only regions: the gray level kept, the hue changed.
BOOST_AUTO_TEST_CASE(rgb_samples_get_colour_only_regions) {
  const Tensor clean = patchesOf("coffee.png", 3, 120, 32, 2);
  SyntheticAnomaly::Options o;
  o.share = 1;
  const SyntheticAnomaly gen({}, 3, 32, 32, o);
  Tensor out, mask;
  nn::Rng rng(3);
  gen.apply(clean, out, mask, rng);
  int colourOnly = 0;
  for (int n = 0; n < 120; ++n) {
    double dGray = 0, dColour = 0;
    int inside = 0;
    for (int i = 0; i < 32 * 32; ++i) {
      if (mask.sample(n)[i] == 0.f) continue;
      ++inside;
      double g = 0;
      for (int c = 0; c < 3; ++c) {
        const double d = out.sample(n)[c * 1024 + i] - clean.sample(n)[c * 1024 + i];
        g += d / 3;
        dColour += std::abs(d);
      }
      dGray += std::abs(g);
    }
    if (inside > 0 && dColour / inside > 0.02 && dGray < 0.2 * dColour / 3) ++colourOnly;
  }
  BOOST_TEST_MESSAGE("colour-only regions: " << colourOnly << " of 120");
  BOOST_TEST(colourOnly >= 10);
}

BOOST_AUTO_TEST_CASE(clear_errors) {
  BOOST_CHECK_THROW(SyntheticAnomaly(imagesOf("coffee.png", 3), 1, 32, 32, {}), InvalidArgument);
  SyntheticAnomaly::Options bad;
  bad.minOpacity = 0;
  BOOST_CHECK_THROW(SyntheticAnomaly({}, 1, 32, 32, bad), InvalidArgument);
  const SyntheticAnomaly gen({}, 1, 32, 32, {});
  Tensor out, mask;
  nn::Rng rng(1);
  BOOST_CHECK_THROW(gen.apply(patchesOf("brick.png", 1, 2, 64, 1), out, mask, rng),
                    InvalidArgument);
}

// The objective of a segmentation model: its gradient (two seeded terms through one backward)
// against central differences of the loss, on the parameters with the largest gradients. The
// trainer's engine is float32: a coarse step and tolerance.
BOOST_AUTO_TEST_CASE(segmentation_objective_gradient_matches_central_differences) {
  ArchSpec s;
  s.kind = ArchKind::Conv;
  s.height = s.width = 16;
  s.depth = 1;
  s.stages = 1;
  s.width0 = 4;
  s.maxChannels = 8;
  s.latent = 2;
  s.activation = "tanh";
  s.segWidth = 3;
  s.segStem = 2;
  BuiltModel b = buildAutoencoder(s);
  BOOST_REQUIRE(b.segments());
  TrainConfig c;
  c.task = TrainTask::Anomaly;
  Objective obj(c);
  SyntheticAnomaly::Options o;
  o.share = 1;
  obj.useSyntheticAnomalies(SyntheticAnomaly({}, 1, 16, 16, o));
  const Tensor clean = patchesOf("brick.png", 1, 4, 16, 5);
  Tensor noisy;
  nn::Rng rng(2);
  const Tensor input = obj.corrupt(clean, false, noisy, rng);
  const StepLoss l = obj.step(b, false, input, clean, rng);
  BOOST_TEST(std::isfinite(l.total));
  BOOST_TEST(l.total > l.reconstruction);  // the MSE term is in the total only
  const std::vector<float> g(b.model.grads().data(),
                             b.model.grads().data() + b.model.grads().size());
  std::vector<std::size_t> idx(g.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::partial_sort(idx.begin(), idx.begin() + 24, idx.end(),
                    [&](std::size_t i, std::size_t j) { return std::abs(g[i]) > std::abs(g[j]); });
  double diff = 0, sum = 0;
  for (int k = 0; k < 24; ++k) {
    float& p = b.model.params()[Eigen::Index(idx[std::size_t(k)])];
    const float keep = p, eps = 2e-3f;
    p = keep + eps;
    const double fp = obj.step(b, false, input, clean, rng).total;
    p = keep - eps;
    const double fm = obj.step(b, false, input, clean, rng).total;
    p = keep;
    const double num = (fp - fm) / (2 * double(eps)), a = g[idx[std::size_t(k)]];
    diff += (a - num) * (a - num);
    sum += (a + num) * (a + num);
  }
  const double rel = std::sqrt(diff) / std::sqrt(sum);
  BOOST_TEST_MESSAGE("relative error " << rel);
  BOOST_TEST(rel < 0.03);
}

// A short run: the validation loss (BCE of the map on fixed synthetic anomalies) falls, and the
// file is a segmentation anomaly model that every backend runs alike.
// A small segmentation model on brick.png, scored on `map`, written to `output`.
TrainConfig smallSegmentationModel(const std::string& map, const fs::path& output) {
  TrainConfig c;
  c.data = {kData + "brick.png"};
  c.task = TrainTask::Anomaly;
  c.anomalyMap = map;
  c.mapSigma = 2;
  c.patch = 32;
  c.valFraction = 0.2;
  c.valSamples = 32;
  c.arch.kind = ArchKind::Conv;
  c.arch.depth = 1;
  c.arch.stages = 2;
  c.arch.width0 = 8;
  c.arch.maxChannels = 16;
  c.arch.latent = 8;
  c.arch.stem = 2;
  c.arch.segWidth = 4;
  c.arch.segStem = 2;
  c.batch = 8;
  c.epochs = 10;
  c.stepsPerEpoch = 40;
  c.lr = 2e-3;
  c.threads = 1;
  c.calibSize = 64;
  c.output = output.string();
  c.recipe = "test";
  return c;
}

BOOST_AUTO_TEST_CASE(a_segmentation_model_trains_and_exports) {
  TempDir dir;
  const TrainConfig c = smallSegmentationModel("segmentation", dir.path / "seg.onnx");
  const TrainResult r = Trainer(c).run();
  BOOST_REQUIRE(r.history.size() == 10);
  BOOST_TEST_MESSAGE("val loss " << r.history.front().valLoss << " -> "
                                 << r.history.back().valLoss);
  BOOST_TEST(r.history.back().valLoss < r.history.front().valLoss);
  const onnx::ModelInfo info = onnx::readModelInfo(c.output);
  BOOST_TEST((info.anomaly.map.map == anomaly::MapKind::Segmentation));
  BOOST_REQUIRE(info.anomaly.threshold.has_value());
  BOOST_TEST(*info.anomaly.threshold > 0);
  BOOST_TEST(*info.anomaly.threshold < 1);
  BOOST_TEST(info.anomaly.scoreStd < 0.5);  // calibrated: the map varies over normal crops

  const Tensor x = patchesOf("brick.png", 1, 1, 64, 9);
  const int dims[4] = {1, 1, 64, 64};
  const cv::Mat blob(4, dims, CV_32F, const_cast<float*>(x.data()));
  cv::dnn::Net net = cv::dnn::readNetFromONNX(c.output);
  net.setInput(blob);
  const cv::Mat ref = net.forward().clone();
  BOOST_REQUIRE(ref.size[1] == 1);
  for (infer::Backend be : {infer::Backend::OpenCV, infer::Backend::OneDNN}) {
    infer::EngineOptions eo;
    eo.model = c.output;
    eo.task = onnx::Task::Anomaly;
    eo.backend = be;
    eo.threads = 1;
    infer::Engine e(eo);
    BOOST_TEST(e.outputChannels() == 1);
    BOOST_TEST(e.channels() == 1);
    const cv::Mat out = e.run(blob);
    BOOST_REQUIRE(out.size[1] == 1);
    const double d = cv::norm(out.reshape(1, 64 * 64), ref.reshape(1, 64 * 64), cv::NORM_INF);
    BOOST_TEST_CONTEXT(infer::backendName(e.backendInUse())) BOOST_TEST(d < 1e-4);
  }
}

// The logit form of the map: the file names it, and its frame model is fitted on the scores as
// they are (logits, not probabilities), so its thresholds are logits and grow with the frame.
BOOST_AUTO_TEST_CASE(a_segmentation_logit_model_is_calibrated_in_logits) {
  TempDir dir;
  TrainConfig c = smallSegmentationModel("segmentation-logit", dir.path / "seg-logit.onnx");
  c.valSamples = 16;
  c.epochs = 2;
  c.stepsPerEpoch = 20;
  c.frameFpr = 0.001;
  Trainer(c).run();
  const onnx::ModelInfo info = onnx::readModelInfo(c.output);
  BOOST_TEST((info.anomaly.map.map == anomaly::MapKind::SegmentationLogit));
  BOOST_REQUIRE(info.anomaly.threshold.has_value());
  BOOST_REQUIRE(info.anomaly.frame.has_value());
  BOOST_TEST(!info.anomaly.frame->logit);
  BOOST_TEST(std::isfinite(*info.anomaly.threshold));
  BOOST_TEST(*info.anomaly.threshold == info.anomaly.frame->threshold(640.0 * 480),
             boost::test_tools::tolerance(1e-4));
  BOOST_TEST(info.anomaly.frame->threshold(640.0 * 480) > info.anomaly.frame->threshold(64.0 * 64));
}

BOOST_AUTO_TEST_CASE(segmentation_needs_an_anomaly_task_and_its_map) {
  TrainConfig c;
  c.data = {kData + "brick.png"};
  c.arch.kind = ArchKind::Conv;
  c.arch.segWidth = 4;
  c.anomalyMap = "segmentation";
  c.task = TrainTask::Denoise;
  BOOST_CHECK_THROW(Trainer(c).run(), InvalidArgument);
  c.task = TrainTask::Anomaly;
  c.anomalyMap = "lowpass";
  BOOST_CHECK_THROW(Trainer(c).run(), InvalidArgument);
  c.arch.segWidth = 0;
  c.anomalyMap = "segmentation";
  BOOST_CHECK_THROW(Trainer(c).run(), InvalidArgument);
  c.anomalyMap = "segmentation-logit";
  BOOST_CHECK_THROW(Trainer(c).run(), InvalidArgument);
}

BOOST_AUTO_TEST_SUITE_END()
