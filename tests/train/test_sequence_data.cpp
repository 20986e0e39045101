// Clips for temporal denoisers (core/train/sequence_data.hpp) on a real skimage texture: the
// frames move by the motion that was drawn (whole pixels exactly, sub-pixel shifts, rotation
// and zoom measured back with OpenCV's registration), still clips repeat one frame, a moving
// object changes only its own box, the drawn motions respect their limits and shares, the
// trainer's noise is independent per frame with one sigma per clip, and the target is the clean
// current frame. Then the temporal model (--frames) end to end: K frames in, one out, the fixed
// current-frame pick, and cae.frames in the exported file; aligned clips; stream starts (older
// frames replaced as caedenoise fills them without history) in their shares.
#define BOOST_TEST_MODULE sequence_data
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>
#include <string>
#include <vector>

#include "error.hpp"
#include "io/image.hpp"
#include "nn/optim/adam.hpp"
#include "onnx/metadata.hpp"
#include "train/architecture.hpp"
#include "train/objective.hpp"
#include "train/sequence_data.hpp"
#include "train/trainer.hpp"
#include "train/warm_start.hpp"

namespace fs = std::filesystem;
using namespace cae;
using namespace cae::train;
using nn::Shape;
using nn::Tensor;

namespace {

const std::string kData = "/usr/lib/python3/dist-packages/skimage/data/";

Tensor gravel() { return io::readImage(kData + "gravel.png", io::ColorMode::Gray); }

// Plane c of sample n as a Mat copy.
cv::Mat planeOf(const Tensor& t, int n, int c) {
  const Shape s = t.shape();
  const float* p = t.sample(n) + std::size_t(c) * s.plane();
  return cv::Mat(s.h, s.w, CV_32F, const_cast<float*>(p)).clone();
}

Tensor clipOf(const Tensor& image, const ClipMotion& m, int frames, int patch) {
  Tensor out(Shape{1, frames * image.shape().c, patch, patch});
  renderClip(image, m, frames, 0, out);
  return out;
}

// A folder removed at the end of each test.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("cae_sequence_" + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

}  // namespace

BOOST_AUTO_TEST_CASE(whole_pixel_translation_moves_the_frames_exactly) {
  const Tensor img = gravel();
  ClipMotion m;
  m.x = 100;
  m.y = 80;
  m.dx = 3;
  m.dy = -2;
  const int p = 48;
  const Tensor clip = clipOf(img, m, 3, p);
  // The current frame is the image window; frame j shows at (u + j*dx, v + j*dy) what the
  // current frame shows at (u, v).
  for (int v = 0; v < p; ++v)
    for (int u = 0; u < p; ++u)
      BOOST_REQUIRE_EQUAL(clip.at(0, 0, v, u), img.at(0, 0, 80 + v, 100 + u));
  for (int j = 1; j < 3; ++j)
    for (int v = 0; v < p; ++v)
      for (int u = 0; u < p; ++u) {
        const int uj = u + j * 3, vj = v - j * 2;
        if (uj >= p || vj < 0) continue;
        BOOST_REQUIRE_EQUAL(clip.at(0, j, vj, uj), clip.at(0, 0, v, u));
      }
  // ... and the frames do differ.
  BOOST_TEST(cv::norm(planeOf(clip, 0, 0), planeOf(clip, 0, 1)) > 1.0);
}

BOOST_AUTO_TEST_CASE(sub_pixel_translation_is_measured_back) {
  const Tensor img = gravel();
  for (const auto& [dx, dy] : {std::pair{2.5, -1.25}, std::pair{-3.7, 0.4}}) {
    ClipMotion m;
    m.x = 200.3;
    m.y = 150.6;
    m.dx = dx;
    m.dy = dy;
    const Tensor clip = clipOf(img, m, 3, 128);
    for (int j = 1; j < 3; ++j) {
      // ECC finds the translation t with frame_j(p + t) ~ frame_0(p): (j*dx, j*dy).
      cv::Mat w = cv::Mat::eye(2, 3, CV_32F);
      cv::findTransformECC(planeOf(clip, 0, 0), planeOf(clip, 0, j), w, cv::MOTION_TRANSLATION,
                           {cv::TermCriteria::COUNT + cv::TermCriteria::EPS, 200, 1e-8},
                           cv::noArray(), 5);
      const double tx = w.at<float>(0, 2), ty = w.at<float>(1, 2);
      BOOST_TEST_MESSAGE("frame " << j << ": " << tx << ", " << ty << " for " << j * dx << ", "
                                  << j * dy);
      // Registration of two differently interpolated views of a fine texture is good to about
      // a tenth of a pixel; the exact geometry is checked below.
      BOOST_TEST(std::abs(tx - j * dx) < 0.1);
      BOOST_TEST(std::abs(ty - j * dy) < 0.1);
      // Frame j's pixel (u, v) is the image's bicubic sample at (x + u - j*dx, y + v - j*dy).
      cv::Mat mapX(128, 128, CV_32F), mapY(128, 128, CV_32F), want;
      for (int v = 0; v < 128; ++v)
        for (int u = 0; u < 128; ++u) {
          mapX.at<float>(v, u) = float(m.x + u - j * dx);
          mapY.at<float>(v, u) = float(m.y + v - j * dy);
        }
      cv::remap(planeOf(img, 0, 0), want, mapX, mapY, cv::INTER_CUBIC);
      cv::min(cv::max(want, 0.0), 1.0, want);
      BOOST_TEST(cv::norm(want, planeOf(clip, 0, j), cv::NORM_INF) < 1e-6);
    }
  }
}

BOOST_AUTO_TEST_CASE(rotation_and_zoom_are_measured_back) {
  const Tensor img = gravel();
  ClipMotion m;
  m.x = 180;
  m.y = 180;
  m.rotation = 2.0 * M_PI / 180;
  m.zoom = 0.03;
  const Tensor clip = clipOf(img, m, 2, 128);
  // ECC finds the warp W with frame1(W(p)) ~ frame0(p). Frame 1 samples the image through a
  // map scaled by exp(-zoom) and turned by -rotation, so W is that map's inverse: scale
  // exp(zoom) and angle +rotation.
  cv::Mat w = cv::Mat::eye(2, 3, CV_32F);
  cv::findTransformECC(planeOf(clip, 0, 0), planeOf(clip, 0, 1), w, cv::MOTION_AFFINE,
                       {cv::TermCriteria::COUNT + cv::TermCriteria::EPS, 200, 1e-7}, cv::noArray(),
                       1);
  const double scale = std::sqrt(double(w.at<float>(0, 0)) * w.at<float>(1, 1) -
                                 double(w.at<float>(0, 1)) * w.at<float>(1, 0));
  const double angle = std::atan2(double(w.at<float>(1, 0)), double(w.at<float>(0, 0)));
  BOOST_TEST_MESSAGE("scale " << scale << " angle " << angle * 180 / M_PI << " deg");
  BOOST_TEST(std::abs(scale - std::exp(m.zoom)) < 0.004);
  BOOST_TEST(std::abs(angle - m.rotation) < 0.2 * M_PI / 180);
}

BOOST_AUTO_TEST_CASE(still_clips_repeat_one_frame) {
  ClipOptions o;
  o.staticShare = 1;
  o.objectShare = 0;
  const SequenceSource src({{gravel(), "gravel"}}, 32, o);
  nn::Rng rng(3);
  Tensor batch;
  src.next(8, rng, batch);
  BOOST_TEST(batch.shape().c == 3);
  const std::size_t plane = batch.shape().plane();
  for (int n = 0; n < 8; ++n)
    for (int j = 1; j < 3; ++j)
      BOOST_TEST(std::equal(batch.sample(n), batch.sample(n) + plane, batch.sample(n) + j * plane));
}

BOOST_AUTO_TEST_CASE(a_moving_object_changes_only_its_own_box) {
  const Tensor img = gravel();
  ClipMotion m;
  m.x = 64;
  m.y = 64;
  m.object = true;
  m.objectW = 12;
  m.objectH = 9;
  m.objectSrcX = 300;
  m.objectSrcY = 20;
  m.objectX = 10.5;
  m.objectY = 20;
  m.objectDx = 4.5;
  m.objectDy = -3;
  const int p = 48;
  const Tensor clip = clipOf(img, m, 3, p);
  ClipMotion bare = m;
  bare.object = false;
  const Tensor background = clipOf(img, bare, 1, p);
  int inside = 0, changed = 0;
  for (int j = 0; j < 3; ++j) {
    const double ox = m.objectX - j * m.objectDx, oy = m.objectY - j * m.objectDy;
    for (int v = 0; v < p; ++v)
      for (int u = 0; u < p; ++u) {
        const bool in = u + 1 > ox && u < ox + m.objectW && v + 1 > oy && v < oy + m.objectH;
        const float a = clip.at(0, j, v, u), b = background.at(0, 0, v, u);
        if (!in) {
          BOOST_REQUIRE_EQUAL(a, b);
          continue;
        }
        ++inside;
        changed += a != b;
        // Fully covered pixels show the object's own texture.
        if (u >= ox && u + 1 <= ox + m.objectW && v >= oy && v + 1 <= oy + m.objectH &&
            std::floor(ox) == ox && std::floor(oy) == oy)
          BOOST_REQUIRE_EQUAL(a,
                              img.at(0, 0, int(m.objectSrcY + v - oy), int(m.objectSrcX + u - ox)));
      }
  }
  BOOST_TEST(inside > 3 * 12 * 9 * 0.9);
  BOOST_TEST(changed > inside / 2);
}

BOOST_AUTO_TEST_CASE(drawn_motions_respect_limits_and_shares) {
  ClipOptions o;
  o.maxShift = 4;
  const Tensor img = gravel();
  const SequenceSource src({{img, "gravel"}}, 64, o);
  nn::Rng rng(11);
  const int n = 1000;
  int still = 0, objects = 0, fast = 0;
  for (int i = 0; i < n; ++i) {
    const ClipMotion m = src.drawMotion(img, rng);
    BOOST_REQUIRE(std::abs(m.dx) <= 4 && std::abs(m.dy) <= 4);
    BOOST_REQUIRE(std::abs(m.rotation) <= 0.5 * M_PI / 180 + 1e-9);
    BOOST_REQUIRE(std::abs(m.zoom) <= 0.01 + 1e-9);
    still += m.dx == 0 && m.dy == 0 && m.rotation == 0 && m.zoom == 0;
    objects += m.object;
    fast += std::max(std::abs(m.dx), std::abs(m.dy)) > 3;
    // Every frame's view (the patch's corners at the oldest frame included) inside the image.
    for (int j = 0; j < 3; ++j) {
      const double cx = m.x + 31.5 - j * m.dx, cy = m.y + 31.5 - j * m.dy;
      BOOST_REQUIRE(cx - 33 >= 0 && cx + 33 <= 511 && cy - 33 >= 0 && cy + 33 <= 511);
    }
    if (m.object) {
      BOOST_REQUIRE(m.objectW >= 8 && m.objectW <= 32);
      BOOST_REQUIRE(std::abs(m.objectDx) <= 8 && std::abs(m.objectDy) <= 8);
    }
  }
  BOOST_TEST_MESSAGE("still " << still << " objects " << objects << " fast " << fast);
  BOOST_TEST(std::abs(still - 250) < 50);
  BOOST_TEST(std::abs(objects - 250) < 50);
  BOOST_TEST(fast > 200);  // the limit is used, not just allowed
}

BOOST_AUTO_TEST_CASE(an_image_of_patch_size_gets_a_still_camera_on_whole_pixels) {
  const Tensor small = io::crop(gravel(), 0, 0, 32, 33);
  ClipOptions o;
  o.staticShare = 0;
  o.objectShare = 0;
  const SequenceSource src({{small, "small"}}, 32, o);
  nn::Rng rng(2);
  for (int i = 0; i < 20; ++i) {
    const ClipMotion m = src.drawMotion(small, rng);
    BOOST_TEST((m.dx == 0 && m.dy == 0 && m.rotation == 0 && m.zoom == 0));
    BOOST_TEST(m.x == std::floor(m.x));
    BOOST_TEST(m.y == 0);
    const Tensor clip = clipOf(small, m, 3, 32);
    BOOST_TEST(clip.at(0, 2, 5, 7) == small.at(0, 0, 5, 7 + int(m.x)));
  }
}

BOOST_AUTO_TEST_CASE(noise_is_independent_per_frame_with_one_sigma_per_clip) {
  ClipOptions o;
  o.staticShare = 1;  // equal clean frames: the differences between frames are noise alone
  o.objectShare = 0;
  const SequenceSource src({{gravel(), "gravel"}}, 64, o);
  nn::Rng rng(4);
  Tensor clean, noisy;
  src.next(12, rng, clean);
  TrainConfig c;
  c.task = TrainTask::Denoise;
  c.corruption = CorruptionKind::Gaussian;
  c.sigmaLo = 5.0 / 255;
  c.sigmaHi = 50.0 / 255;
  const Objective obj(c);
  obj.corrupt(clean, false, noisy, rng);
  const std::size_t plane = clean.shape().plane();
  double lo = 1, hi = 0;
  for (int n = 0; n < 12; ++n) {
    std::vector<cv::Mat> e;
    e.reserve(3);
    for (int j = 0; j < 3; ++j) e.push_back(planeOf(noisy, n, j) - planeOf(clean, n, j));
    std::vector<double> sd;
    for (const cv::Mat& x : e) {
      cv::Scalar mean, dev;
      cv::meanStdDev(x, mean, dev);
      sd.push_back(dev[0]);
    }
    // One sigma for the clip: the frames' deviations agree within sampling error (4096 values).
    BOOST_TEST(std::abs(sd[1] / sd[0] - 1) < 0.06);
    BOOST_TEST(std::abs(sd[2] / sd[0] - 1) < 0.06);
    // Independent: the correlation of two frames' noise is within sampling error of zero.
    for (int j = 1; j < 3; ++j) {
      const double r = e[0].dot(e[std::size_t(j)]) / (double(plane) * sd[0] * sd[std::size_t(j)]);
      BOOST_TEST(std::abs(r) < 0.06);
    }
    lo = std::min(lo, sd[0]);
    hi = std::max(hi, sd[0]);
  }
  BOOST_TEST(hi > 2 * lo);  // blind: the sigma differs between clips
}

BOOST_AUTO_TEST_CASE(the_target_is_the_clean_current_frame) {
  const Tensor rgb = io::readImage(kData + "astronaut.png", io::ColorMode::Color);
  const SequenceSource src({{rgb, "astronaut"}}, 32, ClipOptions{});
  nn::Rng a(9), b(9);
  Tensor batch;
  src.next(4, a, batch);
  BOOST_TEST(batch.shape().c == 9);
  const Tensor target = currentFrame(batch, 3);
  BOOST_TEST(target.shape().c == 3);
  // The same draws again, rendered frame by frame: the target is frame 0, all three channels.
  for (int n = 0; n < 4; ++n) {
    b.below(src.size());  // next()'s draws: the image, then the motion (no flips by default)
    const ClipMotion m = src.drawMotion(rgb, b);
    Tensor one(Shape{1, 9, 32, 32});
    renderClip(rgb, m, 3, 0, one);
    BOOST_TEST(std::equal(one.data(), one.data() + one.shape().plane() * 3, target.sample(n)));
  }
  BOOST_CHECK_THROW(currentFrame(batch, 2), InvalidArgument);
}

BOOST_AUTO_TEST_CASE(fixed_clips_are_deterministic) {
  const SequenceSource src({{gravel(), "gravel"}}, 32, ClipOptions{});
  const Tensor x = src.fixed(16, 5), y = src.fixed(16, 5), z = src.fixed(16, 6);
  BOOST_TEST(std::equal(x.data(), x.data() + x.size(), y.data()));
  BOOST_TEST(!std::equal(x.data(), x.data() + x.size(), z.data()));
  nn::Rng r1(1), r2(1);
  Tensor p, q;
  src.next(8, r1, p);
  src.next(8, r2, q);
  BOOST_TEST(std::equal(p.data(), p.data() + p.size(), q.data()));
}

BOOST_AUTO_TEST_CASE(bad_clip_options_are_refused) {
  const Tensor img = gravel();
  auto make = [&](ClipOptions o, int patch = 32) { SequenceSource s({{img, "g"}}, patch, o); };
  ClipOptions o;
  o.frames = 0;
  BOOST_CHECK_THROW(make(o), InvalidArgument);
  o.frames = 17;
  BOOST_CHECK_THROW(make(o), InvalidArgument);
  o = ClipOptions{};
  o.staticShare = 1.5;
  BOOST_CHECK_THROW(make(o), InvalidArgument);
  o = ClipOptions{};
  o.maxShift = -1;
  BOOST_CHECK_THROW(make(o), InvalidArgument);
  BOOST_CHECK_THROW(make(ClipOptions{}, 1024), InvalidArgument);
  BOOST_CHECK_THROW(SequenceSource({}, 32, ClipOptions{}), InvalidArgument);
}

// The temporal U-Net: K x C channels in, C out; a residual adds the current frame only, through
// a pick whose weights neither gradients nor weight decay move.
BOOST_AUTO_TEST_CASE(a_temporal_model_reads_k_frames_and_writes_one) {
  ArchSpec s;
  s.kind = ArchKind::Conv;
  s.channels = 1;
  s.frames = 3;
  s.height = s.width = 32;
  s.stem = 2;
  s.width0 = 8;
  s.stages = 2;
  s.depth = 1;
  s.maxChannels = 16;
  s.skips = s.residual = true;
  BuiltModel b = buildAutoencoder(s);
  BOOST_TEST(b.model.inputShape().c == 3);
  const int pick = b.model.findNode(kCurrentFrameNode);
  BOOST_REQUIRE(pick >= 0);
  const std::size_t off = b.model.node(pick).paramOffset;

  ClipOptions co;
  const SequenceSource src({{gravel(), "gravel"}}, 32, co);
  nn::Rng rng(1);
  Tensor clips;
  src.next(4, rng, clips);
  const Tensor& out = b.model.forward(clips);
  BOOST_TEST(out.shape().str() == (Shape{4, 1, 32, 32}).str());
  // Untrained, the residual model is the identity on the current frame.
  const Tensor now = currentFrame(clips, 1);
  BOOST_TEST(std::equal(now.data(), now.data() + now.size(), out.data()));

  TrainConfig c;
  c.task = TrainTask::Denoise;
  c.corruption = CorruptionKind::Gaussian;
  c.sigmaLo = c.sigmaHi = 0.1;
  c.weightDecayL2 = 0.5;
  c.weightDecayL1 = 0.5;
  const Objective obj(c);
  Tensor noisy;
  const Tensor& x = obj.corrupt(clips, false, noisy, rng);
  obj.step(b, false, x, now, rng);
  for (std::size_t i = 0; i < 3; ++i) BOOST_TEST(b.model.grads()[Eigen::Index(off + i)] == 0);
  BOOST_TEST(b.model.grads().norm() > 0);
  nn::Adam adam(nn::AdamOptions{});
  adam.step(b.model.params(), b.model.grads());
  BOOST_TEST(b.model.params()[Eigen::Index(off)] == 1);
  BOOST_TEST(b.model.params()[Eigen::Index(off + 1)] == 0);
  BOOST_TEST(b.model.params()[Eigen::Index(off + 2)] == 0);

  s.kind = ArchKind::Dense;
  s.dense = {3072, 64};
  BOOST_CHECK_THROW(validate(s), InvalidArgument);
}

// cae-train's loop with --frames 3: the exported file reads 3 channels, writes 1 and says
// cae.frames = 3; a single-frame run writes no cae.frames (files stay as they were).
BOOST_AUTO_TEST_CASE(a_temporal_run_exports_cae_frames) {
  TempDir dir;
  TrainConfig c;
  c.data = {kData + "gravel.png", kData + "grass.png", kData + "brick.png"};
  c.patch = 32;
  c.valFraction = 0.34;
  c.valSamples = 8;
  c.arch.kind = ArchKind::Conv;
  c.arch.stem = 2;
  c.arch.width0 = 8;
  c.arch.stages = 2;
  c.arch.depth = 1;
  c.arch.maxChannels = 16;
  c.arch.skips = c.arch.residual = true;
  c.task = TrainTask::Denoise;
  c.corruption = CorruptionKind::Gaussian;
  c.sigmaLo = 5.0 / 255;
  c.sigmaHi = 50.0 / 255;
  c.frames = 3;
  c.batch = 4;
  c.epochs = 2;
  c.stepsPerEpoch = 4;
  c.threads = 1;
  c.output = dir / "temporal.onnx";
  c.recipe = "test";
  const TrainResult r = Trainer(c).run();
  BOOST_TEST(r.history.size() == 2u);
  const onnx::ModelInfo info = onnx::readModelInfo(c.output);
  BOOST_TEST(info.frames == 3);
  BOOST_TEST(onnx::readOnnxMetadata(c.output).at("cae.frames") == "3");
  cv::dnn::Net net = cv::dnn::readNetFromONNX(c.output);
  const int dims[4] = {1, 3, 32, 32};
  cv::Mat blob(4, dims, CV_32F, cv::Scalar(0.5));
  net.setInput(blob);
  const cv::Mat y = net.forward();
  BOOST_TEST(y.size[1] == 1);
  std::ifstream log(dir / "temporal.log.jsonl");
  std::string first;
  std::getline(log, first);
  BOOST_TEST(first.find("\"frames\":3") != std::string::npos);

  TrainConfig one = c;
  one.frames = 1;
  one.output = dir / "single.onnx";
  Trainer(one).run();
  BOOST_TEST(onnx::readOnnxMetadata(one.output).count("cae.frames") == 0u);
  BOOST_TEST(onnx::readModelInfo(one.output).frames == 1);

  TrainConfig whole = c;
  whole.patch = 0;
  BOOST_CHECK_THROW(Trainer(whole).run(), InvalidArgument);
  TrainConfig other = c;
  other.task = TrainTask::Anomaly;
  BOOST_CHECK_THROW(Trainer(other).run(), InvalidArgument);
}

namespace {

// The temporal U-Net of the shipped single-frame denoiser's shape, started from that model: the
// same output as OpenCV DNN gives for the file on the current frame; with temporal channels,
// those start as the file's stem features of the older frames.
void startsAsTheFileModel(int extra) {
  const std::string gray = std::string(CAE_TEST_DATA) + "/../../models/denoise-gray.onnx";
  ArchSpec s;
  s.kind = ArchKind::Conv;
  s.channels = 1;
  s.frames = 3;
  s.height = s.width = 64;
  s.stem = 2;
  s.width0 = 24;
  s.stages = 3;
  s.depth = 2;
  s.maxChannels = 96;
  s.skips = s.residual = true;
  s.temporalChannels = extra;
  BuiltModel b = buildAutoencoder(s);
  const WarmStart w = warmStart(b.model, gray);
  const std::vector<std::string> widened =
      extra ? std::vector<std::string>{"stem", "enc0"} : std::vector<std::string>{"stem"};
  BOOST_TEST(w.widened == widened, boost::test_tools::per_element());
  BOOST_TEST(w.layers > 10);

  const SequenceSource src({{gravel(), "gravel"}}, 64, ClipOptions{});
  const Tensor clips = src.fixed(2, 3);
  const Tensor& ours = b.model.forward(clips);
  const Tensor now = currentFrame(clips, 1);
  cv::dnn::Net net = cv::dnn::readNetFromONNX(gray);
  const int dims[4] = {2, 1, 64, 64};
  net.setInput(cv::Mat(4, dims, CV_32F, const_cast<float*>(now.data())));
  const cv::Mat theirs = net.forward();
  double worst = 0;
  for (std::size_t i = 0; i < ours.size(); ++i)
    worst = std::max(worst, double(std::abs(ours[i] - theirs.ptr<float>()[i])));
  BOOST_TEST_MESSAGE("largest difference to OpenCV DNN on the current frame: " << worst);
  BOOST_TEST(worst < 1e-4);
  // ... and the noise-free frames are not simply passed through: the model does something.
  BOOST_TEST(cv::norm(planeOf(ours, 0, 0), planeOf(now, 0, 0), cv::NORM_INF) > 1e-3);
  if (extra == 0) return;
  // On a still clip every frame is the same, so each frame's block of stem features is too.
  ClipOptions still;
  still.staticShare = 1;
  still.objectShare = 0;
  const Tensor same = SequenceSource({{gravel(), "gravel"}}, 64, still).fixed(1, 4);
  b.model.forward(same);
  const Tensor& stem = b.model.activation(b.model.findNode("stem"));
  BOOST_REQUIRE(stem.shape().c == 72);
  const std::size_t block = std::size_t(24) * stem.shape().plane();
  for (std::size_t j = 1; j < 3; ++j) {
    float worstStem = 0;  // up to the GEMM's summation order, which may differ by row block
    for (std::size_t i = 0; i < block; ++i)
      worstStem = std::max(worstStem, std::abs(stem[i] - stem[j * block + i]));
    BOOST_TEST(worstStem < 1e-5);
  }
}

}  // namespace

// --init: a 3-frame model started from the shipped single-frame denoiser computes exactly what
// that model computes on the current frame (older frames get zero weights); a file made for
// other layers is refused with the layer named.
BOOST_AUTO_TEST_CASE(a_temporal_model_starts_as_the_single_frame_model_it_extends) {
  for (const int extra : {0, 48}) BOOST_TEST_CONTEXT("temporal channels " << extra) {
      startsAsTheFileModel(extra);
    }
}

BOOST_AUTO_TEST_CASE(a_model_for_other_layers_is_refused) {
  const std::string gray = std::string(CAE_TEST_DATA) + "/../../models/denoise-gray.onnx";
  ArchSpec s;
  s.kind = ArchKind::Conv;
  s.channels = 1;
  s.frames = 3;
  s.height = s.width = 64;
  s.stem = 2;
  s.width0 = 24;
  s.stages = 3;
  s.depth = 2;
  s.maxChannels = 96;
  s.skips = s.residual = true;
  s.width0 = 16;
  BuiltModel other = buildAutoencoder(s);
  try {
    warmStart(other.model, gray);
    BOOST_ERROR("a file for other layers was accepted");
  } catch (const InvalidArgument& e) {
    BOOST_TEST_MESSAGE(e.what());
    BOOST_TEST(std::string(e.what()).find("'stem'") != std::string::npos);
  }
}

// --init of a model whose last node has parameters (denoise-fast: no residual add or activation
// after its output layer): the exporter names that layer "output", and warm starting finds it
// there; the model then computes what OpenCV DNN computes for the file.
BOOST_AUTO_TEST_CASE(a_model_whose_last_layer_is_the_output_warm_starts) {
  const std::string fast = std::string(CAE_TEST_DATA) + "/../../models/denoise-fast.onnx";
  ArchSpec s;
  s.kind = ArchKind::Conv;
  s.channels = 1;
  s.height = s.width = 64;
  s.stem = 4;
  s.linearStem = true;
  s.width0 = 16;
  s.stages = 2;
  s.depth = 2;
  s.maxChannels = 64;
  s.skips = true;
  BuiltModel b = buildAutoencoder(s);
  BOOST_REQUIRE(b.model.node(b.model.output()).layer->numParams() > 0);
  const WarmStart w = warmStart(b.model, fast);
  BOOST_TEST(w.widened.empty());
  BOOST_TEST(w.layers == 12);  // stem, six encoder and four decoder convolutions, the output

  ClipOptions one;
  one.frames = 1;
  const Tensor clips = SequenceSource({{gravel(), "gravel"}}, 64, one).fixed(2, 1);
  const Tensor& ours = b.model.forward(clips);
  cv::dnn::Net net = cv::dnn::readNetFromONNX(fast);
  const int dims[4] = {2, 1, 64, 64};
  net.setInput(cv::Mat(4, dims, CV_32F, const_cast<float*>(clips.data())));
  const cv::Mat theirs = net.forward();
  double worst = 0;
  for (std::size_t i = 0; i < ours.size(); ++i)
    worst = std::max(worst, double(std::abs(ours[i] - theirs.ptr<float>()[i])));
  BOOST_TEST_MESSAGE("largest difference to OpenCV DNN: " << worst);
  BOOST_TEST(worst < 1e-4);
}

// --align translation: clips rendered at a context around the patch, noised there by the
// trainer's corruption, the older frames aligned onto the current one, the centre cut.
namespace {

// Mean squared difference of planes a and b of sample 0 of t.
double msd(const Tensor& t, int a, int b) {
  const double n = cv::norm(planeOf(t, 0, a), planeOf(t, 0, b), cv::NORM_L2);
  return n * n / double(t.shape().plane());
}

// The tiny temporal U-Net of a_temporal_run_exports_cae_frames, on gravel, grass and brick.
TrainConfig tinyTemporalRun(const std::string& output) {
  TrainConfig c;
  c.data = {kData + "gravel.png", kData + "grass.png", kData + "brick.png"};
  c.patch = 32;
  c.valFraction = 0.34;
  c.valSamples = 8;
  c.arch.kind = ArchKind::Conv;
  c.arch.stem = 2;
  c.arch.width0 = 8;
  c.arch.stages = 2;
  c.arch.depth = 1;
  c.arch.maxChannels = 16;
  c.arch.skips = c.arch.residual = true;
  c.task = TrainTask::Denoise;
  c.corruption = CorruptionKind::Gaussian;
  c.sigmaLo = 5.0 / 255;
  c.sigmaHi = 50.0 / 255;
  c.frames = 3;
  c.batch = 4;
  c.epochs = 2;
  c.stepsPerEpoch = 3;
  c.threads = 1;
  c.output = output;
  c.recipe = "test";
  return c;
}

}  // namespace

// A pure pan (sub-pixel, 3.4 px/frame) rendered at the context, noised at sigma 10: aligned,
// each older frame differs from the current one by little more than the two frames' noise
// (2 sigma^2 before interpolation, less after it); unaligned, by the scene's motion.
BOOST_AUTO_TEST_CASE(aligned_older_frames_of_a_pan_agree_with_the_current_frame) {
  const Tensor img = io::readImage(kData + "astronaut.png", io::ColorMode::Gray);
  ClipMotion m;
  m.x = 150.3;
  m.y = 140.6;
  m.dx = 3.4;
  m.dy = -2.3;
  const Tensor clean = clipOf(img, m, 3, kAlignContext);
  TrainConfig c;
  c.task = TrainTask::Denoise;
  c.corruption = CorruptionKind::Gaussian;
  c.sigmaLo = c.sigmaHi = 10.0 / 255;
  const Objective obj(c);
  nn::Rng rng(3);
  Tensor noisy;
  obj.corrupt(clean, false, noisy, rng);
  const Tensor unaligned = centrePatch(noisy, 64);
  Tensor aligned = noisy;
  alignFrames(aligned, 1);
  aligned = centrePatch(aligned, 64);
  BOOST_TEST(aligned.shape().str() == (Shape{1, 3, 64, 64}).str());
  // The current frame is untouched, and it is the centre of the rendered one.
  BOOST_TEST(
      std::equal(aligned.data(), aligned.data() + aligned.shape().plane(), unaligned.data()));
  BOOST_TEST(unaligned.at(0, 0, 0, 0) == noisy.at(0, 0, 64, 64));
  const double noise = 2 * c.sigmaHi * c.sigmaHi;
  for (int j = 1; j < 3; ++j) {
    BOOST_TEST_CONTEXT("frame " << j) {
      BOOST_TEST_MESSAGE("mean squared difference to the current frame, aligned "
                         << msd(aligned, 0, j) << ", unaligned " << msd(unaligned, 0, j)
                         << ", noise alone " << noise);
      BOOST_TEST(msd(aligned, 0, j) < 1.2 * noise);
      BOOST_TEST(msd(unaligned, 0, j) > 4 * msd(aligned, 0, j));
    }
  }
  // A still clip stays as it was: nothing to undo.
  Tensor still = clipOf(img, ClipMotion{150, 140}, 3, kAlignContext);
  const Tensor before = still;
  alignFrames(still, 1);
  BOOST_TEST(std::equal(still.data(), still.data() + still.size(), before.data()));
  BOOST_CHECK_THROW(alignFrames(still, 2), InvalidArgument);
  BOOST_CHECK_THROW(centrePatch(still, 193), InvalidArgument);
}

// With a context, clips come at the context size, and the moving object is placed around the
// centre patch (at least half of it inside in the current frame), so that the model sees it.
BOOST_AUTO_TEST_CASE(clips_with_a_context_keep_the_object_in_the_centre_patch) {
  ClipOptions o;
  o.objectShare = 1;
  o.context = 128;
  const SequenceSource src({{gravel(), "gravel"}}, 32, o);
  BOOST_TEST(src.renderSize() == 128);
  nn::Rng rng(5);
  Tensor batch;
  src.next(2, rng, batch);
  BOOST_TEST(batch.shape().str() == (Shape{2, 3, 128, 128}).str());
  for (int i = 0; i < 200; ++i) {
    const ClipMotion m = src.drawMotion(gravel(), rng);
    const double cx = m.objectX + m.objectW / 2.0, cy = m.objectY + m.objectH / 2.0;
    BOOST_TEST((cx >= 48 && cx <= 80 && cy >= 48 && cy <= 80));
  }
  o.context = 16;
  BOOST_CHECK_THROW(SequenceSource({{gravel(), "gravel"}}, 32, o), InvalidArgument);
  o.context = 600;  // larger than the image
  BOOST_CHECK_THROW(SequenceSource({{gravel(), "gravel"}}, 32, o), InvalidArgument);
}

// cae-train --align translation end to end: the validation loss is the same in two runs (the
// alignment is deterministic), the file says cae.align = translation and the log says so; an
// unaligned temporal model writes no cae.align; --align or --clip-context without --frames, and
// a context smaller than the patch, are refused.
BOOST_AUTO_TEST_CASE(an_aligned_run_is_deterministic_and_exports_cae_align) {
  TempDir dir;
  TrainConfig c = tinyTemporalRun(dir / "aligned.onnx");
  c.align = AlignKind::Translation;
  const TrainResult a = Trainer(c).run();
  TrainConfig again = c;
  again.output = dir / "again.onnx";
  const TrainResult b = Trainer(again).run();
  BOOST_REQUIRE(a.history.size() == 2u);
  BOOST_REQUIRE(b.history.size() == 2u);
  for (std::size_t e = 0; e < 2; ++e) BOOST_TEST(a.history[e].valLoss == b.history[e].valLoss);
  BOOST_TEST(onnx::readOnnxMetadata(c.output).at("cae.align") == "translation");
  const onnx::ModelInfo info = onnx::readModelInfo(c.output);
  BOOST_TEST(info.align == "translation");
  BOOST_TEST(info.frames == 3);
  std::ifstream log(dir / "aligned.log.jsonl");
  std::string first;
  std::getline(log, first);
  BOOST_TEST(first.find("\"align\":\"translation\"") != std::string::npos);
  BOOST_TEST(first.find("\"clip_context\":192") != std::string::npos);
  BOOST_TEST(first.find("\"sample_shape\":[1,32,32]") != std::string::npos);

  TrainConfig plain = tinyTemporalRun(dir / "plain.onnx");
  plain.epochs = 1;
  plain.clipContext = 96;  // rendered larger, centre cut, not aligned
  Trainer(plain).run();
  BOOST_TEST(onnx::readOnnxMetadata(plain.output).count("cae.align") == 0u);
  BOOST_TEST(onnx::readModelInfo(plain.output).align == "none");

  TrainConfig single = c;
  single.frames = 1;
  try {
    Trainer(single).run();
    BOOST_ERROR("--align without --frames was accepted");
  } catch (const InvalidArgument& e) {
    BOOST_TEST_MESSAGE(e.what());
    BOOST_TEST(std::string(e.what()).find("--frames") != std::string::npos);
  }
  single.align = AlignKind::None;
  single.clipContext = 96;
  BOOST_CHECK_THROW(Trainer(single).run(), InvalidArgument);
  TrainConfig narrow = c;
  narrow.clipContext = 16;
  BOOST_CHECK_THROW(Trainer(narrow).run(), InvalidArgument);
}

// Stream starts (--no-history-share, --partial-history-share): clips fed as caedenoise feeds a
// stream with no history or one older frame kept (core/infer/frame_history.hpp).
namespace {

// {n, frames * channels, 4, 4} with every value different.
Tensor numbered(int n, int frames, int channels) {
  Tensor t(Shape{n, frames * channels, 4, 4});
  for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = float(i);
  return t;
}

// Whether frame j of sample n of t ({N, K*channels, H, W}) equals frame i of sample n of u.
bool sameFrame(const Tensor& t, int n, int j, const Tensor& u, int i, int channels) {
  const std::size_t f = std::size_t(channels) * t.shape().plane();
  return std::equal(t.sample(n) + j * f, t.sample(n) + (j + 1) * f, u.sample(n) + i * f);
}

}  // namespace

// kept 0 copies the current frame into every older place, kept 1 the first older frame into
// the places after it, channel by channel; other samples and the kept frames are untouched.
BOOST_AUTO_TEST_CASE(dropping_history_copies_the_kept_frame_into_the_older_places) {
  const Tensor before = numbered(3, 3, 2);
  Tensor t = before;
  dropHistory(t, 2, 1, 0);
  dropHistory(t, 2, 2, 1);
  for (int j = 0; j < 3; ++j) BOOST_TEST(sameFrame(t, 0, j, before, j, 2));
  for (int j = 0; j < 3; ++j) BOOST_TEST(sameFrame(t, 1, j, before, 0, 2));
  BOOST_TEST(sameFrame(t, 2, 0, before, 0, 2));
  BOOST_TEST(sameFrame(t, 2, 1, before, 1, 2));
  BOOST_TEST(sameFrame(t, 2, 2, before, 1, 2));
  BOOST_TEST(!sameFrame(t, 2, 2, before, 2, 2));
  Tensor kept = before;
  dropHistory(kept, 2, 0, 2);  // the oldest frame kept: nothing to replace
  BOOST_TEST(std::equal(kept.data(), kept.data() + kept.size(), before.data()));
  BOOST_CHECK_THROW(dropHistory(t, 4, 0, 0), InvalidArgument);
  BOOST_CHECK_THROW(dropHistory(t, 2, 3, 0), InvalidArgument);
  BOOST_CHECK_THROW(dropHistory(t, 2, 0, -1), InvalidArgument);
}

// Drawn per clip: about `none` of the clips lose all history, about `partial` keep one older
// frame, the rest are untouched; two-frame clips have no partial case; zero shares draw nothing.
BOOST_AUTO_TEST_CASE(stream_starts_come_in_their_shares) {
  const Tensor before = numbered(2000, 3, 1);
  Tensor t = before;
  nn::Rng rng(8);
  const int changed = simulateStreamStarts(t, 1, 0.15, 0.1, rng);
  int none = 0, partial = 0, untouched = 0;
  for (int n = 0; n < 2000; ++n) {
    if (sameFrame(t, n, 1, before, 0, 1) && sameFrame(t, n, 2, before, 0, 1))
      ++none;
    else if (sameFrame(t, n, 1, before, 1, 1) && sameFrame(t, n, 2, before, 1, 1))
      ++partial;
    else if (sameFrame(t, n, 1, before, 1, 1) && sameFrame(t, n, 2, before, 2, 1))
      ++untouched;
    BOOST_TEST(sameFrame(t, n, 0, before, 0, 1));
  }
  BOOST_TEST_MESSAGE("no history " << none << ", one frame kept " << partial << ", untouched "
                                   << untouched);
  BOOST_TEST(none + partial + untouched == 2000);
  BOOST_TEST(changed == none + partial);
  BOOST_TEST(std::abs(none - 300) < 60);
  BOOST_TEST(std::abs(partial - 200) < 50);

  Tensor pairs = numbered(500, 2, 1);
  const Tensor pairsBefore = pairs;
  const int twoFrames = simulateStreamStarts(pairs, 1, 0, 1, rng);
  BOOST_TEST(twoFrames == 0);  // one older frame: nothing partial about it
  BOOST_TEST(std::equal(pairs.data(), pairs.data() + pairs.size(), pairsBefore.data()));
  Tensor same = before;
  BOOST_TEST(simulateStreamStarts(same, 1, 0, 0, rng) == 0);
  BOOST_TEST(std::equal(same.data(), same.data() + same.size(), before.data()));
}

// Five-frame clips: a partial start keeps 1, 2 or 3 older frames, each about equally often, and
// the places older than the kept ones repeat the oldest kept.
BOOST_AUTO_TEST_CASE(partial_starts_of_longer_clips_keep_one_to_k_minus_2_frames) {
  const Tensor before = numbered(1500, 5, 1);
  Tensor t = before;
  nn::Rng rng(9);
  BOOST_TEST(simulateStreamStarts(t, 1, 0, 1, rng) == 1500);
  std::array<int, 5> keptCount{};
  for (int n = 0; n < 1500; ++n) {
    int kept = 4;
    while (kept > 0 && !sameFrame(t, n, kept, before, kept, 1)) --kept;
    for (int j = 0; j <= kept; ++j) BOOST_TEST(sameFrame(t, n, j, before, j, 1));
    for (int j = kept + 1; j < 5; ++j) BOOST_TEST(sameFrame(t, n, j, before, kept, 1));
    ++keptCount[std::size_t(kept)];
  }
  BOOST_TEST_MESSAGE("kept 1/2/3: " << keptCount[1] << " " << keptCount[2] << " " << keptCount[3]);
  BOOST_TEST(keptCount[0] == 0);
  BOOST_TEST(keptCount[4] == 0);
  for (int k = 1; k <= 3; ++k) BOOST_TEST(std::abs(keptCount[std::size_t(k)] - 500) < 80);
}

// A temporal run with stream starts reports the validation loss with no history beside the
// usual one (which stays deterministic: the shares only touch training batches); shares that
// do not fit are refused.
BOOST_AUTO_TEST_CASE(a_run_with_stream_starts_reports_the_no_history_loss) {
  TempDir dir;
  TrainConfig c = tinyTemporalRun(dir / "starts.onnx");
  c.noHistoryShare = 0.5;
  c.partialHistoryShare = 0.25;
  const TrainResult a = Trainer(c).run();
  TrainConfig none = c;
  none.output = dir / "none.onnx";
  none.noHistoryShare = none.partialHistoryShare = 0;
  const TrainResult b = Trainer(none).run();
  BOOST_TEST(a.metricsJson.find("\"val_loss_no_history\"") != std::string::npos);
  BOOST_TEST(a.summary.find("no history") != std::string::npos);
  // Training differs (the shares changed the batches), the validation set does not.
  BOOST_REQUIRE(a.history.size() == 2u);
  BOOST_TEST(a.history[0].valLoss != b.history[0].valLoss);

  TrainConfig bad = c;
  bad.noHistoryShare = 0.8;
  bad.partialHistoryShare = 0.3;
  BOOST_CHECK_THROW(Trainer(bad).run(), InvalidArgument);
  bad.noHistoryShare = -0.1;
  bad.partialHistoryShare = 0;
  BOOST_CHECK_THROW(Trainer(bad).run(), InvalidArgument);
}
