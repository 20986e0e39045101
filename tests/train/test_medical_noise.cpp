// The medical noise models: Rician noise against the Rice distribution's moments; the Radon
// transform and FBP against analytic projections and a Shepp-Logan phantom; the low-dose CT
// simulation's statistics (variance ~ 1/I0, zero mean, the ramp-shaped noise power spectrum of CT);
// and cae-train runs with --noise rician and --noise ct-lowdose on real DICOM slices.
#define BOOST_TEST_MODULE medical_noise
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "error.hpp"
#include "nn/corruption/rician_noise.hpp"
#include "onnx/metadata.hpp"
#include "train/ct_lowdose.hpp"
#include "train/ct_projection.hpp"
#include "train/trainer.hpp"

using namespace cae;
using nn::Rng;
using nn::Scalar;
using nn::Shape;
using nn::Tensor;
using train::FbpFilter;
using train::LowDoseCtNoise;
using train::ParallelBeam;
namespace fs = std::filesystem;

namespace {

constexpr double kPi = 3.14159265358979323846;

struct Moments {
  double mean = 0, var = 0;
};

Moments moments(const Tensor& t) {
  double s = 0, s2 = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    s += t[i];
    s2 += double(t[i]) * t[i];
  }
  const double n = double(t.size());
  return {s / n, s2 / n - (s / n) * (s / n)};
}

bool same(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::equal(a.data(), a.data() + a.size(), b.data());
}

// The mean of Rice(nu, sigma): sigma sqrt(pi/2) L_1/2(-nu^2 / (2 sigma^2)), with the Laguerre
// polynomial L_1/2(q) = exp(q/2) [(1 - q) I0(-q/2) - q I1(-q/2)].
double riceMean(double nu, double sigma) {
  const double q = -nu * nu / (2 * sigma * sigma);
  const double l = std::exp(q / 2) *
                   ((1 - q) * std::cyl_bessel_i(0.0, -q / 2) - q * std::cyl_bessel_i(1.0, -q / 2));
  return sigma * std::sqrt(kPi / 2) * l;
}

// The pixel centres' coordinates of the projection geometry (ct_projection.hpp): x right, y up.
double xOf(int j, int w) { return j - (w - 1) / 2.0; }
double yOf(int i, int h) { return (h - 1) / 2.0 - i; }

// A disc of radius r (pixels) about the rotation centre, each pixel its covered area (8 x 8
// sub-samples), so that projections compare with chords rather than with staircases.
cv::Mat disc(int size, double r, double value = 1) {
  cv::Mat img(size, size, CV_32F);
  for (int i = 0; i < size; ++i)
    for (int j = 0; j < size; ++j) {
      int in = 0;
      for (int u = 0; u < 8; ++u)
        for (int v = 0; v < 8; ++v)
          in += std::hypot(xOf(j, size) + (u + 0.5) / 8 - 0.5,
                           yOf(i, size) + (v + 0.5) / 8 - 0.5) <= r;
      img.at<float>(i, j) = float(value * in / 64.0);
    }
  return img;
}

// The modified Shepp-Logan phantom (Toft 1996, as scikit-image's): ellipses of (value, semi-axes
// a, b, centre x, y, rotation in degrees) in [-1, 1]^2, y up; values in [0, 1]. 4 x 4 sub-samples
// per pixel.
cv::Mat sheppLogan(int size) {
  struct Ellipse {
    double v, a, b, x, y, phi;
  };
  const Ellipse es[] = {{1, .69, .92, 0, 0, 0},        {-.8, .6624, .874, 0, -.0184, 0},
                        {-.2, .11, .31, .22, 0, -18},  {-.2, .16, .41, -.22, 0, 18},
                        {.1, .21, .25, 0, .35, 0},     {.1, .046, .046, 0, .1, 0},
                        {.1, .046, .046, 0, -.1, 0},   {.1, .046, .023, -.08, -.605, 0},
                        {.1, .023, .023, 0, -.606, 0}, {.1, .023, .046, .06, -.605, 0}};
  cv::Mat img(size, size, CV_32F);
  const double half = size / 2.0;
  for (int i = 0; i < size; ++i)
    for (int j = 0; j < size; ++j) {
      double sum = 0;
      for (int u = 0; u < 4; ++u)
        for (int v = 0; v < 4; ++v) {
          const double x = (xOf(j, size) + (u + 0.5) / 4 - 0.5) / half;
          const double y = (yOf(i, size) + (v + 0.5) / 4 - 0.5) / half;
          for (const Ellipse& e : es) {
            const double c = std::cos(e.phi * kPi / 180), s = std::sin(e.phi * kPi / 180);
            const double xr = (x - e.x) * c + (y - e.y) * s, yr = -(x - e.x) * s + (y - e.y) * c;
            if (xr * xr / (e.a * e.a) + yr * yr / (e.b * e.b) <= 1) sum += e.v;
          }
        }
      img.at<float>(i, j) = float(sum / 16);
    }
  return img;
}

// RMSE of a against b over the disc inscribed in the image; with flatOnly, only where b is
// constant over 7 x 7 pixels (away from the edges that FBP's band limit blurs).
double discRmse(const cv::Mat& a, const cv::Mat& b, bool flatOnly = false) {
  cv::Mat lo, hi;
  cv::erode(b, lo, cv::Mat::ones(7, 7, CV_8U));
  cv::dilate(b, hi, cv::Mat::ones(7, 7, CV_8U));
  double s2 = 0;
  int n = 0;
  for (int i = 0; i < a.rows; ++i)
    for (int j = 0; j < a.cols; ++j)
      if (std::hypot(xOf(j, a.cols), yOf(i, a.rows)) < a.cols / 2.0 - 1 &&
          (!flatOnly || hi.at<float>(i, j) - lo.at<float>(i, j) < 1e-6F)) {
        const double d = a.at<float>(i, j) - b.at<float>(i, j);
        s2 += d * d;
        ++n;
      }
  return std::sqrt(s2 / n);
}

Tensor tensorOf(const cv::Mat& img, int n) {
  Tensor t(Shape{n, 1, img.rows, img.cols});
  for (int k = 0; k < n; ++k)
    std::copy(img.ptr<float>(), img.ptr<float>() + img.total(), t.sample(k));
  return t;
}

// The noise noisy - clean over the centre x centre square of every sample.
std::vector<double> centreNoise(const Tensor& clean, const Tensor& noisy, int centre) {
  const Shape s = clean.shape();
  std::vector<double> d;
  for (int n = 0; n < s.n; ++n)
    for (int i = (s.h - centre) / 2; i < (s.h + centre) / 2; ++i)
      for (int j = (s.w - centre) / 2; j < (s.w + centre) / 2; ++j)
        d.push_back(double(noisy.at(n, 0, i, j)) - clean.at(n, 0, i, j));
  return d;
}

double variance(const std::vector<double>& d) {
  double s = 0, s2 = 0;
  for (double v : d) s += v, s2 += v * v;
  return s2 / double(d.size()) - (s / double(d.size())) * (s / double(d.size()));
}

// A water-like cylinder (value 0.5, twice water = 1) filling most of a size x size slice.
const cv::Mat& waterSlice(int size) {
  static cv::Mat img;
  if (img.rows != size) img = disc(size, 0.45 * size, 0.5);
  return img;
}

}  // namespace

// --- Rician noise ------------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(rician)

BOOST_AUTO_TEST_CASE(zero_signal_is_rayleigh) {
  Rng rng(5);
  const Scalar sigma = Scalar(0.1);
  Tensor noisy;
  nn::RicianNoise(sigma).apply(Tensor(Shape{4, 1, 128, 128}, 0), noisy, rng);
  const Moments m = moments(noisy);
  const double mean = sigma * std::sqrt(kPi / 2), var = (4 - kPi) / 2 * sigma * sigma;
  BOOST_TEST_MESSAGE("rayleigh mean " << m.mean << " (" << mean << "), var " << m.var << " (" << var
                                      << ")");
  BOOST_CHECK_CLOSE(m.mean, mean, 1.0);  // 65,536 draws: ~0.2% standard error
  BOOST_CHECK_CLOSE(m.var, var, 2.0);
  BOOST_CHECK_GE(*std::min_element(noisy.data(), noisy.data() + noisy.size()), 0);
}

BOOST_AUTO_TEST_CASE(moments_follow_the_rice_distribution) {
  const double sigma = 0.05;
  for (double nu : {0.025, 0.05, 0.1, 0.2}) {
    Rng rng(6);
    Tensor noisy;
    nn::RicianNoise(Scalar(sigma)).apply(Tensor(Shape{4, 1, 128, 128}, Scalar(nu)), noisy, rng);
    const Moments m = moments(noisy);
    const double mean = riceMean(nu, sigma);
    const double var = nu * nu + 2 * sigma * sigma - mean * mean;  // E[R^2] = nu^2 + 2 sigma^2
    BOOST_TEST_MESSAGE("nu/sigma " << nu / sigma << ": mean " << m.mean << " (" << mean << "), var "
                                   << m.var << " (" << var << ")");
    BOOST_CHECK_CLOSE(m.mean, mean, 0.5);
    BOOST_CHECK_CLOSE(m.var, var, 2.5);
  }
}

BOOST_AUTO_TEST_CASE(strong_signal_is_nearly_gaussian) {
  Rng rng(7);
  const double nu = 0.8, sigma = 0.02;
  Tensor noisy;
  nn::RicianNoise(Scalar(sigma)).apply(Tensor(Shape{4, 1, 128, 128}, Scalar(nu)), noisy, rng);
  const Moments m = moments(noisy);
  BOOST_CHECK_CLOSE(m.mean, std::sqrt(nu * nu + sigma * sigma), 0.05);
  BOOST_CHECK_CLOSE(std::sqrt(m.var), sigma, 1.5);
}

BOOST_AUTO_TEST_CASE(a_fixed_rng_gives_the_same_noise) {
  Rng a(8), b(8), c(9);
  const Tensor clean(Shape{2, 3, 16, 16}, Scalar(0.3));
  Tensor na, nb, nc;
  const nn::RicianNoise noise(Scalar(0.01), Scalar(0.2));
  noise.apply(clean, na, a);
  noise.apply(clean, nb, b);
  noise.apply(clean, nc, c);
  BOOST_CHECK(same(na, nb));
  BOOST_CHECK(!same(na, nc));
  BOOST_CHECK(a.state() == b.state());
  BOOST_CHECK_EQUAL(noise.name(), "rician");
}

BOOST_AUTO_TEST_CASE(blind_sigma_is_drawn_per_sample_within_the_range) {
  Rng rng(10);
  const Shape s{64, 1, 48, 48};
  const Scalar lo = Scalar(5.0 / 255), hi = Scalar(50.0 / 255);
  Tensor noisy;
  std::vector<Scalar> sigmas;
  nn::RicianNoise(lo, hi).apply(Tensor(s, 0), noisy, rng, &sigmas);
  BOOST_REQUIRE_EQUAL(sigmas.size(), 64u);
  double worst = 0;
  for (int n = 0; n < s.n; ++n) {
    const Scalar sg = sigmas[std::size_t(n)];
    BOOST_CHECK(sg >= lo && sg <= hi);
    double sum = 0;
    for (std::size_t i = 0; i < s.perSample(); ++i) sum += noisy.sample(n)[i];
    const double estimate = sum / double(s.perSample()) / std::sqrt(kPi / 2);  // Rayleigh
    worst = std::max(worst, std::abs(estimate / sg - 1));
  }
  const auto [mn, mx] = std::minmax_element(sigmas.begin(), sigmas.end());
  BOOST_TEST_MESSAGE("rician per-sample sigma worst relative deviation " << worst);
  BOOST_CHECK_LT(worst, 0.05);  // 2304 draws per sample: ~1% standard error
  BOOST_CHECK_GT(*mx - *mn, (hi - lo) / 2);
  BOOST_CHECK_THROW(nn::RicianNoise(Scalar(0.2), Scalar(0.1)), InvalidArgument);
  BOOST_CHECK_THROW(nn::RicianNoise(Scalar(-0.1)), InvalidArgument);
}

BOOST_AUTO_TEST_SUITE_END()

// --- Radon transform and FBP -------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(projection)

BOOST_AUTO_TEST_CASE(geometry_and_shapes) {
  BOOST_CHECK_EQUAL(train::detectorBins({512, 512}), 728);  // diagonal 722.5 + margins, even
  BOOST_CHECK_EQUAL(train::detectorBins({511, 511}), 725);
  BOOST_CHECK_EQUAL(train::detectorBins({64, 64}), 94);
  const auto angles = train::parallelAngles(4);
  BOOST_REQUIRE_EQUAL(angles.size(), 4u);
  BOOST_CHECK_CLOSE(angles[2], kPi / 2, 1e-12);
  const cv::Mat img = cv::Mat::ones(40, 30, CV_8U);
  const cv::Mat sino = train::radon(img, angles);
  BOOST_CHECK_EQUAL(sino.rows, 4);
  BOOST_CHECK_EQUAL(sino.cols, train::detectorBins({30, 40}));
  BOOST_CHECK_EQUAL(sino.type(), CV_32F);
  const cv::Mat rec = train::fbp(sino, angles, img.size(), FbpFilter::Hann);
  BOOST_CHECK(rec.size() == img.size());
  BOOST_CHECK_THROW(train::fbp(sino, train::parallelAngles(5), img.size()), InvalidArgument);
  BOOST_CHECK_THROW(train::radon(img, {}), InvalidArgument);
  BOOST_CHECK_THROW(ParallelBeam({30, 40}, angles).project(cv::Mat::ones(30, 30, CV_32F)),
                    InvalidArgument);
}

// Joseph's method against the analytic projection of a centred disc, 2 sqrt(r^2 - s^2), at
// every angle (the steep and the flat ray families, and 45 degrees where they meet), away from the
// rim where the chord's slope is infinite. The rest is the difference between the disc and the
// bilinear image Joseph's method integrates: largest where rays cross the rim obliquely.
BOOST_AUTO_TEST_CASE(a_centred_disc_projects_to_its_chords) {
  const double r = 40;
  const std::vector<double> angles{0, kPi / 7, kPi / 4, kPi / 3, kPi / 2, 2.2, 3.0};
  for (int size : {128, 129}) {
    const cv::Mat sino = train::radon(disc(size, r), angles);
    const double cb = (sino.cols - 1) / 2.0;
    double worst = 0, sum = 0;
    int n = 0;
    for (int a = 0; a < sino.rows; ++a)
      for (int b = 0; b < sino.cols; ++b) {
        const double s = b - cb;
        if (std::abs(s) > r - 2 && std::abs(s) < r + 2) continue;
        const double chord = std::abs(s) < r ? 2 * std::sqrt(r * r - s * s) : 0;
        const double e = std::abs(sino.at<float>(a, b) - chord);
        worst = std::max(worst, e);
        sum += e;
        ++n;
      }
    BOOST_TEST_MESSAGE("disc r " << r << " in " << size << "^2: chord error worst " << worst
                                 << ", mean " << sum / n << " pixels (chords up to " << 2 * r
                                 << ")");
    BOOST_CHECK_LT(worst, 0.6);  // < 0.75% of the diameter
    BOOST_CHECK_LT(sum / n, 0.06);
  }
}

// A Gaussian blob a exp(-r^2 / (2 w^2)) about (x0, y0) projects to a sqrt(2 pi) w
// exp(-(s - x0 cos - y0 sin)^2 / (2 w^2)) at every angle: the scale, the rotation centre and the
// direction of the angles at once (a point traces the sinusoid s = x0 cos(theta) + y0 sin(theta);
// theta = 0 sums columns, s = x; theta = pi/2 sums rows upwards, s = y).
BOOST_AUTO_TEST_CASE(a_blob_projects_onto_its_sinusoid) {
  for (const auto& [size, w, x0, y0] : {std::array<double, 4>{128, 1.5, 26.5, 43.5},
                                        std::array<double, 4>{129, 5.0, -30.0, 12.0}}) {
    const int n = int(size);
    cv::Mat img(n, n, CV_32F);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j)
        img.at<float>(i, j) = float(
            std::exp(-(std::pow(xOf(j, n) - x0, 2) + std::pow(yOf(i, n) - y0, 2)) / (2 * w * w)));
    const auto angles = train::parallelAngles(36);
    const cv::Mat sino = train::radon(img, angles);
    const double cb = (sino.cols - 1) / 2.0;
    double worst = 0, worstCentroid = 0;
    for (int a = 0; a < sino.rows; ++a) {
      const double centre =
          x0 * std::cos(angles[std::size_t(a)]) + y0 * std::sin(angles[std::size_t(a)]);
      double m = 0, ms = 0;
      for (int b = 0; b < sino.cols; ++b) {
        const double s = b - cb, v = sino.at<float>(a, b);
        const double expected =
            std::sqrt(2 * kPi) * w * std::exp(-(s - centre) * (s - centre) / (2 * w * w));
        worst = std::max(worst, std::abs(v - expected) / (std::sqrt(2 * kPi) * w));
        m += v;
        ms += v * s;
      }
      worstCentroid = std::max(worstCentroid, std::abs(ms / m - centre));
    }
    BOOST_TEST_MESSAGE("blob w " << w << " at (" << x0 << ", " << y0 << "): worst error " << worst
                                 << " of the peak, centroid " << worstCentroid << " bins");
    BOOST_CHECK_LT(worst, w < 2 ? 0.05 : 0.005);
    BOOST_CHECK_LT(worstCentroid, 0.01);
  }
  // An even image's pixel centres fall on bins at theta = 0: a column is one bin.
  cv::Mat point = cv::Mat::zeros(64, 64, CV_32F);
  point.at<float>(10, 40) = 1;
  const cv::Mat sino = train::radon(point, {0.0, kPi / 2});
  const int cb = sino.cols / 2;                                   // bin cb is centred at s = +0.5
  BOOST_CHECK_CLOSE(sino.at<float>(0, cb + 40 - 32), 1.0, 1e-4);  // x = 8.5
  BOOST_CHECK_CLOSE(sino.at<float>(1, cb + 31 - 10), 1.0, 1e-4);  // y = 21.5
}

BOOST_AUTO_TEST_CASE(fbp_reconstructs_a_shepp_logan_phantom) {
  const int size = 256;
  const cv::Mat phantom = sheppLogan(size);
  struct Case {
    FbpFilter filter;
    const char* name;
    double tolerance;
  };
  for (const auto& [filter, name, tolerance] :
       {Case{FbpFilter::RamLak, "ram-lak", 0.03}, Case{FbpFilter::SheppLogan, "shepp-logan", 0.03},
        Case{FbpFilter::Hann, "hann", 0.05}}) {
    for (int count : {180, 360}) {
      const auto angles = train::parallelAngles(count);
      const cv::Mat rec = train::fbp(train::radon(phantom, angles), angles, phantom.size(), filter);
      const double rmse = discRmse(rec, phantom), flat = discRmse(rec, phantom, true);
      double mean = 0;  // value 0.2 about the centre, between the two small ellipses
      for (int i = 124; i < 132; ++i)
        for (int j = 124; j < 132; ++j) mean += rec.at<float>(i, j) / 64;
      BOOST_TEST_MESSAGE("shepp-logan " << size << "^2, " << count << " angles, " << name
                                        << ": RMSE in the disc " << rmse << ", in its flat parts "
                                        << flat << ", centre mean " << mean << " (0.2)");
      BOOST_CHECK_LT(rmse, tolerance);
      BOOST_CHECK_LT(flat, 0.01);
      BOOST_CHECK_CLOSE(mean, 0.2, 2.0);
    }
  }
}

// A full 512x512 slice at 360 angles reconstructs the disc (the times are printed for the
// reader, not asserted: tests never judge wall-clock time; bench/ does).
BOOST_AUTO_TEST_CASE(a_512_slice_with_360_angles_reconstructs) {
  const cv::Mat slice = disc(512, 230, 0.5);
  const ParallelBeam beam({512, 512}, train::parallelAngles(360), FbpFilter::SheppLogan);
  const auto t0 = std::chrono::steady_clock::now();
  const cv::Mat sino = beam.project(slice);
  const auto t1 = std::chrono::steady_clock::now();
  const cv::Mat rec = beam.reconstruct(sino);
  const auto t2 = std::chrono::steady_clock::now();
  const double project = std::chrono::duration<double>(t1 - t0).count();
  const double reconstruct = std::chrono::duration<double>(t2 - t1).count();
  BOOST_TEST_MESSAGE("512x512, 360 angles, one thread: radon " << project << " s, FBP "
                                                               << reconstruct << " s");
  BOOST_CHECK_LT(discRmse(rec, slice), 0.02);
  // The whole corruption (projection, Poisson draws, one FBP): a slice, and a training batch.
  LowDoseCtNoise::Options o;
  o.angles = 360;
  Rng rng(4);
  Tensor noisy;
  const auto t3 = std::chrono::steady_clock::now();
  LowDoseCtNoise(o).apply(tensorOf(slice, 1), noisy, rng);
  const auto t4 = std::chrono::steady_clock::now();
  LowDoseCtNoise({}).apply(tensorOf(waterSlice(64), 16), noisy, rng);
  const auto t5 = std::chrono::steady_clock::now();
  BOOST_TEST_MESSAGE("LowDoseCtNoise: 512x512 slice, 360 angles "
                     << std::chrono::duration<double>(t4 - t3).count()
                     << " s; a batch of 16 64x64 patches, 101 angles "
                     << std::chrono::duration<double>(t5 - t4).count() << " s");
}

BOOST_AUTO_TEST_SUITE_END()

// --- Low-dose CT noise -------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(ct_lowdose)

BOOST_AUTO_TEST_CASE(noise_variance_falls_as_one_over_the_photons) {
  const Tensor clean = tensorOf(waterSlice(96), 4);
  std::vector<double> vars;
  for (double photons : {1e3, 1e4, 1e5}) {
    LowDoseCtNoise::Options o;
    o.photonsLo = o.photonsHi = photons;
    Rng rng(11);
    Tensor noisy;
    LowDoseCtNoise(o).apply(clean, noisy, rng);
    const std::vector<double> d = centreNoise(clean, noisy, 64);
    double mean = 0;
    for (double v : d) mean += v / double(d.size());
    vars.push_back(variance(d));
    BOOST_TEST_MESSAGE("I0 " << photons << ": noise std " << std::sqrt(vars.back()) << ", mean "
                             << mean);
    BOOST_CHECK_LT(std::abs(mean), 0.05 * std::sqrt(vars.back()));
  }
  for (std::size_t k = 1; k < vars.size(); ++k) {
    BOOST_TEST_MESSAGE("variance ratio for 10x photons " << vars[k - 1] / vars[k]);
    BOOST_CHECK_GT(vars[k - 1] / vars[k], 8.0);
    BOOST_CHECK_LT(vars[k - 1] / vars[k], 12.5);
  }
}

BOOST_AUTO_TEST_CASE(huge_photon_counts_leave_the_slice_clean) {
  const Tensor clean = tensorOf(waterSlice(96), 1);
  LowDoseCtNoise::Options o;
  o.photonsLo = o.photonsHi = 1e12;
  Rng rng(12);
  Tensor noisy;
  LowDoseCtNoise(o).apply(clean, noisy, rng);
  double worst = 0;
  for (std::size_t i = 0; i < clean.size(); ++i)
    worst = std::max(worst, double(std::abs(noisy[i] - clean[i])));
  BOOST_TEST_MESSAGE("I0 1e12: largest change " << worst);
  BOOST_CHECK_LT(worst, 1e-3);
}

// CT noise is not white: FBP's ramp filter gives it a power spectrum that rises from ~0 at DC
// (Hanson 1979; Kijewski & Judy 1987). Radially averaged over the centre of a water slice:
// white noise would give a low-to-mid ratio of 1.
BOOST_AUTO_TEST_CASE(the_noise_power_spectrum_rises_like_a_ramp) {
  const int size = 128, crop = 96;
  const Tensor clean = tensorOf(waterSlice(size), 8);
  LowDoseCtNoise::Options o;
  o.photonsLo = o.photonsHi = 1e4;
  Rng rng(13);
  Tensor noisy;
  LowDoseCtNoise(o).apply(clean, noisy, rng);
  const std::vector<double> d = centreNoise(clean, noisy, crop);
  std::vector<double> band(10, 0.0);  // radial bands of 0.05 cycles per pixel up to 0.5
  std::vector<int> count(10, 0);
  for (int n = 0; n < clean.shape().n; ++n) {
    cv::Mat patch(crop, crop, CV_32F), spectrum;
    for (int i = 0; i < crop; ++i)
      for (int j = 0; j < crop; ++j) {
        const double hann = (0.5 - 0.5 * std::cos(2 * kPi * (i + 0.5) / crop)) *
                            (0.5 - 0.5 * std::cos(2 * kPi * (j + 0.5) / crop));
        patch.at<float>(i, j) = float(hann * d[(std::size_t(n) * crop + i) * crop + j]);
      }
    cv::dft(patch, spectrum, cv::DFT_COMPLEX_OUTPUT);
    for (int u = 0; u < crop; ++u)
      for (int v = 0; v < crop; ++v) {
        const double fu = (u <= crop / 2 ? u : u - crop) / double(crop);
        const double fv = (v <= crop / 2 ? v : v - crop) / double(crop);
        const double f = std::hypot(fu, fv);
        const auto z = spectrum.at<cv::Vec2f>(u, v);
        const double power = double(z[0]) * z[0] + double(z[1]) * z[1];
        const int k = int(std::ceil(f / 0.05)) - 1;  // DC (k = -1) and the corners left out
        if (k >= 0 && k < 10) band[std::size_t(k)] += power, ++count[std::size_t(k)];
      }
  }
  for (std::size_t k = 0; k < band.size(); ++k) band[k] /= count[k];
  std::string profile;
  for (double b : band) profile += " " + std::to_string(b / band[4]).substr(0, 5);
  const double mid = (band[4] + band[5]) / 2;  // 0.2..0.3 cycles per pixel
  const double low = band[0] / mid, high = (band[8] + band[9]) / 2 / mid;
  BOOST_TEST_MESSAGE("CT noise power by 0.05-cycle band, relative to 0.2..0.25:"
                     << profile << "; low (< 0.05) / mid " << low << ", high (0.4..0.5) / mid "
                     << high << " (white: 1, 1)");
  BOOST_CHECK_LT(low, 0.35);
  BOOST_CHECK_LT(band[0], band[1]);  // rising from DC, as the ramp
  BOOST_CHECK_LT(band[1], band[2]);
}

BOOST_AUTO_TEST_CASE(a_fixed_rng_gives_the_same_noise) {
  const Tensor clean = tensorOf(waterSlice(48), 3);
  LowDoseCtNoise::Options o;
  o.photonsLo = 1e3;
  o.photonsHi = 1e5;
  o.angles = 60;
  const LowDoseCtNoise noise(o);
  Rng a(14), b(14), c(15);
  Tensor na, nb, nc;
  noise.apply(clean, na, a);
  noise.apply(clean, nb, b);
  noise.apply(clean, nc, c);
  BOOST_CHECK(same(na, nb));
  BOOST_CHECK(!same(na, nc));
  BOOST_CHECK(a.state() == b.state());
  BOOST_CHECK_EQUAL(noise.name(), "ct-lowdose");
  BOOST_CHECK_EQUAL(LowDoseCtNoise({}).anglesFor(64, 64), 101);
  BOOST_CHECK_EQUAL(train::TrainConfig{}.ctMuScale, LowDoseCtNoise::kDefaultMuScale);
  BOOST_CHECK_EQUAL(noise.anglesFor(64, 64), 60);
}

BOOST_AUTO_TEST_CASE(blind_photons_are_log_uniform_in_the_range) {
  const int count = 1000;
  const Tensor clean = tensorOf(waterSlice(16), count);
  LowDoseCtNoise::Options o;
  o.photonsLo = 1e3;
  o.photonsHi = 1e5;
  Rng rng(16);
  Tensor noisy;
  std::vector<double> photons;
  LowDoseCtNoise(o).apply(clean, noisy, rng, &photons);
  BOOST_REQUIRE_EQUAL(photons.size(), std::size_t(count));
  double logMean = 0;
  int below1e4 = 0;
  for (double p : photons) {
    BOOST_CHECK(p >= 1e3 && p <= 1e5);
    logMean += std::log10(p) / count;
    below1e4 += p < 1e4;
  }
  BOOST_TEST_MESSAGE("log10 photons mean " << logMean << ", below 1e4: " << below1e4 << "/"
                                           << count);
  BOOST_CHECK_LT(std::abs(logMean - 4), 0.06);    // standard error 0.018
  BOOST_CHECK(below1e4 > 440 && below1e4 < 560);  // half of the draws, log-uniform
  o.photonsLo = 0;
  BOOST_CHECK_THROW(LowDoseCtNoise{o}, InvalidArgument);
  o.photonsLo = 1e3;
  o.muScale = 0;
  BOOST_CHECK_THROW(LowDoseCtNoise{o}, InvalidArgument);
}

BOOST_AUTO_TEST_SUITE_END()

// --- cae-train --noise rician / ct-lowdose -------------------------------------------------------

namespace {

const std::string kPydicom = "/usr/lib/python3/dist-packages/pydicom/data/test_files/";

std::string exe() {
  if (const char* e = std::getenv("CAE_TRAIN_EXE")) return e;
  return (fs::canonical("/proc/self/exe").parent_path().parent_path() / "tools" / "cae-train")
      .string();
}

struct Cli {
  fs::path dir = fs::temp_directory_path() / ("cae_medical_noise_" + std::to_string(::getpid()));
  Cli() { fs::create_directories(dir); }
  ~Cli() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string at(const std::string& name) const { return (dir / name).string(); }
  // Runs cae-train with args; the exit code, and stdout + stderr in `out`.
  int run(const std::vector<std::string>& args, std::string& out) const {
    std::string cmd = "'" + exe() + "'";
    for (const auto& a : args) cmd += " '" + a + "'";
    cmd += " >'" + at("out.txt") + "' 2>&1";
    const int st = std::system(cmd.c_str());
    std::ifstream f(at("out.txt"));
    out.assign(std::istreambuf_iterator<char>(f), {});
    BOOST_TEST_MESSAGE(cmd << "\n" << out);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }
  // A tiny denoiser on two real slices with the given noise options.
  int train(const std::vector<std::string>& noise, const std::string& model,
            std::string& out) const {
    std::vector<std::string> args{kPydicom + "CT_small.dcm",
                                  kPydicom + "MR_small.dcm",
                                  "--patch",
                                  "32",
                                  "--arch",
                                  "conv",
                                  "--depth",
                                  "1",
                                  "--stages",
                                  "1",
                                  "--channels",
                                  "8",
                                  "--residual",
                                  "--allow-overcomplete",
                                  "--task",
                                  "denoise",
                                  "--epochs",
                                  "2",
                                  "--steps",
                                  "5",
                                  "--batch",
                                  "8",
                                  "--val-samples",
                                  "16",
                                  "--threads",
                                  "1",
                                  "-o",
                                  at(model)};
    args.insert(args.end(), noise.begin(), noise.end());
    return run(args, out);
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(cli, Cli)

BOOST_AUTO_TEST_CASE(rician_training_records_the_noise) {
  std::string out;
  BOOST_REQUIRE_EQUAL(train({"--noise", "rician", "--sigma", "5-20"}, "r.onnx", out), 0);
  BOOST_CHECK(out.find("OpenCV NLM") != std::string::npos);
  const auto info = onnx::readModelInfo(at("r.onnx"));
  BOOST_CHECK(info.task == onnx::Task::Denoise);
  BOOST_CHECK_CLOSE(info.noiseSigma, 20.0 / 255, 1e-4);
  BOOST_REQUIRE(info.noise);
  BOOST_CHECK_EQUAL(info.noise->kind, "rician");
  BOOST_CHECK_EQUAL(info.noise->params.at("sigma"), "0.01961-0.07843");
  BOOST_CHECK_EQUAL(onnx::readOnnxMetadata(at("r.onnx")).at("cae.noise"),
                    "rician sigma=0.01961-0.07843");
  BOOST_CHECK(info.recipe.find("--noise rician --sigma 5-20") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(ct_lowdose_training_records_the_noise) {
  std::string out;
  BOOST_REQUIRE_EQUAL(train({"--noise", "ct-lowdose", "--photons", "2e3-5e4", "--ct-angles", "64",
                             "--ct-mu-scale", "0.03"},
                            "c.onnx", out),
                      0);
  BOOST_CHECK(out.find("PSNR") != std::string::npos);
  const auto info = onnx::readModelInfo(at("c.onnx"));
  BOOST_CHECK(info.task == onnx::Task::Denoise);
  BOOST_REQUIRE(info.noise);
  BOOST_CHECK_EQUAL(info.noise->kind, "ct-lowdose");
  BOOST_CHECK_EQUAL(onnx::readOnnxMetadata(at("c.onnx")).at("cae.noise"),
                    "ct-lowdose angles=64 mu_scale=0.03 photons=2000-50000");
  BOOST_CHECK(info.recipe.find("--noise ct-lowdose --photons 2e3-5e4") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(help_and_bad_values) {
  std::string out;
  BOOST_CHECK_EQUAL(run({"--help"}, out), 0);
  for (const char* o : {"rician", "ct-lowdose", "--photons", "--ct-angles", "--ct-mu-scale"})
    BOOST_CHECK_MESSAGE(out.find(o) != std::string::npos, o << " missing from --help");
  for (const auto& bad :
       std::vector<std::vector<std::string>>{{"--noise", "ct-lowdose", "--photons", "lots"},
                                             {"--noise", "ct-lowdose", "--photons", "1e5-1e4"},
                                             {"--noise", "ct-lowdose", "--photons", "0"},
                                             {"--noise", "ct-lowdose", "--ct-angles", "-3"},
                                             {"--noise", "ct-lowdose", "--ct-mu-scale", "0"},
                                             {"--noise", "rician", "--sigma", "300"}}) {
    BOOST_CHECK_MESSAGE(train(bad, "bad.onnx", out) == 2, bad[2] << " " << bad[3]);
    BOOST_CHECK(!fs::exists(at("bad.onnx")));
  }
}

BOOST_AUTO_TEST_SUITE_END()
