#define BOOST_TEST_MODULE checkpoint
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "error.hpp"
#include "io/patches.hpp"
#include "nn/checkpoint.hpp"
#include "nn/corruption/gaussian_noise.hpp"
#include "nn/layers/activation.hpp"
#include "nn/layers/conv2d.hpp"
#include "nn/layers/conv_transpose2d.hpp"
#include "nn/layers/merge.hpp"
#include "nn/losses/mse_loss.hpp"
#include "nn/model.hpp"
#include "nn/optim/adam.hpp"
#include "nn/optim/sgd.hpp"
#include "nn/rng.hpp"

namespace fs = std::filesystem;
using namespace cae::nn;

namespace {

// A small residual denoiser: conv, strided conv, transposed conv, conv, + input.
Model makeModel(int width = 4) {
  Model m(Shape{1, 1, 16, 16});
  m.add(std::make_unique<Conv2d>(Conv2dOptions{1, width, 3, 0, 0, 1, 1}));
  m.add(std::make_unique<ReLU>());
  m.add(std::make_unique<Conv2d>(Conv2dOptions{width, width, 3, 0, 0, 2, 1}));
  m.add(std::make_unique<ReLU>());
  m.add(std::make_unique<ConvTranspose2d>(ConvTranspose2dOptions{width, width, 4, 2, 1}));
  m.add(std::make_unique<ReLU>());
  const int r = m.add(std::make_unique<Conv2d>(Conv2dOptions{width, 1, 3, 0, 0, 1, 1}));
  m.add(std::make_unique<Add>(), {r, Model::kInput});
  m.compile();
  m.initialize(42);
  return m;
}

// A smooth synthetic image, so that the test needs no files.
Tensor syntheticImage() {
  Tensor t(Shape{1, 1, 48, 48});
  for (int y = 0; y < 48; ++y)
    for (int x = 0; x < 48; ++x)
      t.at(0, 0, y, x) = Scalar(0.5 + 0.3 * std::sin(0.3 * x) * std::cos(0.2 * y));
  return t;
}

// Each step draws patches and noise from rng, so a resumed run must restore rng exactly.
void train(Model& m, Optimizer& opt, Rng& rng, int steps) {
  const std::vector<Tensor> images{syntheticImage()};
  const GaussianNoise noise(Scalar(25.0 / 255));
  const MseLoss mse;
  Tensor clean, noisy, grad;
  for (int s = 0; s < steps; ++s) {
    cae::io::samplePatches(images, 4, 16, 16, rng, clean);
    noise.apply(clean, noisy, rng);
    mse.compute(m.forward(noisy), clean, &grad);
    m.backward(grad);
    opt.step(m.params(), m.grads());
  }
}

bool sameParams(const Model& a, const Model& b) {
  return a.numParams() == b.numParams() &&
         std::memcmp(a.params().data(), b.params().data(), a.numParams() * sizeof(Scalar)) == 0;
}

struct TempDir {
  fs::path dir;
  TempDir() {
    dir = fs::temp_directory_path() / ("cae_ckpt_" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string path(const std::string& name) const { return (dir / name).string(); }
};

void writeBytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), std::streamsize(bytes.size()));
}

// A valid checkpoint file's bytes, from a model trained a few steps.
std::string validCheckpointBytes() {
  Model m = makeModel();
  Adam opt;
  Rng rng(5);
  train(m, opt, rng, 2);
  return serializeCheckpoint(makeCheckpoint(m, opt, rng, 2, 0, {{"recipe", "test"}}));
}

}  // namespace

BOOST_AUTO_TEST_CASE(fixed_seeds_give_identical_runs) {
  Model a = makeModel(), b = makeModel();
  Adam oa, ob;
  Rng ra(11), rb(11);
  train(a, oa, ra, 6);
  train(b, ob, rb, 6);
  BOOST_TEST(sameParams(a, b));
  Model c = makeModel();
  Adam oc;
  Rng rc(12);
  train(c, oc, rc, 6);
  BOOST_TEST(!sameParams(a, c));
}

BOOST_AUTO_TEST_CASE(resume_is_bit_identical) {
  TempDir tmp;
  const int n = 10;
  // Straight through.
  Model straight = makeModel();
  Adam os(AdamOptions{3e-3});
  Rng rs(2024);
  train(straight, os, rs, n);

  // Half, checkpoint to disk, everything thrown away.
  const std::string path = tmp.path("half.ckpt");
  {
    Model m = makeModel();
    Adam o(AdamOptions{3e-3});
    Rng r(2024);
    train(m, o, r, n / 2);
    saveCheckpoint(path, makeCheckpoint(m, o, r, n / 2, 1, {{"recipe", "adam 3e-3"}}));
  }
  // Fresh objects with other seeds and learning rate; the checkpoint must override all of it.
  Model resumed = makeModel();
  resumed.initialize(999);
  Adam o(AdamOptions{1.0});
  Rng r(1);
  const Checkpoint ck = loadCheckpoint(path);
  BOOST_TEST(ck.step == std::uint64_t(n / 2));
  BOOST_TEST(ck.epoch == 1u);
  BOOST_TEST(ck.meta.at("recipe") == "adam 3e-3");
  restoreCheckpoint(ck, resumed, o, r);
  BOOST_TEST(o.steps() == std::uint64_t(n / 2));
  BOOST_TEST(o.learningRate() == 3e-3, boost::test_tools::tolerance(1e-12));
  train(resumed, o, r, n - n / 2);

  BOOST_TEST(sameParams(straight, resumed));
  BOOST_TEST(r.state() == rs.state());
  BOOST_TEST(o.steps() == os.steps());
}

BOOST_AUTO_TEST_CASE(save_replaces_atomically_and_leaves_no_temporaries) {
  TempDir tmp;
  const std::string path = tmp.path("run.ckpt");
  Checkpoint a;
  a.params = {1, 2, 3};
  a.step = 1;
  saveCheckpoint(path, a);
  Checkpoint b = a;
  b.step = 2;
  saveCheckpoint(path, b);
  BOOST_TEST(loadCheckpoint(path).step == 2u);
  int files = 0;
  for (const auto& e : fs::directory_iterator(tmp.dir)) {
    (void)e;
    ++files;
  }
  BOOST_TEST(files == 1);
  // Saving onto a folder fails cleanly, leaving no temporary behind.
  fs::create_directories(tmp.path("folder"));
  BOOST_CHECK_THROW(saveCheckpoint(tmp.path("folder"), b), cae::IoError);
  BOOST_CHECK_THROW(saveCheckpoint(tmp.path("no/such/dir/x.ckpt"), b), cae::IoError);
  files = 0;
  for (const auto& e : fs::directory_iterator(tmp.dir)) {
    (void)e;
    ++files;
  }
  BOOST_TEST(files == 2);
  BOOST_TEST(loadCheckpoint(path).step == 2u);
}

BOOST_AUTO_TEST_CASE(every_truncation_is_a_format_error) {
  TempDir tmp;
  const std::string bytes = validCheckpointBytes();
  BOOST_TEST_MESSAGE("checkpoint bytes: " << bytes.size());
  const std::string path = tmp.path("cut.ckpt");
  int tried = 0;
  for (std::size_t len = 0; len < bytes.size(); len += (len < 64 ? 1 : 97)) {
    writeBytes(path, bytes.substr(0, len));
    BOOST_CHECK_THROW(loadCheckpoint(path), cae::FormatError);
    ++tried;
  }
  // Every single length through the parser in memory too (cheap).
  for (std::size_t len = 0; len < bytes.size(); ++len)
    BOOST_CHECK_THROW(parseCheckpoint(bytes.substr(0, len)), cae::FormatError);
  BOOST_TEST(tried > 60);
  BOOST_CHECK_NO_THROW(parseCheckpoint(bytes));
}

BOOST_AUTO_TEST_CASE(bit_flips_are_format_errors) {
  const std::string bytes = validCheckpointBytes();
  Rng rng(9);
  // Every bit of the header, then random bits of the payload.
  std::vector<std::size_t> bits;
  for (std::size_t b = 0; b < std::size_t{28} * 8; ++b) bits.push_back(b);
  for (int k = 0; k < 300; ++k) bits.push_back(std::size_t(rng.below(bytes.size() * 8)));
  for (std::size_t b : bits) {
    std::string bad = bytes;
    bad[b / 8] = char(bad[b / 8] ^ (1 << (b % 8)));
    BOOST_CHECK_THROW(parseCheckpoint(bad), cae::FormatError);
  }
  // Appended garbage too.
  BOOST_CHECK_THROW(parseCheckpoint(bytes + "x"), cae::FormatError);
}

BOOST_AUTO_TEST_CASE(wrong_magic_empty_and_missing_files) {
  TempDir tmp;
  std::string bytes = validCheckpointBytes();
  bytes[0] = 'X';
  writeBytes(tmp.path("magic.ckpt"), bytes);
  try {
    loadCheckpoint(tmp.path("magic.ckpt"));
    BOOST_FAIL("no exception");
  } catch (const cae::FormatError& e) {
    BOOST_TEST(std::string(e.what()).find("magic") != std::string::npos);
  }
  writeBytes(tmp.path("empty.ckpt"), "");
  BOOST_CHECK_THROW(loadCheckpoint(tmp.path("empty.ckpt")), cae::FormatError);
  writeBytes(tmp.path("text.ckpt"), "hello, I am not a checkpoint at all\n");
  BOOST_CHECK_THROW(loadCheckpoint(tmp.path("text.ckpt")), cae::FormatError);
  BOOST_CHECK_THROW(loadCheckpoint(tmp.path("missing.ckpt")), cae::IoError);
}

BOOST_AUTO_TEST_CASE(mismatched_model_or_optimizer_is_rejected_untouched) {
  const Checkpoint ck = parseCheckpoint(validCheckpointBytes());
  // A wider model has more parameters.
  Model wide = makeModel(8);
  Adam adam;
  Rng rng(77);
  const std::vector<Scalar> before(wide.params().data(), wide.params().data() + wide.numParams());
  const std::string rngBefore = rng.state();
  try {
    restoreCheckpoint(ck, wide, adam, rng);
    BOOST_FAIL("no exception");
  } catch (const cae::FormatError& e) {
    BOOST_TEST_MESSAGE(e.what());
    BOOST_TEST(std::string(e.what()).find("parameters") != std::string::npos);
  }
  BOOST_TEST(std::memcmp(before.data(), wide.params().data(), before.size() * sizeof(Scalar)) == 0);
  BOOST_TEST(rng.state() == rngBefore);
  BOOST_TEST(adam.steps() == 0u);

  // Same model, but an Sgd cannot take Adam's state.
  Model same = makeModel();
  Sgd sgd(SgdOptions{0.1, 0.9, false});
  const std::vector<Scalar> init(same.params().data(), same.params().data() + same.numParams());
  BOOST_CHECK_THROW(restoreCheckpoint(ck, same, sgd, rng), cae::FormatError);
  BOOST_TEST(std::memcmp(init.data(), same.params().data(), init.size() * sizeof(Scalar)) == 0);
  BOOST_TEST(rng.state() == rngBefore);
}

BOOST_AUTO_TEST_CASE(crc32_matches_the_standard_check_value) {
  // The CRC-32 check value of "123456789" (zlib, PNG, Ethernet).
  BOOST_TEST(crc32("123456789", 9) == 0xCBF43926u);
}
