#define BOOST_TEST_MODULE stft
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <complex>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "audio/fft.hpp"
#include "audio/mel.hpp"
#include "audio/noise_floor.hpp"
#include "audio/resample.hpp"
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
  // Powers of two and the odd sizes the element's rate-scaled frames use (44.1 kHz: 1412).
  for (int n : {2, 3, 8, 64, 352, 512, 1412}) {
    std::vector<float> x(static_cast<std::size_t>(n));
    std::vector<cdouble> xc(static_cast<std::size_t>(n));
    for (std::size_t j = 0; j < x.size(); ++j) {
      x[j] = float(nd(gen));
      xc[j] = x[j];
    }
    const std::vector<cdouble> ref = directDft(xc);
    audio::RealFft f(n);
    BOOST_TEST(f.bins() == n / 2 + 1);
    std::vector<std::complex<float>> y(static_cast<std::size_t>(f.bins()));
    f.forward(x.data(), y.data());
    double err = 0, inv = 0;
    for (std::size_t k = 0; k < y.size(); ++k)
      err = std::max(err, std::abs(cdouble(y[k]) - ref[k]));
    std::vector<float> back(static_cast<std::size_t>(n));
    f.inverse(y.data(), back.data());
    for (std::size_t j = 0; j < x.size(); ++j)
      inv = std::max(inv, double(std::abs(back[j] - x[j])));
    BOOST_TEST(err < 2e-6 * n, "n=" << n << " err=" << err);
    BOOST_TEST(inv < 1e-5, "n=" << n << " inverse err=" << inv);
  }
  BOOST_CHECK_THROW(audio::RealFft(1), cae::InvalidArgument);
}

BOOST_AUTO_TEST_CASE(stft_then_istft_gives_the_signal_back) {
  const cae::io::MonoAudio a = cae::io::readMonoAudio("/usr/share/sounds/alsa/Front_Center.wav");
  for (auto [n, hop] : {std::pair{512, 128}, std::pair{512, 256}, std::pair{1412, 353}}) {
    const audio::ComplexSpectrogram s = audio::stft(a.samples, n, hop);
    const std::vector<float> back = audio::istft(s, a.samples.size());
    double err = 0;
    for (std::size_t j = 0; j < back.size(); ++j)
      err = std::max(err, double(std::abs(back[j] - a.samples[j])));
    BOOST_TEST(err < 1e-5, "n=" << n << " hop=" << hop << " max error " << err);
  }
  BOOST_CHECK_THROW(audio::stft(a.samples, 512, 200), cae::InvalidArgument);  // 200 ∤ 512
  BOOST_CHECK_THROW(audio::stft(a.samples, 512, 512), cae::InvalidArgument);  // no overlap
}

BOOST_AUTO_TEST_CASE(streaming_stft_is_a_fixed_delay_at_any_block_size) {
  const cae::io::MonoAudio a = cae::io::readMonoAudio("/usr/share/sounds/alsa/Front_Left.wav");
  std::mt19937 gen(3);
  for (auto [size, step] : {std::pair{512, 128}, std::pair{1536, 384}, std::pair{1412, 353}}) {
    const int n = size, hop = step;  // lambdas cannot capture structured bindings in C++17
    audio::StreamingStft st(n, hop);
    BOOST_TEST(st.latency() == n - 1);
    std::vector<float> out(a.samples.size());
    std::size_t at = 0;
    std::uniform_int_distribution<std::size_t> block(1, 3000);
    int frames = 0;
    const auto count = [&](std::complex<float>*, int bins) {
      BOOST_TEST(bins == n / 2 + 1);
      ++frames;
    };
    while (at < a.samples.size()) {  // odd block sizes, in place
      const std::size_t len = std::min(block(gen), a.samples.size() - at);
      std::copy_n(a.samples.begin() + long(at), len, out.begin() + long(at));
      st.process(&out[at], &out[at], len, count);
      at += len;
    }
    BOOST_TEST(frames == int(a.samples.size() / std::size_t(hop)));
    double err = 0;
    for (std::size_t j = 0; j < out.size(); ++j) {
      const float want = j >= std::size_t(n - 1) ? a.samples[j - std::size_t(n - 1)] : 0.0f;
      err = std::max(err, double(std::abs(out[j] - want)));
    }
    BOOST_TEST(err < 1e-5, "n=" << n << " max error " << err);
    // After reset() the stream starts again from silence.
    st.reset();
    std::vector<float> again(std::size_t(n), 0.5f);
    st.process(again.data(), again.data(), again.size(), nullptr);
    BOOST_TEST(std::abs(again[std::size_t(n) - 2]) < 1e-6);
    BOOST_TEST(std::abs(again[std::size_t(n) - 1] - 0.5f) < 1e-5);
  }
  // A callback that zeroes the bins gives silence.
  audio::StreamingStft st(512, 128);
  std::vector<float> x(4096, 0.3f);
  st.process(x.data(), x.data(), x.size(),
             [](std::complex<float>* b, int k) { std::fill(b, b + k, std::complex<float>{}); });
  BOOST_TEST(*std::max_element(x.begin(), x.end()) < 1e-6f);
}

BOOST_AUTO_TEST_CASE(resampling_keeps_a_tone_and_its_timing) {
  // A 440 Hz tone at 16 kHz to 48 kHz and back: the same tone, not delayed.
  std::vector<float> x(16000);
  for (std::size_t j = 0; j < x.size(); ++j)
    x[j] = float(0.5 * std::sin(2 * kPi * 440 * double(j) / 16000.0));
  const std::vector<float> up = audio::resample(x, 16000, 48000);
  BOOST_TEST(up.size() == 48000u);
  double err = 0;
  for (std::size_t j = 3000; j < 45000; ++j)
    err = std::max(err,
                   std::abs(double(up[j]) - 0.5 * std::sin(2 * kPi * 440 * double(j) / 48000.0)));
  BOOST_TEST(err < 2e-3, "max error at 48 kHz " << err);
  const std::vector<float> down = audio::resample(up, 48000, 16000);
  BOOST_TEST(down.size() == 16000u);
  err = 0;
  for (std::size_t j = 1000; j < 15000; ++j) err = std::max(err, double(std::abs(down[j] - x[j])));
  BOOST_TEST(err < 2e-3, "max error back at 16 kHz " << err);
  BOOST_TEST(audio::resample(x, 16000, 16000) == x);
  BOOST_CHECK_THROW(audio::resample(x, 0, 16000), cae::InvalidArgument);
  // 44.1 kHz to 16 kHz: the length follows the ratio.
  BOOST_TEST(audio::resample(std::vector<float>(44100, 0.1f), 44100, 16000).size() == 16000u);
}

BOOST_AUTO_TEST_CASE(mel_filters_cover_the_band_and_find_a_tone) {
  const audio::MelFilterbank bank(1024, 16000, 64);
  BOOST_TEST(bank.bins() == 513);
  // Each filter peaks at 1 or close to it; between the first and last centre the filters add up
  // to 1 (triangles on a shared grid of edges).
  for (int f = 20; f < 480; ++f) {
    double s = 0;
    for (int m = 0; m < bank.mels(); ++m) s += bank.weight(m, f);
    BOOST_TEST(std::abs(s - 1.0) < 1e-3, "bin " << f << " sum " << s);
  }
  BOOST_TEST(std::abs(audio::melToHz(audio::hzToMel(1234.5)) - 1234.5) < 1e-6);
  // A 1 kHz tone: the loudest mel band is the one whose centre is nearest 1 kHz.
  std::vector<float> x(16000);
  for (std::size_t j = 0; j < x.size(); ++j)
    x[j] = float(0.5 * std::sin(2 * kPi * 1000 * double(j) / 16000.0));
  const audio::LogMel lm = audio::logMelSpectrogram(x, 16000, 1024, 512, 64);
  BOOST_TEST(lm.mels == 64);
  BOOST_TEST(lm.frames == 1 + (16000 - 1024) / 512);
  const float* row = &lm.db[std::size_t(5) * 64];
  const int peak = int(std::max_element(row, row + 64) - row);
  double best = 1e9;
  int nearest = -1;
  const double lo = audio::hzToMel(0), hi = audio::hzToMel(8000);
  for (int m = 0; m < 64; ++m) {
    const double centre = audio::melToHz(lo + (hi - lo) * (m + 1) / 65.0);
    if (std::abs(centre - 1000) < best) {
      best = std::abs(centre - 1000);
      nearest = m;
    }
  }
  BOOST_TEST(std::abs(peak - nearest) <= 1);
  BOOST_CHECK_THROW(audio::MelFilterbank(1024, 16000, 0), cae::InvalidArgument);
  BOOST_CHECK_THROW(audio::MelFilterbank(1024, 16000, 64, 0, 9000), cae::InvalidArgument);
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

// audio/noise_floor.hpp: the floor the speech denoiser reads beside its frames.
BOOST_AUTO_TEST_CASE(the_noise_floor_tracks_a_steady_noise_and_ignores_speech_bursts) {
  const audio::NoiseFloorOptions o;  // 0.7 smoothing, 7.4e-4 per frame up
  // A steady noise, then bursts 0.3 above it (~30 dB) for 40 of every 60 frames (syllables):
  // the floor stays near the noise in its spread, rising at most o.rise per frame.
  std::mt19937 gen(4);
  std::normal_distribution<float> jitter(0.0f, 0.02f);
  audio::NoiseFloor nf(3, o);
  std::vector<float> x(3), fl(3), prev(3);
  const float noise = 0.4f;
  for (int t = 0; t < 1000; ++t) {
    const bool burst = t > 200 && t % 60 < 40;
    for (int f = 0; f < 3; ++f) x[std::size_t(f)] = noise + jitter(gen) + (burst ? 0.3f : 0.0f);
    nf.update(x.data(), fl.data());
    for (int f = 0; f < 3 && t > 0; ++f)
      BOOST_TEST(fl[std::size_t(f)] <= prev[std::size_t(f)] + o.rise + 1e-6f);
    prev = fl;
    if (t >= 100)
      for (int f = 0; f < 3; ++f)
        BOOST_TEST(std::abs(fl[std::size_t(f)] - noise) < 0.05f, "t " << t << " floor " << fl[0]);
  }
  // The noise falls 0.2 (from a burst, 0.5 below): the floor follows within the smoothing's
  // time (0.7^15 of the step is left).
  for (int t = 0; t < 15; ++t) {
    for (int f = 0; f < 3; ++f) x[std::size_t(f)] = noise - 0.2f;
    nf.update(x.data(), fl.data());
  }
  BOOST_TEST(std::abs(fl[0] - (noise - 0.2f)) < 0.01f);
  // It rises 0.2 again: after 100 frames the floor has risen exactly 100 steps of o.rise.
  for (int t = 0; t < 100; ++t) {
    for (int f = 0; f < 3; ++f) x[std::size_t(f)] = noise;
    nf.update(x.data(), fl.data());
  }
  BOOST_TEST(std::abs(fl[0] - (noise - 0.2f + 100 * o.rise)) < 0.005f);
  // reset(): the next frame starts it again; the output may alias the input.
  nf.reset();
  std::vector<float> y = {0.9f, 0.1f, 0.5f};
  nf.update(y.data(), y.data());
  BOOST_TEST((y == std::vector<float>{0.9f, 0.1f, 0.5f}));
}

// The envelope (envelopeOptions: the same tracker, no limit on the rise) is the smoothed
// log-magnitude itself, both ways, from the first frame (and again after reset).
BOOST_AUTO_TEST_CASE(the_envelope_is_the_smoothed_magnitude_both_ways) {
  const float a = 0.95f;
  audio::NoiseFloor env(2, audio::envelopeOptions(a));
  std::vector<float> x(2), e(2);
  double s0 = 0, s1 = 0;
  for (int t = 0; t < 300; ++t) {
    // Bin 0: a step up by 0.5 at frame 100 and back at 200; bin 1: alternating bursts.
    x[0] = t >= 100 && t < 200 ? 0.8f : 0.3f;
    x[1] = t % 10 < 5 ? 0.6f : 0.2f;
    env.update(x.data(), e.data());
    s0 = t == 0 ? x[0] : a * s0 + (1 - a) * x[0];
    s1 = t == 0 ? x[1] : a * s1 + (1 - a) * x[1];
    BOOST_TEST(std::abs(e[0] - s0) < 1e-5, "t " << t);
    BOOST_TEST(std::abs(e[1] - s1) < 1e-5, "t " << t);
  }
  // Unlike the floor, it rose with the step (within 0.95^100 of it) ...
  audio::NoiseFloor fl(1, audio::NoiseFloorOptions{});
  float f = 0, y = 0;
  for (int t = 0; t < 200; ++t) {
    y = t >= 100 ? 0.8f : 0.3f;
    fl.update(&y, &f);
  }
  BOOST_TEST(f < 0.4f);
  env.reset();
  std::vector<float> z = {0.9f, 0.1f};
  env.update(z.data(), z.data());
  BOOST_TEST((z == std::vector<float>{0.9f, 0.1f}));
  BOOST_TEST(audio::parseEnvelope(audio::formatEnvelope(0.95f)) == 0.95f);
  for (const char* bad : {"", "1", "-0.1", "0.9x", "a", "0.5:0.1", "nan", "inf"})
    BOOST_CHECK_THROW(audio::parseEnvelope(bad), cae::FormatError);
  BOOST_CHECK_THROW(audio::envelopeOptions(1.0f), cae::InvalidArgument);
  BOOST_CHECK_THROW(audio::envelopeOptions(-0.5f), cae::InvalidArgument);
}

BOOST_AUTO_TEST_CASE(the_noise_floors_options_read_back_exactly_and_refuse_garbage) {
  const audio::NoiseFloorOptions o{0.7f, 7.4e-4f};
  const audio::NoiseFloorOptions back = audio::parseNoiseFloor(audio::formatNoiseFloor(o));
  BOOST_TEST(back.smooth == o.smooth);
  BOOST_TEST(back.rise == o.rise);
  for (const char* bad : {"", "0.7", "0.7:", ":0.1", "1:0.1", "-0.1:0.1", "0.5:0", "0.5:-1",
                          "0.5:0.1x", "a:b", "0.5:inf", "0.5:nan"})
    BOOST_CHECK_THROW(audio::parseNoiseFloor(bad), cae::FormatError);
  BOOST_CHECK_THROW(audio::NoiseFloor(0, o), cae::InvalidArgument);
  BOOST_CHECK_THROW(audio::NoiseFloor(4, audio::NoiseFloorOptions{1.0f, 0.1f}),
                    cae::InvalidArgument);
}
