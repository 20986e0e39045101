#define BOOST_TEST_MODULE infer_engine
#include <boost/test/unit_test.hpp>

// core/infer: the inference engine (OpenCV DNN and oneDNN backends). Fixtures are made here, in a
// scratch directory removed at exit: small stem-2, 2-stage conv autoencoders (skips, residual) from
// cae::train with every parameter randomised (so the model is far from the identity), exported
// with and without cae.* metadata, a fixed-size dense model, and broken files. Frames are crops
// of real images from python3-skimage.

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <opencv2/core/ocl.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "error.hpp"
#include "infer/engine.hpp"
#include "infer/onednn.hpp"
#include "infer/planes.hpp"
#include "nn/rng.hpp"
#include "onnx/export.hpp"
#include "onnx/graph_info.hpp"
#include "onnx/metadata.hpp"
#include "onnx/onnx_util.hpp"
#include "train/architecture.hpp"

using namespace cae;
using infer::Backend;
using infer::Engine;
using infer::EngineOptions;
using infer::Target;

namespace {

const std::string kImages = "/usr/lib/python3/dist-packages/skimage/data/";

// ---------------------------------------------------------------------------------------------
// Fixtures

using test::scratch;  // one scratch folder per process (tests/onnx/onnx_util.hpp)

// The stem-2, 2-stage U-Net denoiser shape with every parameter uniform in [-0.2, 0.2]. The
// residual output conv initialises to zero (the identity); randomising it too makes every
// comparison below meaningful.
nn::Model convModel(int channels, std::uint64_t seed) {
  train::ArchSpec s;
  s.kind = train::ArchKind::Conv;
  s.channels = channels;
  s.height = s.width = 32;
  s.stem = 2;
  s.stages = 2;
  s.depth = 1;
  s.width0 = 8;
  s.skips = true;
  s.residual = true;
  s.seed = seed;
  nn::Model m = train::buildAutoencoder(s).model;
  nn::Rng rng(seed + 100);
  for (Eigen::Index i = 0; i < m.params().size(); ++i) m.params()[i] = rng.uniform(-0.2f, 0.2f);
  return m;
}

std::string writeBytes(const std::string& name, const std::string& bytes) {
  std::string path = scratch().file(name);
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  return path;
}

std::string readBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// Every model file the suite uses, made once.
struct Models {
  std::string gray, rgb, anomaly, noMeta, noTask, gray16, dense;
  Models() {
    const nn::Model g = convModel(1, 1), c = convModel(3, 2);
    onnx::ExportOptions o;
    o.task = onnx::Task::Denoise;
    o.format = "GRAY8";
    gray = scratch().file("gray.onnx");
    onnx::exportOnnx(g, gray, o);
    o.format = "RGB";
    rgb = scratch().file("rgb.onnx");
    onnx::exportOnnx(c, rgb, o);
    o.format = "GRAY16_LE";
    o.inputScale = 1.0 / 65535.0;
    gray16 = scratch().file("gray16.onnx");
    onnx::exportOnnx(g, gray16, o);

    onnx::ExportOptions a;
    a.task = onnx::Task::Anomaly;
    a.format = "GRAY8";
    anomaly = scratch().file("anomaly.onnx");
    onnx::exportOnnx(g, anomaly, a);

    // No task, no format, no computed receptive field: exportOnnx writes no metadata_props at
    // all (checked in the test), like a plain PyTorch export.
    onnx::ExportOptions none;
    none.computeReceptiveField = false;
    noMeta = scratch().file("nometa.onnx");
    onnx::exportOnnx(g, noMeta, none);

    onnx::ExportOptions fmtOnly;
    fmtOnly.format = "GRAY8";
    noTask = scratch().file("notask.onnx");
    onnx::exportOnnx(g, noTask, fmtOnly);

    train::ArchSpec d;
    d.kind = train::ArchKind::Dense;
    d.channels = 1;
    d.height = d.width = 8;
    d.dense = {64, 16};
    onnx::ExportOptions od;
    od.task = onnx::Task::Denoise;
    od.format = "GRAY8";
    dense = scratch().file("dense.onnx");
    onnx::exportOnnx(train::buildAutoencoder(d).model, dense, od);
  }
};

const Models& models() {
  static Models m;
  return m;
}

EngineOptions opts(const std::string& model, int tileSize = 0) {
  EngineOptions o;
  o.model = model;
  o.tileSize = tileSize;
  o.task = onnx::Task::Denoise;
  return o;
}

// A h×w crop of a skimage image at (y, x), 8-bit, gray (1 channel) or RGB (3 channels).
cv::Mat image8(const std::string& name, int channels, int y, int x, int h, int w) {
  cv::Mat im = cv::imread(kImages + name, channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
  BOOST_TEST_REQUIRE(!im.empty(), "cannot read " << kImages << name << " (python3-skimage)");
  if (channels == 3) cv::cvtColor(im, im, cv::COLOR_BGR2RGB);
  BOOST_TEST_REQUIRE((y + h <= im.rows && x + w <= im.cols));
  return im(cv::Rect(x, y, w, h)).clone();
}

cv::Mat blob4(int n, int c, int h, int w) {
  const int sz[4] = {n, c, h, w};
  return cv::Mat(4, sz, CV_32F, cv::Scalar(0));
}

cv::Mat plane(const cv::Mat& blob, int n, int c) {
  return cv::Mat(blob.size[2], blob.size[3], CV_32F, const_cast<float*>(blob.ptr<float>(n, c)));
}

// Sample n of a blob: an 8-bit image (any channels) scaled to [0, 1], channels as planes.
void fill(cv::Mat& blob, int n, const cv::Mat& im8) {
  std::vector<cv::Mat> ch;
  cv::split(im8, ch);
  for (int c = 0; c < int(ch.size()); ++c) ch[c].convertTo(plane(blob, n, c), CV_32F, 1.0 / 255);
}

cv::Mat blobOf(const cv::Mat& im8) {
  cv::Mat b = blob4(1, im8.channels(), im8.rows, im8.cols);
  fill(b, 0, im8);
  return b;
}

bool sameShape(const cv::Mat& a, const cv::Mat& b) {
  if (a.dims != b.dims || a.type() != b.type()) return false;
  for (int i = 0; i < a.dims; ++i)
    if (a.size[i] != b.size[i]) return false;
  return true;
}

// Largest |a - b| over two blobs of one shape; infinite for NaN or a shape mismatch.
double maxDiff(const cv::Mat& a, const cv::Mat& b) {
  if (!sameShape(a, b)) return INFINITY;
  const float* pa = a.ptr<float>();
  const float* pb = b.ptr<float>();
  double m = 0;
  for (std::size_t i = 0; i < a.total(); ++i) {
    const double e = std::abs(double(pa[i]) - double(pb[i]));
    if (!std::isfinite(e)) return INFINITY;
    m = std::max(m, e);
  }
  return m;
}

bool allFinite(const cv::Mat& a) {
  const float* p = a.ptr<float>();
  for (std::size_t i = 0; i < a.total(); ++i)
    if (!std::isfinite(p[i])) return false;
  return true;
}

template <class E>
void checkThrows(const std::function<void()>& f, const std::vector<std::string>& words) {
  try {
    f();
    BOOST_ERROR("no exception thrown");
  } catch (const E& e) {
    const std::string m = e.what();
    BOOST_TEST_MESSAGE("  expected error: " << m);
    for (const std::string& w : words)
      BOOST_TEST(m.find(w) != std::string::npos, "'" << m << "' mentions '" << w << "'");
  } catch (const std::exception& e) {
    BOOST_ERROR("wrong exception type: " << e.what());
  }
}

// OpenCV settles its OpenCL device the first time anything in the process touches OpenCL (even
// cv::dnn::getAvailableTargets), and infer::available() must get there first to let it pick a
// CPU device (pocl); an application checks its target at start-up the same way.
// A broken OpenCL driver can abort the process while OpenCV probes it (pocl does when /sys is
// not mounted, e.g. in a bare chroot): probe in a child first, and if the child dies, turn
// OpenCL off for this process (OPENCV_OPENCL_RUNTIME=disabled), so the suite checks the
// "no OpenCL" answer instead.
struct CheckOpenClFirst {
  CheckOpenClFirst() {
    const pid_t child = ::fork();
    if (child == 0) {
      std::string w;
      infer::available(Backend::OpenCV, Target::OpenCL, &w);
      ::_exit(0);
    }
    int status = 0;
    if (child > 0 && ::waitpid(child, &status, 0) == child &&
        !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
      driverCrashed = true;
      ::setenv("OPENCV_OPENCL_RUNTIME", "disabled", 1);
    }
    std::string why;
    openClAtStart = infer::available(Backend::OpenCV, Target::OpenCL, &why);
    whyNot = why;
  }
  static inline bool openClAtStart = false;
  static inline bool driverCrashed = false;
  static inline std::string whyNot;
};

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(CheckOpenClFirst);

// ---------------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(tiling)

BOOST_AUTO_TEST_CASE(tiles_have_no_seams) {
  const cv::Mat x = blobOf(image8("camera.png", 1, 180, 200, 150, 130));
  Engine whole(opts(models().gray));
  const cv::Mat ref = whole.run(x);
  BOOST_TEST_REQUIRE(sameShape(ref, x));
  BOOST_TEST_REQUIRE(allFinite(ref));
  // The model must not be the identity, or seams could not show.
  const double change = maxDiff(ref, x);
  BOOST_TEST_MESSAGE("model changes the frame by up to " << change);
  BOOST_TEST(change > 0.05);
  for (int tile : {32, 48}) {
    Engine tiled(opts(models().gray, tile));
    const infer::TilePlan p = tiled.plan(150, 130);
    BOOST_TEST(p.tilesY * p.tilesX > 1);
    const double d = maxDiff(tiled.run(x), ref);
    BOOST_TEST_MESSAGE("gray 150x130, tile " << tile << " (" << p.tilesY << "x" << p.tilesX
                                             << " tiles, margin " << p.margin
                                             << "): max |tiled - whole| = " << d);
    BOOST_TEST(d <= 1e-3);
  }
}

// Engine::run(blob, out) keeps out's memory and the engine's own buffers across frames of one
// size (an element's stream allocates nothing per frame), on both backends, for a frame the model
// takes whole, one it pads to its size multiple, and one cut into tiles; the values are those of a
// fresh run(). An `out` that is the input itself is not written over while it is read.
BOOST_AUTO_TEST_CASE(run_into_a_buffer_reuses_it_across_frames) {
  for (infer::Backend b : {infer::Backend::OpenCV, infer::Backend::OneDNN}) {
    if (b == infer::Backend::OneDNN && !infer::available(b, infer::Target::Cpu)) continue;
    for (auto [h, w, tile] :
         std::vector<std::tuple<int, int, int>>{{144, 128, 0}, {150, 130, 0}, {150, 130, 32}}) {
      BOOST_TEST_CONTEXT(infer::backendName(b) << " " << h << "x" << w << " tile " << tile) {
        EngineOptions o = opts(models().gray, tile);
        o.backend = b;
        Engine e(o);
        const cv::Mat x1 = blobOf(image8("camera.png", 1, 180, 200, h, w));
        const cv::Mat x2 = blobOf(image8("coins.png", 1, 100, 150, h, w));
        cv::Mat out;
        e.run(x1, out);
        const uchar* first = out.data;
        BOOST_TEST(maxDiff(out, e.run(x1)) == 0);
        e.run(x2, out);
        BOOST_TEST((out.data == first), "the output buffer was reallocated");
        BOOST_TEST(maxDiff(out, e.run(x2)) == 0);
        BOOST_TEST(maxDiff(out, x2) > 0.05);  // the second frame's result, not the first's
        cv::Mat inPlace = x1.clone();
        e.run(inPlace, inPlace);
        BOOST_TEST(maxDiff(inPlace, e.run(x1)) == 0);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(batches_of_two_are_tiled_per_sample) {
  cv::Mat x = blob4(2, 1, 150, 130);
  fill(x, 0, image8("camera.png", 1, 180, 200, 150, 130));
  fill(x, 1, image8("coins.png", 1, 100, 150, 150, 130));
  Engine whole(opts(models().gray)), tiled(opts(models().gray, 32));
  const cv::Mat ref = whole.run(x);
  const double d = maxDiff(tiled.run(x), ref);
  BOOST_TEST_MESSAGE("batch of 2, tile 32: max |tiled - whole| = " << d);
  BOOST_TEST(d <= 1e-3);
  // Sample 1 of the batch equals sample 1 run alone.
  const cv::Mat alone = whole.run(blobOf(image8("coins.png", 1, 100, 150, 150, 130)));
  const int sz[4] = {1, 1, 150, 130};
  const cv::Mat second(4, sz, CV_32F, const_cast<float*>(ref.ptr<float>(1, 0)));
  BOOST_TEST(maxDiff(second, alone) <= 1e-5);
}

BOOST_AUTO_TEST_CASE(rgb_tiles_have_no_seams) {
  const cv::Mat x = blobOf(image8("astronaut.png", 3, 40, 160, 150, 130));
  Engine whole(opts(models().rgb)), tiled(opts(models().rgb, 32));
  BOOST_TEST_REQUIRE(whole.channels() == 3);
  const cv::Mat ref = whole.run(x);
  BOOST_TEST(maxDiff(ref, x) > 0.05);
  const double d = maxDiff(tiled.run(x), ref);
  BOOST_TEST_MESSAGE("RGB 150x130, tile 32: max |tiled - whole| = " << d);
  BOOST_TEST(d <= 1e-3);
}

BOOST_AUTO_TEST_CASE(odd_sizes_keep_their_shape) {
  const cv::Mat src = image8("camera.png", 1, 50, 60, 40, 40);
  Engine whole(opts(models().gray)), tiled(opts(models().gray, 16));
  for (auto [h, w] :
       std::vector<std::pair<int, int>>{{1, 1}, {1, 7}, {7, 1}, {2, 3}, {33, 17}, {17, 33}}) {
    BOOST_TEST_CONTEXT(h << "x" << w) {
      const cv::Mat x = blobOf(src(cv::Rect(0, 0, w, h)));
      const cv::Mat y = whole.run(x);
      BOOST_TEST(sameShape(y, x));
      BOOST_TEST(allFinite(y));
      // Tiled (tile 16) agrees with the whole frame at odd sizes too.
      BOOST_TEST(maxDiff(tiled.run(x), y) <= 1e-3);
    }
  }
}

BOOST_AUTO_TEST_CASE(tiny_tiles_are_raised_to_the_smallest_useful_tile) {
  // tile-size 1 once cut a 512x512 frame into 16,384 tiles of 4x4 output pixels, each computing
  // its whole overlap margin (14 s a frame).
  Engine tiny(opts(models().gray, 1)), whole(opts(models().gray));
  const int min = tiny.minTileSize(), mult = tiny.graph().sizeMultiple;
  const infer::TilePlan p = tiny.plan(512, 512);
  BOOST_TEST_MESSAGE("smallest useful tile " << min << " (margin " << p.margin << ", multiple "
                                             << mult << "): " << p.tilesY << "x" << p.tilesX
                                             << " tiles for 512x512");
  BOOST_TEST(min >= p.margin);
  BOOST_TEST(min >= infer::kMinTile);
  BOOST_TEST(min % mult == 0);
  BOOST_TEST(p.core == min);
  BOOST_TEST(p.tilesY * p.tilesX <= (512 / min + 1) * (512 / min + 1));
  BOOST_REQUIRE_EQUAL(tiny.warnings().size(), 1u);
  BOOST_TEST(tiny.warnings()[0].find("smallest useful tile") != std::string::npos,
             tiny.warnings()[0]);
  BOOST_TEST(tiny.warnings()[0].find("using " + std::to_string(min)) != std::string::npos);
  // The same cut as asking for that tile, and (tiles have no seams) the same frame as whole.
  Engine asked(opts(models().gray, min));
  BOOST_TEST(asked.warnings().empty());
  const infer::TilePlan q = asked.plan(512, 512);
  BOOST_TEST((p.core == q.core && p.tilesY == q.tilesY && p.tilesX == q.tilesX));
  const cv::Mat x = blobOf(image8("camera.png", 1, 0, 0, 96, 80));
  BOOST_TEST(maxDiff(tiny.run(x), whole.run(x)) <= 1e-3);
  // Sizes at or above it are kept.
  Engine big(opts(models().gray, min + mult));
  BOOST_TEST(big.plan(512, 512).core == min + mult);
  BOOST_TEST(big.warnings().empty());
}

BOOST_AUTO_TEST_CASE(rejects_blobs_of_the_wrong_shape) {
  Engine e(opts(models().gray));
  checkThrows<InvalidArgument>([&] { e.run(blob4(1, 3, 16, 16)); }, {"1 x H x W"});
  checkThrows<InvalidArgument>([&] { e.run(cv::Mat(16, 16, CV_32F, cv::Scalar(0))); }, {});
  const int sz[4] = {1, 1, 16, 16};
  checkThrows<InvalidArgument>([&] { e.run(cv::Mat(4, sz, CV_8U, cv::Scalar(0))); }, {});
}

BOOST_AUTO_TEST_CASE(matches_a_direct_opencv_forward) {
  // 64×48 is a multiple of 8: no padding, one tile, so the engine must give the net's output.
  const cv::Mat x = blobOf(image8("camera.png", 1, 300, 250, 64, 48));
  cv::dnn::Net net = cv::dnn::readNetFromONNX(models().gray);
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  net.setInput(x);
  const cv::Mat want = net.forward().clone();
  EngineOptions o = opts(models().gray);
  o.backend = Backend::OpenCV;  // the default, auto, runs it on oneDNN where built
  Engine e(o);
  BOOST_TEST((e.backendInUse() == Backend::OpenCV));
  const double d = maxDiff(e.run(x), want);
  BOOST_TEST_MESSAGE("engine vs cv::dnn::Net::forward, 64x48: max diff " << d);
  BOOST_TEST(d <= 1e-5);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(model_info)

BOOST_AUTO_TEST_CASE(graph_info_of_conv_and_dense_models) {
  const onnx::GraphInfo g = onnx::readGraphInfo(models().gray);
  BOOST_TEST(g.sizeMultiple == 8);  // stem 2 × two stride-2 stages
  BOOST_TEST(g.inputChannels == 1);
  BOOST_TEST(g.outputChannels == 1);
  BOOST_TEST(g.inputHeight == 0);
  BOOST_TEST(g.inputWidth == 0);
  const onnx::GraphInfo c = onnx::readGraphInfo(models().rgb);
  BOOST_TEST(c.inputChannels == 3);
  BOOST_TEST(c.sizeMultiple == 8);
  const onnx::GraphInfo d = onnx::readGraphInfo(models().dense);
  BOOST_TEST(d.inputHeight == 8);
  BOOST_TEST(d.inputWidth == 8);

  Engine e(opts(models().gray));
  BOOST_TEST(e.channels() == 1);
  BOOST_TEST(e.warnings().empty());
  BOOST_TEST(e.info().receptiveField > 0);
  BOOST_TEST(e.plan(100, 100).margin % 8 == 0);
  checkThrows<InvalidArgument>([] { Engine x(opts(models().dense)); }, {"fixed input size"});
}

BOOST_AUTO_TEST_CASE(normalisation_follows_the_model_format) {
  Engine e(opts(models().gray));
  BOOST_TEST(e.normalisation(8).scale == 1.0 / 255, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(e.normalisation(8).offset == 0.0);
  // A 16-bit frame fed to an 8-bit model is mapped onto the same [0, 1] range.
  BOOST_TEST(e.normalisation(16).scale == 1.0 / 65535, boost::test_tools::tolerance(1e-12));
  for (int bad : {0, 1, 10, 12, 32})
    checkThrows<InvalidArgument>([&] { e.normalisation(bad); }, {std::to_string(bad)});
  // And the other way round: a GRAY16_LE model scaled by 1/65535.
  Engine e16(opts(models().gray16));
  BOOST_TEST(e16.normalisation(16).scale == 1.0 / 65535, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(e16.normalisation(8).scale == 1.0 / 255, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(infer::fullScale("GRAY16_BE") == 65535.0);
  BOOST_TEST(infer::fullScale("RGB") == 255.0);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(backends)

BOOST_AUTO_TEST_CASE(names_round_trip) {
  for (Backend b : {Backend::OpenCV, Backend::Cuda, Backend::OneDNN, Backend::Auto})
    BOOST_TEST((infer::parseBackend(infer::backendName(b)) == b));
  for (Target t : {Target::Cpu, Target::OpenCL, Target::OpenCLFp16, Target::Cuda, Target::CudaFp16})
    BOOST_TEST((infer::parseTarget(infer::targetName(t)) == t));
  checkThrows<InvalidArgument>([] { infer::parseBackend("vulkan"); }, {"vulkan"});
  checkThrows<InvalidArgument>([] { infer::parseTarget("npu"); }, {"npu"});
}

BOOST_AUTO_TEST_CASE(cpu_runs_and_cuda_is_refused_clearly) {
  std::string why;
  BOOST_TEST(infer::available(Backend::OpenCV, Target::Cpu, &why));

  EngineOptions o = opts(models().gray);
  o.backend = Backend::Cuda;
  o.target = Target::Cuda;
  if (infer::available(Backend::Cuda, Target::Cuda, &why)) {
    BOOST_TEST_MESSAGE("this OpenCV has CUDA; the refusal is not tested here");
  } else {
    BOOST_TEST_MESSAGE("cuda/cuda: " << why);
    BOOST_TEST(why.find("CUDA") != std::string::npos);
    checkThrows<InvalidArgument>([&] { Engine e(o); }, {"CUDA"});
  }

  // Pairs that never work, whatever the build.
  why.clear();
  BOOST_TEST(!infer::available(Backend::OpenCV, Target::Cuda, &why));
  BOOST_TEST(why.find("backend=cuda") != std::string::npos, why);
  o.backend = Backend::OpenCV;
  checkThrows<InvalidArgument>([&] { Engine e(o); }, {"cuda"});
  why.clear();
  BOOST_TEST(!infer::available(Backend::Cuda, Target::Cpu, &why));
  BOOST_TEST(why.find("cpu") != std::string::npos, why);
  o.backend = Backend::Cuda;
  o.target = Target::Cpu;
  checkThrows<InvalidArgument>([&] { Engine e(o); }, {"cuda", "cpu"});
}

// auto (the default) runs a conv model on oneDNN where it is built, and says nothing; onednn
// takes the cpu target only; auto with another target is OpenCV's.
BOOST_AUTO_TEST_CASE(auto_picks_onednn_for_the_cpu) {
  std::string why;
  const bool built = infer::available(Backend::OneDNN, Target::Cpu, &why);
  BOOST_TEST(built == infer::onednn::built(), why);
  Engine a(opts(models().gray));
  BOOST_TEST((a.options().backend == Backend::Auto));
  if (built) {
    BOOST_TEST((a.backendInUse() == Backend::OneDNN));
    BOOST_TEST(a.fallbackReason().empty());
    BOOST_TEST(a.warnings().empty());
  } else {
    BOOST_TEST_MESSAGE("no oneDNN in this build: " << why);
    BOOST_TEST((a.backendInUse() == Backend::OpenCV));
    BOOST_TEST(a.fallbackReason().find("oneDNN") != std::string::npos, a.fallbackReason());
  }
  EngineOptions o = opts(models().gray);
  o.backend = Backend::OpenCV;
  Engine c(o);
  BOOST_TEST((c.backendInUse() == Backend::OpenCV));
  BOOST_TEST(c.fallbackReason().empty());
  const cv::Mat x = blobOf(image8("camera.png", 1, 120, 140, 70, 50));
  BOOST_TEST(maxDiff(a.run(x), c.run(x)) <= 1e-5);

  BOOST_TEST(!infer::available(Backend::OneDNN, Target::OpenCL, &why));
  BOOST_TEST(why.find("cpu") != std::string::npos, why);
  o.backend = Backend::OneDNN;
  o.target = Target::OpenCL;
  checkThrows<InvalidArgument>([&] { Engine e(o); }, {"onednn", "cpu", "opencl"});
  if (CheckOpenClFirst::openClAtStart) {
    o.backend = Backend::Auto;
    Engine e(o);
    BOOST_TEST((e.backendInUse() == Backend::OpenCV));
  }
}

BOOST_AUTO_TEST_CASE(opencl_matches_cpu) {
  std::string why;
  const bool ok = infer::available(Backend::OpenCV, Target::OpenCL, &why);
  BOOST_TEST(ok == CheckOpenClFirst::openClAtStart);
  if (!ok) {
    // The refusal must say what to do: install a platform, or let OpenCV open a device.
    if (CheckOpenClFirst::driverCrashed)
      BOOST_TEST_MESSAGE("the OpenCL driver aborted a probe process; OpenCL disabled here");
    BOOST_TEST_MESSAGE("no OpenCL here: " << why);
    BOOST_TEST(why.find("OpenCL") != std::string::npos);
    if (cv::ocl::haveOpenCL())
      BOOST_TEST(why.find("OPENCV_OPENCL_DEVICE") != std::string::npos);
    else
      BOOST_TEST(why.find("pocl-opencl-icd") != std::string::npos);
    EngineOptions o = opts(models().gray);
    o.target = Target::OpenCL;
    checkThrows<InvalidArgument>([&] { Engine e(o); }, {"OpenCL"});
    return;
  }
  BOOST_TEST(cv::ocl::useOpenCL());
  const cv::ocl::Device& dev = cv::ocl::Device::getDefault();
  BOOST_TEST_MESSAGE("OpenCL device: " << dev.name() << " (" << dev.vendorName() << ")");
  const cv::Mat x = blobOf(image8("camera.png", 1, 100, 100, 64, 64));
  Engine cpu(opts(models().gray));
  const cv::Mat want = cpu.run(x);
  EngineOptions o = opts(models().gray);
  o.target = Target::OpenCL;
  Engine ocl(o);
  const auto t0 = std::chrono::steady_clock::now();
  const cv::Mat got = ocl.run(x);  // first run compiles the kernels
  const auto t1 = std::chrono::steady_clock::now();
  const cv::Mat again = ocl.run(x);
  const auto t2 = std::chrono::steady_clock::now();
  const double d = maxDiff(got, want);
  BOOST_TEST_MESSAGE("OpenCL vs CPU, 64x64: max diff "
                     << d << "; first run " << std::chrono::duration<double>(t1 - t0).count()
                     << " s, second " << std::chrono::duration<double>(t2 - t1).count() << " s");
  BOOST_TEST(d <= 1e-3);
  BOOST_TEST(maxDiff(again, want) <= 1e-3);

  // OpenCV DNN silently falls back to the CPU on non-GPU OpenCL devices unless
  // OPENCV_DNN_OPENCL_ALLOW_ALL_DEVICES is set (the engine sets it). A net of our own in this
  // process shows where the layers really ran.
  cv::dnn::Net net = cv::dnn::readNetFromONNX(models().gray);
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_OPENCL);
  net.setInput(x);
  net.forward();
  int onOpenCl = 0, layers = 0;
  for (const std::string& name : net.getLayerNames()) {
    ++layers;
    onOpenCl += net.getLayer(name)->preferableTarget == cv::dnn::DNN_TARGET_OPENCL;
  }
  BOOST_TEST_MESSAGE(onOpenCl << " of " << layers << " layers set to run on OpenCL");
  BOOST_TEST(onOpenCl == layers);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(model_files)

BOOST_AUTO_TEST_CASE(missing_file_is_an_io_error) {
  checkThrows<IoError>([] { Engine e(opts(scratch().file("no-such-model.onnx"))); },
                       {"no-such-model.onnx"});
  std::filesystem::create_directories(scratch().file("a-directory.onnx"));
  checkThrows<IoError>([] { Engine e(opts(scratch().file("a-directory.onnx"))); }, {});
  checkThrows<InvalidArgument>([] { Engine e(opts("")); }, {});
}

BOOST_AUTO_TEST_CASE(truncated_and_garbage_files_are_format_errors) {
  const std::string bytes = readBytes(models().gray);
  BOOST_TEST_REQUIRE(bytes.size() > 1000u);
  for (std::size_t n : {std::size_t(0), std::size_t(1), std::size_t(16), std::size_t(200),
                        bytes.size() / 3, bytes.size() / 2, bytes.size() - 1}) {
    BOOST_TEST_CONTEXT("truncated to " << n << " of " << bytes.size() << " bytes") {
      const std::string p = writeBytes("truncated.onnx", bytes.substr(0, n));
      checkThrows<FormatError>([&] { Engine e(opts(p)); }, {"truncated.onnx"});
    }
  }
  std::string noise(4096, '\0');
  nn::Rng rng(5);
  for (char& ch : noise) ch = char(rng.below(256));
  const std::string g = writeBytes("garbage.onnx", noise);
  checkThrows<FormatError>([&] { Engine e(opts(g)); }, {"garbage.onnx"});
  const std::string png = writeBytes("camera.onnx", readBytes(kImages + "camera.png"));
  checkThrows<FormatError>([&] { Engine e(opts(png)); }, {"camera.onnx"});
  const std::string text = writeBytes("text.onnx", "this is not an ONNX model\n");
  checkThrows<FormatError>([&] { Engine e(opts(text)); }, {"text.onnx"});
}

BOOST_AUTO_TEST_CASE(wrong_task_names_both_tasks) {
  checkThrows<InvalidArgument>([] { Engine e(opts(models().anomaly)); }, {"anomaly", "denoise"});
  // Asking for nothing in particular accepts it.
  EngineOptions o = opts(models().anomaly);
  o.task = onnx::Task::Unknown;
  Engine e(o);
  BOOST_TEST((e.info().task == onnx::Task::Anomaly));
}

BOOST_AUTO_TEST_CASE(model_without_metadata_loads_with_a_warning) {
  for (const auto& [k, v] : onnx::readOnnxMetadata(models().noMeta))
    BOOST_TEST(k.rfind("cae.", 0) != 0, "unexpected metadata " << k << "=" << v);
  Engine e(opts(models().noMeta));
  BOOST_TEST(!e.info().hasCaeMetadata);
  BOOST_TEST_REQUIRE(!e.warnings().empty());
  BOOST_TEST_MESSAGE("warning: " << e.warnings()[0]);
  BOOST_TEST(e.warnings()[0].find("no cae.* metadata") != std::string::npos);
  BOOST_TEST(e.channels() == 1);
  // Defaults: 8-bit to [0, 1], and the model still runs (with the default overlap) seamlessly.
  BOOST_TEST(e.normalisation(8).scale == 1.0 / 255, boost::test_tools::tolerance(1e-12));
  const cv::Mat x = blobOf(image8("camera.png", 1, 0, 0, 40, 40));
  Engine same(opts(models().gray));
  BOOST_TEST(maxDiff(e.run(x), same.run(x)) <= 1e-5);

  // Metadata without cae.task, used for a task: loads, and says so.
  Engine t(opts(models().noTask));
  BOOST_TEST(t.info().hasCaeMetadata);
  BOOST_TEST_REQUIRE(t.warnings().size() == 1u);
  BOOST_TEST(t.warnings()[0].find("no cae.task") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(frame_planes)

namespace {

constexpr int kW = 45, kH = 37;

// A packed 8-bit RGB frame with padded rows; R holds camera.png, G and B other images.
struct PackedRgb {
  int stride = kW * 3 + 7;
  std::vector<std::uint8_t> bytes = std::vector<std::uint8_t>(std::size_t(stride) * kH, 0xAB);
  infer::PlaneView view(int c) {
    infer::PlaneView v;
    v.data = bytes.data() + c;
    v.width = kW;
    v.height = kH;
    v.rowStride = stride;
    v.pixelStride = 3;
    return v;
  }
};

struct Tight {
  int depth;
  std::vector<std::uint8_t> bytes;
  explicit Tight(int d = 8) : depth(d), bytes(std::size_t(kW) * kH * (d / 8), 0) {}
  infer::PlaneView view() {
    infer::PlaneView v;
    v.data = bytes.data();
    v.width = kW;
    v.height = kH;
    v.rowStride = kW * (depth / 8);
    v.pixelStride = depth / 8;
    v.depth = depth;
    return v;
  }
  int at(int x, int y) const {
    if (depth == 8) return bytes[std::size_t(y) * kW + x];
    std::uint16_t v;
    std::memcpy(&v, &bytes[(std::size_t(y) * kW + x) * 2], 2);
    return v;
  }
};

Tight tightFrom(const cv::Mat& im8) {
  Tight t;
  for (int y = 0; y < kH; ++y)
    for (int x = 0; x < kW; ++x) t.bytes[std::size_t(y) * kW + x] = im8.at<std::uint8_t>(y, x);
  return t;
}

int sampleOf(const infer::PlaneView& p, int x, int y) {
  return p.data[y * p.rowStride + x * p.pixelStride];
}

// The engine's output for a 1-plane image, in sample units, neither rounded nor clamped.
std::vector<double> modelSamples(Engine& e, const cv::Mat& im, double full) {
  cv::Mat x = blob4(1, 1, kH, kW);
  im.convertTo(plane(x, 0, 0), CV_32F, 1.0 / full);
  const cv::Mat y = e.run(x);
  std::vector<double> v(std::size_t(kW) * kH);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = double(y.ptr<float>()[i]) * full;
  return v;
}

// What runPlanes must write at full strength: those samples rounded and clamped.
std::vector<int> expected(Engine& e, const cv::Mat& im, double full) {
  std::vector<int> v;
  for (double m : modelSamples(e, im, full))
    v.push_back(int(std::nearbyint(std::clamp(m, 0.0, full))));
  return v;
}

}  // namespace

BOOST_AUTO_TEST_CASE(strided_planes_give_the_tight_result) {
  Engine e(opts(models().gray));
  const cv::Mat cam = image8("camera.png", 1, 200, 210, kH, kW);
  Tight in = tightFrom(cam), out;
  infer::runPlanes(e, {in.view()}, {out.view()}, 1.0);
  const std::vector<int> want = expected(e, cam, 255);
  int worst = 0, changed = 0;
  for (int y = 0; y < kH; ++y)
    for (int x = 0; x < kW; ++x) {
      worst = std::max(worst, std::abs(out.at(x, y) - want[std::size_t(y) * kW + x]));
      changed += out.at(x, y) != in.at(x, y);
    }
  BOOST_TEST(worst <= 1);  // rounding of x·255 against x / (1/255)
  BOOST_TEST(changed > kW * kH / 2);

  // The same samples as the R plane of packed RGB with padded rows, into another packed frame.
  PackedRgb src, dst;
  const cv::Mat other = image8("coins.png", 1, 10, 10, kH, kW);
  for (int y = 0; y < kH; ++y)
    for (int x = 0; x < kW; ++x) {
      src.bytes[y * src.stride + 3 * x] = cam.at<std::uint8_t>(y, x);
      src.bytes[y * src.stride + 3 * x + 1] = other.at<std::uint8_t>(y, x);
      src.bytes[y * src.stride + 3 * x + 2] = 255 - other.at<std::uint8_t>(y, x);
    }
  const std::vector<std::uint8_t> srcBefore = src.bytes;
  infer::runPlanes(e, {src.view(0)}, {dst.view(0)}, 1.0);
  int mismatches = 0, clobbered = 0;
  for (int y = 0; y < kH; ++y)
    for (int x = 0; x < src.stride; ++x) {
      const std::uint8_t got = dst.bytes[y * dst.stride + x];
      if (x < 3 * kW && x % 3 == 0)
        mismatches += got != out.at(x / 3, y);
      else
        clobbered += got != 0xAB;  // G, B and row padding untouched
    }
  BOOST_TEST(mismatches == 0);
  BOOST_TEST(clobbered == 0);
  BOOST_TEST((src.bytes == srcBefore));

  // In place: out is the input's memory.
  PackedRgb inplace = src;
  infer::runPlanes(e, {inplace.view(0)}, {inplace.view(0)}, 1.0);
  mismatches = 0;
  for (int y = 0; y < kH; ++y)
    for (int x = 0; x < kW; ++x) mismatches += sampleOf(inplace.view(0), x, y) != out.at(x, y);
  BOOST_TEST(mismatches == 0);
  Tight tightInPlace = in;
  infer::runPlanes(e, {tightInPlace.view()}, {tightInPlace.view()}, 1.0);
  BOOST_TEST((tightInPlace.bytes == out.bytes));
}

BOOST_AUTO_TEST_CASE(strength_blends_with_the_input) {
  Engine e(opts(models().gray));
  const cv::Mat cam = image8("camera.png", 1, 200, 210, kH, kW);
  Tight in = tightFrom(cam), full, none, half;
  std::fill(none.bytes.begin(), none.bytes.end(), 0x11);
  infer::runPlanes(e, {in.view()}, {full.view()}, 1.0);
  infer::runPlanes(e, {in.view()}, {none.view()}, 0.0);
  BOOST_TEST((none.bytes == in.bytes));  // exact copy
  infer::runPlanes(e, {in.view()}, {half.view()}, 0.5);
  // The blend takes the unclamped model output: where it leaves [0, 255], half is not the mean
  // of the input and the clamped full-strength sample, but it still lies between them.
  const std::vector<double> m = modelSamples(e, cam, 255);
  int outside = 0, offMid = 0, strictlyBetween = 0;
  for (int y = 0; y < kH; ++y)
    for (int x = 0; x < kW; ++x) {
      const int a = in.at(x, y), b = full.at(x, y), h = half.at(x, y);
      const double mid = std::clamp(0.5 * a + 0.5 * m[std::size_t(y) * kW + x], 0.0, 255.0);
      outside += h < std::min(a, b) || h > std::max(a, b);
      offMid += std::abs(h - mid) > 0.5 + 1e-3;
      strictlyBetween += h != a && h != b;
    }
  BOOST_TEST(outside == 0);
  BOOST_TEST(offMid == 0);
  BOOST_TEST(strictlyBetween > kW * kH / 4);
  // Out-of-range strengths are clamped.
  Tight over, under;
  infer::runPlanes(e, {in.view()}, {over.view()}, 3.0);
  infer::runPlanes(e, {in.view()}, {under.view()}, -1.0);
  BOOST_TEST((over.bytes == full.bytes));
  BOOST_TEST((under.bytes == in.bytes));
}

BOOST_AUTO_TEST_CASE(sixteen_bit_planes) {
  Engine e(opts(models().gray));
  const cv::Mat cam = image8("camera.png", 1, 200, 210, kH, kW);
  cv::Mat cam16;
  cam.convertTo(cam16, CV_16U, 257.0);
  // Rows padded by 6 bytes.
  const int stride = kW * 2 + 6;
  std::vector<std::uint8_t> buf(std::size_t(stride) * kH, 0xCD), outBuf = buf;
  for (int y = 0; y < kH; ++y)
    std::memcpy(&buf[std::size_t(y) * stride], cam16.ptr(y), std::size_t(kW) * 2);
  infer::PlaneView in{buf.data(), kW, kH, stride, 2, 16}, out{outBuf.data(), kW, kH, stride, 2, 16};
  infer::runPlanes(e, {in}, {out}, 1.0);
  const std::vector<int> want = expected(e, cam16, 65535);
  int worst = 0;
  for (int y = 0; y < kH; ++y)
    for (int x = 0; x < kW; ++x) {
      std::uint16_t v;
      std::memcpy(&v, &outBuf[std::size_t(y) * stride + 2 * std::size_t(x)], 2);
      worst = std::max(worst, std::abs(int(v) - want[std::size_t(y) * kW + x]));
    }
  BOOST_TEST(worst <= 1);
  int padding = 0;
  for (int y = 0; y < kH; ++y)
    for (int x = kW * 2; x < stride; ++x) padding += outBuf[std::size_t(y) * stride + x] != 0xCD;
  BOOST_TEST(padding == 0);
  // Strength 0 copies 16-bit samples exactly.
  std::vector<std::uint8_t> copy(buf.size(), 0xCD);
  infer::runPlanes(e, {in}, {{copy.data(), kW, kH, stride, 2, 16}}, 0.0);
  BOOST_TEST((copy == buf));
}

BOOST_AUTO_TEST_CASE(read_frame_gives_channels_or_the_bt601_luma) {
  const cv::Mat ast = image8("astronaut.png", 3, 100, 200, kH, kW);
  PackedRgb src;
  for (int y = 0; y < kH; ++y)
    std::memcpy(&src.bytes[std::size_t(y) * src.stride], ast.ptr(y), std::size_t(kW) * 3);
  const std::vector<infer::PlaneView> rgbPlanes = {src.view(0), src.view(1), src.view(2)};
  // A gray model reads the luma of R, G, B, summed in double precision, then scaled.
  Engine gray(opts(models().gray));
  const cv::Mat luma = infer::readFrame(gray, rgbPlanes);
  BOOST_TEST_REQUIRE((luma.dims == 4 && luma.size[0] == 1 && luma.size[1] == 1 &&
                      luma.size[2] == kH && luma.size[3] == kW));
  // An RGB model reads the planes as channels; a BGR model the other way round.
  Engine rgb(opts(models().rgb));
  const cv::Mat chans = infer::readFrame(rgb, rgbPlanes);
  onnx::ExportOptions o;
  o.task = onnx::Task::Denoise;
  o.format = "BGR";
  const std::string bgrPath = scratch().file("bgr.onnx");
  onnx::exportOnnx(convModel(3, 2), bgrPath, o);
  Engine bgr(opts(bgrPath));
  const cv::Mat swapped = infer::readFrame(bgr, rgbPlanes);
  int wrong = 0;
  for (int y = 0; y < kH; ++y)
    for (int x = 0; x < kW; ++x) {
      const cv::Vec3b& v = ast.at<cv::Vec3b>(y, x);
      const double l = 0.299 * v[0] + 0.587 * v[1] + 0.114 * v[2];
      wrong += luma.ptr<float>(0, 0)[y * kW + x] != float(l * (1.0 / 255.0) + 0.0);
      for (int c = 0; c < 3; ++c) {
        wrong += chans.ptr<float>(0, c)[y * kW + x] != float(v[c] * (1.0 / 255.0));
        wrong += swapped.ptr<float>(0, 2 - c)[y * kW + x] != float(v[c] * (1.0 / 255.0));
      }
    }
  BOOST_TEST(wrong == 0);
  // 16-bit planes in the model's units.
  Tight t16(16);
  for (std::size_t i = 0; i < t16.bytes.size(); i += 2) t16.bytes[i + 1] = std::uint8_t(i % 251);
  const cv::Mat wide = infer::readFrame(gray, {t16.view()});
  BOOST_TEST(wide.ptr<float>()[7] == float(t16.at(7, 0) * gray.normalisation(16).scale));
  // Planes that cannot feed the model are refused.
  checkThrows<InvalidArgument>([&] { infer::readFrame(rgb, {src.view(0)}); }, {"3 channel"});
  checkThrows<InvalidArgument>(
      [&] {
        infer::gatherPlanes({src.view(0), src.view(1)}, gray.normalisation(8), infer::Feed::Luma);
      },
      {"three planes"});
  checkThrows<InvalidArgument>([&] { infer::readFrame(gray, {src.view(0), t16.view()}); }, {});
}

BOOST_AUTO_TEST_CASE(planes_of_several_sizes_and_rgb) {
  // A 1-channel model on the planes of one frame (Y, then two half-size chroma planes): each plane
  // comes out as it would alone.
  Engine e(opts(models().gray));
  const cv::Mat cam = image8("camera.png", 1, 200, 210, kH, kW);
  const cv::Mat small = image8("coins.png", 1, 30, 30, 19, 23);
  std::vector<std::uint8_t> a(cam.begin<std::uint8_t>(), cam.end<std::uint8_t>());
  std::vector<std::uint8_t> b(small.begin<std::uint8_t>(), small.end<std::uint8_t>()), c = b;
  std::reverse(c.begin(), c.end());
  std::vector<std::uint8_t> oa(a.size()), ob(b.size()), oc(c.size());
  infer::runPlanes(
      e, {{a.data(), kW, kH, kW, 1, 8}, {b.data(), 23, 19, 23, 1, 8}, {c.data(), 23, 19, 23, 1, 8}},
      {{oa.data(), kW, kH, kW, 1, 8}, {ob.data(), 23, 19, 23, 1, 8}, {oc.data(), 23, 19, 23, 1, 8}},
      1.0);
  std::vector<std::uint8_t> alone(c.size());
  infer::runPlanes(e, {{c.data(), 23, 19, 23, 1, 8}}, {{alone.data(), 23, 19, 23, 1, 8}}, 1.0);
  BOOST_TEST((alone == oc));
  Tight ta = tightFrom(cam), tao;
  infer::runPlanes(e, {ta.view()}, {tao.view()}, 1.0);
  BOOST_TEST((tao.bytes == oa));

  // A 3-channel model reads R, G, B planes of packed RGB as one image.
  Engine rgb(opts(models().rgb));
  const cv::Mat ast = image8("astronaut.png", 3, 100, 200, kH, kW);
  PackedRgb src, dst;
  for (int y = 0; y < kH; ++y)
    std::memcpy(&src.bytes[std::size_t(y) * src.stride], ast.ptr(y), std::size_t(kW) * 3);
  infer::runPlanes(rgb, {src.view(0), src.view(1), src.view(2)},
                   {dst.view(0), dst.view(1), dst.view(2)}, 1.0);
  const cv::Mat y = rgb.run(blobOf(ast));
  int worst = 0;
  for (int ch = 0; ch < 3; ++ch)
    for (int yy = 0; yy < kH; ++yy)
      for (int x = 0; x < kW; ++x) {
        const double m = std::clamp(double(y.ptr<float>(0, ch)[yy * kW + x]) * 255, 0.0, 255.0);
        worst = std::max(worst, std::abs(sampleOf(dst.view(ch), x, yy) - int(std::nearbyint(m))));
      }
  BOOST_TEST(worst <= 1);

  // Mismatched planes are refused.
  checkThrows<InvalidArgument>([&] { infer::runPlanes(rgb, {src.view(0)}, {dst.view(0)}, 1.0); },
                               {"3 channels"});
  checkThrows<InvalidArgument>(
      [&] {
        infer::runPlanes(e, {ta.view()}, {{ob.data(), 23, 19, 23, 1, 8}}, 1.0);
      },
      {});
  checkThrows<InvalidArgument>([&] { infer::runPlanes(e, {ta.view()}, {}, 1.0); }, {});
}

BOOST_AUTO_TEST_SUITE_END()

// A temporal model (cae.frames = 3): three gray frames stacked current first in, one frame out.
// channels() is per frame, framesIn() 3; run() takes 3 channels and writes 1, whole or in tiles,
// as OpenCV DNN computes it on the stack, on every backend built; other stack depths are refused,
// and so is a cae.frames that does not divide the graph's input channels.
BOOST_AUTO_TEST_CASE(a_temporal_model_reads_stacked_frames_and_writes_one) {
  train::ArchSpec s;
  s.kind = train::ArchKind::Conv;
  s.channels = 1;
  s.frames = 3;
  s.height = s.width = 32;
  s.stem = 2;
  s.stages = 2;
  s.depth = 1;
  s.width0 = 8;
  s.skips = s.residual = true;
  nn::Model m = train::buildAutoencoder(s).model;
  nn::Rng rng(7);
  for (Eigen::Index i = 0; i < m.params().size(); ++i) m.params()[i] = rng.uniform(-0.2f, 0.2f);
  onnx::ExportOptions o;
  o.task = onnx::Task::Denoise;
  o.format = "GRAY8";
  o.extra[onnx::key::kFrames] = "3";
  const std::string path = scratch().file("temporal.onnx");
  onnx::exportOnnx(m, path, o);

  cv::Mat x = blob4(1, 3, 48, 64);
  for (int j = 0; j < 3; ++j) {
    const cv::Mat f = image8("camera.png", 1, 100 + 3 * j, 200 - 2 * j, 48, 64);
    f.convertTo(plane(x, 0, j), CV_32F, 1.0 / 255);
  }
  cv::dnn::Net net = cv::dnn::readNetFromONNX(path);
  net.setInput(x);
  const cv::Mat want = net.forward().clone();
  BOOST_TEST(want.size[1] == 1);
  for (Backend b : {Backend::OpenCV, Backend::OneDNN}) {
    if (!infer::available(b, Target::Cpu)) continue;
    for (int tile : {0, 16}) {
      EngineOptions eo = opts(path, tile);
      eo.backend = b;
      Engine e(eo);
      BOOST_TEST(e.channels() == 1);
      BOOST_TEST(e.framesIn() == 3);
      const cv::Mat y = e.run(x);
      BOOST_TEST_REQUIRE(y.size[1] == 1);
      BOOST_TEST(maxDiff(y, want) <= 1e-4, infer::backendName(e.backendInUse())
                                               << " tile " << tile);
      BOOST_CHECK_THROW(e.run(blob4(1, 1, 48, 64)), InvalidArgument);
    }
  }
  BOOST_TEST(infer::describeModel(path).channels == 1);

  o.extra[onnx::key::kFrames] = "2";
  const std::string bad = scratch().file("temporal_bad.onnx");
  onnx::exportOnnx(m, bad, o);
  BOOST_CHECK_THROW(Engine{opts(bad)}, FormatError);
}

namespace {

// Plane c of a packed 8-bit BGR image as a view (R is c = 2).
infer::PlaneView bgrPlane(cv::Mat& bgr, int c) { return infer::viewOf(bgr, c); }

cv::Mat runColour(Engine& e, const cv::Mat& noisy, infer::Colour colour, double strength = 1.0) {
  cv::Mat in = noisy.clone(), out(noisy.size(), CV_8UC3, cv::Scalar::all(0));
  infer::runPlanes(e, {bgrPlane(in, 2), bgrPlane(in, 1), bgrPlane(in, 0)},
                   {bgrPlane(out, 2), bgrPlane(out, 1), bgrPlane(out, 0)}, strength, colour);
  return out;
}

}  // namespace

// RGB frames through a gray model as luma and opponent channels (Colour::Opponent): with the
// shipped denoise-gray on a noisy colour photograph (independent noise per channel, sigma 25),
// clearly better than R, G, B one by one (bench/reports/colour.md measures +0.9 dB on the colour
// test images); an identity of the transform itself: strength 0 still copies the input exactly.
BOOST_AUTO_TEST_CASE(rgb_through_a_gray_model_as_opponent_channels) {
  const std::string model = (std::filesystem::path(CAE_TEST_DATA).parent_path().parent_path() /
                             "models" / "denoise-gray.onnx")
                                .string();
  EngineOptions o = opts(model);
  Engine e(o);
  const cv::Mat clean =
      cv::imread(kImages + "astronaut.png", cv::IMREAD_COLOR)(cv::Rect(160, 40, 192, 160)).clone();
  BOOST_TEST_REQUIRE(!clean.empty());
  cv::Mat noise(clean.size(), CV_32FC3), f, noisy;
  cv::RNG rng(7);
  rng.fill(noise, cv::RNG::NORMAL, 0, 25);
  clean.convertTo(f, CV_32FC3);
  cv::Mat(f + noise).convertTo(noisy, CV_8UC3);
  const double pn = cv::PSNR(noisy, clean);
  const double pp = cv::PSNR(runColour(e, noisy, infer::Colour::PerPlane), clean);
  const double po = cv::PSNR(runColour(e, noisy, infer::Colour::Opponent), clean);
  BOOST_TEST_MESSAGE("astronaut crop, sigma 25: noisy " << pn << " dB, per-plane " << pp
                                                        << " dB, opponent " << po << " dB");
  BOOST_TEST(pp > pn + 5);
  BOOST_TEST(po > pp + 0.3);
  const cv::Mat copy = runColour(e, noisy, infer::Colour::Opponent, 0.0);
  BOOST_TEST(cv::norm(copy, noisy, cv::NORM_INF) == 0);
  // Fewer or more than three planes, or a temporal model: per plane, whatever is asked.
  cv::Mat a = noisy.clone(), b = noisy.clone(), ra(noisy.size(), CV_8UC3, cv::Scalar::all(0));
  cv::Mat rb = ra.clone();
  infer::runPlanes(e, {bgrPlane(a, 2), bgrPlane(a, 1)}, {bgrPlane(ra, 2), bgrPlane(ra, 1)}, 1.0,
                   infer::Colour::Opponent);
  infer::runPlanes(e, {bgrPlane(b, 2), bgrPlane(b, 1)}, {bgrPlane(rb, 2), bgrPlane(rb, 1)}, 1.0,
                   infer::Colour::PerPlane);
  BOOST_TEST(cv::norm(ra, rb, cv::NORM_INF) == 0);
}

// A stream's frames read into one kept blob: the same memory from frame to frame, the values of
// a fresh read.
BOOST_AUTO_TEST_CASE(read_frame_into_a_kept_blob) {
  Engine e(opts(models().gray));
  cv::Mat a = image8("camera.png", 1, 200, 210, 60, 70),
          b = image8("coins.png", 1, 100, 150, 60, 70);
  auto view = [](cv::Mat& m) { return infer::viewOf(m); };
  cv::Mat blob;
  infer::readFrame(e, {view(a)}, blob);
  const uchar* first = blob.data;
  BOOST_TEST(maxDiff(blob, infer::readFrame(e, {view(a)})) == 0);
  infer::readFrame(e, {view(b)}, blob);
  BOOST_TEST((blob.data == first));
  BOOST_TEST(maxDiff(blob, infer::readFrame(e, {view(b)})) == 0);
}
