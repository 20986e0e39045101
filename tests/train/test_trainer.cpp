// The training loop through the library (core/train/trainer.hpp) on real skimage textures:
// the loss falls, resume is bit-identical (after a finished half and after a cancellation
// mid-epoch), a NaN loss stops the run and keeps the last good checkpoint, early stopping keeps
// the best weights, anomaly calibration sits at the requested false-positive rate, KL sparsity
// moves the mean code activation toward rho, and the contractive penalty lowers the encoder's
// Jacobian norm.
#define BOOST_TEST_MODULE trainer
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "nn/checkpoint.hpp"
#include "nn/parallel.hpp"
#include "onnx/export.hpp"
#include "onnx/metadata.hpp"
#include "train/calibration.hpp"
#include "train/objective.hpp"
#include "train/trainer.hpp"
#include "train/training_state.hpp"

namespace fs = std::filesystem;
using namespace cae;
using namespace cae::train;

namespace {

const std::string kData = "/usr/lib/python3/dist-packages/skimage/data/";

// A temporary folder removed at the end of each test.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("cae_trainer_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
  static int& counter() {
    static int n = 0;
    return n;
  }
};

// A tiny dense autoencoder on 8×8 gray texture patches: 64 → 16 → 64.
TrainConfig denseConfig(const TempDir& dir, const std::string& name) {
  TrainConfig c;
  c.data = {kData + "brick.png", kData + "grass.png", kData + "gravel.png"};
  c.patch = 8;
  c.valFraction = 0.34;
  c.valSamples = 64;
  c.arch.kind = ArchKind::Dense;
  c.arch.dense = {64, 16};
  c.arch.activation = "sigmoid";
  c.batch = 16;
  c.epochs = 4;
  c.stepsPerEpoch = 25;
  c.lr = 3e-3;
  c.seed = 5;
  c.threads = 1;
  c.output = dir / (name + ".onnx");
  c.recipe = "test";
  return c;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// Validation-like samples: 8×8 patches from a texture the models did not choose between.
cv::Mat patches(int n, std::uint64_t seed) {
  const cv::Mat img = cv::imread(kData + "gravel.png", cv::IMREAD_GRAYSCALE);
  BOOST_REQUIRE(!img.empty());
  const int dims[4] = {n, 1, 8, 8};
  cv::Mat blob(4, dims, CV_32F);
  cv::RNG rng(seed);
  for (int k = 0; k < n; ++k) {
    const int y = rng.uniform(0, img.rows - 8), x = rng.uniform(0, img.cols - 8);
    for (int i = 0; i < 8; ++i)
      for (int j = 0; j < 8; ++j)
        blob.ptr<float>()[k * 64 + i * 8 + j] = float(img.at<unsigned char>(y + i, x + j)) / 255.f;
  }
  return blob;
}

cv::Mat forward(const std::string& onnxPath, const cv::Mat& blob) {
  cv::dnn::Net net = cv::dnn::readNetFromONNX(onnxPath);
  net.setInput(blob);
  return net.forward().clone();
}

}  // namespace

BOOST_AUTO_TEST_CASE(loss_falls_and_files_are_written) {
  TempDir dir;
  TrainConfig c = denseConfig(dir, "plain");
  int progressCalls = 0;
  Trainer t(c);
  t.setProgress([&](const Progress& p) {
    ++progressCalls;
    BOOST_CHECK_GE(p.patchesPerSecond, 0);
  });
  const TrainResult r = t.run();
  BOOST_REQUIRE_EQUAL(r.history.size(), 4u);
  BOOST_TEST_MESSAGE("loss " << r.history.front().loss << " -> " << r.history.back().loss);
  BOOST_CHECK_LT(r.history.back().loss, 0.7 * r.history.front().loss);
  BOOST_CHECK_GT(progressCalls, 4 * 20);
  BOOST_CHECK_NO_THROW(onnx::checkOnnxFile(c.output));
  BOOST_CHECK(fs::exists(t.checkpointPath()));
  BOOST_CHECK(fs::exists(t.lossCurvePath()));
  std::ifstream log(t.logPath());
  int lines = 0;
  for (std::string line; std::getline(log, line);) ++lines;
  BOOST_CHECK_EQUAL(lines, 1 + 4 + 1);  // start, epochs, summary
  const auto info = onnx::readModelInfo(c.output);
  BOOST_CHECK_EQUAL(info.recipe, "test");
  BOOST_CHECK_EQUAL(info.format, "GRAY8");
  BOOST_CHECK(!info.metrics.empty());
}

// Train E epochs in one go, or E/2 then --resume to E: the same model, byte for byte. A dense VAE
// with Gaussian input noise, so the Sampling layer's and the corruption's generators count too.
BOOST_AUTO_TEST_CASE(resume_is_bit_identical) {
  TempDir dir;
  TrainConfig c = denseConfig(dir, "full");
  c.arch.kind = ArchKind::DenseVae;
  c.arch.activation = "relu";
  c.corruption = CorruptionKind::Gaussian;
  c.sigmaLo = c.sigmaHi = 0.05;
  Trainer(c).run();

  TrainConfig h = c;
  h.output = dir / "half.onnx";
  h.epochs = 2;
  Trainer(h).run();
  h.epochs = 4;
  h.resume = true;
  const TrainResult r = Trainer(h).run();
  BOOST_CHECK_EQUAL(r.history.size(), 4u);
  BOOST_CHECK(slurp(c.output) == slurp(h.output));
  BOOST_CHECK(slurp(dir / "full.decoder.onnx") == slurp(dir / "half.decoder.onnx"));
  const auto a = nn::loadCheckpoint(dir / "full.ckpt"), b = nn::loadCheckpoint(dir / "half.ckpt");
  BOOST_CHECK(a.params == b.params);
  BOOST_CHECK(a.rngState == b.rngState);
}

// Ctrl-C mid-epoch writes a checkpoint; resuming from it finishes exactly as an uninterrupted run.
BOOST_AUTO_TEST_CASE(cancel_writes_checkpoint_and_resumes_exactly) {
  TempDir dir;
  TrainConfig c = denseConfig(dir, "whole");
  c.epochs = 2;
  Trainer(c).run();

  TrainConfig k = c;
  k.output = dir / "cut.onnx";
  std::atomic<bool> stop{false};
  Trainer t(k);
  t.setCancelFlag(&stop);
  t.setProgress([&](const Progress& p) {
    if (p.epoch == 2 && p.step == 7) stop = true;
  });
  const TrainResult r = t.run();
  BOOST_CHECK(r.cancelled);
  BOOST_CHECK(!fs::exists(k.output));
  const auto ck = nn::loadCheckpoint(t.checkpointPath());
  BOOST_CHECK_EQUAL(ck.step, 25u + 7u);
  k.resume = true;
  const TrainResult done = Trainer(k).run();
  BOOST_CHECK(!done.cancelled);
  BOOST_CHECK(slurp(c.output) == slurp(k.output));
}

// --ema D: the checkpoint keeps the raw weights w_t of every step and their average e_t =
// d_t e_(t-1) + (1 - d_t) w_t, d_t = min(D, (1 + t) / (10 + t)), from e_0 = w_0 (runs of 1, 2 and
// 3 one-step epochs share their first steps; w_0 is a run's at a learning rate of 1e-30). The
// best epoch's weights are the average's, and a run cut and resumed ends as an uncut one.
BOOST_AUTO_TEST_CASE(weight_averaging_follows_the_steps_and_resumes_exactly) {
  TempDir dir;
  const double decay = 0.2;  // d_1 = 2/11 is under it, d_2 and d_3 are capped
  auto run = [&](const std::string& name, int epochs, double lr) {
    TrainConfig c = denseConfig(dir, name);
    c.stepsPerEpoch = 1;
    c.epochs = epochs;
    c.lr = lr;
    c.ema = decay;
    Trainer t(c);
    t.run();
    const nn::Checkpoint ck = nn::loadCheckpoint(t.checkpointPath());
    TrainingState st;
    st.restore(ck.meta, ck.params.size());
    BOOST_REQUIRE_EQUAL(st.emaParams.size(), ck.params.size());
    return std::make_tuple(ck.params, st.emaParams, st);
  };
  const auto w0 = std::get<0>(run("w0", 1, 1e-30));
  std::vector<nn::Scalar> e = w0;
  double worst = 0, moved = 0;
  for (int t = 1; t <= 3; ++t) {
    const auto [w, ema, st] = run("run" + std::to_string(t), t, 3e-3);
    const double d = std::min(decay, double(1 + t) / double(10 + t));
    for (std::size_t i = 0; i < e.size(); ++i) {
      e[i] = nn::Scalar(d * double(e[i]) + (1 - d) * double(w[i]));
      worst = std::max(worst, double(std::abs(e[i] - ema[i])));
      moved = std::max(moved, double(std::abs(w[i] - w0[i])));
    }
    if (t == 1) BOOST_CHECK(st.bestParams == ema);  // one epoch: the best is its average
  }
  BOOST_TEST_MESSAGE("weights moved up to " << moved << "; the average is off by " << worst);
  BOOST_TEST(moved > 1e-3);
  BOOST_TEST(worst < 1e-6);

  TrainConfig c = denseConfig(dir, "whole");
  c.ema = 0.9;
  c.epochs = 3;
  Trainer(c).run();
  TrainConfig h = c;
  h.output = dir / "cut.onnx";
  h.epochs = 1;
  Trainer(h).run();
  h.epochs = 3;
  h.resume = true;
  Trainer(h).run();
  BOOST_CHECK(slurp(c.output) == slurp(h.output));
  const auto a = nn::loadCheckpoint(dir / "whole.ckpt"), b = nn::loadCheckpoint(dir / "cut.ckpt");
  BOOST_CHECK(a.params == b.params);
  BOOST_CHECK(a.meta.at("train.ema_params") == b.meta.at("train.ema_params"));
}

// --init-average: two runs from other seeds, then a run from the mean of their files' weights
// at a step too small to move them: its weights are the mean, value for value.
BOOST_AUTO_TEST_CASE(init_average_starts_from_the_files_mean) {
  TempDir dir;
  std::vector<std::vector<nn::Scalar>> ends;
  for (int seed : {5, 6}) {
    TrainConfig c = denseConfig(dir, "seed" + std::to_string(seed));
    c.seed = std::uint64_t(seed);
    c.epochs = 1;
    Trainer t(c);
    t.run();
    ends.push_back(nn::loadCheckpoint(t.checkpointPath()).params);
  }
  BOOST_REQUIRE(ends[0] != ends[1]);
  TrainConfig c = denseConfig(dir, "soup");
  c.init = dir / "seed5.onnx";
  c.initAverage = {dir / "seed6.onnx"};
  c.epochs = 1;
  c.stepsPerEpoch = 1;
  c.lr = 1e-30;
  Trainer t(c);
  t.run();
  const auto soup = nn::loadCheckpoint(t.checkpointPath()).params;
  BOOST_REQUIRE_EQUAL(soup.size(), ends[0].size());
  double worst = 0, apart = 0;
  for (std::size_t i = 0; i < soup.size(); ++i) {
    worst = std::max(worst, double(std::abs(soup[i] - (ends[0][i] + ends[1][i]) / 2)));
    apart = std::max(apart, double(std::abs(ends[0][i] - ends[1][i])));
  }
  BOOST_TEST_MESSAGE("the runs' weights differ by up to " << apart << "; the soup is off by "
                                                          << worst);
  BOOST_TEST(apart > 1e-2);
  BOOST_TEST(worst < 1e-6);
}

BOOST_AUTO_TEST_CASE(nan_loss_stops_and_keeps_the_last_good_checkpoint) {
  TempDir dir;
  TrainConfig c = denseConfig(dir, "nan");
  c.arch.activation = "relu";
  c.lr = 1e30;
  Trainer t(c);
  bool threw = false;
  try {
    t.run();
  } catch (const TrainingDiverged& e) {
    threw = true;
    const std::string what = e.what();
    BOOST_TEST_MESSAGE(what);
    BOOST_CHECK(what.find("lower --lr") != std::string::npos);
    BOOST_CHECK(what.find(t.checkpointPath()) != std::string::npos);
  }
  BOOST_CHECK(threw);
  BOOST_CHECK(!fs::exists(c.output));
  const auto ck = nn::loadCheckpoint(t.checkpointPath());  // intact and loadable
  for (float v : ck.params) BOOST_REQUIRE(std::isfinite(v));
}

// With patience, the run stops once validation stops improving and exports the best epoch's
// weights: the exported model's validation loss is the minimum of the history.
BOOST_AUTO_TEST_CASE(early_stopping_restores_the_best) {
  TempDir dir;
  TrainConfig c = denseConfig(dir, "early");
  c.arch.activation = "relu";
  c.lr = 0.05;  // large enough that validation loss bounces
  c.epochs = 30;
  c.stepsPerEpoch = 10;
  c.patience = 2;
  const TrainResult r = Trainer(c).run();
  double best = 1e30;
  for (const auto& e : r.history) best = std::min(best, e.valLoss);
  BOOST_TEST_MESSAGE("epochs run " << r.history.size() << ", best " << best << " at "
                                   << r.bestEpoch);
  BOOST_CHECK(r.earlyStopped);
  BOOST_CHECK_LT(r.history.size(), 30u);
  BOOST_CHECK_EQUAL(r.history.size(), std::size_t(r.bestEpoch + c.patience));
  const auto info = onnx::readModelInfo(c.output);
  const double exported = std::stod(info.metrics.substr(info.metrics.find("\"val_loss\":") + 11));
  BOOST_CHECK_CLOSE(exported, best, 1e-3);
}

BOOST_AUTO_TEST_CASE(calibration_threshold_at_fpr) {
  std::vector<double> s;
  for (int i = 100; i >= 1; --i) s.push_back(i);
  const Calibration c = calibrate(s, 0.05);
  BOOST_CHECK_EQUAL(c.threshold, 95);
  BOOST_CHECK_EQUAL(c.fpr, 0.05);
  BOOST_CHECK_CLOSE(c.mean, 50.5, 1e-9);
  BOOST_CHECK_EQUAL(calibrate(s, 0.0).threshold, 100);
  BOOST_CHECK_THROW(calibrate({}, 0.1), InvalidArgument);
}

BOOST_AUTO_TEST_CASE(anomaly_task_stores_calibration) {
  TempDir dir;
  TrainConfig c = denseConfig(dir, "anomaly");
  c.task = TrainTask::Anomaly;
  c.fpr = 0.05;
  c.epochs = 2;
  Trainer(c).run();
  const auto info = onnx::readModelInfo(c.output);
  BOOST_CHECK(info.task == onnx::Task::Anomaly);
  BOOST_REQUIRE(info.anomaly.threshold.has_value());
  BOOST_CHECK_GT(*info.anomaly.threshold, info.anomaly.scoreMean);
  BOOST_CHECK_GT(info.anomaly.scoreStd, 0);
  const std::string m = info.metrics;
  const double fpr = std::stod(m.substr(m.find("\"calibration_fpr\":") + 18));
  BOOST_CHECK_LE(fpr, 0.05);
  BOOST_CHECK_GE(fpr, 0.03);  // 200 scores: at most 10 above, and ties are rare
}

// KL sparsity (rho 0.05) pulls the mean code activation from the sigmoid's ~0.5 toward rho; the
// same model trained without it stays far higher.
BOOST_AUTO_TEST_CASE(kl_sparsity_moves_mean_activation_toward_rho) {
  TempDir dir;
  const cv::Mat x = patches(200, 3);
  double means[2];
  for (int sparse = 0; sparse < 2; ++sparse) {
    TrainConfig c = denseConfig(dir, sparse ? "kl" : "nokl");
    c.task = TrainTask::Features;
    c.klRho = 0.05;
    c.klBeta = sparse ? 0.5 : 0.0;
    Trainer(c).run();
    const cv::Mat h = forward(c.output, x);
    means[sparse] = cv::mean(h.reshape(1, 1))[0];
  }
  BOOST_TEST_MESSAGE("mean code activation: plain " << means[0] << ", KL " << means[1]);
  BOOST_CHECK_LT(std::abs(means[1] - 0.05), 0.5 * std::abs(means[0] - 0.05));
  BOOST_CHECK_LT(means[1], 0.15);
}

// Finite-difference Jacobian of the exported encoder on real patches: the contractive penalty
// makes it smaller than the plain autoencoder's, same data and seed.
BOOST_AUTO_TEST_CASE(contractive_lowers_the_jacobian_norm) {
  TempDir dir;
  const cv::Mat x = patches(20, 4);
  const float h = 1e-2f;
  double norms[2];
  for (int contractive = 0; contractive < 2; ++contractive) {
    TrainConfig c = denseConfig(dir, contractive ? "cae" : "plain");
    c.task = TrainTask::Features;
    c.contractive = contractive ? 0.5 : 0.0;
    Trainer(c).run();
    // Rows: each sample, then the sample with one input value nudged, for all 64 inputs.
    const int dims[4] = {20 * 65, 1, 8, 8};
    cv::Mat blob(4, dims, CV_32F);
    for (int n = 0; n < 20; ++n)
      for (int k = 0; k < 65; ++k) {
        float* row = blob.ptr<float>() + std::ptrdiff_t(n * 65 + k) * 64;
        const float* xn = x.ptr<float>() + std::ptrdiff_t(n) * 64;
        std::copy(xn, xn + 64, row);
        if (k > 0) row[k - 1] += h;
      }
    const cv::Mat y = forward(c.output, blob).reshape(1, 20 * 65);
    double sum = 0;
    for (int n = 0; n < 20; ++n)
      for (int k = 1; k < 65; ++k) {
        const cv::Mat d = (y.row(n * 65 + k) - y.row(n * 65)) / h;
        sum += d.dot(d);
      }
    norms[contractive] = sum / 20;
  }
  BOOST_TEST_MESSAGE("mean ||J||_F^2: plain " << norms[0] << ", contractive " << norms[1]);
  BOOST_CHECK_LT(norms[1], 0.7 * norms[0]);
}

// Stacked: interrupted during the second pretraining stage, resumed: the finished stage's weights
// come from the checkpoint and the result matches the uninterrupted run byte for byte.
BOOST_AUTO_TEST_CASE(stacked_resume_across_stages) {
  TempDir dir;
  TrainConfig c = denseConfig(dir, "stacked");
  c.arch.dense = {64, 32, 16};
  c.stacked = true;
  c.pretrainEpochs = 2;
  c.epochs = 2;
  const TrainResult full = Trainer(c).run();
  std::vector<std::string> stages;
  for (const auto& e : full.history) stages.push_back(e.stage);
  BOOST_CHECK((stages == std::vector<std::string>{"pretrain 1/2", "pretrain 1/2", "pretrain 2/2",
                                                  "pretrain 2/2", "finetune", "finetune"}));

  TrainConfig k = c;
  k.output = dir / "cut.onnx";
  std::atomic<bool> stop{false};
  Trainer t(k);
  t.setCancelFlag(&stop);
  t.setProgress([&](const Progress& p) {
    if (p.stage == "pretrain 2/2" && p.epoch == 1 && p.step == 5) stop = true;
  });
  BOOST_REQUIRE(t.run().cancelled);
  k.resume = true;
  const TrainResult done = Trainer(k).run();
  BOOST_CHECK_EQUAL(done.history.size(), 6u);
  BOOST_CHECK(slurp(c.output) == slurp(k.output));
}

// --noise-clip: the noisy samples are what an 8-bit frame stores, clipped to [0, 1], in training
// (corrupt) and validation (corruptFixed); without it strong noise runs past both ends.
BOOST_AUTO_TEST_CASE(noise_clip_keeps_noisy_samples_in_the_frame_range) {
  nn::Tensor clean({4, 1, 16, 16});
  for (std::size_t i = 0; i < clean.size(); ++i) clean[i] = nn::Scalar(i % 2 ? 0.02 : 0.98);
  train::TrainConfig c;
  c.task = train::TrainTask::Denoise;
  c.corruption = train::CorruptionKind::Gaussian;
  c.sigmaLo = 5.0 / 255;
  c.sigmaHi = 50.0 / 255;
  auto outside = [](const nn::Tensor& t) {
    return std::count_if(t.data(), t.data() + t.size(),
                         [](nn::Scalar v) { return v < 0 || v > 1; });
  };
  auto atEdge = [](const nn::Tensor& t) {
    return std::count_if(t.data(), t.data() + t.size(),
                         [](nn::Scalar v) { return v == 0 || v == 1; });
  };
  const train::Objective plain(c);
  BOOST_TEST(outside(plain.corruptFixed(clean, 1)) > 100);
  c.noiseClip = true;
  const train::Objective clipped(c);
  const nn::Tensor v = clipped.corruptFixed(clean, 1);
  BOOST_TEST(outside(v) == 0);
  BOOST_TEST(atEdge(v) > 100);
  nn::Rng rng(3);
  nn::Tensor noisy;
  clipped.corrupt(clean, false, noisy, rng);
  BOOST_TEST(outside(noisy) == 0);
  BOOST_TEST(atEdge(noisy) > 100);
}
