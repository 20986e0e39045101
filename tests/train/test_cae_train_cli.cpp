// The built cae-train binary on real images (skimage textures, Fashion-MNIST), one short run per
// autoencoder variant: exit code 0, the loss fell (JSON-lines log), the ONNX file passes
// onnx::checker and runs in OpenCV DNN with the expected output size, the metadata carries the
// recipe. Then bad input: each is answered with a clear message and the documented exit code.
// The binary: $CAE_TRAIN_EXE, else ../tools/cae-train beside this test's build folder.
#define BOOST_TEST_MODULE cae_train_cli
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "onnx/export.hpp"
#include "onnx/metadata.hpp"

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

const std::string kSk = "/usr/lib/python3/dist-packages/skimage/data/";
const std::string kFashion = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";

std::string exe() {
  if (const char* e = std::getenv("CAE_TRAIN_EXE")) return e;
  return (fs::canonical("/proc/self/exe").parent_path().parent_path() / "tools" / "cae-train")
      .string();
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// Each test's own temporary folder, removed afterwards.
struct Fixture {
  fs::path dir;
  Fixture() {
    static int n = 0;
    dir = fs::temp_directory_path() /
          ("cae_train_cli_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    fs::create_directories(dir);
  }
  ~Fixture() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string at(const std::string& name) const { return (dir / name).string(); }

  struct Run {
    int code = -1;
    std::string out, err;
  };
  Run run(const std::vector<std::string>& args) const {
    std::string cmd = quote(exe());
    for (const auto& a : args) cmd += " " + quote(a);
    cmd += " >" + quote(at("stdout.txt")) + " 2>" + quote(at("stderr.txt"));
    const int st = std::system(cmd.c_str());
    Run r;
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = slurp(at("stdout.txt"));
    r.err = slurp(at("stderr.txt"));
    BOOST_TEST_MESSAGE(cmd << "\n  -> exit " << r.code << "\n" << r.out << r.err);
    return r;
  }
  // A short training run: tiny epochs, one thread, into `name`.onnx.
  Run train(const std::string& name, std::vector<std::string> args) const {
    const std::vector<std::pair<std::string, std::string>> defaults{
        {"--epochs", "3"},       {"--steps", "10"}, {"--batch", "8"}, {"--threads", "1"},
        {"--val-samples", "32"}, {"--lr", "0.003"}, {"--seed", "3"}};
    for (const auto& [k, v] : defaults)
      if (std::find(args.begin(), args.end(), k) == args.end()) {
        args.push_back(k);
        args.push_back(v);
      }
    args.push_back("-o");
    args.push_back(at(name + ".onnx"));
    return run(args);
  }

  std::vector<Json> log(const std::string& name) const {
    std::vector<Json> lines;
    std::ifstream f(at(name + ".log.jsonl"));
    for (std::string line; std::getline(f, line);) lines.push_back(Json::parse(line));
    return lines;
  }
  // Training loss of the first and last epoch of one stage ("" = the last stage in the log).
  std::pair<double, double> lossRange(const std::string& name, std::string stage = "") const {
    std::vector<double> l;
    const auto lines = log(name);
    if (stage.empty())
      for (const Json& j : lines)
        if (j["event"] == "epoch") stage = j["stage"];
    for (const Json& j : lines)
      if (j["event"] == "epoch" && j["stage"] == stage) l.push_back(j["loss"].get<double>());
    BOOST_REQUIRE_GE(l.size(), 2u);
    return {l.front(), l.back()};
  }

  // Exit 0, loss fell, checker passes, OpenCV runs it with `outValues` outputs per sample, the
  // recipe is stored.
  void checkModel(const std::string& name, const Run& r, int c, int h, int w, int outValues,
                  bool trained = true) const {
    BOOST_REQUIRE_EQUAL(r.code, 0);
    if (trained) {
      const auto [first, last] = lossRange(name);
      BOOST_TEST_MESSAGE(boost::unit_test::framework::current_test_case().p_name.get()
                         << " " << name << ": loss " << first << " -> " << last);
      BOOST_CHECK_LT(last, first);
    }
    const std::string model = at(name + ".onnx");
    BOOST_CHECK_NO_THROW(cae::onnx::checkOnnxFile(model));
    cv::dnn::Net net = cv::dnn::readNetFromONNX(model);
    const int dims[4] = {2, c, h, w};
    cv::Mat blob(4, dims, CV_32F);
    cv::randu(blob, 0.f, 1.f);
    net.setInput(blob);
    const cv::Mat y = net.forward();
    BOOST_CHECK_EQUAL(y.total(), std::size_t(2) * std::size_t(outValues));
    const auto info = cae::onnx::readModelInfo(model);
    BOOST_CHECK(info.recipe.find("cae-train") != std::string::npos);
    BOOST_CHECK(info.recipe.find(" -o ") != std::string::npos);
    BOOST_CHECK(!info.trainerVersion.empty());
    BOOST_CHECK(!info.metrics.empty());
  }
};

std::vector<std::string> textures() {
  return {kSk + "brick.png", kSk + "grass.png", kSk + "gravel.png"};
}
std::vector<std::string> fashion() { return {kFashion, "--sample", "200", "--patch", "0"}; }
std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

// Fails every test at once, with the reason, when the binary is not built.
struct BinaryPresent {
  BinaryPresent() {
    if (!fs::exists(exe()))
      throw std::runtime_error("cae-train not found at " + exe() +
                               " (build it, or set CAE_TRAIN_EXE)");
  }
};
BOOST_TEST_GLOBAL_FIXTURE(BinaryPresent);

BOOST_FIXTURE_TEST_SUITE(variants, Fixture)

BOOST_AUTO_TEST_CASE(dense_undercomplete) {
  checkModel(
      "m",
      train("m", fashion() + std::vector<std::string>{"--arch", "dense", "--layers", "784-32-784"}),
      1, 28, 28, 784);
}

BOOST_AUTO_TEST_CASE(deep_dense) {
  checkModel("m",
             train("m", fashion() + std::vector<std::string>{"--arch", "dense", "--layers",
                                                             "784-128-32-128-784"}),
             1, 28, 28, 784);
}

BOOST_AUTO_TEST_CASE(stacked_with_pretraining_stages) {
  const Run r = train(
      "m", fashion() + std::vector<std::string>{"--arch", "stacked", "--layers", "784-64-16-64-784",
                                                "--pretrain-epochs", "2"});
  checkModel("m", r, 1, 28, 28, 784);
  std::vector<std::string> stages;
  for (const Json& j : log("m"))
    if (j["event"] == "stage" && j.contains("params")) stages.push_back(j["stage"]);
  BOOST_CHECK((stages == std::vector<std::string>{"pretrain 1/2", "pretrain 2/2", "finetune"}));
  for (const char* s : {"pretrain 1/2", "pretrain 2/2"}) {
    const auto [first, last] = lossRange("m", s);
    BOOST_CHECK_LT(last, first);
  }
}

BOOST_AUTO_TEST_CASE(sparse_l1) {
  checkModel("m",
             train("m", fashion() + std::vector<std::string>{"--arch", "dense", "--layers",
                                                             "784-64", "--sparsity", "l1",
                                                             "--sparsity-weight", "1e-3"}),
             1, 28, 28, 784);
}

BOOST_AUTO_TEST_CASE(sparse_kl) {
  checkModel(
      "m",
      train("m", fashion() + std::vector<std::string>{"--arch", "dense", "--layers", "784-64",
                                                      "--activation", "sigmoid", "--sparsity", "kl",
                                                      "--rho", "0.05", "--sparsity-weight", "0.1"}),
      1, 28, 28, 784);
}

BOOST_AUTO_TEST_CASE(denoise_gaussian_residual_conv_vs_nlm) {
  const Run r = train(
      "m", textures() + std::vector<std::string>{"--patch", "16", "--arch", "conv", "--depth", "1",
                                                 "--stages", "1", "--channels", "8", "--residual",
                                                 "--task", "denoise", "--noise", "gaussian",
                                                 "--sigma", "15-30", "--allow-overcomplete"});
  checkModel("m", r, 1, 16, 16, 256);
  BOOST_CHECK(r.out.find("OpenCV NLM") != std::string::npos);
  const auto info = cae::onnx::readModelInfo(at("m.onnx"));
  BOOST_CHECK(info.task == cae::onnx::Task::Denoise);
  BOOST_CHECK_CLOSE(info.noiseSigma, 30.0 / 255, 1e-6);
  const Json m = Json::parse(info.metrics);
  BOOST_CHECK(m.contains("psnr_noisy") && m.contains("psnr_model") && m.contains("psnr_nlm"));
}

// The shipped denoisers' design: a learned 2x2 unshuffle stem, U-Net skips, multi-scale data.
BOOST_AUTO_TEST_CASE(denoise_stem_unet_multiscale) {
  const Run r = train(
      "m",
      textures() + std::vector<std::string>{
                       "--patch",    "32",      "--arch",   "conv",        "--stem",
                       "2",          "--depth", "1",        "--stages",    "1",
                       "--channels", "8",       "--skips",  "--residual",  "--task",
                       "denoise",    "--noise", "gaussian", "--sigma",     "5-50",
                       "--scales",   "1,0.5",   "--flips",  "--rotations", "--allow-overcomplete"});
  checkModel("m", r, 1, 32, 32, 1024);
  BOOST_CHECK(r.err.find("4 training") != std::string::npos);  // 2 textures (1 held out) x 2 scales
  const Run bad = train("b", textures() + std::vector<std::string>{"--stem", "3"});
  BOOST_CHECK_EQUAL(bad.code, 2);
}

BOOST_AUTO_TEST_CASE(denoise_masking_dense) {
  checkModel(
      "m",
      train("m", fashion() + std::vector<std::string>{"--arch", "dense", "--layers", "784-64",
                                                      "--noise", "masking", "--noise-p", "0.3"}),
      1, 28, 28, 784);
}

BOOST_AUTO_TEST_CASE(denoise_salt_pepper_conv) {
  checkModel(
      "m",
      train("m", textures() + std::vector<std::string>{"--patch", "16", "--arch", "conv", "--depth",
                                                       "1", "--stages", "1", "--channels", "8",
                                                       "--noise", "salt-pepper", "--noise-p", "0.1",
                                                       "--allow-overcomplete"}),
      1, 16, 16, 256);
}

BOOST_AUTO_TEST_CASE(contractive_dense_and_conv) {
  checkModel("d",
             train("d", fashion() + std::vector<std::string>{"--arch", "dense", "--layers",
                                                             "784-32", "--activation", "sigmoid",
                                                             "--contractive", "0.1"}),
             1, 28, 28, 784);
  checkModel(
      "c",
      train("c", textures() + std::vector<std::string>{"--patch", "16", "--arch", "conv", "--depth",
                                                       "1", "--stages", "1", "--channels", "8",
                                                       "--latent", "4", "--contractive", "0.01",
                                                       "--allow-overcomplete"}),
      1, 16, 16, 256);
}

BOOST_AUTO_TEST_CASE(conv_with_skips_rgb) {
  checkModel("m",
             train("m", std::vector<std::string>{kSk + "astronaut.png", kSk + "coffee.png",
                                                 kSk + "chelsea.png", "--color", "rgb", "--patch",
                                                 "16", "--arch", "conv", "--depth", "1", "--stages",
                                                 "2", "--channels", "8", "--skips", "--flips"}),
             3, 16, 16, 3 * 256);
  BOOST_CHECK_EQUAL(cae::onnx::readModelInfo(at("m.onnx")).format, "RGB");
}

BOOST_AUTO_TEST_CASE(dense_vae_and_samples) {
  checkModel("m",
             train("m", fashion() + std::vector<std::string>{"--arch", "vae", "--layers", "784-64",
                                                             "--latent", "8"}),
             1, 28, 28, 784);
  BOOST_REQUIRE(fs::exists(at("m.decoder.onnx")));
  BOOST_CHECK_NO_THROW(cae::onnx::checkOnnxFile(at("m.decoder.onnx")));
  const Run s =
      run({"sample", "--model", at("m.decoder.onnx"), "--count", "16", "--out", at("samples.png")});
  BOOST_CHECK_EQUAL(s.code, 0);
  const cv::Mat grid = cv::imread(at("samples.png"), cv::IMREAD_UNCHANGED);
  BOOST_REQUIRE(!grid.empty());
  BOOST_CHECK_GE(grid.cols, 4 * 28);
  cv::Scalar mean, sd;
  cv::meanStdDev(grid, mean, sd);
  BOOST_CHECK_GT(sd[0], 1.0);  // not a blank image
}

BOOST_AUTO_TEST_CASE(conv_vae_and_samples) {
  checkModel("m",
             train("m", textures() + std::vector<std::string>{"--patch", "16", "--arch", "conv-vae",
                                                              "--depth", "1", "--stages", "2",
                                                              "--channels", "8", "--latent", "4"}),
             1, 16, 16, 256);
  const Run s =
      run({"sample", "--model", at("m.decoder.onnx"), "--count", "9", "--out", at("samples.png")});
  BOOST_CHECK_EQUAL(s.code, 0);
  BOOST_CHECK(!cv::imread(at("samples.png")).empty());
}

BOOST_AUTO_TEST_CASE(pca_baseline) {
  const Run r = train("m", fashion() + std::vector<std::string>{"--arch", "pca", "--latent", "16"});
  checkModel("m", r, 1, 28, 28, 784, false);
}

// 16 channels at 8x8 for 16x16 patches: not undercomplete, allowed explicitly (the calibration
// is what this case checks).
BOOST_AUTO_TEST_CASE(anomaly_calibration) {
  const Run r = train("m", textures() + std::vector<std::string>{
                                            "--patch", "16", "--arch", "conv", "--depth", "1",
                                            "--stages", "1", "--channels", "8", "--task", "anomaly",
                                            "--fpr", "0.05", "--allow-overcomplete"});
  checkModel("m", r, 1, 16, 16, 256);
  const auto info = cae::onnx::readModelInfo(at("m.onnx"));
  BOOST_CHECK(info.task == cae::onnx::Task::Anomaly);
  BOOST_REQUIRE(info.anomaly.threshold.has_value());
  BOOST_CHECK_GT(*info.anomaly.threshold, info.anomaly.scoreMean);
  // The frame score the threshold belongs to: the default map, named in the file.
  BOOST_CHECK_EQUAL(cae::anomaly::mapKindName(info.anomaly.map.map), std::string("lowpass"));
  BOOST_CHECK_EQUAL(info.anomaly.map.smoothSigma, 4.0);
  BOOST_CHECK_NE(info.metrics.find("\"calibration_size\""), std::string::npos);
}

// --frame-fpr: the crop scores' frame model goes into the file, and cae.threshold is its
// threshold for --deploy-size frames; a malformed size is refused by name.
BOOST_AUTO_TEST_CASE(anomaly_frame_model_for_a_deployment_size) {
  const Run r =
      train("f", textures() + std::vector<std::string>{
                                  "--patch", "16", "--arch", "conv", "--depth", "1", "--stages",
                                  "1", "--channels", "8", "--task", "anomaly", "--frame-fpr",
                                  "0.001", "--deploy-size", "320x240", "--allow-overcomplete"});
  checkModel("f", r, 1, 16, 16, 256);
  const auto info = cae::onnx::readModelInfo(at("f.onnx"));
  BOOST_REQUIRE(info.anomaly.frame.has_value());
  BOOST_REQUIRE(info.anomaly.threshold.has_value());
  BOOST_CHECK_EQUAL(info.anomaly.frame->fpr, 0.001);
  BOOST_CHECK_CLOSE(*info.anomaly.threshold, info.anomaly.frame->threshold(320.0 * 240), 1e-6);
  BOOST_CHECK_NE(r.out.find("frame model"), std::string::npos);
  const Run bad = train(
      "g", textures() + std::vector<std::string>{"--task", "anomaly", "--deploy-size", "640"});
  BOOST_CHECK_NE(bad.code, 0);
  BOOST_CHECK_NE(bad.err.find("--deploy-size"), std::string::npos);
}

// --calib-variation line (with --lighting in training) or lighting: the summary and the log say
// how the crops were seen and which held-out images they came from; an unknown variation is
// refused.
BOOST_AUTO_TEST_CASE(anomaly_calibration_under_line_variation) {
  const Run r = train(
      "v", textures() + std::vector<std::string>{
                            "--patch", "16", "--arch", "conv", "--depth", "1", "--stages", "1",
                            "--channels", "8", "--task", "anomaly", "--frame-fpr", "0.001",
                            "--lighting", "--calib-variation", "line", "--allow-overcomplete"});
  checkModel("v", r, 1, 16, 16, 256);
  BOOST_CHECK_NE(r.out.find("seen as a line varies"), std::string::npos);
  const auto info = cae::onnx::readModelInfo(at("v.onnx"));
  BOOST_REQUIRE(info.anomaly.frame.has_value());
  BOOST_CHECK_NE(info.metrics.find("\"calibration_variation\":\"line\""), std::string::npos);
  BOOST_CHECK_NE(info.metrics.find("\"calibration_images\":[\""), std::string::npos);
  // The operating point on validation crops with synthetic anomalies: an AUROC and a share.
  const auto metrics = nlohmann::json::parse(info.metrics);
  BOOST_REQUIRE(metrics.contains("validation_anomaly_auroc"));
  const double auroc = metrics["validation_anomaly_auroc"],
               det = metrics["validation_anomaly_detection"];
  BOOST_CHECK(auroc >= 0 && auroc <= 1);
  BOOST_CHECK(det >= 0 && det <= 1);
  BOOST_CHECK_NE(r.out.find("validation: held-out crops with a synthetic anomaly"),
                 std::string::npos);
  // A fixed camera: lighting and noise only.
  const Run fixed =
      train("l", textures() + std::vector<std::string>{"--patch", "16", "--arch", "conv", "--depth",
                                                       "1", "--stages", "1", "--channels", "8",
                                                       "--task", "anomaly", "--calib-variation",
                                                       "lighting", "--allow-overcomplete"});
  BOOST_CHECK_EQUAL(fixed.code, 0);
  BOOST_CHECK_NE(fixed.out.find("under varied lighting and noise"), std::string::npos);
  const Run bad = train("w", textures() + std::vector<std::string>{"--task", "anomaly",
                                                                   "--calib-variation", "often"});
  BOOST_CHECK_NE(bad.code, 0);
  BOOST_CHECK_NE(bad.err.find("--calib-variation"), std::string::npos);
  // Defocus blurs the varied crops: without a variation there are none, and it is refused.
  const Run blur = train(
      "d", textures() + std::vector<std::string>{"--task", "anomaly", "--calib-defocus", "1"});
  BOOST_CHECK_NE(blur.code, 0);
  BOOST_CHECK_NE(blur.err.find("--calib-defocus"), std::string::npos);
}

// --noise grid-mask: malformed --mask-scales, and a segmentation head with it, are refused by name.
BOOST_AUTO_TEST_CASE(grid_mask_options_are_checked) {
  const Run scales =
      train("gm", textures() + std::vector<std::string>{"--task", "anomaly", "--noise", "grid-mask",
                                                        "--mask-scales", "2,x"});
  BOOST_CHECK_NE(scales.code, 0);
  BOOST_CHECK_NE(scales.err.find("--mask-scales"), std::string::npos);
  const Run seg =
      train("gs", textures() + std::vector<std::string>{"--task", "anomaly", "--noise", "grid-mask",
                                                        "--seg-width", "4"});
  BOOST_CHECK_NE(seg.code, 0);
  BOOST_CHECK_NE(seg.err.find("grid-mask"), std::string::npos);
}

// The segmentation maps (probability or logit) are a segmentation head's output: without
// --seg-width either is refused with a clear error.
BOOST_AUTO_TEST_CASE(segmentation_maps_need_a_head) {
  const Run logit =
      train("gl", textures() + std::vector<std::string>{"--task", "anomaly", "--anomaly-map",
                                                        "segmentation-logit"});
  BOOST_CHECK_NE(logit.code, 0);
  BOOST_CHECK_NE(logit.err.find("--anomaly-map segmentation-logit needs a segmentation head"),
                 std::string::npos);
}

// --resume through the CLI: 2 epochs, then resumed to 4, gives the model a straight 4-epoch run
// gives (same outputs in OpenCV; the files differ only in their recipe's output path).
BOOST_AUTO_TEST_CASE(resume_continues_exactly) {
  const std::vector<std::string> a =
      fashion() + std::vector<std::string>{"--arch", "dense", "--layers", "784-32"};
  BOOST_REQUIRE_EQUAL(train("full", a + std::vector<std::string>{"--epochs", "4"}).code, 0);
  BOOST_REQUIRE_EQUAL(train("half", a + std::vector<std::string>{"--epochs", "2"}).code, 0);
  BOOST_REQUIRE_EQUAL(train("half", a + std::vector<std::string>{"--epochs", "4", "--resume"}).code,
                      0);
  const int dims[4] = {4, 1, 28, 28};
  cv::Mat blob(4, dims, CV_32F);
  cv::randu(blob, 0.f, 1.f);
  cv::Mat y[2];
  for (int k = 0; k < 2; ++k) {
    cv::dnn::Net net = cv::dnn::readNetFromONNX(at(k ? "half.onnx" : "full.onnx"));
    net.setInput(blob);
    y[k] = net.forward().clone();
  }
  BOOST_CHECK_EQUAL(cv::norm(y[0], y[1], cv::NORM_INF), 0.0);
  const std::string recipe = cae::onnx::readModelInfo(at("half.onnx")).recipe;
  BOOST_CHECK(recipe.find("--resume") == std::string::npos);
  int epochs = 0;
  for (const Json& j : log("half")) epochs += j["event"] == "epoch";
  BOOST_CHECK_EQUAL(epochs, 4);  // the log is appended to, not restarted
}

// --task compress: the encoder and the decoder beside it, the rate and quality in the summary,
// and a resumed run equal to a straight one (the noisy quantiser's generator is checkpointed).
BOOST_AUTO_TEST_CASE(compress_writes_an_encoder_and_a_decoder_and_resumes_exactly) {
  const std::vector<std::string> a =
      textures() + std::vector<std::string>{"--color",    "rgb", "--task",       "compress",
                                            "--channels", "8",   "--latent",     "4",
                                            "--stages",   "2",   "--activation", "gdn",
                                            "--patch",    "32",  "--lambda",     "0.02"};
  const Run r = train("full", a + std::vector<std::string>{"--epochs", "4"});
  checkModel("full", r, 3, 32, 32, 4 * 8 * 8);
  BOOST_CHECK_NE(r.out.find("bits per pixel"), std::string::npos);
  BOOST_CHECK_NE(r.out.find("the codec's decoder"), std::string::npos);
  BOOST_REQUIRE(fs::exists(at("full.decoder.onnx")));
  BOOST_CHECK(cae::onnx::readModelInfo(at("full.decoder.onnx")).task ==
              cae::onnx::Task::CodecDecoder);
  BOOST_REQUIRE_EQUAL(train("half", a + std::vector<std::string>{"--epochs", "2"}).code, 0);
  BOOST_REQUIRE_EQUAL(train("half", a + std::vector<std::string>{"--epochs", "4", "--resume"}).code,
                      0);
  const int dims[4] = {1, 3, 32, 32};
  cv::Mat blob(4, dims, CV_32F);
  cv::randu(blob, 0.f, 1.f);
  cv::Mat y[2];
  for (int k = 0; k < 2; ++k) {
    cv::dnn::Net net = cv::dnn::readNetFromONNX(at(k ? "half.onnx" : "full.onnx"));
    net.setInput(blob);
    y[k] = net.forward().clone();
  }
  BOOST_CHECK_EQUAL(cv::norm(y[0], y[1], cv::NORM_INF), 0.0);
}

BOOST_AUTO_TEST_CASE(compress_refuses_what_does_not_fit_a_codec) {
  const std::vector<std::string> base = textures();
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{"--patch", "32", "--task", "compress", "--arch", "conv"}, "go together"},
      {{"--patch", "32", "--arch", "codec"}, "go together"},
      {{"--patch", "32", "--activation", "gdn"}, "--activation gdn is for --arch codec"},
      {{"--patch", "32", "--task", "compress", "--noise", "gaussian"}, "takes no --noise"},
      {{"--patch", "36", "--task", "compress", "--stages", "3"}, "multiples of 8"},
  };
  for (const auto& [args, why] : cases) {
    const Run r = train("bad", base + args);
    BOOST_TEST_CONTEXT(args.back()) {
      BOOST_CHECK_NE(r.code, 0);
      BOOST_CHECK_NE(r.err.find(why), std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(features_exports_the_encoder) {
  const Run r =
      train("m", fashion() + std::vector<std::string>{"--arch", "dense", "--layers",
                                                      "784-128-32-128-784", "--task", "features"});
  checkModel("m", r, 1, 28, 28, 32);
  BOOST_CHECK(cae::onnx::readModelInfo(at("m.onnx")).task == cae::onnx::Task::Features);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(bad_input, Fixture)

BOOST_AUTO_TEST_CASE(help_documents_options) {
  const Run r = run({"--help"});
  BOOST_CHECK_EQUAL(r.code, 0);
  for (const char* o : {"--arch",
                        "--layers",
                        "--task",
                        "--noise",
                        "--sigma",
                        "--sparsity",
                        "--contractive",
                        "--kl-weight",
                        "--patience",
                        "--resume",
                        "--fpr",
                        "--noise-clip",
                        "--frame-fpr",
                        "--deploy-size",
                        "--seg-width",
                        "--anomaly-source",
                        "--calib-variation",
                        "--lighting",
                        "--defocus",
                        "--calib-defocus",
                        "--babble",
                        "--val-noise-data",
                        "--noise-floor",
                        "--envelope",
                        "--lookahead",
                        "--time-stride",
                        "--sequence",
                        "--decoder-layers",
                        "--init-deepen",
                        "--speech-sampling",
                        "sample"})
    BOOST_CHECK_MESSAGE(r.out.find(o) != std::string::npos, o << " missing from --help");
}

BOOST_AUTO_TEST_CASE(empty_and_missing_folders) {
  fs::create_directories(at("empty"));
  Run r = train("m", {at("empty")});
  BOOST_CHECK_EQUAL(r.code, 1);
  BOOST_CHECK(r.err.find(at("empty")) != std::string::npos);
  r = train("m", {at("nowhere")});
  BOOST_CHECK_EQUAL(r.code, 1);
  BOOST_CHECK(r.err.find("nowhere") != std::string::npos);
  r = run({});
  BOOST_CHECK_EQUAL(r.code, 2);
}

BOOST_AUTO_TEST_CASE(unreadable_image) {
  fs::create_directories(at("data"));
  std::ofstream(at("data/notes.png")) << "this is not a PNG\n";
  fs::copy_file(kSk + "brick.png", at("data/brick.png"));
  const Run r = train("m", {at("data")});
  BOOST_CHECK_EQUAL(r.code, 1);
  BOOST_CHECK(r.err.find("notes.png") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(mixed_sizes_with_whole_frames) {
  const Run r = train("m", {kSk + "brick.png", kSk + "coins.png", kSk + "camera.png",
                            kSk + "moon.png", "--patch", "0"});
  BOOST_CHECK_NE(r.code, 0);
  BOOST_CHECK(r.err.find("--patch") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(overcomplete_needs_the_flag) {
  std::vector<std::string> a = {kSk + "brick.png", kSk + "grass.png", "--patch",  "8",
                                "--arch",          "dense",           "--layers", "64-100-64"};
  Run r = train("m", a);
  BOOST_CHECK_EQUAL(r.code, 2);
  BOOST_CHECK(r.err.find("--allow-overcomplete") != std::string::npos);
  a.push_back("--allow-overcomplete");
  a.push_back("--noise");
  a.push_back("masking");
  a.push_back("--noise-p");
  a.push_back("0.2");
  r = train("m", a);
  BOOST_CHECK_EQUAL(r.code, 0);
}

// The undercomplete rule is one rule: a conv code not smaller than the input is refused as the
// dense one is (16 channels at 8x8 for a 16x16 patch), with the same advice.
BOOST_AUTO_TEST_CASE(overcomplete_conv_needs_the_flag_too) {
  const Run r =
      train("m", textures() + std::vector<std::string>{"--patch", "16", "--arch", "conv", "--depth",
                                                       "1", "--stages", "1", "--channels", "8",
                                                       "--task", "anomaly"});
  BOOST_CHECK_EQUAL(r.code, 2);
  BOOST_CHECK(r.err.find("conv: the code (16x8x8 = 1024 values) is not smaller than the input "
                         "(256): not an undercomplete autoencoder") != std::string::npos);
  BOOST_CHECK(r.err.find("--allow-overcomplete") != std::string::npos);
}

// A run refused before training starts leaves nothing behind: no log, no folder, and an older
// log at the same place stays as it was.
BOOST_AUTO_TEST_CASE(a_refused_run_leaves_no_files) {
  const std::vector<std::string> overcomplete = {"--patch",    "16", "--arch",   "conv",
                                                 "--depth",    "1",  "--stages", "1",
                                                 "--channels", "8",  "--task",   "anomaly"};
  Run r = run(textures() + overcomplete + std::vector<std::string>{"-o", at("new/m.onnx")});
  BOOST_CHECK_EQUAL(r.code, 2);
  BOOST_CHECK(!fs::exists(at("new")));
  r = run({at("nowhere"), "-o", at("new/m.onnx")});
  BOOST_CHECK_EQUAL(r.code, 1);
  BOOST_CHECK(!fs::exists(at("new")));
  r = train("m", fashion() +
                     std::vector<std::string>{"--arch", "dense", "--layers", "784-32", "--resume"});
  BOOST_CHECK_EQUAL(r.code, 1);  // no checkpoint to resume from
  BOOST_CHECK(!fs::exists(at("m.log.jsonl")));
  std::ofstream(at("old.log.jsonl")) << "{\"event\":\"start\"}\n";
  BOOST_CHECK_EQUAL(train("old", textures() + overcomplete).code, 2);
  BOOST_CHECK_EQUAL(slurp(at("old.log.jsonl")), "{\"event\":\"start\"}\n");
  for (const auto& f : fs::directory_iterator(dir))
    BOOST_CHECK_MESSAGE(f.path().filename() == "old.log.jsonl" ||
                            f.path().filename() == "stdout.txt" ||
                            f.path().filename() == "stderr.txt",
                        "left behind: " << f.path());
}

// A run that fails after training started (here: the model path is a folder) ends its log with
// the reason, every line whole JSON, and leaves no half-written model.
BOOST_AUTO_TEST_CASE(a_failure_after_the_start_ends_the_log_with_its_reason) {
  fs::create_directories(at("m.onnx"));
  const Run r =
      train("m", fashion() + std::vector<std::string>{"--arch", "dense", "--layers", "784-32"});
  BOOST_CHECK_EQUAL(r.code, 1);
  const std::vector<Json> lines = log("m");  // throws on a line that is not JSON
  BOOST_REQUIRE_GE(lines.size(), 2u);
  BOOST_CHECK_EQUAL(lines.front()["event"], "start");
  BOOST_CHECK_EQUAL(lines.back()["event"], "error");
  BOOST_CHECK(lines.back()["message"].get<std::string>().find(at("m.onnx")) != std::string::npos);
  for (const auto& f : fs::directory_iterator(dir))
    BOOST_CHECK_MESSAGE(f.path().filename().string().find(".tmp") == std::string::npos,
                        "left behind: " << f.path());
}

// Patches larger than an image: the message gives the size of the file named (width x height),
// and for a single image split into training and validation rows, the parts and the largest
// patch that fits both.
BOOST_AUTO_TEST_CASE(patch_larger_than_an_image_names_its_true_size) {
  Run r = train("m", {kSk + "camera.png", "--patch", "1024"});
  BOOST_CHECK_EQUAL(r.code, 2);
  BOOST_CHECK(r.err.find("camera.png' (512x512) is smaller than the 1024x1024 patch") !=
              std::string::npos);
  BOOST_CHECK(r.err.find("410") == std::string::npos);
  r = train("m", {kSk + "camera.png", "--patch", "128"});
  BOOST_CHECK_EQUAL(r.code, 2);
  BOOST_CHECK(r.err.find("camera.png' (512x512) is the only image: its top 410 rows train and "
                         "its bottom 102 rows validate, so a patch can be at most 102x102, not "
                         "128x128") != std::string::npos);
  r = train("m", {kSk + "camera.png", kSk + "coins.png", "--patch", "320"});
  BOOST_CHECK_EQUAL(r.code, 2);
  BOOST_CHECK(r.err.find("coins.png' (384x303) is smaller than the 320x320 patch") !=
              std::string::npos);
  BOOST_CHECK(!fs::exists(at("m.log.jsonl")));
}

BOOST_AUTO_TEST_CASE(out_of_range_options) {
  const std::string img = kSk + "brick.png";
  for (const auto& bad :
       std::vector<std::vector<std::string>>{{"--batch", "0"},
                                             {"--val-fraction", "2"},
                                             {"--arch", "transformer"},
                                             {"--noise-p", "1.5"},
                                             {"--lr", "-1"},
                                             {"--loss", "huber"},
                                             {"--sigma", "300"},
                                             {"--fpr", "0.9"},
                                             {"--no-such-option"},
                                             {"--arch", "dense"},
                                             {"--layers", "784-x-784", "--arch", "dense"}}) {
    std::vector<std::string> args{img};
    args.insert(args.end(), bad.begin(), bad.end());
    const Run r = run(args);
    BOOST_CHECK_MESSAGE(r.code == 2, bad.front() << " gave exit " << r.code);
    BOOST_CHECK(!r.err.empty());
  }
}

// The speech denoiser's mixing options: a bad --babble range, noise for another task, validation
// noise without training noise or the same file in both is a usage error that names the option.
BOOST_AUTO_TEST_CASE(audio_mixing_options_are_checked) {
  const std::string speech = "/usr/share/pocketsphinx/test/data/librivox";
  for (const auto& [bad, named] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--task", "audio-denoise", "--babble", "0:4"}, "--babble"},
           {{"--task", "audio-denoise", "--babble", "6:3"}, "--babble"},
           {{"--task", "audio-denoise", "--babble", "2.5:4"}, "--babble"},
           {{"--task", "audio-denoise", "--babble", "3"}, "--babble"},
           {{"--task", "audio-denoise", "--snr", "10:0"}, "--snr"},
           {{"--task", "audio-denoise", "--recorded-share", "1.5"}, "--recorded-share"},
           {{"--task", "audio-denoise", "--recorded-share", "-0.1"}, "--recorded-share"},
           {{"--ema", "1"}, "--ema"},
           {{"--task", "audio-denoise", "--mask-loss", "snr"}, "--noise-floor"},
           {{"--task", "audio-denoise", "--envelope", "0.95"}, "--noise-floor"},
           {{"--task", "denoise", "--envelope", "0.95"}, "--envelope"},
           {{"--task", "audio-denoise", "--noise-floor", "--envelope", "1.5"}, "--envelope"},
           {{"--task", "denoise", "--lookahead", "1"}, "--lookahead"},
           {{"--task", "audio-denoise", "--context", "4", "--lookahead", "4"}, "--lookahead"},
           {{"--task", "denoise", "--time-stride", "2"}, "--time-stride"},
           {{"--task", "audio-denoise", "--time-stride", "3"}, "--time-stride"},
           {{"--task", "denoise", "--sequence", "8"}, "--sequence"},
           {{"--task", "audio-denoise", "--sequence", "0"}, "--sequence"},
           {{"--task", "denoise", "--decoder-layers", "2"}, "--decoder-layers"},
           {{"--task", "audio-denoise", "--decoder-layers", "0"}, "--decoder-layers"},
           {{"--task", "audio-denoise", "--init-deepen"}, "--init-deepen"},
           {{"--task", "audio-denoise", "--init-average", "/usr/share/sounds/alsa/Noise.wav"},
            "give --init"},
           {{"--task", "audio-denoise", "--init", "/usr/share/sounds/alsa/Noise.wav",
             "--init-average", "/usr/share/sounds/alsa/Noise.wav", "--resume"},
            "not both"},
           {{"--task", "audio-denoise", "--mask-loss", "time", "--sequence", "3"},
            "--sequence 4 or more"},
           {{"--task", "audio-denoise", "--mask-loss", "time", "--stft", "512:64", "--sequence",
             "4"},
            "--sequence 8 or more"},
           // 8 frames: the second stride-2 conv would read 3 of the first's 4 outputs
           {{"--task", "audio-denoise", "--time-stride", "2", "--context", "8"}, "5, 7, 11"},
           {{"--task", "denoise", "--val-noise-data", "/usr/share/sounds/alsa/Noise.wav"},
            "--val-noise-data"},
           {{"--task", "audio-anomaly", "--noise-data", "/usr/share/sounds/alsa/Noise.wav"},
            "--noise-data"},
           {{"--task", "audio-denoise", "--val-noise-data", "/usr/share/sounds/alsa/Noise.wav"},
            "--val-noise-data"},
           {{"--task", "denoise", "--val-speech-data", "/usr/share/sounds/alsa/Front_Left.wav"},
            "--val-speech-data"},
           {{"--task", "audio-denoise", "--val-speech-data", speech}, "--val-speech-data"},
           {{"--task", "audio-denoise", "--noise-data", "/usr/share/sounds/alsa/Noise.wav",
             "--val-noise-data", "/usr/share/sounds/alsa/Noise.wav"},
            "--val-noise-data"}}) {
    // a short run into the test's folder, should a check ever let one through
    std::vector<std::string> args{speech, "--epochs", "1", "--steps", "2", "-o", at("a.onnx")};
    args.insert(args.end(), bad.begin(), bad.end());
    const Run r = run(args);
    BOOST_CHECK_MESSAGE(r.code == 2, bad.back() << " gave exit " << r.code);
    BOOST_CHECK_MESSAGE(r.err.find(named) != std::string::npos, r.err);
  }
}

// --list-validation prints the held-out files (speech, then the named validation noise), writes
// nothing and trains nothing; for an image task it is a usage error.
BOOST_AUTO_TEST_CASE(list_validation_names_the_held_out_files_and_stops) {
  const std::string speech = "/usr/share/pocketsphinx/test/data/librivox",
                    noise = "/usr/share/sounds/alsa/Noise.wav",
                    val = "/usr/share/sounds/alsa/Side_Right.wav";
  Run r = run({speech, "--task", "audio-denoise", "--noise-data", noise, "--val-noise-data", val,
               "--val-fraction", "0.5", "--list-validation", "-o", at("a.onnx")});
  BOOST_REQUIRE_EQUAL(r.code, 0);
  std::istringstream lines(r.out);
  int speechLines = 0, noiseLines = 0;
  for (std::string kind, path; lines >> kind >> path;) {
    BOOST_TEST_MESSAGE(kind << " " << path);
    if (kind == "speech") {
      ++speechLines;
      BOOST_TEST(path.rfind(speech, 0) == 0u);
      BOOST_TEST(fs::exists(path));
    } else {
      BOOST_TEST(kind == "noise");
      BOOST_TEST(path == val);
      ++noiseLines;
    }
  }
  BOOST_TEST(speechLines >= 1);
  BOOST_TEST(noiseLines == 1);
  BOOST_TEST(fs::is_empty(dir / "stdout.txt") == false);
  BOOST_TEST(!fs::exists(at("a.onnx")));
  BOOST_TEST(!fs::exists(at("a.log.jsonl")));
  r = run({kSk + "brick.png", "--task", "denoise", "--list-validation", "-o", at("b.onnx")});
  BOOST_TEST(r.code == 2);
  BOOST_TEST(r.err.find("--list-validation") != std::string::npos, r.err);
}

// --align translation aligns the older frames of clips: refused without --frames, with a
// message that says so; an unknown alignment is a usage error.
BOOST_AUTO_TEST_CASE(align_needs_a_temporal_model) {
  const std::vector<std::string> base{
      kSk + "brick.png", kSk + "grass.png", "--arch",   "conv",    "--task",
      "denoise",         "--noise",         "gaussian", "--patch", "32"};
  std::vector<std::string> a = base;
  a.insert(a.end(), {"--align", "translation"});
  Run r = train("m", a);
  BOOST_CHECK_EQUAL(r.code, 2);
  BOOST_CHECK_MESSAGE(r.err.find("--align translation") != std::string::npos &&
                          r.err.find("--frames") != std::string::npos,
                      r.err);
  BOOST_CHECK(!fs::exists(at("m.log.jsonl")));
  a = base;
  a.insert(a.end(), {"--frames", "3", "--align", "rotation"});
  r = train("m", a);
  BOOST_CHECK_EQUAL(r.code, 2);
  a = base;
  a.insert(a.end(), {"--frames", "3", "--clip-context", "16"});
  r = train("m", a);
  BOOST_CHECK_EQUAL(r.code, 2);
  BOOST_CHECK_MESSAGE(r.err.find("--clip-context") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(noise_clip_is_for_gaussian_noise) {
  const std::vector<std::string> base{kSk + "brick.png", "--arch",  "conv", "--task",
                                      "denoise",         "--patch", "32",   "--noise-clip",
                                      "--noise"};
  std::vector<std::string> a = base;
  a.emplace_back("rician");
  const Run r = train("m", a);
  BOOST_CHECK_EQUAL(r.code, 2);
  BOOST_CHECK_MESSAGE(r.err.find("--noise-clip is for --noise gaussian") != std::string::npos,
                      r.err);
  BOOST_CHECK(!fs::exists(at("m.log.jsonl")));
  a = base;
  a.insert(a.end(), {"gaussian", "--residual", "--depth", "1", "--stages", "1", "--channels", "8",
                     "--allow-overcomplete", "--epochs", "1", "--steps", "3"});
  const Run ok = train("c", a);
  BOOST_CHECK_EQUAL(ok.code, 0);
  BOOST_CHECK(cae::onnx::readModelInfo(at("c.onnx")).recipe.find("--noise-clip") !=
              std::string::npos);
}

BOOST_AUTO_TEST_CASE(nan_loss_stops_and_keeps_the_checkpoint) {
  const Run r = train("m", fashion() + std::vector<std::string>{"--arch", "dense", "--layers",
                                                                "784-32", "--lr", "1e30"});
  BOOST_CHECK_EQUAL(r.code, 1);
  BOOST_CHECK(r.err.find("diverged") != std::string::npos);
  BOOST_CHECK(r.err.find("--lr") != std::string::npos);
  BOOST_CHECK(fs::exists(at("m.ckpt")));
  BOOST_CHECK(!fs::exists(at("m.onnx")));
}

// SIGINT: the run writes a checkpoint, says how to continue and exits with 130.
BOOST_AUTO_TEST_CASE(sigint_writes_a_checkpoint) {
  const std::string out = at("m.onnx");
  const pid_t pid = ::fork();
  BOOST_REQUIRE_GE(pid, 0);
  if (pid == 0) {
    const std::string e = exe(), err = at("stderr.txt");
    std::freopen(err.c_str(), "w", stderr);
    ::execl(e.c_str(), e.c_str(), kFashion.c_str(), "--sample", "200", "--patch", "0", "--arch",
            "dense", "--layers", "784-32", "--epochs", "100000", "--threads", "1", "-o",
            out.c_str(), static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  // Wait for training to start (the first checkpoint), then interrupt.
  const auto t0 = std::chrono::steady_clock::now();
  while (!fs::exists(at("m.ckpt")) &&
         std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ::kill(pid, SIGINT);
  int st = 0;
  ::waitpid(pid, &st, 0);
  BOOST_CHECK(WIFEXITED(st));
  BOOST_CHECK_EQUAL(WEXITSTATUS(st), 130);
  BOOST_CHECK(fs::exists(at("m.ckpt")));
  BOOST_CHECK(slurp(at("stderr.txt")).find("--resume") != std::string::npos);
  bool cancelled = false;
  for (const Json& j : log("m")) cancelled = cancelled || j["event"] == "cancelled";
  BOOST_CHECK(cancelled);
}

BOOST_AUTO_TEST_SUITE_END()
