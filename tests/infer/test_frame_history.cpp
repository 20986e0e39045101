#define BOOST_TEST_MODULE infer_frame_history
#include <boost/test/unit_test.hpp>

// core/infer/frame_history and runPlanes' workspace: the older frames a temporal model reads
// (kept in order, repeated where missing, aligned onto the current frame on a real panned
// sequence), a stream's output through the workspace against fresh starts, and steady-state
// frames that reuse the blobs instead of allocating them.

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "error.hpp"
#include "infer/engine.hpp"
#include "infer/frame_history.hpp"
#include "infer/planes.hpp"
#include "nn/layers/conv2d.hpp"
#include "nn/rng.hpp"
#include "onnx/export.hpp"
#include "onnx/onnx_util.hpp"
#include "train/architecture.hpp"

namespace infer = cae::infer;
using cae::PlaneView;
using cae::test::scratch;

namespace {

const std::string kImages = "/usr/lib/python3/dist-packages/skimage/data/";

cv::Mat grayF(const std::string& name) {
  const cv::Mat im = cv::imread(kImages + name, cv::IMREAD_GRAYSCALE);
  BOOST_TEST_REQUIRE(!im.empty(), "cannot read " << kImages << name << " (python3-skimage)");
  cv::Mat f;
  im.convertTo(f, CV_32F, 1.0 / 255);
  return f;
}

// A w x h view of img whose top-left sits at (x, y) (sub-pixel, bicubic) plus Gaussian noise:
// a camera panning over a photograph.
cv::Mat view(const cv::Mat& img, double x, double y, int w, int h, double sigma, int seed) {
  cv::Mat out, noise(h, w, CV_32F);
  cv::warpAffine(img, out, cv::Matx23d(1, 0, x, 0, 1, y), cv::Size(w, h),
                 cv::INTER_CUBIC | cv::WARP_INVERSE_MAP, cv::BORDER_REFLECT_101);
  cv::RNG rng(seed);
  rng.fill(noise, cv::RNG::NORMAL, 0, sigma);
  return out + noise;
}

cv::Mat blob4(int n, int c, int h, int w) {
  const int sz[4] = {n, c, h, w};
  return cv::Mat(4, sz, CV_32F, cv::Scalar(0));
}

cv::Mat plane(const cv::Mat& blob, int n, int c) {
  return cv::Mat(blob.size[2], blob.size[3], CV_32F, const_cast<float*>(blob.ptr<float>(n, c)));
}

double rmsInside(const cv::Mat& a, const cv::Mat& b, int border) {
  const cv::Rect r(border, border, a.cols - 2 * border, a.rows - 2 * border);
  return cv::norm(a(r), b(r), cv::NORM_L2) / std::sqrt(double(r.area()));
}

double maxDiff(const cv::Mat& a, const cv::Mat& b) { return cv::norm(a, b, cv::NORM_INF); }

// A gray temporal denoiser with random weights (cae.frames = 3, seeded), cae.align as given.
std::string temporalModel(const std::string& align) {
  std::string path = scratch().file("temporal_" + align + ".onnx");
  if (std::filesystem::exists(path)) return path;
  cae::train::ArchSpec s;
  s.kind = cae::train::ArchKind::Conv;
  s.channels = 1;
  s.frames = 3;
  s.height = s.width = 32;
  s.stem = 2;
  s.stages = 2;
  s.depth = 1;
  s.width0 = 8;
  s.skips = s.residual = true;
  cae::nn::Model m = cae::train::buildAutoencoder(s).model;
  cae::nn::Rng rng(7);
  for (Eigen::Index i = 0; i < m.params().size(); ++i) m.params()[i] = rng.uniform(-0.2f, 0.2f);
  cae::onnx::ExportOptions o;
  o.task = cae::onnx::Task::Denoise;
  o.format = "GRAY8";
  o.extra[cae::onnx::key::kFrames] = "3";
  o.extra[cae::onnx::key::kAlign] = align;
  cae::onnx::exportOnnx(m, path, o);
  return path;
}

// A gray single-frame denoiser with random weights.
std::string singleModel() {
  std::string path = scratch().file("single.onnx");
  if (std::filesystem::exists(path)) return path;
  cae::train::ArchSpec s;
  s.kind = cae::train::ArchKind::Conv;
  s.channels = 1;
  s.height = s.width = 32;
  s.stem = 2;
  s.stages = 2;
  s.depth = 1;
  s.width0 = 8;
  s.skips = s.residual = true;
  cae::nn::Model m = cae::train::buildAutoencoder(s).model;
  cae::nn::Rng rng(3);
  for (Eigen::Index i = 0; i < m.params().size(); ++i) m.params()[i] = rng.uniform(-0.2f, 0.2f);
  cae::onnx::ExportOptions o;
  o.task = cae::onnx::Task::Denoise;
  o.format = "GRAY8";
  cae::onnx::exportOnnx(m, path, o);
  return path;
}

infer::EngineOptions opts(const std::string& model, infer::Backend b) {
  infer::EngineOptions o;
  o.model = model;
  o.backend = b;
  o.task = cae::onnx::Task::Denoise;
  return o;
}

std::vector<infer::Backend> backends() {
  std::vector<infer::Backend> v = {infer::Backend::OpenCV};
  if (infer::available(infer::Backend::OneDNN, infer::Target::Cpu))
    v.push_back(infer::Backend::OneDNN);
  return v;
}

// An I420-like frame of real pixels: Y w x h and two half-size chroma planes, 8-bit, noisy.
struct Frame {
  std::vector<cv::Mat> planes;
  std::vector<PlaneView> views() {
    std::vector<PlaneView> v;
    for (cv::Mat& p : planes) v.push_back({p.data, p.cols, p.rows, int(p.step[0]), 1, 8});
    return v;
  }
};

Frame yuvFrame(int w, int h, int t) {
  const cv::Mat img = grayF("astronaut.png");
  Frame f;
  for (int k = 0; k < 3; ++k) {
    const int pw = k == 0 ? w : (w + 1) / 2, ph = k == 0 ? h : (h + 1) / 2;
    cv::Mat v = view(img, 60 + 40 * k + t, 80 + 30 * k, pw, ph, 20.0 / 255, 100 * t + k), b;
    v.convertTo(b, CV_8U, 255);
    f.planes.push_back(b);
  }
  return f;
}

Frame blankLike(const Frame& f) {
  Frame o;
  for (const cv::Mat& p : f.planes) o.planes.emplace_back(p.size(), CV_8U, cv::Scalar(0));
  return o;
}

}  // namespace

// Frames go in newest first; where fewer than K-1 are kept, the oldest kept repeats, and the
// current frame stands in while none is; clear() forgets them.
BOOST_AUTO_TEST_CASE(history_gives_the_last_frames_newest_first_and_repeats_the_oldest) {
  const cv::Mat img = grayF("camera.png");
  std::vector<cv::Mat> frames;
  frames.reserve(4);
  for (int t = 0; t < 4; ++t) frames.push_back(view(img, 10 * t, 5 * t, 40, 30, 0.05, t));
  infer::FrameHistory h;
  h.configure(2, 1, 1, 30, 40);
  cv::Mat blob = blob4(1, 3, 30, 40);
  auto stackOf = [&](int t) {
    frames[std::size_t(t)].copyTo(plane(blob, 0, 0));
    h.fill(blob, {});
  };
  auto expect = [&](int t, int a, int b) {
    BOOST_TEST(maxDiff(plane(blob, 0, 0), frames[std::size_t(t)]) == 0, "frame " << t);
    BOOST_TEST(maxDiff(plane(blob, 0, 1), frames[std::size_t(a)]) == 0, "frame " << t);
    BOOST_TEST(maxDiff(plane(blob, 0, 2), frames[std::size_t(b)]) == 0, "frame " << t);
  };
  stackOf(0);
  expect(0, 0, 0);  // no history: the current frame everywhere
  h.push(blob);
  stackOf(1);
  expect(1, 0, 0);  // one frame kept: it repeats
  h.push(blob);
  stackOf(2);
  expect(2, 1, 0);
  h.push(blob);
  stackOf(3);
  expect(3, 2, 1);  // the oldest (frame 0) dropped
  BOOST_TEST(h.size() == 2);
  BOOST_TEST(maxDiff(h.plane(1, 0, 0), frames[2]) == 0);
  h.clear();
  BOOST_TEST(h.size() == 0);
  stackOf(3);
  expect(3, 3, 3);
  BOOST_CHECK_THROW(h.fill(blob, std::vector<infer::Shift>(1)), cae::InvalidArgument);
  BOOST_CHECK_THROW(h.push(blob4(1, 2, 30, 40)), cae::InvalidArgument);
  BOOST_CHECK_THROW(h.configure(-1, 1, 1, 30, 40), cae::InvalidArgument);
}

// A camera panning over a real photograph (2.6 px right, 1.3 px up per frame), sigma 25: the
// older frames, aligned onto the current one by the shifts estimated on the noisy frames, show
// what it shows (their clean versions within 2 % RMS inside a margin), where unaligned they
// are far off. Images of several planes (as R, G, B through a gray model) share one shift.
BOOST_AUTO_TEST_CASE(aligned_history_agrees_with_the_current_frame_on_a_panned_sequence) {
  const cv::Mat img = grayF("astronaut.png");
  const int w = 320, h = 240;
  const double vx = 2.6, vy = -1.3, sigma = 25.0 / 255;
  for (int images : {1, 3}) {
    BOOST_TEST_CONTEXT(images << " image(s)") {
      infer::FrameHistory hist;
      hist.configure(2, images, 1, h, w);
      cv::Mat blob = blob4(images, 3, h, w);
      for (int t = 0; t < 3; ++t) {
        for (int n = 0; n < images; ++n)
          view(img, 50 + vx * t + 7 * n, 120 + vy * t, w, h, sigma, 10 * t + n)
              .copyTo(plane(blob, n, 0));
        if (t < 2) hist.push(blob);
      }
      std::vector<infer::Shift> shifts;
      hist.estimateShifts(blob, shifts);
      BOOST_TEST_REQUIRE(shifts.size() == 2u);
      for (int j = 1; j <= 2; ++j) {
        BOOST_TEST(shifts[std::size_t(j - 1)].found);
        // The older frame shows at (u + j vx, v + j vy) what the current one shows at (u, v).
        const infer::Shift& sj = shifts[std::size_t(j - 1)];
        BOOST_TEST(std::abs(sj.dx - j * vx) < 0.3, "older frame " << j << ": dx " << sj.dx);
        BOOST_TEST(std::abs(sj.dy - j * vy) < 0.3, "older frame " << j << ": dy " << sj.dy);
      }
      cv::Mat aligned = blob.clone(), unaligned = blob.clone();
      hist.fill(aligned, shifts);
      hist.fill(unaligned, {});
      for (int n = 0; n < images; ++n) {
        const cv::Mat clean = view(img, 50 + vx * 2 + 7 * n, 120 + vy * 2, w, h, 0, 0);
        for (int j = 1; j <= 2; ++j) {
          // The noise of the older frame stays (sigma 0.098, smoothed a little by the bicubic
          // shift): measured against the clean current frame, the aligned frame is at the
          // noise's level, the unaligned one well above it.
          const double a = rmsInside(plane(aligned, n, j), clean, 12);
          const double u = rmsInside(plane(unaligned, n, j), clean, 12);
          BOOST_TEST_MESSAGE("image " << n << " older frame " << j << ": RMS to the clean current "
                                      << "frame aligned " << a << ", unaligned " << u);
          BOOST_TEST(a < sigma * 1.02);
          BOOST_TEST(u > a + 0.02);
        }
      }
    }
  }
  // Scaled for a plane of half the size (chroma).
  const infer::Shift s = infer::scaleShift({4.0, -2.0, 0.5, true}, 0.5, 0.5);
  BOOST_TEST(s.dx == 2.0);
  BOOST_TEST(s.dy == -1.0);
  BOOST_TEST(s.found);
}

// Frames of one layout through one workspace: the input and output blobs keep their memory from
// the second frame on (nothing large is allocated per frame), and a single-frame model's pixels
// are those of runPlanes without a workspace.
BOOST_AUTO_TEST_CASE(steady_state_frames_reuse_the_blobs) {
  for (infer::Backend b : backends()) {
    for (const std::string& model : {singleModel(), temporalModel("none")}) {
      BOOST_TEST_CONTEXT(infer::backendName(b) << " " << model) {
        infer::Engine e(opts(model, b));
        infer::PlaneWorkspace w;
        std::vector<const void*> in, out;
        for (int t = 0; t < 3; ++t) {
          Frame f = yuvFrame(64, 48, t), got = blankLike(f), fresh = blankLike(f);
          infer::runPlanes(e, w, f.views(), got.views(), 1.0);
          BOOST_TEST_REQUIRE(w.groups() == 2u);  // Y; U and V
          if (t == 0) {
            for (std::size_t g = 0; g < 2; ++g) {
              in.push_back(w.input(g).data);
              out.push_back(w.output(g).data);
            }
            BOOST_TEST(w.input(0).size[1] == e.framesIn());
            BOOST_TEST(w.input(1).size[0] == 2);  // U and V in one batch
          }
          for (std::size_t g = 0; g < 2; ++g) {
            BOOST_TEST(static_cast<const void*>(w.input(g).data) == in[g], "frame " << t);
            BOOST_TEST(static_cast<const void*>(w.output(g).data) == out[g], "frame " << t);
          }
          BOOST_TEST(w.historySize() == std::min(t + 1, e.framesIn() - 1));
          if (e.framesIn() == 1) {
            infer::runPlanes(e, f.views(), fresh.views(), 1.0);
            for (std::size_t k = 0; k < 3; ++k)
              BOOST_TEST(cv::norm(got.planes[k], fresh.planes[k], cv::NORM_INF) == 0);
          }
        }
      }
    }
  }
}

// A temporal model through a workspace: from the second frame on the history changes the
// output; after forget(), and after a change of frame size, the output is what a fresh start
// gives (bit for bit); strength 0 copies the input and still puts the frame into the history.
BOOST_AUTO_TEST_CASE(a_workspace_stream_restarts_exactly_like_a_fresh_start) {
  for (infer::Backend b : backends()) {
    for (const std::string align : {"none", "translation"}) {
      BOOST_TEST_CONTEXT(infer::backendName(b) << " align " << align) {
        infer::Engine e(opts(temporalModel(align), b));
        BOOST_TEST_REQUIRE(e.framesIn() == 3);
        infer::PlaneWorkspace w;
        auto fresh = [&](Frame& f) {
          Frame o = blankLike(f);
          infer::runPlanes(e, f.views(), o.views(), 1.0);
          return o;
        };
        auto same = [](const Frame& a, const Frame& c) {
          double m = 0;
          for (std::size_t k = 0; k < a.planes.size(); ++k)
            m = std::max(m, cv::norm(a.planes[k], c.planes[k], cv::NORM_INF));
          return m == 0;
        };
        Frame f0 = yuvFrame(96, 64, 0), o0 = blankLike(f0);
        infer::runPlanes(e, w, f0.views(), o0.views(), 1.0);
        BOOST_TEST(same(o0, fresh(f0)));  // the first frame: no history
        Frame f1 = yuvFrame(96, 64, 1), o1 = blankLike(f1);
        infer::runPlanes(e, w, f1.views(), o1.views(), 0.0);  // strength 0: the input, exactly
        BOOST_TEST(same(o1, f1));
        BOOST_TEST(w.historySize() == 2);
        Frame f2 = yuvFrame(96, 64, 2), o2 = blankLike(f2);
        infer::runPlanes(e, w, f2.views(), o2.views(), 1.0);
        BOOST_TEST(!same(o2, fresh(f2)));  // the history is read
        w.forget();
        BOOST_TEST(w.historySize() == 0);
        Frame f3 = yuvFrame(96, 64, 3), o3 = blankLike(f3);
        infer::runPlanes(e, w, f3.views(), o3.views(), 1.0);
        BOOST_TEST(same(o3, fresh(f3)));
        Frame g = yuvFrame(80, 60, 4), og = blankLike(g);  // another size: a new history
        infer::runPlanes(e, w, g.views(), og.views(), 1.0);
        BOOST_TEST(same(og, fresh(g)));
        BOOST_TEST(w.historySize() == 1);
      }
    }
  }
}
