// Line variation (core/train/line_variation: cae-train --calib-variation line and --lighting): a
// crop without variation is a window of the image; crops are repeatable for a seed and stay in
// [0, 1]; lighting stays within its stated range, covers it, and keeps the order of the pixels
// (one monotone curve per sample); the view moves content; noise has its stated size; a
// BatchSource with lighting serves the same windows lit; defocus blurs half the draws, alike in
// every channel, and draws nothing when it is off.
#define BOOST_TEST_MODULE line_variation
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "error.hpp"
#include "train/dataset.hpp"
#include "train/line_variation.hpp"

using namespace cae;
using namespace cae::train;
using nn::Scalar;
using nn::Shape;
using nn::Tensor;

namespace {

// A real texture (skimage's gravel), gray, cut to w x h.
std::vector<Image> gravel(int w, int h) {
  LoadOptions lo;
  lo.channels = 1;
  std::vector<Image> im =
      loadImages({"/usr/lib/python3/dist-packages/skimage/data/gravel.png"}, lo);
  Tensor cut(Shape{1, 1, h, w});
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) cut.at(0, 0, y, x) = im[0].pixels.at(0, 0, y, x);
  im[0].pixels = cut;
  return im;
}

LineVariation none() {
  LineVariation v;
  v.lighting = {0, 0, 0};
  v.noise = v.rotationDeg = v.scale = v.perspective = 0;
  return v;
}

// Smallest mean absolute difference between sample n of t and any window of the image.
double nearestWindow(const Tensor& t, int n, const Tensor& img) {
  const int h = t.shape().h, w = t.shape().w;
  double best = std::numeric_limits<double>::max();
  for (int y = 0; y + h <= img.shape().h; ++y)
    for (int x = 0; x + w <= img.shape().w; ++x) {
      double d = 0;
      for (int r = 0; r < h && d < best * h * w; ++r)
        for (int c = 0; c < w; ++c) d += std::abs(t.at(n, 0, r, c) - img.at(0, 0, y + r, x + c));
      best = std::min(best, d / (h * w));
    }
  return best;
}

}  // namespace

BOOST_AUTO_TEST_CASE(without_variation_a_crop_is_a_window) {
  const std::vector<Image> im = gravel(48, 40);
  const Tensor t = variedCrops(im, 6, 16, 24, none(), 3);
  BOOST_REQUIRE(t.shape() == (Shape{6, 1, 16, 24}));
  for (int n = 0; n < 6; ++n) BOOST_CHECK_SMALL(nearestWindow(t, n, im[0].pixels), 1e-6);
}

BOOST_AUTO_TEST_CASE(crops_repeat_for_a_seed_and_stay_in_range) {
  const std::vector<Image> im = gravel(96, 80);
  const Tensor a = variedCrops(im, 20, 32, 32, LineVariation{}, 5);
  const Tensor b = variedCrops(im, 20, 32, 32, LineVariation{}, 5);
  const Tensor c = variedCrops(im, 20, 32, 32, LineVariation{}, 6);
  BOOST_CHECK(std::equal(a.data(), a.data() + a.size(), b.data()));
  BOOST_CHECK(!std::equal(a.data(), a.data() + a.size(), c.data()));
  const auto [lo, hi] = std::minmax_element(a.data(), a.data() + a.size());
  BOOST_CHECK_GE(*lo, 0.f);
  BOOST_CHECK_LE(*hi, 1.f);
}

BOOST_AUTO_TEST_CASE(the_view_moves_content_off_the_pixel_grid) {
  const std::vector<Image> im = gravel(96, 80);
  LineVariation v = none();
  v.rotationDeg = 4;
  v.scale = 0.05;
  v.perspective = 0.03;
  const Tensor t = variedCrops(im, 8, 24, 24, v, 9);
  int moved = 0;
  for (int n = 0; n < 8; ++n) moved += nearestWindow(t, n, im[0].pixels) > 1e-3;
  BOOST_CHECK_GE(moved, 6);  // a draw close to the identity may land near a window
}

BOOST_AUTO_TEST_CASE(lighting_stays_in_its_range_covers_it_and_keeps_pixel_order) {
  const LightingRange r;  // gain 15 %, offset 0.05, gamma 25 %
  nn::Rng rng(1);
  double lo = 1, hi = 0;
  for (int i = 0; i < 400; ++i) {
    std::vector<Scalar> px = {0.5f};
    applyLighting(px.data(), px.size(), r, rng);
    lo = std::min(lo, double(px[0]));
    hi = std::max(hi, double(px[0]));
  }
  const double min = (1 - r.gain) * std::pow(0.5, 1 + r.gamma) - r.offset;
  const double max = (1 + r.gain) * std::pow(0.5, 1 / (1 + r.gamma)) + r.offset;
  BOOST_CHECK_GE(lo, min - 1e-6);
  BOOST_CHECK_LE(hi, max + 1e-6);
  BOOST_CHECK_LT(lo, 0.5 - 0.6 * (0.5 - min));  // the draws reach well into both sides
  BOOST_CHECK_GT(hi, 0.5 + 0.6 * (max - 0.5));

  std::vector<Scalar> ramp(101);
  for (int i = 0; i <= 100; ++i) ramp[std::size_t(i)] = Scalar(i) / 100;
  for (int k = 0; k < 50; ++k) {
    std::vector<Scalar> lit = ramp;
    applyLighting(lit.data(), lit.size(), r, rng);
    BOOST_CHECK(std::is_sorted(lit.begin(), lit.end()));
    BOOST_CHECK(lit != ramp);
  }
}

BOOST_AUTO_TEST_CASE(noise_has_its_stated_size) {
  const std::vector<Image> im = gravel(64, 64);
  LineVariation v = none();
  v.noise = 0.02;
  double maxSd = 0;
  int noisyCrops = 0;
  for (int seed = 1; seed <= 40; ++seed) {
    // One crop per seed: the same place (drawn first), so the difference is the noise (clipped
    // at 0 and 1).
    const Tensor noisy = variedCrops(im, 1, 32, 32, v, std::uint64_t(seed));
    const Tensor clean = variedCrops(im, 1, 32, 32, none(), std::uint64_t(seed));
    double s2 = 0;
    for (std::size_t k = 0; k < noisy.size(); ++k) {
      const double d = noisy.data()[k] - clean.data()[k];
      s2 += d * d;
    }
    const double sd = std::sqrt(s2 / double(noisy.size()));
    maxSd = std::max(maxSd, sd);
    noisyCrops += sd > 0.002;
  }
  BOOST_CHECK_LE(maxSd, 0.02 * 1.15);
  BOOST_CHECK_GE(noisyCrops, 30);  // sigma is uniform in [0, 0.02]: most crops are noisy
}

BOOST_AUTO_TEST_CASE(a_batch_source_with_lighting_serves_the_same_windows_lit) {
  const std::vector<Image> im = gravel(96, 80);
  BatchSource::Options plain;
  plain.patchH = plain.patchW = 16;
  BatchSource::Options lit = plain;
  lit.lighting = LightingRange{};
  Tensor a, b;
  nn::Rng ra(4), rb(4);
  BatchSource(im, plain).next(1, ra, a);
  BatchSource(im, lit).next(1, rb, b);
  // The first sample's place is drawn before its lighting: the same window, one monotone curve.
  std::vector<std::pair<Scalar, Scalar>> pairs;
  for (std::size_t k = 0; k < a.size(); ++k) pairs.emplace_back(a.data()[k], b.data()[k]);
  std::sort(pairs.begin(), pairs.end());
  bool monotone = true, changed = false;
  for (std::size_t k = 0; k < pairs.size(); ++k) {
    changed |= pairs[k].first != pairs[k].second;
    if (k > 0) monotone &= pairs[k].second >= pairs[k - 1].second;
  }
  BOOST_CHECK(monotone);
  BOOST_CHECK(changed);
}

namespace {

// Sum of squared differences between horizontal and vertical neighbours: what a blur lowers.
double roughness(const Scalar* p, int h, int w) {
  double e = 0;
  for (int y = 0; y + 1 < h; ++y)
    for (int x = 0; x + 1 < w; ++x) {
      const double dx = p[y * w + x + 1] - p[y * w + x], dy = p[(y + 1) * w + x] - p[y * w + x];
      e += dx * dx + dy * dy;
    }
  return e;
}

}  // namespace

BOOST_AUTO_TEST_CASE(defocus_blurs_half_the_draws_alike_in_every_channel_and_keeps_the_mean) {
  const std::vector<Image> im = gravel(32, 32);
  const Scalar* g = im[0].pixels.data();
  const double sharp = roughness(g, 32, 32);
  double mean = 0;
  for (int k = 0; k < 32 * 32; ++k) mean += g[k];
  mean /= 32 * 32;
  nn::Rng rng(11);
  int blurred = 0;
  double smoothest = 1;
  for (int draw = 0; draw < 200; ++draw) {
    constexpr std::ptrdiff_t kPlane = std::ptrdiff_t{32} * 32;
    std::vector<Scalar> px(3 * kPlane);  // three identical channels
    for (std::ptrdiff_t c = 0; c < 3; ++c) std::copy(g, g + kPlane, px.begin() + c * kPlane);
    applyDefocus(px.data(), 3, 32, 32, 1.0, rng);
    BOOST_REQUIRE(std::equal(px.begin(), px.begin() + kPlane, px.begin() + kPlane));
    BOOST_REQUIRE(std::equal(px.begin(), px.begin() + kPlane, px.begin() + 2 * kPlane));
    const double r = roughness(px.data(), 32, 32) / sharp;
    BOOST_REQUIRE_LE(r, 1.0 + 1e-6);
    smoothest = std::min(smoothest, r);
    if (r < 1.0 - 1e-6) {
      ++blurred;
      double m = 0;
      for (int k = 0; k < 32 * 32; ++k) m += px[std::size_t(k)];
      BOOST_CHECK_SMALL(m / (32 * 32) - mean, 2e-3);  // a blur moves no light (borders reflect)
    }
  }
  BOOST_TEST_MESSAGE(blurred << " of 200 draws blurred, smoothest " << smoothest);
  BOOST_CHECK_GE(blurred, 75);  // half the draws, less the few with a negligible sigma
  BOOST_CHECK_LE(blurred, 115);
  BOOST_CHECK_LT(smoothest, 0.5);  // sigma near 1 pixel takes most of gravel's fine detail
}

BOOST_AUTO_TEST_CASE(no_defocus_draws_nothing_so_older_recipes_make_the_same_samples) {
  const std::vector<Image> im = gravel(96, 80);
  BatchSource::Options plain;
  plain.patchH = plain.patchW = 16;
  plain.lighting = LightingRange{};
  BatchSource::Options zero = plain;
  zero.defocus = 0;
  BatchSource::Options some = plain;
  some.defocus = 1.5;
  Tensor a, b, c;
  nn::Rng ra(4), rb(4), rc(4);
  BatchSource(im, plain).next(8, ra, a);
  BatchSource(im, zero).next(8, rb, b);
  BatchSource(im, some).next(8, rc, c);
  BOOST_CHECK(std::equal(a.data(), a.data() + a.size(), b.data()));
  BOOST_CHECK(!std::equal(a.data(), a.data() + a.size(), c.data()));
}

BOOST_AUTO_TEST_CASE(calibration_crops_with_defocus_are_the_same_windows_some_blurred) {
  const std::vector<Image> im = gravel(96, 80);
  LineVariation v = none();
  v.defocus = 1.0;
  int blurred = 0;
  for (int seed = 1; seed <= 40; ++seed) {
    // One crop per seed: the place is drawn first, so each crop is the plain one or a blur of it.
    const Tensor soft = variedCrops(im, 1, 24, 24, v, std::uint64_t(seed));
    const Tensor sharp = variedCrops(im, 1, 24, 24, none(), std::uint64_t(seed));
    const double r = roughness(soft.data(), 24, 24) / roughness(sharp.data(), 24, 24);
    BOOST_REQUIRE_LE(r, 1.0 + 1e-6);
    blurred += r < 1.0 - 1e-6;
  }
  BOOST_CHECK_GE(blurred, 10);
  BOOST_CHECK_LE(blurred, 30);
}

BOOST_AUTO_TEST_CASE(bad_requests_are_refused) {
  const std::vector<Image> im = gravel(32, 32);
  BOOST_CHECK_THROW(variedCrops({}, 4, 8, 8, LineVariation{}, 1), InvalidArgument);
  BOOST_CHECK_THROW(variedCrops(im, 4, 40, 8, LineVariation{}, 1), InvalidArgument);
  BOOST_CHECK_THROW(variedCrops(im, 0, 8, 8, LineVariation{}, 1), InvalidArgument);
}
