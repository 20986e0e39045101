#define BOOST_TEST_MODULE stft
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <complex>
#include <random>
#include <vector>

#include "audio/stft.hpp"
#include "error.hpp"
#include "io/wav.hpp"

namespace audio = cae::audio;
using cdouble = std::complex<double>;

namespace {

constexpr double kPi = 3.14159265358979323846;

std::vector<cdouble> directDft(const std::vector<cdouble>& x) {
  const std::size_t n = x.size();
  std::vector<cdouble> out(n);
  for (std::size_t k = 0; k < n; ++k)
    for (std::size_t j = 0; j < n; ++j)
      out[k] += x[j] * std::polar(1.0, -2 * kPi * double(k * j % n) / double(n));
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(fft_matches_direct_dft_and_inverts) {
  std::mt19937_64 gen(7);
  std::normal_distribution<double> nd;
  for (std::size_t n : {1u, 2u, 4u, 8u, 64u, 512u}) {
    std::vector<cdouble> x(n);
    for (auto& v : x) v = {nd(gen), nd(gen)};
    const std::vector<cdouble> ref = directDft(x);
    std::vector<cdouble> y = x;
    audio::fft(y);
    double err = 0, inv = 0;
    for (std::size_t k = 0; k < n; ++k) err = std::max(err, std::abs(y[k] - ref[k]));
    audio::fft(y, true);
    for (std::size_t k = 0; k < n; ++k) inv = std::max(inv, std::abs(y[k] - x[k]));
    BOOST_TEST(err < 1e-9 * double(n), "n=" << n << " err=" << err);
    BOOST_TEST(inv < 1e-12 * double(n), "n=" << n << " inverse err=" << inv);
  }
  std::vector<cdouble> bad(6);
  BOOST_CHECK_THROW(audio::fft(bad), cae::InvalidArgument);
}

BOOST_AUTO_TEST_CASE(stft_of_a_sine_peaks_at_its_bin) {
  // A unit sine exactly on bin 16 of a 256-point Hann STFT has |X| = n/4 there.
  const int n = 256, hop = 64;
  std::vector<float> x(4096);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(std::sin(2 * kPi * 16 * double(i) / n));
  const audio::Spectrogram s = audio::stftMagnitude(x, n, hop);
  BOOST_TEST(s.bins == n / 2 + 1);
  BOOST_TEST(s.frames == 1 + (4096 - n) / hop);
  for (int t : {0, 10, s.frames - 1}) {
    const float* row = s.mag.data() + std::size_t(t) * std::size_t(s.bins);
    BOOST_TEST(row[16] == n / 4.0f, boost::test_tools::tolerance(1e-4f));
    BOOST_TEST(row[15] == n / 8.0f, boost::test_tools::tolerance(1e-4f));  // Hann's side lobe
    BOOST_TEST(row[40] < 1e-3f);
  }
  const std::vector<double> w = audio::hannWindow(8);
  BOOST_TEST(w[0] == 0.0);
  BOOST_TEST(w[4] == 1.0);
  BOOST_CHECK_THROW(audio::stftMagnitude(x, 100, hop), cae::InvalidArgument);
}

BOOST_AUTO_TEST_CASE(normalisation_is_bounded_and_invertible) {
  const int n = 512;
  BOOST_TEST(audio::magnitudeToUnit(0, n) == 0.0f);
  BOOST_TEST(audio::magnitudeToUnit(n / 2.0f, n) == 1.0f, boost::test_tools::tolerance(1e-6f));
  for (float m : {1e-4f, 0.01f, 1.0f, 100.0f})
    BOOST_TEST(audio::unitToMagnitude(audio::magnitudeToUnit(m, n), n) == m,
               boost::test_tools::tolerance(1e-4f));
}

BOOST_AUTO_TEST_CASE(real_speech_chunks_match_numpy) {
  const cae::io::MonoAudio a = cae::io::readMonoAudio("/usr/share/sounds/alsa/Front_Center.wav");
  BOOST_TEST(a.sampleRate == 48000);
  BOOST_TEST(a.samples.size() == 68545u);  // wave.open(...).getnframes()
  const auto chunks = audio::logSpectrogramChunks(a.samples, 512, 256, 64);
  // 1 + (68545 - 512) / 256 = 266 frames -> 4 whole chunks of 64.
  BOOST_TEST_REQUIRE(chunks.size() == 4u);
  BOOST_TEST(chunks[0].shape().h == 257);
  BOOST_TEST(chunks[0].shape().w == 64);
  // Reference: /usr/bin/python3 + numpy, x = int16 / 32768, w = 0.5 - 0.5 cos(2 pi i / 512),
  // V[t, f] = log1p(|rfft(x[256 t : 256 t + 512] * w)[f]| / 1e-3) / log1p(256 / 1e-3).
  const auto tol = boost::test_tools::tolerance(2e-5f);
  BOOST_TEST(chunks[2].at(0, 0, 3, 59) == 0.835052849370679f, tol);     // frame 187, the maximum
  BOOST_TEST(chunks[2].at(0, 0, 30, 22) == 0.35490885136688627f, tol);  // frame 150
  BOOST_TEST(chunks[1].at(0, 0, 20, 36) == 0.03153760576811962f, tol);  // frame 100
  double mean = 0;
  for (const auto& c : chunks) mean += double(c.vec().mean()) / 4;
  BOOST_TEST(mean == 0.1500975307884144, boost::test_tools::tolerance(1e-5));  // V[:256].mean()

  // Shorter than a chunk: one chunk, padded with silence.
  const std::vector<float> shortSig(a.samples.begin(), a.samples.begin() + 3000);
  const auto one = audio::logSpectrogramChunks(shortSig, 512, 256, 64);
  BOOST_TEST_REQUIRE(one.size() == 1u);
  BOOST_TEST(one[0].at(0, 0, 10, 63) == 0.0f);
}
