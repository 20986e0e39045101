#define BOOST_TEST_MODULE anomaly_maps
#include <boost/test/unit_test.hpp>

// core/anomaly: anomaly maps (L2, 1 - SSIM), smoothing, frame scores, connected regions and
// calibration. Hand-computed values on tiny images; the SSIM map on a crop of skimage's
// brick.png (python3-skimage) with pasted defects.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <numeric>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <string>
#include <vector>

#include "anomaly/alarm.hpp"
#include "anomaly/calibration.hpp"
#include "anomaly/defects.hpp"
#include "anomaly/maps.hpp"
#include "anomaly/overlay.hpp"
#include "anomaly/regions.hpp"
#include "anomaly/score.hpp"
#include "error.hpp"
#include "infer/engine.hpp"

using namespace cae;
using namespace cae::anomaly;
namespace tt = boost::test_tools;

namespace {

ImageView view(const std::vector<float>& v, int w, int h, int c = 1, int stride = 0) {
  return ImageView{v.data(), w, h, c, stride};
}
ImageView view(const cv::Mat& m) {
  return ImageView{m.ptr<float>(), m.cols, m.rows, m.channels(), int(m.step1())};
}

ScoreMap mapOf(int w, int h, std::vector<float> v) {
  ScoreMap m;
  m.width = w;
  m.height = h;
  m.data = std::move(v);
  return m;
}

double mean(const ScoreMap& m) {
  return std::accumulate(m.data.begin(), m.data.end(), 0.0) / double(m.data.size());
}

// Mean of the map over a rectangle.
double meanIn(const ScoreMap& m, cv::Rect r) {
  double s = 0;
  for (int y = r.y; y < r.y + r.height; ++y)
    for (int x = r.x; x < r.x + r.width; ++x) s += m.at(x, y);
  return s / double(r.area());
}

template <class F>
void checkThrowsWith(F&& f, const std::string& words) {
  try {
    f();
    BOOST_ERROR("no InvalidArgument; expected one mentioning '" << words << "'");
  } catch (const InvalidArgument& e) {
    BOOST_CHECK_MESSAGE(std::string(e.what()).find(words) != std::string::npos,
                        "message '" << e.what() << "' lacks '" << words << "'");
  }
}

// A 128x128 crop of brick.png in [0, 1].
cv::Mat brick() {
  const cv::Mat img =
      cv::imread("/usr/lib/python3/dist-packages/skimage/data/brick.png", cv::IMREAD_GRAYSCALE);
  BOOST_REQUIRE_MESSAGE(!img.empty(), "python3-skimage's brick.png is missing");
  cv::Mat f;
  img(cv::Rect(64, 64, 128, 128)).convertTo(f, CV_32F, 1.0 / 255);
  return f;
}

}  // namespace

BOOST_AUTO_TEST_CASE(l2_map_by_hand) {
  // 2x2, two channels, input rows padded to a stride of 5 floats.
  const std::vector<float> in = {0.0f, 1.0f, 0.5f, 0.5f, 9.0f,  //
                                 1.0f, 1.0f, 0.2f, 0.4f, 9.0f};
  const std::vector<float> rec = {0.0f, 0.0f, 0.5f, 0.0f,  //
                                  0.0f, 0.0f, 0.3f, 0.1f};
  const ScoreMap m = l2Map(view(in, 2, 2, 2, 5), view(rec, 2, 2, 2));
  BOOST_REQUIRE_EQUAL(m.width, 2);
  BOOST_REQUIRE_EQUAL(m.height, 2);
  BOOST_CHECK_CLOSE(m.at(0, 0), (0.0 + 1.0) / 2, 1e-4);
  BOOST_CHECK_CLOSE(m.at(1, 0), (0.0 + 0.25) / 2, 1e-4);
  BOOST_CHECK_CLOSE(m.at(0, 1), (1.0 + 1.0) / 2, 1e-4);
  BOOST_CHECK_CLOSE(m.at(1, 1), (0.01 + 0.09) / 2, 1e-3);
}

BOOST_AUTO_TEST_CASE(ssim_map_zero_for_identical_images) {
  const cv::Mat b = brick();
  const ScoreMap m = ssimMap(view(b), view(b));
  BOOST_CHECK_EQUAL(maxScore(m), 0.0);
  // An RGB image against itself too.
  cv::Mat rgb;
  cv::merge(std::vector<cv::Mat>{b, b.t(), 1.0f - b}, rgb);
  BOOST_CHECK_EQUAL(maxScore(ssimMap(view(rgb), view(rgb))), 0.0);
}

BOOST_AUTO_TEST_CASE(ssim_map_high_on_pasted_defects) {
  const cv::Mat b = brick();
  cv::Mat defect = b.clone();
  cv::circle(defect, {36, 36}, 4, cv::Scalar(1.0), cv::FILLED);            // bright spot
  cv::line(defect, {80, 70}, {110, 110}, cv::Scalar(0.0), 1, cv::LINE_8);  // dark scratch
  const ScoreMap m = ssimMap(view(defect), view(b));
  const cv::Rect spot(32, 32, 9, 9), scratch(80, 70, 31, 41), far(0, 90, 40, 38);
  BOOST_TEST_MESSAGE("1-SSIM: spot " << meanIn(m, spot) << ", scratch " << meanIn(m, scratch)
                                     << ", far " << meanIn(m, far));
  // Reference: 1 - skimage.metrics.structural_similarity(defect, b, data_range=1,
  // gaussian_weights=True, sigma=1.5, use_sample_covariance=False, full=True)[1].
  BOOST_CHECK_CLOSE(mean(m), 0.0309052870, 1e-3);
  BOOST_CHECK_CLOSE(m.at(36, 36), 0.9589372327, 1e-3);
  BOOST_CHECK_CLOSE(m.at(30, 40), 0.2362123319, 1e-3);
  BOOST_CHECK_CLOSE(m.at(95, 90), 0.9293394420, 1e-3);
  BOOST_CHECK_GT(meanIn(m, spot), 0.3);
  BOOST_CHECK_GT(meanIn(m, scratch), 0.05);
  // Beyond the window's reach (radius 5) the images agree exactly.
  BOOST_CHECK_EQUAL(meanIn(m, far), 0.0);
  // The largest score lies on a defect.
  const auto peak = std::max_element(m.data.begin(), m.data.end()) - m.data.begin();
  const cv::Point p(int(peak % m.width), int(peak / m.width));
  const auto near = [&](cv::Rect r) {
    return (r + cv::Point(-5, -5) + cv::Size(10, 10)).contains(p);
  };
  BOOST_CHECK_MESSAGE(near(spot) || near(scratch), "peak at " << p << " is off both defects");
  // Thresholded and smoothed, the map gives a region over each defect and nothing else.
  const auto regions = findRegions(smooth(m, 2.0), 0.1f, 10);
  BOOST_REQUIRE_EQUAL(regions.size(), 2u);
  for (const Region& r : regions) {
    const cv::Rect box(r.x, r.y, r.width, r.height);
    BOOST_CHECK_MESSAGE((box & spot).area() > 0 || (box & scratch).area() > 0,
                        "region " << box << " overlaps no defect");
  }
}

BOOST_AUTO_TEST_CASE(smoothing_preserves_mean) {
  ScoreMap m = mapOf(32, 24, std::vector<float>(std::size_t{32} * 24, 0.0f));
  m.at(10, 10) = 5.0f;
  m.at(20, 12) = 1.0f;
  m.at(11, 10) = 2.0f;
  const ScoreMap s = smooth(m, 2.0);
  BOOST_CHECK_CLOSE(mean(s), mean(m), 1e-3);
  BOOST_CHECK_LT(maxScore(s), 5.0);  // the peak spreads out
  BOOST_CHECK_GT(s.at(12, 10), 0.0f);
  // A constant map stays constant, borders included; sigma 0 is the identity.
  const ScoreMap c = smooth(mapOf(9, 7, std::vector<float>(63, 0.25f)), 3.0);
  for (float v : c.data) BOOST_CHECK_CLOSE(v, 0.25f, 1e-4);
  BOOST_CHECK(smooth(m, 0.0).data == m.data);
}

BOOST_AUTO_TEST_CASE(frame_score_max_vs_top_fraction) {
  // 100 pixels: one at 10, nine at 1, the rest 0.
  std::vector<float> v(100, 0.0f);
  v[37] = 10.0f;
  for (int i = 0; i < 9; ++i) v[50 + i] = 1.0f;
  const ScoreMap m = mapOf(10, 10, v);
  BOOST_CHECK_EQUAL(maxScore(m), 10.0);
  BOOST_CHECK_CLOSE(topFractionMean(m, 0.01), 10.0, 1e-9);       // top 1 pixel
  BOOST_CHECK_CLOSE(topFractionMean(m, 0.10), 19.0 / 10, 1e-6);  // top 10
  BOOST_CHECK_CLOSE(topFractionMean(m, 0.20), 19.0 / 20, 1e-6);  // top 20
  BOOST_CHECK_CLOSE(topFractionMean(m, 1.0), 19.0 / 100, 1e-6);  // the mean
  BOOST_CHECK_CLOSE(topFractionMean(m, 0.001), 10.0, 1e-9);      // at least one pixel
  // One hot pixel decides the max but barely moves the top-10% mean.
  BOOST_CHECK_LT(topFractionMean(m, 0.1), maxScore(m) / 4);
}

BOOST_AUTO_TEST_CASE(regions_boxes_areas_and_scores) {
  ScoreMap m = mapOf(20, 12, std::vector<float>(240, 0.0f));
  // Blob A: 3x2 rectangle at (2, 3) with a peak of 0.9.
  for (int y = 3; y < 5; ++y)
    for (int x = 2; x < 5; ++x) m.at(x, y) = 0.6f;
  m.at(3, 4) = 0.9f;
  // Blob B: an L of 4 pixels at (12..14, 7..8).
  m.at(12, 7) = m.at(12, 8) = m.at(13, 8) = m.at(14, 8) = 0.7f;
  // Blob C: one pixel, dropped by minArea 2.
  m.at(18, 1) = 0.95f;
  // Below the threshold: ignored.
  m.at(8, 10) = 0.5f;

  const auto all = findRegions(m, 0.5f);
  BOOST_REQUIRE_EQUAL(all.size(), 3u);
  BOOST_CHECK_CLOSE(all[0].peak, 0.95f, 1e-4);  // sorted by peak

  const auto r = findRegions(m, 0.5f, 2);
  BOOST_REQUIRE_EQUAL(r.size(), 2u);
  const Region& a = r[0];
  BOOST_CHECK_EQUAL(a.x, 2);
  BOOST_CHECK_EQUAL(a.y, 3);
  BOOST_CHECK_EQUAL(a.width, 3);
  BOOST_CHECK_EQUAL(a.height, 2);
  BOOST_CHECK_EQUAL(a.area, 6);
  BOOST_CHECK_CLOSE(a.peak, 0.9f, 1e-4);
  BOOST_CHECK_CLOSE(a.mean, (5 * 0.6 + 0.9) / 6, 1e-4);
  const Region& b = r[1];
  BOOST_CHECK_EQUAL(b.x, 12);
  BOOST_CHECK_EQUAL(b.y, 7);
  BOOST_CHECK_EQUAL(b.width, 3);
  BOOST_CHECK_EQUAL(b.height, 2);
  BOOST_CHECK_EQUAL(b.area, 4);
  BOOST_CHECK_CLOSE(b.mean, 0.7f, 1e-4);

  BOOST_CHECK(findRegions(m, 1.0f).empty());
}

BOOST_AUTO_TEST_CASE(regions_merge_diagonal_neighbours) {
  // A diagonal staircase: with 4-connectivity it would be 4 regions, with 8 it is one.
  ScoreMap m = mapOf(6, 6, std::vector<float>(36, 0.0f));
  for (int i = 0; i < 4; ++i) m.at(1 + i, 1 + i) = 1.0f;
  const auto r = findRegions(m, 0.5f);
  BOOST_REQUIRE_EQUAL(r.size(), 1u);
  BOOST_CHECK_EQUAL(r[0].area, 4);
  BOOST_CHECK_EQUAL(r[0].x, 1);
  BOOST_CHECK_EQUAL(r[0].width, 4);
  BOOST_CHECK_EQUAL(r[0].height, 4);
}

BOOST_AUTO_TEST_CASE(calibration_threshold_at_one_percent_fpr) {
  std::mt19937 rng(42);
  std::normal_distribution<double> normal(5.0, 2.0);
  std::vector<double> s(1000);
  for (double& x : s) x = normal(rng);
  const Calibration c = calibrate(s, 0.01);
  std::vector<double> sorted = s;
  std::sort(sorted.begin(), sorted.end());
  // The 99th percentile of the sample: 10 scores above it.
  BOOST_CHECK_EQUAL(c.threshold, sorted[989]);
  BOOST_CHECK_CLOSE(c.fpr, 0.01, 1e-9);
  // ... and near the population's: 5 + 2.326 * 2.
  BOOST_CHECK_CLOSE(c.threshold, 5.0 + 2.3263 * 2.0, 5.0);
  BOOST_CHECK_CLOSE(c.mean, 5.0, 3.0);
  BOOST_CHECK_CLOSE(c.std, 2.0, 6.0);
  // Scores already ordered or not, the answer is the same.
  BOOST_CHECK_EQUAL(calibrate(sorted, 0.01).threshold, c.threshold);
}

// The low-passed residual: a coherent shift survives, fine zero-mean texture residual cancels;
// sigma 0 is the plain squared residual.
BOOST_AUTO_TEST_CASE(lowpass_map_keeps_coherent_residuals) {
  const int w = 32, h = 32;
  std::vector<float> a(std::size_t(w) * h, 0.5f), checker = a, blob = a;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      checker[y * w + x] += ((x + y) % 2 ? 0.1f : -0.1f);                         // fine texture
      if (std::abs(x - 16) < 4 && std::abs(y - 16) < 4) blob[y * w + x] += 0.1f;  // coherent
    }
  const ScoreMap fine = lowpassMap(view(a, w, h), view(checker, w, h), 2.0);
  const ScoreMap coherent = lowpassMap(view(a, w, h), view(blob, w, h), 2.0);
  // Same pixel-wise energy where they differ, but the checkerboard cancels (< 1 % of the square).
  BOOST_TEST(maxScore(fine) < 0.01 * 0.01);
  BOOST_TEST(maxScore(coherent) > 0.3 * 0.01);
  BOOST_TEST(coherent.at(16, 16) > coherent.at(2, 2));
  BOOST_TEST(lowpassMap(view(a, w, h), view(blob, w, h), 0.0).data ==
                 l2Map(view(a, w, h), view(blob, w, h)).data,
             boost::test_tools::per_element());
  // Channels are averaged: the same residual in one of three channels gives a third.
  std::vector<float> a3(std::size_t(w) * h * 3, 0.5f), b3 = a3;
  for (int i = 0; i < w * h; ++i) b3[i * 3 + 1] = blob[i];
  const ScoreMap c3 = lowpassMap(view(a3, w, h, 3), view(b3, w, h, 3), 2.0);
  BOOST_TEST(c3.at(16, 16) == coherent.at(16, 16) / 3, boost::test_tools::tolerance(1e-5f));
  checkThrowsWith([&] { lowpassMap(view(a, w, h), view(a, w, h), -1.0); }, "sigma must be >= 0");
}

// The shared decision: anomalyMap is the chosen map, smoothed; the frame score its maximum.
BOOST_AUTO_TEST_CASE(score_options_pick_map_and_smoothing) {
  std::vector<float> a(64, 0.5f), b = a;
  b[3 * 8 + 4] = 0.9f;
  const ScoreOptions l2{MapKind::L2, 0.0}, l2s{MapKind::L2, 1.0}, ss{MapKind::Ssim, 1.0};
  const ScoreMap raw = anomalyMap(view(a, 8, 8), view(b, 8, 8), l2);
  BOOST_TEST(raw.data == l2Map(view(a, 8, 8), view(b, 8, 8)).data,
             boost::test_tools::per_element());
  BOOST_TEST(frameScore(raw) == 0.16, boost::test_tools::tolerance(1e-6));
  const ScoreMap sm = anomalyMap(view(a, 8, 8), view(b, 8, 8), l2s);
  BOOST_TEST(sm.data == smooth(raw, 1.0).data, boost::test_tools::per_element());
  BOOST_TEST(frameScore(sm) < frameScore(raw));
  const ScoreMap st = anomalyMap(view(a, 8, 8), view(b, 8, 8), ss);
  BOOST_TEST(st.data == smooth(ssimMap(view(a, 8, 8), view(b, 8, 8)), 1.0).data,
             boost::test_tools::per_element());
  const ScoreMap lp = anomalyMap(view(a, 8, 8), view(b, 8, 8), {MapKind::Lowpass, 0.0});
  BOOST_TEST(lp.data == lowpassMap(view(a, 8, 8), view(b, 8, 8), kLowpassSigma).data,
             boost::test_tools::per_element());
  BOOST_TEST((parseMapKind("ssim") == MapKind::Ssim));
  BOOST_TEST((parseMapKind("lowpass") == MapKind::Lowpass));
  BOOST_TEST(std::string(mapKindName(parseMapKind("l2"))) == "l2");
  checkThrowsWith([] { parseMapKind("l1"); },
                  "expected l2, lowpass, ssim, segmentation or segmentation-logit");
  BOOST_TEST((parseMapKind("segmentation") == MapKind::Segmentation));
  BOOST_TEST((parseMapKind("segmentation-logit") == MapKind::SegmentationLogit));
  BOOST_TEST(std::string(mapKindName(MapKind::SegmentationLogit)) == "segmentation-logit");
  BOOST_TEST(outputIsMap(MapKind::Segmentation));
  BOOST_TEST(outputIsMap(MapKind::SegmentationLogit));
  BOOST_TEST(!outputIsMap(MapKind::Lowpass));
  BOOST_TEST(mapIsProbability(MapKind::Segmentation));
  BOOST_TEST(!mapIsProbability(MapKind::SegmentationLogit));
}

// A segmentation model's output as logits: log(p / (1 - p)) per pixel, clamped so that a
// saturated sigmoid (0 or 1 in float) stays finite; the input frame is not read.
BOOST_AUTO_TEST_CASE(segmentation_logit_map_is_the_outputs_logit) {
  std::vector<float> frame(16, 0.25f),
      out = {0.5f, 0.25f, 0.75f, 0.999f, 1.0f, 0.0f, 1e-9f, 0.1f,
             0.9f, 0.5f,  0.5f,  0.5f,   0.5f, 0.5f, 0.5f,  0.99999f};
  const ScoreMap m =
      anomalyMap(view(frame, 4, 4), view(out, 4, 4), {MapKind::SegmentationLogit, 0.0});
  BOOST_REQUIRE(m.data.size() == 16u);
  const double lim = std::log((1 - kLogitClamp) / kLogitClamp);
  for (std::size_t i = 0; i < 16; ++i) {
    const double p = std::min(1 - kLogitClamp, std::max(kLogitClamp, double(out[i])));
    BOOST_TEST_CONTEXT("pixel " << i) {
      BOOST_TEST(m.data[i] == std::log(p / (1 - p)), boost::test_tools::tolerance(1e-5));
      BOOST_TEST(std::abs(m.data[i]) <= lim + 1e-4);
    }
  }
  BOOST_TEST(m.data[0] == 0.0f);
  BOOST_TEST(m.data[4] == float(lim), boost::test_tools::tolerance(1e-5));
  BOOST_TEST(m.data[5] == float(-lim), boost::test_tools::tolerance(1e-5));
  // Probabilities near 1 still rank as logits: 0.99999 above 0.999.
  BOOST_TEST(m.data[15] > m.data[3] + 2);
  // Smoothing comes after the logit: a saturated pixel among p = 0.5 stands out by its logit.
  const ScoreMap s =
      anomalyMap(view(frame, 4, 4), view(out, 4, 4), {MapKind::SegmentationLogit, 1.0});
  ScoreMap raw = m;
  BOOST_TEST(s.data == smooth(raw, 1.0).data, boost::test_tools::per_element());
  // An output of another size than the frame is refused.
  checkThrowsWith(
      [&] {
        anomalyMap(view(frame, 4, 4), view(out, 8, 2), {MapKind::SegmentationLogit, 0.0});
      },
      "the model's output is 8x2");
}

// The heat tint starts half the threshold's size below it, for a probability threshold (t / 2)
// as for a logit one below 0: a pixel at the threshold is brightened, one far below it is not.
BOOST_AUTO_TEST_CASE(overlay_tints_near_and_above_the_threshold_of_either_sign) {
  for (double t : {0.8, -2.0, 3.0}) {
    BOOST_TEST_CONTEXT("threshold " << t) {
      std::vector<std::uint8_t> gray(4, 100);
      PlaneView pv{gray.data(), 4, 1, 4, 1, 8};
      ScoreMap m;
      m.width = 4;
      m.height = 1;
      const double span = std::abs(t) / 2;
      m.data = {float(t + 1), float(t), float(t - 0.9 * span), float(t - 1.5 * span)};
      drawOverlay({pv}, m, {}, t);
      BOOST_TEST(gray[0] > 100 + 100);  // alpha 0.75: 100 + 0.75 * 155
      BOOST_TEST(gray[1] > 100 + 100);
      BOOST_TEST(gray[2] > 100);  // tinted a little
      BOOST_TEST(gray[2] < gray[1]);
      BOOST_TEST(gray[3] == 100);  // far below: untouched
    }
  }
}

// Every defect kind changes the texture where its mask says and nowhere else, is clipped at the
// border, and is repeatable for a seed; colour blobs change colour, not only brightness.
BOOST_AUTO_TEST_CASE(defects_paint_inside_their_masks) {
  const cv::Mat clean = brick();
  for (DefectKind k : defectKindsFor(1)) {
    for (int size : {6, 20, 40}) {
      BOOST_TEST_CONTEXT(defectKindName(k) << " size " << size) {
        BOOST_TEST((parseDefectKind(defectKindName(k)) == k));
        cv::Mat img = clean.clone();
        const DefectSpec d{k, size, 0.3, 64, 60, 0.5, 9};
        const cv::Mat mask = paintDefect(img, d);
        BOOST_TEST(mask.type() == CV_8U);
        BOOST_TEST((mask.size() == img.size()));
        const int area = cv::countNonZero(mask);
        BOOST_TEST(area > 0);
        // Within a box of the defect's extent around its centre.
        const cv::Rect box = cv::boundingRect(mask);
        BOOST_TEST(std::abs(box.x + box.width / 2 - 64) <= size / 2 + 3);
        BOOST_TEST(std::abs(box.y + box.height / 2 - 60) <= size / 2 + 3);
        BOOST_TEST(std::max(box.width, box.height) <= size * 5 / 4 + 4);  // rotated cuts
        // Changed inside the mask by a visible amount on average; unchanged far outside it.
        cv::Mat diff = cv::abs(img - clean);
        BOOST_TEST(cv::mean(diff, mask)[0] > 0.05);
        cv::Mat far;
        cv::dilate(mask, far, cv::Mat::ones(2 * size + 1, 2 * size + 1, CV_8U));
        double outside = 0;
        cv::minMaxLoc(diff, nullptr, &outside, nullptr, nullptr, ~far);
        BOOST_TEST(outside == 0.0);
        // The same seed paints the same defect.
        cv::Mat again = clean.clone();
        paintDefect(again, d);
        BOOST_TEST(cv::norm(again, img, cv::NORM_INF) == 0.0);
      }
    }
  }
  // Clipped at the border, not an error.
  cv::Mat edge = clean.clone();
  BOOST_TEST(cv::countNonZero(paintDefect(edge, {DefectKind::Spot, 30, 0.3, 0, 0, 0, 1})) > 0);
  // A colour blob shifts the channels by different amounts.
  cv::Mat rgb;
  cv::cvtColor(clean, rgb, cv::COLOR_GRAY2RGB);
  cv::Mat before = rgb.clone();
  const cv::Mat m = paintDefect(rgb, {DefectKind::Blob, 40, 0.4, 64, 64, 0, 3});
  const cv::Scalar shift = cv::mean(rgb - before, m);
  BOOST_TEST(std::max({std::abs(shift[0] - shift[1]), std::abs(shift[1] - shift[2]),
                       std::abs(shift[0] - shift[2])}) > 0.02);
  // A tint changes the colour and keeps the gray level (mid-gray: no clipping); a stain is
  // always lighter.
  cv::Mat grey(96, 96, CV_32FC3, cv::Scalar::all(0.5));
  const cv::Mat tinted0 = grey.clone();
  const cv::Mat tm = paintDefect(grey, {DefectKind::Tint, 40, 0.3, 48, 48, 0.3, 5});
  BOOST_TEST(cv::countNonZero(tm) > 300);
  cv::Mat tdiff = grey - tinted0;
  const cv::Scalar ts = cv::mean(tdiff, tm);
  BOOST_TEST(std::abs(ts[0] + ts[1] + ts[2]) < 1e-3);
  BOOST_TEST(std::max({std::abs(ts[0]), std::abs(ts[1]), std::abs(ts[2])}) > 0.1);
  for (std::uint64_t seed : {1, 2, 3, 4}) {
    cv::Mat lit = clean.clone();
    const cv::Mat sm = paintDefect(lit, {DefectKind::Stain, 30, 0.2, 64, 64, 1.0, seed});
    double lo = 0;
    cv::minMaxLoc(lit - clean, &lo);
    BOOST_TEST(lo >= 0.0);
    BOOST_TEST(cv::mean(lit - clean, sm)[0] > 0.05);
  }
  // Bad arguments.
  cv::Mat u8(8, 8, CV_8U);
  checkThrowsWith([&] { paintDefect(u8, DefectSpec{}); }, "CV_32FC1 or CV_32FC3");
  checkThrowsWith([&] { paintDefect(edge, {DefectKind::Cut, 1, 0.3, 4, 4, 0, 1}); }, "size");
  checkThrowsWith([&] { paintDefect(edge, {DefectKind::Cut, 8, 0.0, 4, 4, 0, 1}); }, "contrast");
  checkThrowsWith([] { parseDefectKind("dent"); },
                  "expected scratch, spot, cut, blob, stain or tint");
  checkThrowsWith([&] { paintDefect(edge, {DefectKind::Tint, 8, 0.3, 4, 4, 0, 1}); }, "colour");
}

BOOST_AUTO_TEST_CASE(bad_input_is_invalid_argument) {
  const std::vector<float> a(12, 0.5f), b(16, 0.5f);
  checkThrowsWith([&] { l2Map(view(a, 4, 3), view(b, 4, 4)); },
                  "input is 4x3x1 (WxHxC) but reconstruction is 4x4x1");
  checkThrowsWith([&] { ssimMap(view(a, 4, 3), view(a, 2, 2, 3)); }, "but reconstruction is");
  checkThrowsWith([&] { l2Map(view(a, 0, 3), view(a, 0, 3)); }, "input image is empty");
  checkThrowsWith([&] { l2Map(ImageView{}, view(a, 4, 3)); }, "input image is empty");
  checkThrowsWith([&] { l2Map(view(a, 4, 3, 1, 2), view(a, 4, 3)); }, "row stride 2");
  checkThrowsWith([&] { ssimMap(view(a, 4, 3), view(a, 4, 3), 0.0); }, "sigma must be > 0");
  checkThrowsWith([&] { smooth(ScoreMap{}, 1.0); }, "score map is empty");
  checkThrowsWith([&] { smooth(mapOf(2, 2, {0, 0, 0, 0}), -1.0); }, "sigma must be >= 0");
  checkThrowsWith([&] { maxScore(ScoreMap{}); }, "score map is empty");
  checkThrowsWith(
      [&] {
        topFractionMean(mapOf(2, 2, {0, 0, 0, 0}), 0.0);
      },
      "fraction must be in (0, 1]");
  checkThrowsWith(
      [&] {
        topFractionMean(mapOf(2, 2, {0, 0, 0, 0}), 1.5);
      },
      "fraction must be in (0, 1]");
  checkThrowsWith([&] { findRegions(ScoreMap{}, 0.5f); }, "score map is empty");
  checkThrowsWith([&] { findRegions(mapOf(1, 1, {0}), 0.5f, 0); }, "min area must be >= 1");
  checkThrowsWith([&] { calibrate({}, 0.01); }, "at least one score");
  checkThrowsWith([&] { calibrate({1.0, 2.0}, 1.0); }, "false-positive rate must be in [0, 1)");
  checkThrowsWith([&] { calibrate({1.0, 2.0}, -0.1); }, "false-positive rate must be in [0, 1)");
  checkThrowsWith([&] { calibrate({1.0, 2.0}, std::nan("")); }, "false-positive rate");
  checkThrowsWith([&] { calibrate({1.0, std::nan("")}, 0.1); }, "not finite");
  // fpr = 0 is allowed (cae-train's choice): the threshold is the largest normal score.
  BOOST_CHECK_EQUAL(calibrate({3.0, 1.0, 2.0}, 0.0).threshold, 3.0);
}

// The element's per-frame form: maps written into a ScoreMap kept from frame to frame give the
// values of the returning functions, bit for bit, and keep its memory (no per-frame allocation).
BOOST_AUTO_TEST_CASE(maps_into_a_kept_buffer_equal_the_returned_ones) {
  const cv::Mat b = brick();
  cv::Mat defect = b.clone();
  cv::circle(defect, {36, 36}, 4, cv::Scalar(1.0), cv::FILLED);
  cv::Mat rgbA, rgbB;
  cv::merge(std::vector<cv::Mat>{defect, b.t(), 1.0f - b}, rgbA);
  cv::merge(std::vector<cv::Mat>{b, b.t(), 1.0f - b}, rgbB);
  for (MapKind kind : {MapKind::L2, MapKind::Lowpass, MapKind::Ssim})
    for (double sigma : {0.0, 2.0})
      for (bool rgb : {false, true}) {
        BOOST_TEST_CONTEXT(mapKindName(kind) << " smoothed " << sigma << (rgb ? " RGB" : "")) {
          const ScoreOptions o{kind, sigma};
          const ImageView x = rgb ? view(rgbA) : view(defect), y = rgb ? view(rgbB) : view(b);
          ScoreMap kept;
          anomalyMap(x, y, o, kept);
          const float* first = kept.data.data();
          BOOST_TEST(kept.data == anomalyMap(x, y, o).data);
          anomalyMap(y, y, o, kept);  // the next frame, of the same size
          BOOST_TEST(kept.data == anomalyMap(y, y, o).data);
          if (kind != MapKind::Ssim) BOOST_TEST((kept.data.data() == first));
          BOOST_TEST(kept.width == b.cols);
          BOOST_TEST(kept.height == b.rows);
        }
      }
  // smooth in place equals smooth into another map.
  ScoreMap m = lowpassMap(view(defect), view(b));
  const ScoreMap smoothed = smooth(m, 1.5);
  smooth(m, 1.5, m);
  BOOST_TEST(m.data == smoothed.data);
}

// The k-of-n alarm: against a plain count over the last n verdicts, on a random sequence with
// resets; a frame not above is never an alarm; bad k and n are refused by name.
BOOST_AUTO_TEST_CASE(k_of_n_alarm_counts_the_last_n_frames) {
  std::mt19937 rng(5);
  for (const auto& [k, n] : std::vector<std::pair<int, int>>{{1, 1}, {2, 3}, {3, 3}, {4, 10}}) {
    BOOST_TEST_CONTEXT(k << " of " << n) {
      KOfN rule(k, n);
      std::vector<bool> since;  // verdicts since the last reset
      for (int i = 0; i < 500; ++i) {
        if (i % 97 == 96) {
          rule.reset();
          since.clear();
        }
        const bool above = std::bernoulli_distribution(0.4)(rng);
        since.push_back(above);
        const std::size_t from = since.size() > std::size_t(n) ? since.size() - std::size_t(n) : 0;
        const int count = int(std::count(since.begin() + std::ptrdiff_t(from), since.end(), true));
        BOOST_TEST(rule.push(above) == (above && count >= k));
        BOOST_TEST(rule.count() == count);
      }
    }
  }
  KOfN two(2, 3);
  BOOST_TEST(!two.push(true));  // one frame above is not enough
  BOOST_TEST(!two.push(false));
  BOOST_TEST(two.push(true));    // 2 of the last 3
  BOOST_TEST(!two.push(false));  // still 1 above in the window, but this frame is clean
  for (const auto& [k, n] : std::vector<std::pair<int, int>>{{0, 1}, {2, 1}, {1, 0}, {1, 1025}}) {
    try {
      KOfN bad(k, n);
      BOOST_ERROR("k = " << k << ", n = " << n << " was accepted");
    } catch (const InvalidArgument& e) {
      BOOST_TEST(std::string(e.what()).find("k-of-n alarm") != std::string::npos);
    }
  }
}

// ---- frame-size calibration (FrameModel) -------------------------------------------------------

namespace {

// The shipped real-time wood model's frame scores (its own map and smoothing) on n random crops
// of side x side from region r of mate-backgrounds' Wood.jpg at the benchmark's scale (1/2).
std::vector<double> woodScores(cv::Rect r, int side, int n, std::uint64_t seed) {
  static cv::Mat wood;
  if (wood.empty()) {
    cv::Mat m8 = cv::imread("/usr/share/backgrounds/mate/nature/Wood.jpg", cv::IMREAD_GRAYSCALE);
    BOOST_REQUIRE(!m8.empty());
    cv::resize(m8, m8, cv::Size(), 0.5, 0.5, cv::INTER_AREA);
    m8.convertTo(wood, CV_32F, 1.0 / 255);
  }
  static std::unique_ptr<infer::Engine> engine;
  if (!engine) {
    infer::EngineOptions o;
    o.model = (std::filesystem::path(CAE_TEST_DATA).parent_path().parent_path() / "models" /
               "anomaly-wood-fast.onnx")
                  .string();
    o.task = onnx::Task::Anomaly;
    o.threads = 1;
    engine = std::make_unique<infer::Engine>(o);
  }
  const ScoreOptions so = engine->info().anomaly.map;
  cv::RNG rng(seed);
  std::vector<double> scores;
  for (int i = 0; i < n; ++i) {
    const cv::Mat crop = wood(cv::Rect(r.x + rng.uniform(0, r.width - side + 1),
                                       r.y + rng.uniform(0, r.height - side + 1), side, side))
                             .clone();
    const int dims[4] = {1, 1, side, side};
    const cv::Mat blob(4, dims, CV_32F, crop.data);
    const cv::Mat out = engine->run(blob);
    const cv::Mat rec(side, side, CV_32F, const_cast<float*>(out.ptr<float>()));
    scores.push_back(frameScore(anomalyMap(view(crop), view(rec), so)));
  }
  return scores;
}

}  // namespace

// The extreme-value model on its own terms: thresholds grow with the area by beta ln(k), and
// exceedance() inverts threshold().
BOOST_AUTO_TEST_CASE(frame_model_threshold_and_exceedance) {
  const FrameModel m = fitFrameModel({1.0, 1.2, 0.9, 1.4, 1.1, 1.05, 0.95, 1.3}, 100, 0.01);
  BOOST_TEST(m.valid());
  BOOST_TEST(m.threshold(400) - m.threshold(100) == m.beta * std::log(4.0), tt::tolerance(1e-9));
  for (double area : {50.0, 100.0, 1e4})
    for (double rate : {0.001, 0.05, 0.5})
      BOOST_TEST(m.exceedance(m.threshold(area, rate), area) == rate, tt::tolerance(1e-9));
  Decision d;
  d.threshold = 7.0;
  d.frame = m;
  BOOST_TEST(*d.atArea(400).threshold == m.threshold(400, 0.01), tt::tolerance(1e-12));
  BOOST_TEST(!d.withThreshold(2.0).frame.has_value());  // a user's threshold is fixed
  BOOST_TEST(*d.withThreshold(2.0).atArea(400).threshold == 2.0);
  // Probabilities fitted as logits: thresholds stay below 1 at any area and rate.
  const FrameModel p = fitFrameModel({0.5, 0.6, 0.7, 0.55, 0.9, 0.65, 0.8}, 100, 0.001, true);
  BOOST_TEST(p.logit);
  for (double area : {100.0, 1e4, 1e7}) {
    BOOST_TEST(p.threshold(area) < 1.0);
    BOOST_TEST(p.exceedance(p.threshold(area, 0.01), area) == 0.01, tt::tolerance(1e-6));
  }
  BOOST_TEST(p.threshold(1e4) > p.threshold(100));
  checkThrowsWith([] { fitFrameModel({1.0, 1.0, 1.0}, 100, 0.01); }, "do not vary");
  checkThrowsWith([] { fitFrameModel({1.0, 2.0}, 100, 1.0); }, "false-alarm rate");
  checkThrowsWith([] { fitFrameModel({1.0}, 100, 0.1); }, "two scores");
}

// A model calibrated at one size keeps its false-alarm rate at another: the frame model fitted on
// 96x96 crops of one half of a real wood surface, through the shipped wood model, predicts the
// rate at which 192x192 frames of the other half exceed its threshold (statistical test: within
// four binomial deviations, with a margin for overlapping random frames), where the crop
// quantile used as is would be exceeded by far more frames (the failure the model fixes).
BOOST_AUTO_TEST_CASE(a_frame_model_keeps_its_rate_at_another_frame_size) {
  // Wood at scale 1/2 is 1280x960: calibration crops from the top half, frames from the bottom.
  const std::vector<double> crops = woodScores({0, 0, 1280, 470}, 96, 400, 3);
  const std::vector<double> frames = woodScores({0, 490, 1280, 470}, 192, 300, 4);
  const double rate = 0.2;
  const FrameModel m = fitFrameModel(crops, 96.0 * 96, rate);
  const double t = m.threshold(192.0 * 192);
  const double observed =
      double(std::count_if(frames.begin(), frames.end(), [&](double s) { return s > t; })) /
      double(frames.size());
  const double quantile = calibrate(crops, rate).threshold;
  const double naive =
      double(std::count_if(frames.begin(), frames.end(), [&](double s) { return s > quantile; })) /
      double(frames.size());
  BOOST_TEST_MESSAGE("frames above the frame model's threshold: " << observed << " (expected "
                                                                  << rate << "); above the "
                                                                  << "crop quantile: " << naive);
  const double sd = std::sqrt(rate * (1 - rate) / double(frames.size()));
  BOOST_TEST(std::abs(observed - rate) < 4 * sd + 0.03);
  BOOST_TEST(naive > rate + 4 * sd);
}
