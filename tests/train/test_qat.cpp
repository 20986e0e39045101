#define BOOST_TEST_MODULE qat
#include <boost/test/unit_test.hpp>

// Quantisation-aware training (core/train/qat.hpp, Model::setFakeQuant): fake-quantised values
// on their 8-bit grid with straight-through gradients (zero where clipped), the convolutions the
// plan picks (those oneDNN's int8 inference runs in 8 bits), weight rounding that restores
// exactly, and the trainer's 8-bit forward predicting the backend's int8 output on a real image.

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <set>
#include <string>
#include <vector>

#include "error.hpp"
#include "infer/onednn.hpp"
#include "nn/layers/activation.hpp"
#include "nn/layers/conv2d.hpp"
#include "onnx/export.hpp"
#include "onnx/graph.hpp"
#include "onnx/metadata.hpp"
#include "train/architecture.hpp"
#include "train/qat.hpp"
#include "train/trainer.hpp"

using namespace cae;
using nn::Model;
using nn::Scalar;
using nn::Shape;
using nn::Tensor;

namespace {

Tensor randomTensor(Shape s, unsigned seed, Scalar lo, Scalar hi) {
  Tensor t(s);
  cv::RNG r(seed);
  for (std::size_t k = 0; k < t.size(); ++k)
    t.data()[k] = Scalar(r.uniform(double(lo), double(hi)));
  return t;
}

// input (20 channels) -> ReLU (fake-quantised when q) -> Conv2d 20 -> 1: d(loss)/d(output) = 1
// makes the ReLU's incoming gradient independent of its values, so gradients compare directly.
Model reluConv(bool q) {
  Model m({1, 20, 6, 7});
  m.add(std::make_unique<nn::ReLU>(), {}, "act");
  nn::Conv2dOptions o;
  o.inChannels = 20;
  o.outChannels = 1;
  o.padding = 1;
  m.add(std::make_unique<nn::Conv2d>(o), {}, "conv");
  m.compile();
  m.initialize(3);
  if (q) m.setFakeQuant(1, true);
  return m;
}

cv::Mat camera(int h, int w) {
  const cv::Mat im =
      cv::imread("/usr/lib/python3/dist-packages/skimage/data/camera.png", cv::IMREAD_GRAYSCALE);
  BOOST_TEST_REQUIRE(!im.empty());
  cv::Mat f;
  im(cv::Rect(100, 60, w, h)).convertTo(f, CV_32F, 1.0 / 255);
  return f;
}

// A residual U-Net at half resolution (stem 2, two 3x3 convs per stage, skips): the design of
// the shipped denoisers, at a given size and width.
train::ArchSpec unet(int h, int w, int width0, int maxChannels, int stages) {
  train::ArchSpec s;
  s.kind = train::ArchKind::Conv;
  s.height = h;
  s.width = w;
  s.stem = 2;
  s.width0 = width0;
  s.maxChannels = maxChannels;
  s.stages = stages;
  s.depth = 2;
  s.skips = s.residual = true;
  return s;
}

}  // namespace

BOOST_AUTO_TEST_CASE(fake_quantised_values_sit_on_the_grid_and_gradients_pass_straight_through) {
  Model q = reluConv(true), f = reluConv(false);
  const Tensor x = randomTensor({2, 20, 6, 7}, 1, -1, 1);
  q.forward(x);
  f.forward(x);
  const Scalar range = q.fakeQuantRange(1);
  BOOST_TEST(range == f.activation(1).vec().maxCoeff());
  const Scalar step = range / 255;
  for (std::size_t k = 0; k < x.size(); ++k) {
    const Scalar v = q.activation(1).data()[k], exact = f.activation(1).data()[k];
    BOOST_TEST(std::abs(v - exact) <= step / 2 * 1.0001);
    BOOST_TEST(std::abs(v / step - std::nearbyint(v / step)) < 1e-3);  // on the grid
  }
  // Straight through: the same input gradient as without quantisation.
  Tensor ones(q.activation(2).shape()), dq, df;
  ones.vec().setOnes();
  q.backward(ones, &dq);
  f.backward(ones, &df);
  BOOST_TEST((dq.vec() - df.vec()).cwiseAbs().maxCoeff() < 1e-6);
  // Learning off, an input twice as large: what passes the range is clipped to it and gets no
  // gradient; the range stays.
  q.setFakeQuantLearning(false);
  Tensor x2 = x;
  x2.vec() *= 2;
  q.forward(x2);
  f.forward(x2);
  BOOST_TEST(q.fakeQuantRange(1) == range);
  q.backward(ones, &dq);
  f.backward(ones, &df);
  int clipped = 0, passed = 0;
  for (std::size_t k = 0; k < x.size(); ++k) {
    const Scalar exact = f.activation(1).data()[k];
    BOOST_TEST(q.activation(1).data()[k] <= range * 1.0001);
    if (exact > range) {
      ++clipped;
      BOOST_TEST(dq.data()[k] == 0);
    } else {
      ++passed;
      BOOST_TEST(std::abs(dq.data()[k] - df.data()[k]) < 1e-6);
    }
  }
  BOOST_TEST(clipped > 0);
  BOOST_TEST(passed > 0);
}

BOOST_AUTO_TEST_CASE(weight_rounding_is_per_output_channel_and_restores_exactly) {
  // Conv2d [O][I][k] and the transposed layout [I][O][k].
  for (bool transposed : {false, true}) {
    const int out = 3, in = 4, k = 5;
    std::vector<Scalar> w(std::size_t(out) * in * k);
    cv::RNG r(7);
    for (Scalar& v : w) v = Scalar(r.gaussian(1.0));
    std::vector<Scalar> q = w;
    train::roundWeights(q.data(), out, in, k, transposed);
    for (int o = 0; o < out; ++o) {
      Scalar mx = 0;
      auto at = [&](std::vector<Scalar>& v, int i, int j) -> Scalar& {
        const int row = transposed ? i * out + o : o * in + i;
        return v[std::size_t(row) * std::size_t(k) + std::size_t(j)];
      };
      for (int i = 0; i < in; ++i)
        for (int j = 0; j < k; ++j) mx = std::max(mx, std::abs(at(w, i, j)));
      for (int i = 0; i < in; ++i)
        for (int j = 0; j < k; ++j) {
          const Scalar steps = at(q, i, j) / (mx / 127);
          BOOST_TEST(std::abs(steps - std::nearbyint(steps)) < 1e-3);
          BOOST_TEST(std::abs(at(q, i, j) - at(w, i, j)) <= mx / 127 / 2 * 1.0001);
        }
    }
  }
  train::BuiltModel b = train::buildAutoencoder(unet(16, 16, 16, 32, 2));
  b.model.initialize(5);
  const std::vector<Scalar> before(b.model.params().data(),
                                   b.model.params().data() + b.model.numParams());
  train::WeightRounding wr(b.model, train::planQat(b.model));
  wr.apply();
  BOOST_TEST(wr.applied());
  std::size_t changed = 0;
  for (std::size_t i = 0; i < before.size(); ++i)
    changed += b.model.params()[Eigen::Index(i)] != before[i];
  BOOST_TEST(changed > before.size() / 2);
  wr.restore();
  BOOST_TEST(std::equal(before.begin(), before.end(), b.model.params().data()));
}

// denoise-gray's design: every conv of 16+ channels in and out except enc0 (it reads the
// stem's features) and, with them, the values they read.
BOOST_AUTO_TEST_CASE(the_plan_picks_the_convolutions_int8_inference_runs_in_8_bits) {
  train::BuiltModel b = train::buildAutoencoder(unet(64, 64, 24, 96, 3));
  const train::QatPlan p = train::planQat(b.model);
  std::set<std::string> convs, values;
  for (int n : p.convs) convs.insert(b.model.node(n).name);
  for (int n : p.values) values.insert(b.model.node(n).name);
  const std::set<std::string> want{"enc1", "enc2", "enc3", "enc4", "enc5", "enc6", "enc7",
                                   "dec0", "dec1", "dec2", "dec3", "dec4", "dec5"};
  BOOST_TEST(convs == want, boost::test_tools::per_element());
  BOOST_TEST(!values.count("stem_act"));
  BOOST_TEST(values.count("enc0_act") == 1u);
  BOOST_TEST(values.count("skip0") == 1u);
  for (int n : p.values) BOOST_TEST(b.model.fakeQuant(n));
}

// The trainer's 8-bit forward and the oneDNN backend's int8 forward of the exported model, with
// the ranges the trainer learnt as the backend's, on a crop of camera.png: the same arithmetic
// (equal up to float summation order), far closer to each other than to f32.
BOOST_AUTO_TEST_CASE(the_trainers_8bit_forward_predicts_the_backends_int8_output) {
  if (!infer::onednn::built()) return;
  train::BuiltModel b = train::buildAutoencoder(unet(48, 64, 16, 32, 2));
  b.model.initialize(11);
  {  // a residual model's last layer starts at zero (the identity): give it weights
    nn::Layer& out = b.model.layer(b.model.findNode("out"));
    cv::RNG r(12);
    for (std::size_t k = 0; k < out.numParams(); ++k) out.w()[k] = Scalar(r.gaussian(0.1));
  }
  const cv::Mat f = camera(48, 64);
  Tensor x({1, 1, 48, 64});
  std::copy(f.ptr<float>(), f.ptr<float>() + f.total(), x.data());
  const Tensor yf = b.model.forward(x);
  const train::QatPlan plan = train::planQat(b.model);
  train::WeightRounding wr(b.model, plan);
  wr.apply();
  const Tensor yq = b.model.forward(x);
  wr.restore();
  const std::string path =
      (std::filesystem::temp_directory_path() / ("cae_qat_" + std::to_string(::getpid()) + ".onnx"))
          .string();
  onnx::exportOnnx(b.model, path);
  const onnx::Graph g = onnx::readGraph(path);
  std::filesystem::remove(path);
  infer::onednn::Options o;
  const int sz[] = {1, 1, 48, 64};
  cv::Mat blob(4, sz, CV_32F);
  std::copy(f.ptr<float>(), f.ptr<float>() + f.total(), blob.ptr<float>());
  // The ranges the trainer learnt, as the backend's calibration.
  for (int n : plan.values) {
    const auto r = float(b.model.fakeQuantRange(n));
    o.int8[b.model.node(n).name] = {b.model.fakeQuantSigned(n) ? -r : 0.f, r};
  }
  infer::onednn::Net i8(g, o);
  const cv::Mat yb = i8.forward(blob);
  double dq = 0, df = 0;  // root mean square differences
  for (std::size_t k = 0; k < yq.size(); ++k) {
    dq += std::pow(double(yq.data()[k]) - yb.ptr<float>()[k], 2);
    df += std::pow(double(yf.data()[k]) - yb.ptr<float>()[k], 2);
  }
  dq = std::sqrt(dq / double(yq.size()));
  df = std::sqrt(df / double(yq.size()));
  BOOST_TEST_MESSAGE(
      "rms |trainer 8-bit - backend int8| = " << dq << ", rms |f32 - backend int8| = " << df);
  BOOST_TEST(df > 0.0);
  BOOST_TEST(dq < df / 100);  // measured: 7e-8 against 4e-3
}

// cae-train --qat end to end: a short run of a small conv denoiser writes the ranges it trained
// with as cae.int8_ranges (one per value the plan fake-quantises), which read back through
// ModelInfo and drive the backend's int8 inference; malformed values are refused by name.
BOOST_AUTO_TEST_CASE(a_qat_run_writes_its_ranges_and_the_backend_runs_them) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("cae_qat_run_" + std::to_string(::getpid())))
          .string();
  std::filesystem::create_directories(dir);
  const std::string kData = "/usr/lib/python3/dist-packages/skimage/data/";
  train::TrainConfig c;
  c.data = {kData + "brick.png", kData + "grass.png", kData + "gravel.png"};
  c.patch = 16;
  c.valFraction = 0.34;
  c.valSamples = 16;
  c.arch.kind = train::ArchKind::Conv;
  c.arch.width0 = 16;
  c.arch.maxChannels = 32;
  c.arch.stages = 1;
  c.arch.depth = 2;
  c.arch.skips = c.arch.residual = true;
  c.task = train::TrainTask::Denoise;
  c.corruption = train::CorruptionKind::Gaussian;
  c.sigmaLo = c.sigmaHi = 0.1;
  c.batch = 4;
  c.epochs = 1;
  c.stepsPerEpoch = 5;
  c.lr = 1e-4;
  c.threads = 1;
  c.qat = true;
  c.allowOvercomplete = true;  // a denoiser with skips
  c.output = dir + "/q.onnx";
  c.recipe = "test";
  train::Trainer t(c);
  t.run();
  const onnx::ModelInfo info = onnx::readModelInfo(c.output);
  BOOST_TEST(!info.int8Ranges.empty());
  for (const auto& [name, r] : info.int8Ranges) {
    BOOST_TEST_MESSAGE(name << ": " << r.first << " .. " << r.second);
    BOOST_TEST(r.first <= r.second);
    BOOST_TEST(r.second > 0);
  }
  if (infer::onednn::built()) {
    const onnx::Graph g = onnx::readGraph(c.output);
    infer::onednn::Options o;
    o.int8 = info.int8Ranges;
    infer::onednn::Net n(g, o);
    const cv::Mat f = camera(32, 48);
    const int sz[] = {1, 1, 32, 48};
    cv::Mat blob(4, sz, CV_32F);
    std::copy(f.ptr<float>(), f.ptr<float>() + f.total(), blob.ptr<float>());
    const cv::Mat y = n.forward(blob);
    BOOST_TEST(cv::checkRange(y));
    const std::vector<std::string> impl = n.implementations();
    BOOST_TEST(std::any_of(impl.begin(), impl.end(), [](const std::string& line) {
      return line.find("quantize") != std::string::npos;
    }));
  }
  c.task = train::TrainTask::Anomaly;  // thresholds are calibrated in f32: refused
  BOOST_CHECK_EXCEPTION(train::Trainer(c).run(), InvalidArgument, [](const InvalidArgument& e) {
    return std::string(e.what()).find("--qat") != std::string::npos;
  });
  std::filesystem::remove_all(dir);
  // The key's text form round-trips; malformed text names the key.
  const auto r = onnx::parseInt8Ranges(onnx::formatInt8Ranges(info.int8Ranges));
  BOOST_TEST((r == info.int8Ranges));
  for (const std::string bad : {"enc0_act", "enc0_act:1", "a:2:1", "a:0:x", ":0:1"})
    BOOST_CHECK_EXCEPTION(onnx::parseInt8Ranges(bad), FormatError, [](const FormatError& e) {
      return std::string(e.what()).find("cae.int8_ranges") != std::string::npos;
    });
}
