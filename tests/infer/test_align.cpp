#define BOOST_TEST_MODULE infer_align
#include <boost/test/unit_test.hpp>

// core/infer/align: global translation between noisy frames of real photographs
// (python3-skimage), as a panning camera makes them, estimated and undone.

#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>

#include "error.hpp"
#include "infer/align.hpp"

namespace {

const std::string kImages = "/usr/lib/python3/dist-packages/skimage/data/";

cv::Mat gray(const std::string& name) {
  const cv::Mat im = cv::imread(kImages + name, cv::IMREAD_GRAYSCALE);
  BOOST_TEST_REQUIRE(!im.empty(), "cannot read " << kImages << name << " (python3-skimage)");
  cv::Mat f;
  im.convertTo(f, CV_32F, 1.0 / 255);
  return f;
}

// A w x h view of `img` whose top-left sits at (x, y) (sub-pixel, bicubic), plus Gaussian noise.
cv::Mat view(const cv::Mat& img, double x, double y, int w, int h, double sigma, int seed) {
  cv::Mat out, noise(h, w, CV_32F);
  cv::warpAffine(img, out, cv::Matx23d(1, 0, x, 0, 1, y), cv::Size(w, h),
                 cv::INTER_CUBIC | cv::WARP_INVERSE_MAP, cv::BORDER_REFLECT_101);
  cv::RNG rng(seed);
  rng.fill(noise, cv::RNG::NORMAL, 0, sigma);
  return out + noise;
}

double rmsInside(const cv::Mat& a, const cv::Mat& b, int border) {
  const cv::Rect r(border, border, a.cols - 2 * border, a.rows - 2 * border);
  return cv::norm(a(r), b(r), cv::NORM_L2) / std::sqrt(double(r.area()));
}

}  // namespace

BOOST_AUTO_TEST_CASE(finds_a_pan_between_noisy_frames_and_undoes_it) {
  const cv::Mat img = gray("astronaut.png");
  for (double sigma : {0.0, 25.0 / 255, 50.0 / 255}) {
    BOOST_TEST_CONTEXT("sigma " << sigma * 255) {
      // The camera moved by (+3.4, -2.25) px since the older frame: the older frame shows at
      // (u - 3.4, v + 2.25) what the current one shows at (u, v).
      const cv::Mat current = view(img, 100, 120, 320, 240, sigma, 1);
      const cv::Mat older = view(img, 103.4, 117.75, 320, 240, sigma, 2);
      const cae::infer::Shift s = cae::infer::estimateShift(current, older);
      BOOST_TEST(s.found);
      BOOST_TEST_MESSAGE("response " << s.response);
      BOOST_TEST(std::abs(s.dx + 3.4) < 0.3, "dx " << s.dx << " response " << s.response);
      BOOST_TEST(std::abs(s.dy - 2.25) < 0.3, "dy " << s.dy);
      cv::Mat aligned;
      cae::infer::applyShift(older, s, aligned);
      const cv::Mat cleanNow = view(img, 100, 120, 320, 240, 0, 0);
      const cv::Mat cleanOld = view(img, 103.4, 117.75, 320, 240, 0, 0);
      cv::Mat cleanAligned;
      cae::infer::applyShift(cleanOld, s, cleanAligned);
      // Aligned, the clean content agrees to a few levels; unaligned it does not.
      BOOST_TEST(rmsInside(cleanAligned, cleanNow, 8) < 0.02);
      BOOST_TEST(rmsInside(cleanOld, cleanNow, 8) > 0.05);
      BOOST_TEST(aligned.size() == older.size());
    }
  }
}

BOOST_AUTO_TEST_CASE(a_still_camera_gives_no_shift) {
  const cv::Mat img = gray("camera.png");
  const cae::infer::Shift s = cae::infer::estimateShift(view(img, 50, 60, 256, 192, 0.1, 3),
                                                        view(img, 50, 60, 256, 192, 0.1, 4));
  BOOST_TEST(s.found);
  BOOST_TEST(std::hypot(s.dx, s.dy) < 0.1);
}

BOOST_AUTO_TEST_CASE(unrelated_frames_are_left_where_they_are) {
  // Pure noise against pure noise, and a flat frame: no common structure, no trusted shift.
  cv::Mat a(120, 160, CV_32F), b(120, 160, CV_32F);
  cv::RNG rng(5);
  rng.fill(a, cv::RNG::NORMAL, 0.5, 0.2);
  rng.fill(b, cv::RNG::NORMAL, 0.5, 0.2);
  const cae::infer::Shift s = cae::infer::estimateShift(a, b);
  BOOST_TEST(!s.found, "response " << s.response);
  BOOST_TEST(s.dx == 0);
  BOOST_TEST(s.dy == 0);
  cv::Mat out;
  cae::infer::applyShift(b, s, out);
  BOOST_TEST(cv::norm(out, b, cv::NORM_INF) == 0);
  // A flat frame against another flat frame: nothing moved that could be seen.
  const cv::Mat flat(120, 160, CV_32F, cv::Scalar(0.5)), flat2(120, 160, CV_32F, cv::Scalar(0.7));
  const cae::infer::Shift f = cae::infer::estimateShift(flat, flat2);
  BOOST_TEST(std::hypot(f.dx, f.dy) < 0.5, f.dx << ", " << f.dy);
}

BOOST_AUTO_TEST_CASE(a_shift_too_long_is_not_trusted) {
  const cv::Mat img = gray("astronaut.png");
  const cae::infer::Shift s = cae::infer::estimateShift(view(img, 100, 100, 256, 256, 0, 0),
                                                        view(img, 150, 100, 256, 256, 0, 0));
  BOOST_TEST(!s.found);  // 50 px > kMaxShift
}

BOOST_AUTO_TEST_CASE(bad_inputs_are_refused) {
  const cv::Mat a(64, 64, CV_32F, cv::Scalar(0)), small(8, 8, CV_32F, cv::Scalar(0));
  const cv::Mat u8(64, 64, CV_8U, cv::Scalar(0)), other(64, 65, CV_32F, cv::Scalar(0));
  BOOST_CHECK_THROW(cae::infer::estimateShift(a, u8), cae::InvalidArgument);
  BOOST_CHECK_THROW(cae::infer::estimateShift(a, other), cae::InvalidArgument);
  BOOST_CHECK_THROW(cae::infer::estimateShift(small, small), cae::InvalidArgument);
}
