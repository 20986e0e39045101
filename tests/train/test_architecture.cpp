#define BOOST_TEST_MODULE architecture
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <ostream>
#include <string>
#include <vector>

#include "error.hpp"
#include "nn/layers/conv2d.hpp"
#include "nn/layers/dense.hpp"
#include "nn/layers/sampling.hpp"
#include "onnx/export.hpp"
#include "onnx/onnx_util.hpp"
#include "train/architecture.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {
// For Boost.Test's messages on shape comparisons.
std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.str(); }
}  // namespace CAE_NN_ABI
}  // namespace cae::nn

using namespace cae;
using cae::nn::Model;
using cae::nn::Shape;
using cae::nn::Tensor;
using cae::train::ArchKind;
using cae::train::ArchSpec;
using cae::train::BuiltModel;

namespace {

ArchSpec denseSpec(std::vector<int> sizes, std::string act = "relu") {
  ArchSpec s;
  s.kind = ArchKind::Dense;
  s.channels = 1;
  s.height = s.width = 4;
  s.dense = std::move(sizes);
  s.activation = std::move(act);
  return s;
}

// Small conv specs for shapes, wiring and exports; some (one stage, no latent) have a code
// larger than the 8x8 input, so the undercomplete rule is waived here and tested on its own
// (undercomplete_is_one_rule_for_dense_and_conv).
ArchSpec convSpec(int depth, int stages, int latent = 0) {
  ArchSpec s;
  s.kind = ArchKind::Conv;
  s.channels = 1;
  s.height = s.width = 8;
  s.depth = depth;
  s.stages = stages;
  s.width0 = 4;
  s.maxChannels = 8;
  s.latent = latent;
  s.allowOvercomplete = true;
  return s;
}

// One of every kind and option, small enough for OpenCV round trips in milliseconds.
std::vector<std::pair<std::string, ArchSpec>> allSpecs() {
  std::vector<std::pair<std::string, ArchSpec>> v;
  ArchSpec d = denseSpec({16, 8, 3});
  d.output = "sigmoid";
  v.emplace_back("dense", d);
  v.emplace_back("dense_linear", denseSpec({16, 6}, "linear"));
  v.emplace_back("dense_tanh", denseSpec({16, 12, 8, 4}, "tanh"));
  v.emplace_back("dense_leaky", denseSpec({16, 10, 5}, "leaky_relu"));
  ArchSpec c = convSpec(2, 2);
  v.emplace_back("conv", c);
  c.skips = true;
  v.emplace_back("conv_skips", c);
  c.residual = true;
  v.emplace_back("conv_skips_residual", c);
  ArchSpec r = convSpec(1, 1);
  r.residual = true;
  v.emplace_back("conv_residual", r);
  ArchSpec l = convSpec(2, 1, 2);
  l.channels = 3;
  l.activation = "sigmoid";
  v.emplace_back("conv_latent_rgb", l);
  v.emplace_back("conv_no_stages", convSpec(2, 0));
  // Stems: the network at 1/2 or 1/4 resolution behind a kernel = stride conv (cae-train --stem).
  ArchSpec s2 = convSpec(1, 2);
  s2.stem = 2;
  s2.skips = s2.residual = true;
  v.emplace_back("conv_stem2_skips_residual", s2);
  ArchSpec s4 = convSpec(2, 1, 2);
  s4.stem = 4;
  s4.channels = 3;
  v.emplace_back("conv_stem4_latent_rgb", s4);
  ArchSpec sl = convSpec(2, 1);
  sl.stem = 4;
  sl.linearStem = sl.skips = sl.residual = true;
  v.emplace_back("conv_linear_stem4_skips_residual", sl);
  ArchSpec dv = denseSpec({16, 8, 2});
  dv.kind = ArchKind::DenseVae;
  dv.output = "sigmoid";
  v.emplace_back("dense_vae", dv);
  ArchSpec cv = convSpec(1, 2, 3);
  cv.kind = ArchKind::ConvVae;
  v.emplace_back("conv_vae", cv);
  ArchSpec p;
  p.kind = ArchKind::Pca;
  p.channels = 1;
  p.height = p.width = 4;
  p.latent = 5;
  v.emplace_back("pca", p);
  return v;
}

Shape batchOf(const ArchSpec& s, int n) { return {n, s.channels, s.height, s.width}; }

// Trained-looking weights: every parameter random, biases included.
void randomizeParams(Model& m, std::uint64_t seed) {
  nn::Rng rng(seed);
  for (Eigen::Index i = 0; i < m.params().size(); ++i) m.params()[i] = rng.uniform(-0.5f, 0.5f);
}

void setInference(BuiltModel& b) {
  if (b.sampling >= 0) static_cast<nn::Sampling&>(b.model.layer(b.sampling)).setTraining(false);
}

double maxAbsDiff(const Tensor& a, const Tensor& b) {
  BOOST_REQUIRE(a.shape() == b.shape());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::abs(a[i] - b[i])));
  return m;
}

template <class F>
void checkMessage(F&& f, const std::string& part) {
  try {
    f();
    BOOST_ERROR("no InvalidArgument; expected a message with '" << part << "'");
  } catch (const InvalidArgument& e) {
    BOOST_TEST_INFO("message: " << e.what());
    BOOST_TEST(std::string(e.what()).find(part) != std::string::npos);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(architecture)

BOOST_AUTO_TEST_CASE(every_kind_builds_and_keeps_the_input_shape) {
  for (auto& [name, spec] : allSpecs()) {
    BOOST_TEST_CONTEXT(name) {
      BuiltModel b = train::buildAutoencoder(spec);
      BOOST_TEST(b.model.compiled());
      const Tensor x = test::randomTensor(batchOf(spec, 2), 1);
      const Tensor& y = b.model.forward(x);
      BOOST_TEST(y.shape() == x.shape());
      BOOST_REQUIRE(b.code > 0);
      Shape code = train::codeShape(spec);
      code.n = 2;
      BOOST_TEST(b.model.activation(b.code).shape() == code);
      for (std::size_t i = 0; i < y.size(); ++i) BOOST_REQUIRE(std::isfinite(y[i]));
    }
  }
}

BOOST_AUTO_TEST_CASE(dense_code_nodes) {
  BuiltModel b = train::buildAutoencoder(denseSpec({16, 8, 3}));
  const Model& m = b.model;
  auto* pre = dynamic_cast<const nn::Dense*>(m.node(b.codePre).layer.get());
  BOOST_REQUIRE(pre);
  BOOST_TEST(pre->outFeatures() == 3);
  BOOST_TEST(m.node(b.code).layer->type() == "ReLU");
  BOOST_TEST(m.node(b.code).inputs == std::vector<int>{b.codePre});
  BOOST_TEST(m.node(1).layer->type() == "Flatten");
  BOOST_TEST(m.node(m.output()).layer->type() == "Reshape");
  BOOST_TEST(b.mu == -1);
  BOOST_TEST(b.sampling == -1);

  // A linear code has no activation node: the code is the Dense itself.
  BuiltModel l = train::buildAutoencoder(denseSpec({16, 8, 3}, "linear"));
  BOOST_TEST(l.code == l.codePre);
  BOOST_TEST(l.model.node(l.code).layer->type() == "Dense");
  BuiltModel n = train::buildAutoencoder(denseSpec({16, 8, 3}, "none"));
  BOOST_TEST(n.code == n.codePre);
}

BOOST_AUTO_TEST_CASE(vae_nodes) {
  ArchSpec s = denseSpec({16, 8, 2});
  s.kind = ArchKind::DenseVae;
  BuiltModel b = train::buildAutoencoder(s);
  const Model& m = b.model;
  auto* mu = dynamic_cast<const nn::Dense*>(m.node(b.mu).layer.get());
  auto* lv = dynamic_cast<const nn::Dense*>(m.node(b.logvar).layer.get());
  BOOST_REQUIRE(mu);
  BOOST_REQUIRE(lv);
  BOOST_TEST(mu->inFeatures() == 8);
  BOOST_TEST(mu->outFeatures() == 2);
  BOOST_TEST(lv->outFeatures() == 2);
  BOOST_TEST(m.node(b.mu).inputs == m.node(b.logvar).inputs);
  BOOST_TEST(m.node(b.sampling).layer->type() == "Sampling");
  BOOST_TEST((m.node(b.sampling).inputs == std::vector<int>{b.mu, b.logvar}));
  BOOST_TEST(b.code == b.sampling);

  // Training draws z around mu; inference mode gives z = mu.
  const Tensor x = test::randomTensor(batchOf(s, 3), 2);
  b.model.forward(x);
  BOOST_TEST(maxAbsDiff(b.model.activation(b.code), b.model.activation(b.mu)) > 1e-3);
  setInference(b);
  b.model.forward(x);
  BOOST_TEST(maxAbsDiff(b.model.activation(b.code), b.model.activation(b.mu)) == 0.0);

  ArchSpec c = convSpec(1, 2, 3);
  c.kind = ArchKind::ConvVae;
  BuiltModel cb = train::buildAutoencoder(c);
  for (int head : {cb.mu, cb.logvar}) {
    auto* conv = dynamic_cast<const nn::Conv2d*>(cb.model.node(head).layer.get());
    BOOST_REQUIRE(conv);
    BOOST_TEST(conv->options().kernel == 1);
    BOOST_TEST(conv->options().outChannels == 3);
  }
  BOOST_TEST((cb.model.node(cb.sampling).inputs == std::vector<int>{cb.mu, cb.logvar}));
  BOOST_TEST((train::codeShape(c) == Shape{1, 3, 2, 2}));
}

BOOST_AUTO_TEST_CASE(parameter_counts_by_hand) {
  // 16→8: 136, 8→3: 27, 3→8: 32, 8→16: 144.
  BOOST_TEST(train::buildAutoencoder(denseSpec({16, 8, 3})).model.numParams() == 339u);
  // 1→4 3×3: 40, 4→8 3×3 s2: 296, ConvT 8→4 4×4: 516, 4→1 3×3: 37.
  BOOST_TEST(train::buildAutoencoder(convSpec(1, 1)).model.numParams() == 889u);
  ArchSpec skips = convSpec(1, 1);
  skips.skips = true;  // the output conv reads 4 + 4 channels: 73
  BOOST_TEST(train::buildAutoencoder(skips).model.numParams() == 925u);
  ArchSpec vae = convSpec(1, 1, 2);
  vae.kind = ArchKind::ConvVae;  // + mu, logvar 8→2 1×1: 18 each; latent 2→8 3×3: 152
  BOOST_TEST(train::buildAutoencoder(vae).model.numParams() == 1077u);
  ArchSpec dv = denseSpec({16, 8, 2});
  dv.kind = ArchKind::DenseVae;  // 136 + mu, logvar 18 each + 2→8: 24 + 144
  BOOST_TEST(train::buildAutoencoder(dv).model.numParams() == 340u);
}

BOOST_AUTO_TEST_CASE(flops_and_describe) {
  const BuiltModel b = train::buildAutoencoder(denseSpec({16, 8, 3}));
  // 2 × (128 + 24 + 24 + 128) multiply-adds, plus three ReLUs of 8, 3 and 8 elements.
  BOOST_TEST(train::flopsPerSample(b.model) == 627.0);
  const std::string d = train::describe(denseSpec({16, 8, 3}));
  BOOST_TEST_MESSAGE(d);
  BOOST_TEST(d.find("parameters 339") != std::string::npos);
  BOOST_TEST(d.find("undercomplete") != std::string::npos);
  BOOST_TEST(d.find("enc1") != std::string::npos);
  ArchSpec c = convSpec(2, 2);
  c.skips = true;
  BOOST_TEST(train::describe(c).find("skips bypass it") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(skip_and_residual_wiring) {
  ArchSpec s = convSpec(2, 2);
  s.skips = true;
  s.residual = true;
  BuiltModel b = train::buildAutoencoder(s);
  const Model& m = b.model;
  const Shape in = m.inputShape();
  // One Concat per resolution above the bottleneck, joining decoder and encoder features of the
  // same size; the encoder side is the last activation of that level (depth 2: enc1, enc3).
  const char* encoderSide[] = {"enc1_act", "enc3_act"};
  for (int l = 0; l < 2; ++l) {
    const int k = m.findNode("skip" + std::to_string(l));
    BOOST_REQUIRE(k > 0);
    BOOST_TEST(m.node(k).layer->type() == "Concat");
    const int dec = m.node(k).inputs.at(0), enc = m.node(k).inputs.at(1);
    BOOST_TEST(m.node(enc).name == encoderSide[l]);
    const Shape a = m.nodeShape(dec, in), e = m.nodeShape(enc, in);
    BOOST_TEST(a.h == (8 >> l));
    BOOST_TEST(a.h == e.h);
    BOOST_TEST(a.c == e.c);
  }
  const int r = m.findNode("residual");
  BOOST_REQUIRE(r > 0);
  BOOST_TEST(m.node(r).layer->type() == "Add");
  BOOST_TEST(m.node(r).inputs.at(1) == Model::kInput);
  BOOST_TEST(m.output() == r);

  // The zero output layer makes the model the identity, also after initialize() again.
  const Tensor x = test::randomTensor(batchOf(s, 2), 3);
  BOOST_TEST(maxAbsDiff(b.model.forward(x), x) == 0.0);
  b.model.initialize(77);
  BOOST_TEST(maxAbsDiff(b.model.forward(x), x) == 0.0);
  // ...but not the rest of the network.
  const int enc0 = m.findNode("enc0");
  BOOST_TEST(b.model.params().segment(Eigen::Index(m.node(enc0).paramOffset), 9).norm() > 0);
}

BOOST_AUTO_TEST_CASE(extracted_encoder_and_decoder_match_the_full_model_exactly) {
  for (auto& [name, spec] : allSpecs()) {
    BOOST_TEST_CONTEXT(name) {
      BuiltModel b = train::buildAutoencoder(spec);
      randomizeParams(b.model, 11);
      setInference(b);
      const Tensor x = test::randomTensor(batchOf(spec, 3), 4);
      const Tensor y = b.model.forward(x);
      const int target = b.mu >= 0 ? b.mu : b.code;
      const Tensor code = b.model.activation(b.code);

      Model enc = train::extractEncoder(spec, b);
      BOOST_TEST(enc.params().data() != b.model.params().data());
      BOOST_TEST(maxAbsDiff(enc.forward(x), b.model.activation(target)) == 0.0);
      BOOST_TEST(maxAbsDiff(enc.forward(x), code) == 0.0);  // inference mode: z = mu

      if (spec.skips || spec.residual) {
        BOOST_CHECK_THROW(train::extractDecoder(spec, b), InvalidArgument);
        continue;
      }
      Model dec = train::extractDecoder(spec, b);
      BOOST_TEST(maxAbsDiff(dec.forward(code), y) == 0.0);

      // No shared memory: changing the trained model leaves the extracted ones as they were.
      const Tensor encBefore = enc.forward(x);
      b.model.params().setZero();
      BOOST_TEST(maxAbsDiff(enc.forward(x), encBefore) == 0.0);
      BOOST_TEST(maxAbsDiff(dec.forward(code), y) == 0.0);
    }
  }
}

BOOST_AUTO_TEST_CASE(extraction_refuses_a_model_of_another_architecture) {
  const BuiltModel small = train::buildAutoencoder(denseSpec({16, 8, 3}));
  checkMessage([&] { train::extractEncoder(denseSpec({16, 8, 4}), small); }, "does not match");
  checkMessage([&] { train::extractEncoder(convSpec(1, 1), small); },
               "(Dense, 136 parameters) does not match this architecture (Conv2d, 40)");
  ArchSpec vae = denseSpec({16, 8, 3});
  vae.kind = ArchKind::DenseVae;
  checkMessage([&] { train::extractEncoder(vae, small); }, "has no layer 'mu'");
  ArchSpec s = convSpec(1, 1);
  s.skips = true;
  checkMessage([&] { train::extractDecoder(s, train::buildAutoencoder(s)); }, "no decoder alone");
}

BOOST_AUTO_TEST_CASE(every_architecture_runs_in_opencv_after_export) {
  for (auto& [name, spec] : allSpecs()) {
    BOOST_TEST_CONTEXT(name) {
      BuiltModel b = train::buildAutoencoder(spec);
      randomizeParams(b.model, 5);
      setInference(b);  // the exporter writes Sampling as z = mu
      const std::string path = test::scratch().file("arch_" + name + ".onnx");
      onnx::exportOnnx(b.model, path);
      onnx::checkOnnxFile(path);
      const Tensor x = test::randomTensor(batchOf(spec, 2), 6);
      const test::Diff d = test::compare(test::runOpenCv(path, x), b.model.forward(x));
      BOOST_TEST(d.sameCount);
      BOOST_TEST(d.maxAbs < 1e-4);

      // The extracted encoder (what --task features exports) and decoder too.
      Model enc = train::extractEncoder(spec, b);
      const std::string encPath = test::scratch().file("arch_" + name + "_enc.onnx");
      onnx::exportOnnx(enc, encPath);
      const test::Diff de = test::compare(test::runOpenCv(encPath, x), enc.forward(x));
      BOOST_TEST(de.sameCount);
      BOOST_TEST(de.maxAbs < 1e-4);
      if (spec.skips || spec.residual) continue;
      Model dec = train::extractDecoder(spec, b);
      Shape cs = train::codeShape(spec);
      cs.n = 2;
      const Tensor z = test::randomTensor(cs, 8, -1, 1);
      const std::string decPath = test::scratch().file("arch_" + name + "_dec.onnx");
      onnx::exportOnnx(dec, decPath);
      const test::Diff dd = test::compare(test::runOpenCv(decPath, z), dec.forward(z));
      BOOST_TEST(dd.sameCount);
      BOOST_TEST(dd.maxAbs < 1e-4);
    }
  }
}

BOOST_AUTO_TEST_CASE(clear_messages_for_bad_specs) {
  checkMessage(
      [] {
        train::buildAutoencoder(denseSpec({784, 128, 32}));
      },
      "must start with the input size 16");
  checkMessage(
      [] {
        train::buildAutoencoder(denseSpec({16, 32, 20}));
      },
      "the code (20) is not smaller than the input (16): not an undercomplete");
  checkMessage([] { train::buildAutoencoder(denseSpec({16})); }, "layer sizes");
  checkMessage([] { train::buildAutoencoder(denseSpec({16, 0, 4})); }, "must be positive");
  ArchSpec over = denseSpec({16, 32, 20});
  over.allowOvercomplete = true;  // sparse / denoising overcomplete models are allowed explicitly
  BOOST_TEST(train::buildAutoencoder(over).model.outputShape({2, 1, 4, 4}) == (Shape{2, 1, 4, 4}));
  ArchSpec latent = denseSpec({16, 8, 3});
  latent.latent = 4;
  checkMessage([&] { train::buildAutoencoder(latent); }, "disagrees");

  ArchSpec odd = convSpec(2, 2);
  odd.height = 12;
  odd.width = 10;
  checkMessage([&] { train::buildAutoencoder(odd); }, "divisible by 2^stages = 4");
  ArchSpec stem = convSpec(1, 2);
  stem.stem = 3;
  checkMessage([&] { train::buildAutoencoder(stem); }, "stem factor must be 1, 2, 4 or 8");
  stem.stem = 4;  // 8 is not divisible by 4 x 2^2
  checkMessage([&] { train::buildAutoencoder(stem); }, "divisible by stem x 2^stages = 16");
  ArchSpec noStem = convSpec(1, 1);
  noStem.linearStem = true;
  checkMessage([&] { train::buildAutoencoder(noStem); }, "a linear stem needs a stem");
  ArchSpec act = convSpec(1, 1);
  act.activation = "swish";
  checkMessage([&] { train::buildAutoencoder(act); }, "unknown hidden activation 'swish'");
  act.activation = "relu";
  act.output = "softmax";
  checkMessage([&] { train::buildAutoencoder(act); }, "unknown output activation 'softmax'");
  ArchSpec depth = convSpec(0, 1);
  checkMessage([&] { train::buildAutoencoder(depth); }, "depth must be at least 1");
  ArchSpec res = convSpec(1, 1);
  res.residual = true;
  res.output = "sigmoid";
  checkMessage([&] { train::buildAutoencoder(res); }, "residual output must be linear");
  ArchSpec cv = convSpec(1, 1);
  cv.kind = ArchKind::ConvVae;
  checkMessage([&] { train::buildAutoencoder(cv); }, "latent channels");
  cv.latent = 2;
  cv.skips = true;
  checkMessage([&] { train::buildAutoencoder(cv); }, "bypass the latent");
  ArchSpec pca;
  pca.kind = ArchKind::Pca;
  pca.channels = 1;
  pca.height = pca.width = 4;
  checkMessage([&] { train::buildAutoencoder(pca); }, "between 1 and the input size 16");
  pca.latent = 16;  // a complete basis is a valid (if pointless) PCA
  BOOST_CHECK_NO_THROW(train::validate(pca));
}

// One rule decides "undercomplete" for every kind: code values against input values, refused
// unless allowed explicitly, with the same message (conv codes spelled out as C x H x W).
BOOST_AUTO_TEST_CASE(undercomplete_is_one_rule_for_dense_and_conv) {
  auto strict = [](ArchSpec s) {
    s.allowOvercomplete = false;
    return s;
  };
  BOOST_TEST(train::codeSize(denseSpec({16, 8, 3})).code == 3u);
  BOOST_TEST(train::codeSize(denseSpec({16, 8, 3})).input == 16u);
  BOOST_TEST(!train::codeSize(denseSpec({16, 32, 20})).undercomplete());  // counted, not refused
  const train::CodeSize wide = train::codeSize(convSpec(1, 1));  // 8 channels at 4x4 for 8x8
  BOOST_TEST(wide.code == 128u);
  BOOST_TEST(wide.input == 64u);
  BOOST_TEST(!wide.undercomplete());
  BOOST_TEST(train::codeSize(convSpec(2, 2)).code == 32u);  // 8 channels at 2x2
  BOOST_TEST(train::codeSize(convSpec(2, 2)).undercomplete());

  checkMessage([&] { train::buildAutoencoder(strict(convSpec(1, 1))); },
               "conv: the code (8x4x4 = 128 values) is not smaller than the input (64): not an "
               "undercomplete autoencoder (allow it explicitly");
  checkMessage([&] { train::validate(strict(convSpec(2, 0))); }, "(4x8x8 = 256 values)");
  ArchSpec equal = strict(convSpec(1, 1));
  equal.maxChannels = 4;  // 4 x 4x4 = 64 values for 64 inputs: not smaller
  checkMessage([&] { train::validate(equal); }, "not an undercomplete autoencoder");
  ArchSpec vae = strict(convSpec(1, 1, 8));
  vae.kind = ArchKind::ConvVae;
  checkMessage([&] { train::validate(vae); }, "conv-vae: the code (8x4x4 = 128 values)");
  ArchSpec dv = strict(denseSpec({16, 8, 16}));
  dv.kind = ArchKind::DenseVae;
  checkMessage([&] { train::validate(dv); }, "the code (16) is not smaller than the input (16)");

  // Undercomplete conv specs pass, the stem counted: 8 channels at 2x2 behind a stem of 2.
  BOOST_CHECK_NO_THROW(train::validate(strict(convSpec(2, 2))));
  ArchSpec stem = strict(convSpec(1, 1));
  stem.stem = 2;
  BOOST_TEST(train::codeSize(stem).code == 32u);
  BOOST_CHECK_NO_THROW(train::validate(stem));
  ArchSpec latent = strict(convSpec(1, 1, 2));  // 2 latent channels at 4x4
  BOOST_CHECK_NO_THROW(train::validate(latent));
  BOOST_TEST(train::describe(latent).find("(undercomplete)") != std::string::npos);
  // Allowed explicitly, as dense: built, and described as what it is.
  BOOST_TEST(train::describe(convSpec(1, 1)).find("not undercomplete") != std::string::npos);
  checkMessage([] { train::codeSize(convSpec(0, 1)); }, "depth must be at least 1");
}

BOOST_AUTO_TEST_CASE(stacked_stages_and_assembly) {
  ArchSpec deep = denseSpec({16, 12, 8, 4});
  deep.output = "sigmoid";
  const std::vector<ArchSpec> st = train::stackedStages(deep);
  BOOST_REQUIRE(st.size() == 3u);
  BOOST_TEST((st[0].dense == std::vector<int>{16, 12}));
  BOOST_TEST(st[0].channels * st[0].height * st[0].width == 16);
  BOOST_TEST(st[0].height == 4);
  BOOST_TEST(st[0].output == "sigmoid");
  BOOST_TEST((st[1].dense == std::vector<int>{12, 8}));
  BOOST_TEST((st[1].channels == 12 && st[1].height == 1 && st[1].width == 1));
  BOOST_TEST(st[1].output == "relu");  // reconstructs the previous stage's ReLU codes
  BOOST_TEST((st[2].dense == std::vector<int>{8, 4}));

  std::vector<BuiltModel> stages;
  for (std::size_t i = 0; i < st.size(); ++i) {
    stages.push_back(train::buildAutoencoder(st[i]));
    randomizeParams(stages.back().model, 100 + i);
  }
  BuiltModel full = train::buildAutoencoder(deep);
  train::assembleStacked(stages, full);

  // The deep encoder is the stage encoders chained; the deep decoder their decoders reversed.
  const Tensor x = test::randomTensor({3, 1, 4, 4}, 9);
  const Tensor y = full.model.forward(x);
  Tensor h = x;
  for (std::size_t i = 0; i < st.size(); ++i)
    h = train::extractEncoder(st[i], stages[i]).forward(h);
  BOOST_TEST(maxAbsDiff(h, full.model.activation(full.code)) == 0.0);
  for (std::size_t i = st.size(); i-- > 0;) h = train::extractDecoder(st[i], stages[i]).forward(h);
  BOOST_TEST(maxAbsDiff(h, y) == 0.0);

  stages.pop_back();
  checkMessage([&] { train::assembleStacked(stages, full); }, "2 pretrained stages");
  checkMessage([] { train::stackedStages(denseSpec({16, 4})); }, "at least two encoder layers");
  checkMessage([] { train::stackedStages(convSpec(1, 1)); }, "needs a dense architecture");
}

// A segmentation head (DRAEM-style anomaly models): one probability channel at full resolution,
// the reconstruction under its own node, and the file computes the same in OpenCV DNN, for every
// stem and for colour input.
BOOST_AUTO_TEST_CASE(segmentation_head_writes_one_probability_channel) {
  for (int stem : {1, 2, 4})
    for (int channels : {1, 3}) {
      BOOST_TEST_CONTEXT("stem " << stem << ", " << channels << " channels") {
        ArchSpec s = convSpec(1, 2, 2);
        s.height = s.width = 16;
        s.channels = channels;
        s.segWidth = 3;
        s.segStem = stem;
        BuiltModel b = train::buildAutoencoder(s);
        BOOST_REQUIRE(b.segments());
        randomizeParams(b.model, 4);
        const Tensor x = test::randomTensor(batchOf(s, 2), 3);
        const Tensor y = b.model.forward(x);
        BOOST_TEST(y.shape() == (Shape{2, 1, 16, 16}));
        BOOST_TEST(b.model.activation(b.reconstruction).shape() == x.shape());
        for (std::size_t i = 0; i < y.size(); ++i) BOOST_REQUIRE((y[i] > 0 && y[i] < 1));
        const std::string path = test::scratch().file("seg_" + std::to_string(stem) + "_" +
                                                      std::to_string(channels) + ".onnx");
        onnx::exportOnnx(b.model, path);
        onnx::checkOnnxFile(path);
        const test::Diff d = test::compare(test::runOpenCv(path, x), y);
        BOOST_TEST(d.sameCount);
        BOOST_TEST(d.maxAbs < 1e-4);
      }
    }
  ArchSpec bad = convSpec(1, 2, 2);
  bad.height = bad.width = 16;
  bad.segWidth = 3;
  bad.segStem = 3;
  checkMessage([&] { train::buildAutoencoder(bad); }, "stem must be 1, 2 or 4");
  bad.segStem = 8;
  checkMessage([&] { train::buildAutoencoder(bad); }, "stem must be 1, 2 or 4");
  bad.segStem = 4;
  bad.height = bad.width = 8;
  checkMessage([&] { train::buildAutoencoder(bad); }, "segmentation head");
  ArchSpec dense = denseSpec({16, 8});
  dense.segWidth = 3;
  checkMessage([&] { train::buildAutoencoder(dense); }, "single-frame conv");
}

BOOST_AUTO_TEST_SUITE_END()
