#define BOOST_TEST_MODULE onnx_roundtrip
#include <boost/test/unit_test.hpp>

// Golden round-trips: build a model with the engine, seed it, export it, load the file with
// cv::dnn::readNetFromONNX (CPU backend) and compare its output with Model::forward on the same
// input. Each case prints its max and mean absolute error.

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <vector>

#include "error.hpp"
#include "nn/layers/activation.hpp"
#include "nn/layers/conv2d.hpp"
#include "nn/layers/conv_transpose2d.hpp"
#include "nn/layers/dense.hpp"
#include "nn/layers/merge.hpp"
#include "nn/layers/pool.hpp"
#include "nn/layers/reshape.hpp"
#include "nn/layers/sampling.hpp"
#include "onnx/export.hpp"
#include "onnx/metadata.hpp"
#include "onnx/onnx_util.hpp"

using namespace cae;
using nn::Model;
using nn::Shape;

namespace {

constexpr double kTol = 1e-4;

std::unique_ptr<nn::Conv2d> conv(int in, int out, int k, int s = 1, int p = 0, int d = 1) {
  nn::Conv2dOptions o;
  o.inChannels = in;
  o.outChannels = out;
  o.kernel = k;
  o.stride = s;
  o.padding = p;
  o.dilation = d;
  return std::make_unique<nn::Conv2d>(o);
}

std::unique_ptr<nn::ConvTranspose2d> deconv(int in, int out, int k, int s, int p, int op = 0) {
  nn::ConvTranspose2dOptions o;
  o.inChannels = in;
  o.outChannels = out;
  o.kernel = k;
  o.stride = s;
  o.padding = p;
  o.outputPadding = op;
  return std::make_unique<nn::ConvTranspose2d>(o);
}

// Exports m, runs it through OpenCV for every (batch, h, w) and checks it against the engine.
void roundTrip(const std::string& name, Model& m, const std::vector<Shape>& inputs) {
  m.compile();
  m.initialize(1234);
  // He/Glorot initialisation leaves biases at zero; give them values so bias wiring is tested.
  nn::Rng rng(99);
  for (Eigen::Index i = 0; i < m.params().size(); ++i)
    if (m.params()[i] == 0) m.params()[i] = rng.uniform(-0.1f, 0.1f);
  const std::string path = test::scratch().file(name + ".onnx");
  onnx::exportOnnx(m, path);
  // One Net for every input size and batch, as an inference element reuses it across tiles.
  cv::dnn::Net net = test::loadOpenCv(path);
  std::uint64_t seed = 7;
  for (const Shape& s : inputs) {
    const nn::Tensor x = test::randomTensor(s, seed++);
    const nn::Tensor y = m.forward(x);
    const cv::Mat got = test::runOpenCv(net, x);
    const test::Diff d = test::compare(got, y);
    std::printf("%-22s in %-12s out %-12s max|err| %.3g  mean|err| %.3g\n", name.c_str(),
                s.str().c_str(), y.shape().str().c_str(), d.maxAbs, d.meanAbs);
    BOOST_TEST_CONTEXT(name << " input " << s.str()) {
      BOOST_TEST_REQUIRE(d.sameCount);
      BOOST_TEST(d.maxAbs < kTol);
    }
  }
}

}  // namespace

// (a) The lecture notes' deep dense autoencoder on 28×28 images.
BOOST_AUTO_TEST_CASE(dense_784_128_32_128_784) {
  Model m({1, 1, 28, 28});
  m.add(std::make_unique<nn::Dense>(784, 128));
  m.add(std::make_unique<nn::ReLU>());
  m.add(std::make_unique<nn::Dense>(128, 32));
  m.add(std::make_unique<nn::ReLU>());
  m.add(std::make_unique<nn::Dense>(32, 128));
  m.add(std::make_unique<nn::ReLU>());
  m.add(std::make_unique<nn::Dense>(128, 784));
  m.add(std::make_unique<nn::Sigmoid>());
  m.add(std::make_unique<nn::Reshape>(1, 28, 28));
  roundTrip("dense_reshaped", m, {{1, 1, 28, 28}, {3, 1, 28, 28}});
}

// Same without the final Reshape, with an explicit Flatten in front: output stays [N, 784].
BOOST_AUTO_TEST_CASE(dense_flat_output_tanh) {
  Model m({1, 1, 28, 28});
  m.add(std::make_unique<nn::Flatten>());
  m.add(std::make_unique<nn::Dense>(784, 64));
  m.add(std::make_unique<nn::Tanh>());
  m.add(std::make_unique<nn::Dense>(64, 784));
  roundTrip("dense_flat", m, {{1, 1, 28, 28}, {3, 1, 28, 28}});
}

// (b) Strided conv encoder, transposed-conv decoder (k4 s2 p1), sigmoid output (e).
BOOST_AUTO_TEST_CASE(strided_conv_deconv) {
  Model m({1, 1, 32, 32});
  m.add(conv(1, 8, 3, 2, 1));
  m.add(std::make_unique<nn::ReLU>());
  m.add(conv(8, 16, 3, 2, 1));
  m.add(std::make_unique<nn::LeakyReLU>(0.2f));
  m.add(deconv(16, 8, 4, 2, 1));
  m.add(std::make_unique<nn::ReLU>());
  m.add(deconv(8, 1, 4, 2, 1));
  m.add(std::make_unique<nn::Sigmoid>());
  roundTrip("strided_conv_deconv", m,
            {{1, 1, 32, 32}, {3, 1, 32, 32}, {1, 1, 33, 17}, {3, 1, 33, 17}});
}

// (c) Residual output: the network predicts a correction that is added to its input. Uses
// dilation 2 and Tanh in the body.
BOOST_AUTO_TEST_CASE(residual_dilated) {
  Model m({1, 1, 24, 24});
  m.add(conv(1, 8, 3, 1, 1));
  m.add(std::make_unique<nn::ReLU>());
  m.add(conv(8, 8, 3, 1, 2, 2));
  m.add(std::make_unique<nn::Tanh>());
  const int body = m.add(conv(8, 1, 3, 1, 1));
  m.add(std::make_unique<nn::Add>(), {body, Model::kInput});
  roundTrip("residual_dilated", m,
            {{1, 1, 24, 24}, {3, 1, 24, 24}, {1, 1, 33, 17}, {3, 1, 33, 17}});
}

// (d) U-Net style skip: MaxPool down, Upsample up, Concat with the encoder features, (e) sigmoid.
BOOST_AUTO_TEST_CASE(unet_concat_pool_upsample) {
  Model m({1, 2, 32, 32});
  m.add(conv(2, 8, 3, 1, 1));
  const int e1 = m.add(std::make_unique<nn::LeakyReLU>(0.1f));
  m.add(std::make_unique<nn::MaxPool2d>(2));
  m.add(conv(8, 16, 3, 1, 1));
  m.add(std::make_unique<nn::ReLU>());
  const int up = m.add(std::make_unique<nn::Upsample>(2));
  m.add(std::make_unique<nn::Concat>(), {up, e1});
  m.add(conv(24, 8, 3, 1, 1));
  m.add(std::make_unique<nn::ReLU>());
  m.add(conv(8, 2, 1));
  m.add(std::make_unique<nn::Sigmoid>());
  roundTrip("unet_concat", m, {{1, 2, 32, 32}, {3, 2, 32, 32}, {1, 2, 34, 18}, {3, 2, 34, 18}});
}

// ConvTranspose with output_padding 1 restores an even size after a k3 s2 p1 conv; odd sizes
// take output_padding 0 in the engine too, so only even sizes here.
BOOST_AUTO_TEST_CASE(deconv_output_padding) {
  Model m({1, 3, 32, 20});
  m.add(conv(3, 6, 3, 2, 1));
  m.add(std::make_unique<nn::ReLU>());
  m.add(deconv(6, 3, 3, 2, 1, 1));
  roundTrip("deconv_outpad1", m, {{1, 3, 32, 20}, {3, 3, 32, 20}, {1, 3, 18, 26}});
}

// Non-square kernels, max pooling with stride ≠ kernel and odd sizes (floor, ceil_mode 0).
BOOST_AUTO_TEST_CASE(rect_kernel_pool_stride) {
  Model m({1, 1, 33, 17});
  nn::Conv2dOptions o;
  o.inChannels = 1;
  o.outChannels = 4;
  o.kernelH = 3;
  o.kernelW = 5;
  o.padding = 2;
  m.add(std::make_unique<nn::Conv2d>(o));
  m.add(std::make_unique<nn::MaxPool2d>(3, 2));
  m.add(std::make_unique<nn::Tanh>());
  m.add(std::make_unique<nn::Upsample>(3));
  roundTrip("rect_kernel_pool", m, {{1, 1, 33, 17}, {3, 1, 33, 17}});
}

// Dense bottleneck between a conv encoder and a transposed-conv decoder: Flatten → Gemm, and a
// Dense output fed into ConvTranspose ({N, F, 1, 1} in the engine, Reshape to 4-D in ONNX).
BOOST_AUTO_TEST_CASE(conv_dense_bottleneck) {
  Model m({1, 1, 16, 16});
  m.add(conv(1, 4, 3, 2, 1));
  m.add(std::make_unique<nn::ReLU>());
  m.add(std::make_unique<nn::Dense>(4 * 8 * 8, 16));
  m.add(std::make_unique<nn::ReLU>());
  m.add(deconv(16, 8, 4, 1, 0));  // 1×1 → 4×4
  m.add(std::make_unique<nn::ReLU>());
  m.add(deconv(8, 1, 4, 4, 0));  // 4×4 → 16×16
  m.add(std::make_unique<nn::Sigmoid>());
  roundTrip("conv_dense_bottleneck", m, {{1, 1, 16, 16}, {3, 1, 16, 16}});
}

// Residual Add of two flat Dense branches and a Concat of flat features.
BOOST_AUTO_TEST_CASE(dense_add_concat) {
  Model m({1, 2, 6, 5});
  const int a = m.add(std::make_unique<nn::Dense>(60, 20));
  const int b = m.add(std::make_unique<nn::Dense>(60, 20), {Model::kInput});
  const int s = m.add(std::make_unique<nn::Add>(), {a, b});
  m.add(std::make_unique<nn::Concat>(), {s, a});
  m.add(std::make_unique<nn::Sigmoid>());
  roundTrip("dense_add_concat", m, {{1, 2, 6, 5}, {3, 2, 6, 5}});
}

// OpenCV 4.6 ignores ConvTranspose dilations; the exporter spreads the kernel out instead.
BOOST_AUTO_TEST_CASE(deconv_dilation2) {
  Model m({1, 1, 8, 8});
  nn::ConvTranspose2dOptions o;
  o.inChannels = 2;
  o.outChannels = 3;
  o.kernel = 3;
  o.stride = 2;
  o.padding = 1;
  o.dilation = 2;
  m.add(conv(1, 2, 3, 1, 1));
  m.add(std::make_unique<nn::ConvTranspose2d>(o));
  m.add(std::make_unique<nn::Tanh>());
  roundTrip("deconv_dilation2", m, {{1, 1, 8, 8}, {3, 1, 9, 7}});
}

namespace {

// The golden fixture in tests/data: a model exported once, its input, and the engine's output.
const std::string kGoldenModel = std::string(CAE_TEST_DATA) + "/golden_conv_ae.onnx";
const std::string kGoldenInput = std::string(CAE_TEST_DATA) + "/golden_conv_ae_input.txt";
const std::string kGoldenOutput = std::string(CAE_TEST_DATA) + "/golden_conv_ae_output.txt";

Model goldenModel() {
  Model m({1, 1, 12, 10});
  m.add(conv(1, 4, 3, 2, 1));
  m.add(std::make_unique<nn::LeakyReLU>(0.1f));
  m.add(deconv(4, 1, 4, 2, 1));
  m.add(std::make_unique<nn::Sigmoid>());
  m.compile();
  // Weights from a formula rather than the engine's initialiser, so that a new initialiser does
  // not invalidate the fixture; only a change in what the graph computes does.
  for (Eigen::Index i = 0; i < m.params().size(); ++i)
    m.params()[i] = 0.5f * std::sin(0.7f * float(i) + 0.3f);
  return m;
}

onnx::ExportOptions goldenOptions() {
  onnx::ExportOptions o;
  o.task = onnx::Task::Denoise;
  o.format = "GRAY8";
  o.noiseSigma = 0.1;
  o.recipe = "golden fixture for tests/onnx";
  return o;
}

// Text tensors: "n c h w" then one value per line, exact for float32 (%.9g).
void writeTensor(const std::string& path, const nn::Tensor& t) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  BOOST_TEST_REQUIRE(f != nullptr);
  const Shape s = t.shape();
  std::fprintf(f, "%d %d %d %d\n", s.n, s.c, s.h, s.w);
  for (std::size_t i = 0; i < t.size(); ++i) std::fprintf(f, "%.9g\n", double(t[i]));
  std::fclose(f);
}

nn::Tensor readTensor(const std::string& path) {
  std::ifstream f(path);
  Shape s;
  f >> s.n >> s.c >> s.h >> s.w;
  BOOST_TEST_REQUIRE(bool(f), "cannot read " << path);
  nn::Tensor t(s);
  for (std::size_t i = 0; i < t.size(); ++i) f >> t[i];
  BOOST_TEST_REQUIRE(bool(f), path << " is shorter than its shape says");
  return t;
}

}  // namespace

// Set CAE_WRITE_GOLDEN=1 once to (re)write the fixture after a deliberate format change.
BOOST_AUTO_TEST_CASE(golden_fixture) {
  Model m = goldenModel();
  if (std::getenv("CAE_WRITE_GOLDEN")) {
    const nn::Tensor x = test::randomTensor({2, 1, 12, 10}, 42);
    onnx::exportOnnx(m, kGoldenModel, goldenOptions());
    writeTensor(kGoldenInput, x);
    writeTensor(kGoldenOutput, m.forward(x));
  }
  const nn::Tensor x = readTensor(kGoldenInput);
  const nn::Tensor want = readTensor(kGoldenOutput);

  // The stored file still loads and computes the stored output: old files keep working.
  const test::Diff stored = test::compare(test::runOpenCv(kGoldenModel, x), want);
  // The engine still computes it from the same weights.
  const nn::Tensor y = m.forward(x);
  double engineMax = 0;
  for (std::size_t i = 0; i < y.size(); ++i)
    engineMax = std::max(engineMax, double(std::abs(y[i] - want[i])));
  // Today's exporter still writes a file that computes it.
  const std::string fresh = test::scratch().file("golden_fresh.onnx");
  onnx::exportOnnx(m, fresh, goldenOptions());
  const test::Diff exported = test::compare(test::runOpenCv(fresh, x), want);
  std::printf("golden fixture: stored file max|err| %.3g, engine %.3g, fresh export %.3g\n",
              stored.maxAbs, engineMax, exported.maxAbs);
  BOOST_TEST_REQUIRE(stored.sameCount);
  BOOST_TEST(stored.maxAbs < 1e-5);
  BOOST_TEST(engineMax < 1e-5);
  BOOST_TEST(exported.maxAbs < 1e-5);

  // Its metadata still reads, and the checker still accepts it.
  const onnx::ModelInfo info = onnx::readModelInfo(kGoldenModel);
  BOOST_TEST((info.task == onnx::Task::Denoise));
  BOOST_TEST(info.format == "GRAY8");
  BOOST_TEST(info.noiseSigma == 0.1);
  BOOST_TEST(info.receptiveField == 5);  // conv k3 s2: 3 px, jump 2; deconv k4 s2: 2 units
  BOOST_CHECK_NO_THROW(onnx::checkOnnxFile(kGoldenModel));
}

// Variational autoencoders (Kingma & Welling 2014): Sampling is exported in its inference form
// z = mu, so the engine runs with setTraining(false) to match, and the logvar head is left out.
namespace {

std::unique_ptr<nn::Sampling> inferenceSampling() {
  auto s = std::make_unique<nn::Sampling>(3);
  s->setTraining(false);
  return s;
}

}  // namespace

// The lecture notes' dense VAE on 28×28 images: 784-256 → mu/logvar 16 → z → 256 → 784 Sigmoid.
BOOST_AUTO_TEST_CASE(dense_vae_inference) {
  Model m({1, 1, 28, 28});
  m.add(std::make_unique<nn::Dense>(784, 256));
  const int h = m.add(std::make_unique<nn::ReLU>());
  const int mu = m.add(std::make_unique<nn::Dense>(256, 16), {h}, "mu");
  const int lv = m.add(std::make_unique<nn::Dense>(256, 16), {h}, "logvar_head");
  m.add(inferenceSampling(), {mu, lv});
  m.add(std::make_unique<nn::Dense>(16, 256));
  m.add(std::make_unique<nn::ReLU>());
  m.add(std::make_unique<nn::Dense>(256, 784));
  m.add(std::make_unique<nn::Sigmoid>());
  m.add(std::make_unique<nn::Reshape>(1, 28, 28));
  roundTrip("dense_vae", m, {{1, 1, 28, 28}, {3, 1, 28, 28}});
  BOOST_TEST(onnx::exportOnnxBytes(m).find("logvar_head") == std::string::npos);
}

// A small conv VAE: a 4-channel code at half resolution, fully convolutional.
BOOST_AUTO_TEST_CASE(conv_vae_inference) {
  Model m({1, 1, 16, 16});
  m.add(conv(1, 8, 3, 2, 1));
  const int h = m.add(std::make_unique<nn::ReLU>());
  const int mu = m.add(conv(8, 4, 3, 1, 1), {h}, "mu");
  const int lv = m.add(conv(8, 4, 3, 1, 1), {h}, "logvar_head");
  m.add(inferenceSampling(), {mu, lv});
  m.add(deconv(4, 8, 4, 2, 1));
  m.add(std::make_unique<nn::ReLU>());
  m.add(conv(8, 1, 3, 1, 1));
  m.add(std::make_unique<nn::Sigmoid>());
  roundTrip("conv_vae", m, {{1, 1, 16, 16}, {3, 1, 16, 16}, {1, 1, 20, 12}});
  BOOST_TEST(onnx::exportOnnxBytes(m).find("logvar_head") == std::string::npos);
}

// An encoder that ends in Sampling: the graph output is an Identity of mu.
BOOST_AUTO_TEST_CASE(vae_encoder_output_is_mu) {
  Model m({1, 1, 8, 8});
  m.add(conv(1, 4, 3, 2, 1));
  const int h = m.add(std::make_unique<nn::Tanh>());
  const int mu = m.add(conv(4, 2, 3, 1, 1), {h}, "mu");
  const int lv = m.add(conv(4, 2, 3, 1, 1), {h}, "logvar_head");
  m.add(inferenceSampling(), {mu, lv});
  roundTrip("vae_encoder", m, {{1, 1, 8, 8}, {3, 1, 10, 6}});
  BOOST_TEST(onnx::exportOnnxBytes(m).find("logvar_head") == std::string::npos);
}
