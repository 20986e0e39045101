// cae-train --task audio-denoise (issue 15): the mixtures the speech denoiser trains on (SNR as
// drawn, the phase-sensitive mask as defined, a split by file, speech drawn by clip or by
// duration), the causal mask architecture, and a short run on real speech whose ONNX file
// OpenCV DNN computes as the trainer's model does, loaded by core/audio's MaskModel with its
// STFT and context, and refused where it must be.
#define BOOST_TEST_MODULE audio_denoise_train
#include <unistd.h>

#include <algorithm>
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "audio/column_net.hpp"
#include "audio/denoiser.hpp"
#include "audio/fft.hpp"
#include "audio/stft.hpp"
#include "error.hpp"
#include "nn/losses/weighted_mse_loss.hpp"
#include "onnx/export.hpp"
#include "onnx/metadata.hpp"
#include "onnx/receptive_field.hpp"
#include "train/architecture.hpp"
#include "train/audio_arch.hpp"
#include "train/audio_data.hpp"
#include "train/objective.hpp"
#include "train/overlap_add_loss.hpp"
#include "train/trainer.hpp"
#include "train/training_data.hpp"
#include "train/warm_start.hpp"

namespace fs = std::filesystem;
using namespace cae;
using namespace cae::train;
using nn::Tensor;

namespace {

const std::string kSpeech = "/usr/share/pocketsphinx/test/data/librivox";

fs::path tempDir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("cae-test-" + name + "-" + std::to_string(getpid()));
  fs::create_directories(d);
  return d;
}

// A small speech denoiser's training run on real speech, one engine thread, writing dir/name;
// each test sets its sizes and its length.
TrainConfig shortRun(const fs::path& dir, const std::string& name, int width, int latent,
                     int context) {
  TrainConfig c;
  c.task = TrainTask::AudioDenoise;
  c.arch.kind = ArchKind::AudioMask;
  c.arch.width0 = width;
  c.arch.latent = latent;
  c.data = {kSpeech};
  c.context = context;
  c.batch = 16;
  c.threads = 1;
  c.output = (dir / name).string();
  return c;
}

double power(const std::vector<float>& x) {
  double s = 0;
  for (float v : x) s += double(v) * v;
  return s / double(std::max<std::size_t>(x.size(), 1));
}

}  // namespace

BOOST_AUTO_TEST_CASE(sounds_load_at_the_rate_and_split_by_file) {
  const SoundSet s = loadSounds({kSpeech}, 16000);
  BOOST_REQUIRE(s.clips.size() >= 4);
  BOOST_TEST(std::is_sorted(s.names.begin(), s.names.end()));
  for (std::size_t i = 0; i < s.clips.size(); ++i) {
    BOOST_TEST(s.clips[i].size() > 16000u);            // seconds of speech each
    BOOST_TEST(s.activePower[i] > power(s.clips[i]));  // pauses left out
  }
  SoundSet keep, held, keep2, held2;
  splitSounds(s, 0.25, 3, keep, held);
  splitSounds(s, 0.25, 3, keep2, held2);
  BOOST_TEST(held.names == held2.names);  // repeatable
  BOOST_TEST(held.clips.size() == std::size_t(std::lround(0.25 * double(s.clips.size()))));
  BOOST_TEST(keep.clips.size() + held.clips.size() == s.clips.size());
  for (const std::string& n : held.names)
    BOOST_TEST((std::find(keep.names.begin(), keep.names.end(), n) == keep.names.end()));
  BOOST_CHECK_THROW(loadSounds({"/nonexistent/speech"}, 16000), IoError);
  BOOST_CHECK_THROW(loadSounds({"/usr/share/doc/espeak-ng-data"}, 16000), std::exception);
}

BOOST_AUTO_TEST_CASE(mixtures_have_the_snr_drawn_and_masks_as_defined) {
  SoundSet speech = loadSounds({kSpeech}, 16000);
  AudioMixOptions o;
  o.snrLo = 3;
  o.snrHi = 3;
  AudioMixSource src(speech, {}, o);
  nn::Rng rng(5);
  // Over 3 s stretches the mixture's SNR is near the one drawn: the speech power is the whole
  // clip's over its active part, so a stretch with more pauses measures lower, a denser one a
  // little higher.
  int near = 0;
  for (int i = 0; i < 20; ++i) {
    std::vector<float> s, v;
    src.mixture(rng, 48000, s, v);
    const double snr = 10 * std::log10(power(s) / power(v));
    BOOST_TEST((snr > -3.0 && snr < 6.0), "stretch SNR " << snr);
    near += std::abs(snr - 3) < 1.5;
  }
  BOOST_TEST(near >= 10);
  // Samples: K frames of features in [0, 1] and a mask in [0, 1].
  Tensor batch;
  src.next(16, rng, batch);
  BOOST_TEST((batch.shape() == (nn::Shape{16, 257, 1, 9})));
  BOOST_TEST(*std::min_element(batch.data(), batch.data() + batch.size()) >= 0.0f);
  BOOST_TEST(*std::max_element(batch.data(), batch.data() + batch.size()) <= 1.05f);
  Tensor in, target;
  splitAudioSamples(batch, in, target);
  BOOST_TEST((in.shape() == (nn::Shape{16, 257, 1, 8})));
  BOOST_TEST((target.shape() == (nn::Shape{16, 257, 1, 1})));
  BOOST_TEST(in.sample(3)[257 * 8 - 1] == batch.sample(3)[257 * 9 - 2]);
  BOOST_TEST(target.sample(3)[256] == batch.sample(3)[257 * 9 - 1]);
  // Clean speech alone (SNR 80 dB): the mask is ~1 where the speech is; noise alone (-80 dB):
  // ~0 everywhere.
  for (const double snr : {80.0, -80.0}) {
    o.snrLo = o.snrHi = snr;
    AudioMixSource s2(speech, {}, o);
    const Tensor t = s2.fixed(64, 11);
    double sum = 0;
    int count = 0;
    for (int n = 0; n < 64; ++n)
      for (int f = 0; f < 257; ++f) {
        const float feat = t.sample(n)[f * 9 + 7];
        if (snr > 0 && feat < 0.4f) continue;  // quiet bins: the speech is not there
        sum += t.sample(n)[f * 9 + 8];
        ++count;
      }
    BOOST_REQUIRE(count > 100);
    if (snr > 0)
      BOOST_TEST(sum / count > 0.97, "mean mask of clean speech " << sum / count);
    else
      BOOST_TEST(sum / count < 0.03, "mean mask of noise " << sum / count);
  }
  BOOST_TEST((src.fixed(8, 3).shape() == (nn::Shape{8, 257, 1, 9})));
  const Tensor a = src.fixed(8, 3), b = src.fixed(8, 3);
  BOOST_TEST(std::equal(a.data(), a.data() + a.size(), b.data()));  // fixed is repeatable
}

// With look-ahead L the target is the mask of frame K - 1 - L: recomputed here from the mixture
// the source draws (the same generator state gives the same speech and noise), the K columns
// are the mixture's frames and the target that frame's truncated phase-sensitive mask.
BOOST_AUTO_TEST_CASE(look_ahead_targets_the_frame_before_the_newest) {
  constexpr int kN = 512, kHop = 128, kK = 6, kBins = kN / 2 + 1;
  const SoundSet speech = loadSounds({kSpeech}, 16000);
  for (const int lookahead : {0, 2}) {
    BOOST_TEST_CONTEXT("look-ahead " << lookahead) {
      AudioMixOptions o;
      o.context = kK;
      o.lookahead = lookahead;
      o.snrLo = o.snrHi = 0;
      AudioMixSource src(speech, {}, o);
      for (std::uint64_t seed = 1; seed <= 3; ++seed) {
        nn::Rng a(seed), b(seed);
        Tensor batch;
        src.next(1, a, batch);
        std::vector<float> s, v;
        const std::size_t len = kN + std::size_t(kK - 1) * kHop;
        src.mixture(b, len, s, v);
        const int top = b.uniform() < 0.1 ? kN / 4 + 1 : kBins;  // a telephone band
        const std::vector<float> w = audio::sqrtHannWindow(kN);
        audio::RealFft fft(kN);
        std::vector<float> frame(kN);
        std::vector<std::complex<float>> Y(kBins), S(kBins);
        double maxErr = 0;
        for (int t = 0; t < kK; ++t) {
          const std::size_t at = std::size_t(t) * kHop;
          for (int i = 0; i < kN; ++i) frame[std::size_t(i)] = (s[at + i] + v[at + i]) * w[i];
          fft.forward(frame.data(), Y.data());
          for (int f = 0; f < top; ++f)
            maxErr = std::max(maxErr, double(std::abs(batch.sample(0)[f * (kK + 1) + t] -
                                                      audio::magnitudeToUnit(std::abs(Y[f]), kN))));
          if (t != kK - 1 - lookahead) continue;
          for (int i = 0; i < kN; ++i) frame[std::size_t(i)] = s[at + i] * w[i];
          fft.forward(frame.data(), S.data());
          int masked = 0;
          for (int f = 0; f < top; ++f) {
            const float y2 = std::norm(Y[f]);
            if (y2 < 1e-12f) continue;
            const float m = std::clamp((S[f].real() * Y[f].real() + S[f].imag() * Y[f].imag()) / y2,
                                       0.0f, 1.0f);
            maxErr = std::max(maxErr, double(std::abs(batch.sample(0)[f * (kK + 1) + kK] - m)));
            masked += m > 0.05f && m < 0.95f;
          }
          BOOST_TEST(masked > 10);  // at 0 dB many bins are neither speech nor noise alone
        }
        BOOST_TEST(maxErr < 1e-4, "seed " << seed << ": differs by " << maxErr);
      }
    }
  }
  AudioMixOptions bad;
  bad.context = 4;
  bad.lookahead = 4;
  BOOST_CHECK_THROW(AudioMixSource(speech, {}, bad), InvalidArgument);
  bad.lookahead = -1;
  BOOST_CHECK_THROW(AudioMixSource(speech, {}, bad), InvalidArgument);
}

BOOST_AUTO_TEST_CASE(speech_is_drawn_by_clip_or_by_duration) {
  // Two clips, one nine times as long: by clip each is drawn about half the time, by duration
  // the long one nine times in ten (and so for babble's voices). The short clip is positive,
  // the long one negative, so the mixture's speech says which was drawn.
  SoundSet speech;
  speech.clips = {std::vector<float>(16000, 0.1f), std::vector<float>(144000, -0.1f)};
  speech.names = {"short", "long"};
  speech.activePower = {0.01, 0.01};
  for (const bool byDuration : {false, true}) {
    AudioMixOptions o;
    o.byDuration = byDuration;
    AudioMixSource src(speech, {}, o);
    nn::Rng rng(9);
    int longs = 0;
    const int draws = 2000;
    for (int i = 0; i < draws; ++i) {
      std::vector<float> s, v;
      src.mixture(rng, 256, s, v);
      longs += s[0] < 0;
    }
    const double share = double(longs) / draws;
    if (byDuration)
      BOOST_TEST(std::abs(share - 0.9) < 0.03, "long clip's share by duration " << share);
    else
      BOOST_TEST(std::abs(share - 0.5) < 0.04, "long clip's share by clip " << share);
  }
}

BOOST_AUTO_TEST_CASE(babble_adds_as_many_voices_as_asked) {
  // 64 "voices", each a sine on its own DFT bin of the 1,024-sample mixture (so a looped stretch
  // stays on its bin): a babble-only noise has all its energy on those bins, and the bins that
  // hold it count the voices (fewer when one is drawn twice). Coloured noise and hum spread
  // energy elsewhere and are left out; one in nine babble-only mixtures holds two babbles (a
  // second kind) and counts double, so the bar is three in four.
  const std::size_t len = 1024;
  SoundSet speech;
  std::vector<int> bins;
  for (int i = 0; i < 64; ++i) {
    bins.push_back(5 + 3 * i);
    std::vector<float> c(len);
    for (std::size_t t = 0; t < len; ++t)
      c[t] = float(std::sin(2 * M_PI * bins.back() * double(t) / double(len)));
    speech.clips.push_back(c);
    speech.names.push_back("sine" + std::to_string(i));
    speech.activePower.push_back(0.5);
  }
  for (const int voices : {4, 12}) {
    AudioMixOptions o;
    o.babbleLo = o.babbleHi = voices;
    AudioMixSource src(speech, {}, o);
    nn::Rng rng(21);
    int babbles = 0, within = 0;
    for (int m = 0; m < 600; ++m) {
      std::vector<float> s, v;
      src.mixture(rng, len, s, v);
      double total = 0;
      for (float x : v) total += double(x) * x;
      std::vector<double> onBin;
      double sum = 0;
      for (int k : bins) {
        double re = 0, im = 0;
        for (std::size_t t = 0; t < len; ++t) {
          re += v[t] * std::cos(2 * M_PI * k * double(t) / double(len));
          im -= v[t] * std::sin(2 * M_PI * k * double(t) / double(len));
        }
        onBin.push_back(2 * (re * re + im * im) / double(len));
        sum += onBin.back();
      }
      if (total <= 0 || sum < 0.999 * total) continue;  // not babble alone
      ++babbles;
      const auto heard =
          std::count_if(onBin.begin(), onBin.end(), [&](double p) { return p > 1e-4 * total; });
      within += heard <= voices && heard >= voices - 3;
    }
    BOOST_TEST_MESSAGE(voices << " voices: " << babbles << " babble-only mixtures, " << within
                              << " with " << voices - 3 << ".." << voices << " voices heard");
    BOOST_TEST(babbles > 80);
    BOOST_TEST(within >= 0.75 * babbles);
  }
  AudioMixOptions bad;
  bad.babbleLo = 0;
  BOOST_CHECK_THROW(AudioMixSource(speech, {}, bad), InvalidArgument);
}

BOOST_AUTO_TEST_CASE(the_recorded_share_sets_how_often_noise_comes_from_a_recording) {
  // The one recording is a sine on DFT bin 300 of the 1,024-sample mixture (4.7 kHz at 16 kHz:
  // above every hum harmonic; the speech, a sine on bin 50, feeds babble). A mixture holds a
  // recording when that bin carries more than 5 % of its noise (a recording drawn as the second
  // kind is at most 10 dB below the first: 9 % or more; made noise puts well under 1 % there),
  // and holds nothing else when it carries 99.9 %. A mixture draws one kind, or two with
  // probability 1/3, each a recording with probability s: P(some) = 1 - (2/3 (1 - s) +
  // 1/3 (1 - s)^2), P(only) = 2/3 s + 1/3 s^2.
  const std::size_t len = 1024;
  auto sine = [&](int bin) {
    std::vector<float> c(len);
    for (std::size_t t = 0; t < len; ++t)
      c[t] = float(std::sin(2 * M_PI * bin * double(t) / double(len)));
    return c;
  };
  SoundSet speech, noise;
  speech.clips = {sine(50)};
  speech.names = {"speech"};
  speech.activePower = {0.5};
  noise.clips = {sine(300)};
  noise.names = {"recording"};
  for (const double share : {0.0, 0.35, 0.7, 1.0}) {
    AudioMixOptions o;
    o.recordedShare = share;
    AudioMixSource src(speech, noise, o);
    nn::Rng rng(23);
    const int mixtures = 600;
    int some = 0, only = 0;
    for (int m = 0; m < mixtures; ++m) {
      std::vector<float> s, v;
      src.mixture(rng, len, s, v);
      double re = 0, im = 0;
      for (std::size_t t = 0; t < len; ++t) {
        re += v[t] * std::cos(2 * M_PI * 300 * double(t) / double(len));
        im -= v[t] * std::sin(2 * M_PI * 300 * double(t) / double(len));
      }
      const double onBin = 2 * (re * re + im * im) / double(len);
      const double total = power(v) * double(len);
      some += onBin > 0.05 * total;
      only += onBin > 0.999 * total;
    }
    const double u = 1 - share;
    const double wantSome = 1 - (2.0 / 3 * u + 1.0 / 3 * u * u);
    const double wantOnly = 2.0 / 3 * share + 1.0 / 3 * share * share;
    BOOST_TEST_MESSAGE("share " << share << ": " << some << " of " << mixtures
                                << " with a recording (expected " << wantSome * mixtures << "), "
                                << only << " with nothing else (" << wantOnly * mixtures << ")");
    // three standard deviations of a binomial share of 600 draws at most
    BOOST_TEST(std::abs(double(some) / mixtures - wantSome) < 0.062);
    BOOST_TEST(std::abs(double(only) / mixtures - wantOnly) < 0.062);
  }
  AudioMixOptions bad;
  bad.recordedShare = 1.5;
  BOOST_CHECK_THROW(AudioMixSource(speech, noise, bad), InvalidArgument);
}

BOOST_AUTO_TEST_CASE(validation_noise_is_held_out_by_file_or_named) {
  const std::string a = "/usr/share/sounds/alsa/Noise.wav",
                    b = "/usr/share/sounds/alsa/Rear_Left.wav",
                    v = "/usr/share/sounds/alsa/Side_Right.wav";
  TrainConfig c;
  c.task = TrainTask::AudioDenoise;
  c.data = {kSpeech};
  c.noiseData = {a, b};
  c.valSamples = 8;
  const auto names = [](const TrainingData& d, bool val) {
    const auto* src = dynamic_cast<const AudioMixSource*>(val ? d.val.get() : d.train.get());
    BOOST_REQUIRE(src != nullptr);
    return src->noise().names;
  };
  {  // split by file: one recording each side, never both
    const TrainingData d = loadTrainingData(c);
    const auto t = names(d, false), w = names(d, true);
    BOOST_TEST(t.size() == 1u);
    BOOST_TEST(w.size() == 1u);
    BOOST_TEST(t.front() != w.front());
  }
  c.valNoiseData = {v};  // named: all of --noise-data trains, the named file alone validates
  const TrainingData d = loadTrainingData(c);
  BOOST_TEST(names(d, false) == c.noiseData, boost::test_tools::per_element());
  BOOST_TEST(names(d, true) == c.valNoiseData, boost::test_tools::per_element());
  c.valNoiseData = {"/nonexistent/noise.wav"};
  BOOST_CHECK_THROW(loadTrainingData(c), Error);
}

// cae-train --list-validation: the files it names are the ones the run itself holds out (same
// split, same seed), speech and noise, and a sorted order cannot stand in for the shuffled one.
BOOST_AUTO_TEST_CASE(the_listed_validation_files_are_those_the_run_holds_out) {
  TrainConfig c;
  c.task = TrainTask::AudioDenoise;
  c.data = {kSpeech, "/usr/share/sounds/alsa"};
  c.noiseData = {"/usr/share/sounds/alsa/Noise.wav", "/usr/share/sounds/alsa/Rear_Left.wav"};
  c.valFraction = 0.3;
  c.valSamples = 8;
  for (const std::uint64_t seed : {3u, 15u}) {
    c.seed = seed;
    const TrainingData d = loadTrainingData(c);
    const auto* val = dynamic_cast<const AudioMixSource*>(d.val.get());
    BOOST_REQUIRE(val != nullptr);
    const AudioValidationFiles v = audioValidationFiles(c);
    BOOST_TEST(v.sounds == val->speech().names, boost::test_tools::per_element());
    BOOST_TEST(v.noise == val->noise().names, boost::test_tools::per_element());
    BOOST_TEST(v.sounds.size() >= 2u);
  }
  c.valNoiseData = {"/usr/share/sounds/alsa/Side_Right.wav"};
  BOOST_TEST(audioValidationFiles(c).noise == c.valNoiseData, boost::test_tools::per_element());
  c.task = TrainTask::Denoise;
  BOOST_CHECK_THROW(audioValidationFiles(c), InvalidArgument);
}

// --val-speech-data: named voices validate and every file of the training speech trains (held
// out by speaker rather than by file); --list-validation names them.
BOOST_AUTO_TEST_CASE(validation_speech_can_be_named) {
  TrainConfig c;
  c.task = TrainTask::AudioDenoise;
  c.data = {kSpeech};
  c.valSpeechData = {"/usr/share/sounds/alsa/Front_Center.wav",
                     "/usr/share/sounds/alsa/Rear_Left.wav"};
  c.valSamples = 8;
  const TrainingData d = loadTrainingData(c);
  const auto* train = dynamic_cast<const AudioMixSource*>(d.train.get());
  const auto* val = dynamic_cast<const AudioMixSource*>(d.val.get());
  BOOST_REQUIRE(train != nullptr);
  BOOST_REQUIRE(val != nullptr);
  BOOST_TEST(train->speech().names == soundFiles({kSpeech}), boost::test_tools::per_element());
  BOOST_TEST(val->speech().names == c.valSpeechData, boost::test_tools::per_element());
  BOOST_TEST(audioValidationFiles(c).sounds == c.valSpeechData, boost::test_tools::per_element());
  c.data = {"/usr/share/sounds/alsa/Side_Left.wav"};  // one training file is enough now
  BOOST_CHECK_NO_THROW(loadTrainingData(c));
  c.valSpeechData = {"/nonexistent/voice.wav"};
  BOOST_CHECK_THROW(loadTrainingData(c), Error);
}

// The masks' loss weights (Objective::maskLoss): psa weighs each bin of the newest frame by its
// noisy power over the frame's mean (+ 1e-3); snr also multiplies the frame's weights by its power
// over its noise floor's (the second plane's newest column), clamped to 1..100.
// The weights read the frame the mask is of: the newest, or with look-ahead L the one L before
// it (the other columns hold values that would give other weights).
BOOST_DATA_TEST_CASE(mask_loss_weights_follow_the_bins_and_the_frame_over_its_floor,
                     boost::unit_test::data::make({0, 1}), lookahead) {
  constexpr int kN = 512, kBins = kN / 2 + 1, kK = 4;
  const int col = kK - 1 - lookahead;
  // Frames: bin 0 at twice the magnitude of the others; frame powers over the floor's 1/4, 10, 1e4.
  const float mag[3] = {0.5f, std::sqrt(10.0f), 100.0f};
  const float floorMag = 1.0f;
  Tensor x(nn::Shape{3, 2 * kBins, 1, kK}, 0.9f);
  for (int i = 0; i < 3; ++i)
    for (int f = 0; f < kBins; ++f) {
      float* row = x.sample(i) + std::size_t(f) * kK;
      row[col] = audio::magnitudeToUnit(f == 0 ? 2 * mag[i] : mag[i], kN);
      if (f % 3 == 0) row[kK - 1 - (1 - lookahead)] = 0.1f;
      x.sample(i)[std::size_t(kBins + f) * kK + col] = audio::magnitudeToUnit(floorMag, kN);
    }
  TrainConfig c;
  c.task = TrainTask::AudioDenoise;
  c.arch.kind = ArchKind::AudioMask;
  c.stftSize = kN;
  c.noiseFloor = true;
  c.lookahead = lookahead;
  for (const std::string loss : {"psa", "snr"}) {
    BOOST_TEST_CONTEXT(loss) {
      c.maskLoss = loss;
      const Objective o(c);
      const nn::WeightedMseLoss* l = o.maskLoss(x);
      BOOST_REQUIRE(l);
      const Tensor& w = l->weights();
      BOOST_REQUIRE(w.shape() == (nn::Shape{3, kBins, 1, 1}));
      for (int i = 0; i < 3; ++i) {
        const double p = double(mag[i]) * mag[i];
        const double mean = (4 * p + (kBins - 1) * p) / kBins;
        const double frame =
            loss == "snr" ? std::clamp(mean / (double(floorMag) * floorMag), 1.0, 100.0) : 1.0;
        BOOST_TEST(w.sample(i)[0] == (4 * p / mean + 1e-3) * frame,
                   boost::test_tools::tolerance(1e-4));
        BOOST_TEST(w.sample(i)[1] == (p / mean + 1e-3) * frame, boost::test_tools::tolerance(1e-4));
      }
    }
  }
  c.maskLoss = "mse";
  BOOST_TEST(!Objective(c).maskLoss(x));
}

BOOST_AUTO_TEST_CASE(the_mask_architecture_is_causal_and_checked) {
  ArchSpec s;
  s.kind = ArchKind::AudioMask;
  s.channels = 257;
  s.height = 1;
  s.width = 8;
  s.width0 = 16;
  s.latent = 8;
  BuiltModel b = buildAudioMask(s);
  BOOST_TEST((b.model.outputShape(nn::Shape{2, 257, 1, 8}) == (nn::Shape{2, 257, 1, 1})));
  // The output reads only the frames given (no padding): changing the oldest frame changes it,
  // and the architecture has no way to see later frames at all.
  Tensor x(nn::Shape{1, 257, 1, 8}, 0.3f);
  const Tensor y0 = b.model.forward(x);
  for (int f = 0; f < 257; ++f) x.at(0, f, 0, 0) = 0.9f;
  const Tensor y1 = b.model.forward(x);
  double diff = 0;
  for (std::size_t i = 0; i < y0.size(); ++i)
    diff = std::max(diff, double(std::abs(y0[i] - y1[i])));
  BOOST_TEST(diff > 0.0);
  for (std::size_t i = 0; i < y1.size(); ++i) BOOST_TEST((y1[i] >= 0.0f && y1[i] <= 1.0f));
  BOOST_TEST(codeSize(s).code == 8u);
  s.width = 2;
  BOOST_CHECK_THROW(buildAudioMask(s), InvalidArgument);
  s.width = 8;
  s.height = 4;
  BOOST_CHECK_THROW(buildAudioMask(s), InvalidArgument);
  s.height = 1;
  // Stride 2 along time: the same three convs and code conv read 23 frames, and every one of
  // them (the oldest as above; the receptive field is the window).
  s.timeStride = 2;
  s.width = 23;
  BuiltModel strided = buildAudioMask(s);
  BOOST_TEST((strided.model.outputShape(nn::Shape{1, 257, 1, 23}) == nn::Shape{1, 257, 1, 1}));
  BOOST_TEST(strided.model.numParams() == b.model.numParams());
  BOOST_TEST(onnx::receptiveField(strided.model) == 23);
  BOOST_TEST(onnx::receptiveField(b.model) == 8);
  // A window a conv would not end on the newest frame of, and strides other than 1 and 2.
  for (const int w : {8, 9, 22, 24}) {
    s.width = w;
    BOOST_CHECK_THROW(buildAudioMask(s), InvalidArgument);
  }
  s.width = 23;
  s.timeStride = 3;
  BOOST_CHECK_THROW(buildAudioMask(s), InvalidArgument);
}

// Training on L frames at once (--sequence): the model over K + L - 1 frames (its strides as
// dilations) gives, in output column o, exactly what the deployed K-frame model (the file's
// form, the same parameters) gives for the K frames ending at frame K - 1 + o.
BOOST_DATA_TEST_CASE(a_sequence_model_masks_every_window_as_the_deployed_model_does,
                     boost::unit_test::data::make({1, 2}) * boost::unit_test::data::make({3, 16}),
                     stride, outputs) {
  ArchSpec s;
  s.kind = ArchKind::AudioMask;
  s.channels = 2 * 257;
  s.outChannels = 257;
  s.height = 1;
  s.width = stride == 2 ? 23 : 8;
  s.width0 = 24;
  s.latent = 8;
  s.timeStride = stride;
  s.timeOutputs = outputs;
  s.seed = 9;
  const int k = s.width;
  BuiltModel seq = buildAudioMask(s);
  BOOST_TEST((seq.model.outputShape(nn::Shape{2, 514, 1, k + outputs - 1}) ==
              nn::Shape{2, 257, 1, outputs}));
  BuiltModel one = deployedAudioMask(s, seq.model);
  BOOST_TEST((one.model.outputShape(nn::Shape{2, 514, 1, k}) == nn::Shape{2, 257, 1, 1}));
  BOOST_TEST(onnx::receptiveField(one.model) == k);
  nn::Rng rng(3);
  const int in = k + outputs - 1;
  Tensor x(nn::Shape{2, 514, 1, in});
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = rng.uniform(0, 1);
  const Tensor y = seq.model.forward(x);
  double err = 0, spread = 0;
  for (int o = 0; o < outputs; ++o) {
    Tensor win(nn::Shape{2, 514, 1, k});
    for (int n = 0; n < 2; ++n)
      for (int c = 0; c < 514; ++c)
        for (int t = 0; t < k; ++t) win.at(n, c, 0, t) = x.at(n, c, 0, o + t);
    const Tensor want = one.model.forward(win);
    for (int n = 0; n < 2; ++n)
      for (int f = 0; f < 257; ++f) {
        err = std::max(err, double(std::abs(y.at(n, f, 0, o) - want.at(n, f, 0, 0))));
        spread = std::max(spread, double(std::abs(y.at(n, f, 0, o) - y.at(n, f, 0, 0))));
      }
  }
  BOOST_TEST(err < 1e-5);
  if (outputs > 1) BOOST_TEST(spread > 1e-3);  // the columns are not one mask repeated
  // Another spec's parameters do not fit.
  ArchSpec other = s;
  other.width0 = 16;
  BOOST_CHECK_THROW(deployedAudioMask(other, seq.model), InvalidArgument);
  s.timeOutputs = 0;
  BOOST_CHECK_THROW(buildAudioMask(s), InvalidArgument);
}

// A sample of L masks holds, frame for frame, the L one-mask samples of the same mixture that
// end at its last L frames (noise floor tracked from the same start), and its mask loss is
// theirs as one batch.
BOOST_AUTO_TEST_CASE(sequence_samples_hold_the_windows_of_one_mask_samples) {
  constexpr int kN = 512, kHop = 128, kK = 6, kL = 5, kBins = kN / 2 + 1;
  const SoundSet speech = loadSounds({kSpeech}, 16000);
  AudioMixOptions o;
  o.context = kK;
  o.snrLo = o.snrHi = 0;
  o.noiseFloor = true;
  AudioMixSource one(speech, {}, o);
  o.outputs = kL;
  AudioMixSource seq(speech, {}, o);
  BOOST_TEST(seq.width() == kK + 2 * kL - 1);
  const int spacing = AudioMixSource::kFloorSpacing, warm = 30, count = 2, c = seq.channels();
  const int frames = warm + (count - 1) * spacing + kK + kL - 1;
  nn::Rng rng(4);
  std::vector<float> s, v;
  seq.mixture(rng, kN + std::size_t(frames - 1) * kHop, s, v);
  Tensor batch(nn::Shape{count, c, 1, seq.width()});
  float* cols[count] = {batch.sample(0), batch.sample(1)};
  seq.render(s, v, warm, false, count, cols);
  Tensor in, target;
  splitAudioSamples(batch, in, target, kBins, kL);
  BOOST_TEST((in.shape() == nn::Shape{count, c, 1, kK + kL - 1}));
  BOOST_TEST((target.shape() == nn::Shape{count, kBins, 1, kL}));
  // The one-mask samples of the same frames, as one batch.
  Tensor singles(nn::Shape{count * kL, c, 1, kK + 1});
  for (int j = 0; j < count; ++j)
    for (int t = 0; t < kL; ++t) {
      float* out = singles.sample(j * kL + t);
      one.render(s, v, warm + j * spacing + t, false, 1, &out);
    }
  Tensor inOne, targetOne;
  splitAudioSamples(singles, inOne, targetOne, kBins);
  double err = 0;
  int masked = 0;
  for (int j = 0; j < count; ++j)
    for (int t = 0; t < kL; ++t)
      for (int f = 0; f < c; ++f) {
        for (int u = 0; u < kK; ++u)
          err = std::max(err,
                         double(std::abs(in.at(j, f, 0, t + u) - inOne.at(j * kL + t, f, 0, u))));
        if (f >= kBins) continue;
        const float m = target.at(j, f, 0, t);
        err = std::max(err, double(std::abs(m - targetOne.at(j * kL + t, f, 0, 0))));
        masked += m > 0.05f && m < 0.95f;
      }
  BOOST_TEST(err == 0.0);
  BOOST_TEST(masked > 100);
  // The loss: the sequence's weights are the windows' (for snr: over each frame's own floor).
  TrainConfig tc;
  tc.task = TrainTask::AudioDenoise;
  tc.arch.kind = ArchKind::AudioMask;
  tc.stftSize = kN;
  tc.noiseFloor = true;
  tc.maskLoss = "snr";
  const Objective obj(tc);
  Tensor pred(target.shape()), predOne(targetOne.shape());
  for (std::size_t i = 0; i < pred.size(); ++i) pred[i] = rng.uniform(0, 1);
  for (int j = 0; j < count; ++j)
    for (int t = 0; t < kL; ++t)
      for (int f = 0; f < kBins; ++f) predOne.at(j * kL + t, f, 0, 0) = pred.at(j, f, 0, t);
  Tensor g, gOne;
  const double l = obj.maskLoss(in, kL)->compute(pred, target, &g);
  const double lOne = obj.maskLoss(inOne)->compute(predOne, targetOne, &gOne);
  BOOST_TEST(l == lOne, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(g.at(1, 7, 0, 3) == gOne.at(kL + 3, 7, 0, 0), boost::test_tools::tolerance(1e-6));
  // Too short a mixture is refused, not read past its end.
  s.resize(s.size() - 1);
  BOOST_CHECK_THROW(seq.render(s, v, warm, false, count, cols), InvalidArgument);
}

// --mask-loss time: the samples carry the masked frames' noisy and clean spectra over the
// mixture's noise RMS, and the loss is the error of the signal their masks give once
// synthesised and overlap-added as the element does: the noise itself for masks of 1 (and the
// whole speech for masks of 0), sample for sample over the stretch under every window.
BOOST_AUTO_TEST_CASE(the_time_loss_is_the_overlap_added_signals_error) {
  constexpr int kN = 512, kHop = 128, kK = 6, kL = 8, kBins = kN / 2 + 1;
  AudioMixOptions o;
  o.context = kK;
  o.snrLo = o.snrHi = 0;
  o.noiseFloor = true;
  o.outputs = kL;
  o.spectra = true;
  AudioMixSource src(loadSounds({kSpeech}, 16000), {}, o);
  BOOST_TEST(src.width() == kK + 6 * kL - 1);
  const int spacing = AudioMixSource::kFloorSpacing, warm = 20, count = 2;
  const int frames = warm + (count - 1) * spacing + kK + kL - 1;
  nn::Rng rng(9);
  std::vector<float> s, v;
  src.mixture(rng, kN + std::size_t(frames - 1) * kHop, s, v);
  Tensor batch(nn::Shape{count, src.channels(), 1, src.width()});
  float* cols[count] = {batch.sample(0), batch.sample(1)};
  src.render(s, v, warm, false, count, cols);
  Tensor in, target, spectra;
  splitAudioSamples(batch, in, target, kBins, kL, &spectra);
  BOOST_TEST((in.shape() == nn::Shape{count, src.channels(), 1, kK + kL - 1}));
  BOOST_TEST((spectra.shape() == nn::Shape{count, kBins, 4, kL}));
  const double noise = power(v);
  const OverlapAddLoss loss(kN, kHop);
  Tensor ones(target.shape(), 1.0f), zeros(target.shape(), 0.0f);
  const double lOnes = loss.compute(ones, spectra, nullptr);
  const double lZeros = loss.compute(zeros, spectra, nullptr);
  // The same from the samples: sample j's first masked frame is warm + j spacing + K - 1.
  double expOnes = 0, expZeros = 0;
  for (int j = 0; j < count; ++j) {
    const std::size_t f0 = std::size_t(warm + j * spacing + kK - 1) * kHop;
    const std::size_t a = f0 + kN - kHop, b = f0 + std::size_t(kL) * kHop;
    double sv = 0, ss = 0;
    for (std::size_t k = a; k < b; ++k) {
      sv += double(v[k]) * v[k];
      ss += double(s[k]) * s[k];
    }
    expOnes += sv / double(b - a) / noise / count;
    expZeros += ss / double(b - a) / noise / count;
  }
  BOOST_TEST(lOnes == expOnes, boost::test_tools::tolerance(1e-3));
  BOOST_TEST(lZeros == expZeros, boost::test_tools::tolerance(1e-3));
  // The phase-sensitive masks (the frame losses' target) leave less error than the noise.
  BOOST_TEST(loss.compute(target, spectra, nullptr) < 0.8 * lOnes);
  // Fewer masks than n / hop cover no sample with every window; shapes are checked.
  BOOST_CHECK_THROW(
      loss.compute(Tensor(nn::Shape{1, kBins, 1, 3}), Tensor(nn::Shape{1, kBins, 4, 3}), nullptr),
      ShapeError);
  BOOST_CHECK_THROW(loss.compute(ones, target, nullptr), ShapeError);
  // Telephone mixtures: nothing above a quarter of the rate, in the spectra as in the frames.
  src.render(s, v, warm, true, count, cols);
  splitAudioSamples(batch, in, target, kBins, kL, &spectra);
  double above = 0, below = 0;
  for (int f = 0; f < kBins; ++f)
    for (int p = 0; p < 4; ++p)
      (f > kN / 4 ? above : below) += std::abs(double(spectra.at(1, f, p, 3)));
  BOOST_TEST(above == 0.0);
  BOOST_TEST(below > 0.0);
}

// The loss is quadratic in the masks, so central differences of any step are exact: its
// gradient must give them along random directions and per entry, to float rounding.
BOOST_AUTO_TEST_CASE(the_time_loss_gradient_matches_central_differences) {
  constexpr int kN = 64, kHop = 16, kL = 6, kBins = kN / 2 + 1, kCount = 3;
  nn::Rng rng(12);
  Tensor m(nn::Shape{kCount, kBins, 1, kL}), sp(nn::Shape{kCount, kBins, 4, kL});
  for (std::size_t i = 0; i < m.size(); ++i) m[i] = float(rng.uniform(0, 1));
  for (std::size_t i = 0; i < sp.size(); ++i) sp[i] = float(rng.uniform(-3, 3));
  const OverlapAddLoss loss(kN, kHop);
  Tensor g;
  const double l0 = loss.compute(m, sp, &g);
  BOOST_TEST(l0 > 0.0);
  BOOST_TEST((g.shape() == m.shape()));
  const auto at = [&](const Tensor& d, double h) {
    Tensor p = m, q = m;
    for (std::size_t i = 0; i < m.size(); ++i) {
      p[i] += float(h * d[i]);
      q[i] -= float(h * d[i]);
    }
    return (loss.compute(p, sp, nullptr) - loss.compute(q, sp, nullptr)) / (2 * h);
  };
  for (int r = 0; r < 4; ++r) {
    Tensor d(m.shape());
    for (std::size_t i = 0; i < d.size(); ++i) d[i] = float(rng.uniform(-1, 1));
    double analytic = 0;
    for (std::size_t i = 0; i < d.size(); ++i) analytic += double(g[i]) * d[i];
    BOOST_TEST(at(d, 0.5) == analytic, boost::test_tools::tolerance(1e-3));
  }
  // Entries: DC, Nyquist and bins between, of the first, a middle and the last frame.
  for (const int f : {0, 1, 7, kBins - 1})
    for (const int t : {0, 2, kL - 1}) {
      Tensor d(m.shape(), 0.0f);
      d.at(1, f, 0, t) = 1;
      const double analytic = g.at(1, f, 0, t);
      BOOST_TEST(std::abs(at(d, 0.5) - analytic) <= 1e-3 * std::abs(analytic) + 1e-6,
                 "bin " << f << " frame " << t << ": " << at(d, 0.5) << " vs " << analytic);
    }
}

// The time loss scores what the element outputs: the shipped model's masks of a training
// mixture's 16 frames, as the trainer computes them from its samples, give the loss that the
// error of the stream denoiser's output on the same mixture gives over the same samples, in
// units of the mixture's noise power. The stream's noise floor is tracked from its first whole
// frame, as the sample's is from the mixture's (the frames before it hold the silence before
// the stream: from those it would start far too low), again so after a reset.
BOOST_DATA_TEST_CASE(the_time_loss_scores_what_the_element_outputs,
                     boost::unit_test::data::make({0, 10, 20}), snr) {
  const std::string path =
      (fs::path(CAE_TEST_DATA).parent_path().parent_path() / "models" / "audio-denoise.onnx")
          .string();
  auto model = std::make_shared<audio::MaskModel>(path);
  const int n = model->stft().nFft, hop = model->stft().hop, k = model->context(), bins = n / 2 + 1;
  constexpr int kL = 16, kWarm = 125;
  AudioMixOptions o;
  o.context = k;
  o.outputs = kL;
  o.noiseFloor = true;
  o.spectra = true;
  o.snrLo = o.snrHi = snr;
  AudioMixSource src(loadSounds({kSpeech}, 16000), {}, o);
  const int frames = kWarm + k + kL - 1;
  const std::size_t len = std::size_t(n) + std::size_t(frames - 1) * std::size_t(hop);
  nn::Rng rng(20 + std::uint64_t(snr));
  audio::StreamDenoiser d(model, 16000);  // reset() between mixtures: as new
  for (int trial = 0; trial < 3; ++trial) {
    std::vector<float> s, v;
    src.mixture(rng, len, s, v);
    Tensor sample(nn::Shape{1, src.channels(), 1, src.width()});
    float* col = sample.data();
    src.render(s, v, kWarm, false, 1, &col);
    Tensor in, target, spectra;
    splitAudioSamples(sample, in, target, bins, kL, &spectra);
    // The trainer's masks: the deployed model on each of the L windows.
    Tensor masks(nn::Shape{1, bins, 1, kL});
    std::vector<float> win(std::size_t(model->rows()) * std::size_t(k)),
        mask(static_cast<std::size_t>(bins));
    for (int t = 0; t < kL; ++t) {
      for (int f = 0; f < model->rows(); ++f)
        for (int u = 0; u < k; ++u)
          win[std::size_t(f) * std::size_t(k) + std::size_t(u)] = in.at(0, f, 0, t + u);
      model->run(win.data(), mask.data());
      for (int f = 0; f < bins; ++f) masks.at(0, f, 0, t) = mask[std::size_t(f)];
    }
    const double loss = OverlapAddLoss(n, hop).compute(masks, spectra, nullptr);
    // The element's: the whole mixture through the stream denoiser.
    if (trial > 0) d.reset();
    std::vector<float> x(len + std::size_t(d.latency())), y(x.size());
    for (std::size_t i = 0; i < len; ++i) x[i] = s[i] + v[i];
    d.process(x.data(), y.data(), x.size());
    const std::size_t first = std::size_t(kWarm + k - 1) * std::size_t(hop);  // frame o = 0
    double err = 0;
    const std::size_t from = first + std::size_t(n - hop), to = first + std::size_t(kL * hop);
    for (std::size_t i = from; i < to; ++i) {
      const double e = double(y[i + std::size_t(d.latency())]) - double(s[i]);
      err += e * e;
    }
    const double elementLoss = err / double(to - from) / power(v);
    BOOST_TEST_CONTEXT("snr " << snr << " trial " << trial) {
      BOOST_TEST(loss > 0.0);
      BOOST_TEST_MESSAGE("snr " << snr << ": trainer " << -10 * std::log10(loss) << " dB, element "
                                << -10 * std::log10(elementLoss) << " dB");
      BOOST_TEST(std::abs(10 * std::log10(elementLoss / loss)) < 0.01);
    }
  }
}

// Stride 1 (7 frames) and 2 (11 frames, and 47: four strided convs with two decoder convs):
// OpenCV DNN computes the exported file as the trainer's model does, and the stream path
// (ColumnNet, where strides become dilations) gives the whole window's mask frame after frame.
BOOST_DATA_TEST_CASE(the_exported_mask_model_computes_in_opencv_what_it_computes_here,
                     boost::unit_test::data::make({1, 2, 2}) ^
                         boost::unit_test::data::make({7, 11, 47}) ^
                         boost::unit_test::data::make({1, 1, 2}),
                     stride, context, decoder) {
  const fs::path dir = tempDir("audio-golden");
  ArchSpec s;
  s.kind = ArchKind::AudioMask;
  s.channels = 257;
  s.height = 1;
  s.width = context;
  s.width0 = 32;
  s.latent = 16;
  s.timeStride = stride;
  s.decoderLayers = decoder;
  s.seed = 4;
  BuiltModel b = buildAudioMask(s);
  onnx::ExportOptions eo;
  eo.task = onnx::Task::AudioDenoise;
  eo.stft = onnx::Stft{512, 128, 16000};
  const std::string path = (dir / "g.onnx").string();
  onnx::exportOnnx(b.model, path, eo);
  audio::MaskModel m(path);
  BOOST_TEST(m.context() == context);
  nn::Rng rng(2);
  Tensor x(nn::Shape{3, 257, 1, context});
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = rng.uniform(0, 1);
  const Tensor want = b.model.forward(x);
  std::vector<float> got(std::size_t(3) * 257);
  m.run(x.data(), got.data(), 3);
  double err = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    err = std::max(err, double(std::abs(got[i] - want[i])));
  BOOST_TEST(err < 1e-5, "OpenCV DNN differs by " << err);

  // The stream: one frame at a time from silence, against the whole window of the last K.
  BOOST_REQUIRE(m.columns() != nullptr);
  BOOST_TEST(m.columns()->context == context);
  audio::ColumnNet net(m.columns());
  std::vector<float> window(std::size_t(257) * std::size_t(context), 0.0f), column(257),
      streamed(257), whole(257);
  double worst = 0, spread = 0;
  for (int frame = 0; frame < 3 * context; ++frame) {
    for (float& v : column) v = float(rng.uniform(0, 1));
    for (int f = 0; f < 257; ++f) {
      float* row = &window[std::size_t(f) * std::size_t(context)];
      std::copy(row + 1, row + context, row);
      row[context - 1] = column[std::size_t(f)];
    }
    net.push(column.data(), streamed.data());
    m.run(window.data(), whole.data());
    for (std::size_t i = 0; i < whole.size(); ++i)
      worst = std::max(worst, double(std::abs(streamed[i] - whole[i])));
    const auto [lo, hi] = std::minmax_element(whole.begin(), whole.end());
    spread = std::max(spread, double(*hi - *lo));
  }
  BOOST_TEST(worst < 1e-5, "the stream differs from the whole window by " << worst);
  BOOST_TEST(spread > 0.05);  // masks that vary: the comparison means something
  fs::remove_all(dir);
}

// A model made deeper than a file's (cae-train --init-deepen): the layers the file lacks start as
// the identity. Added 1x1 decoder convs sit between ReLUs, so the deeper model computes the
// file's masks exactly; a fourth strided conv (--context 47 from a 23-frame file) passes its
// newest tap through, and the code conv then reads features 16 frames apart instead of 8 (not
// the file's function, but every other layer holds the file's weights). Without the flag, or
// for a layer that cannot be an identity, the file's missing layer is an error.
BOOST_AUTO_TEST_CASE(a_deeper_model_starts_from_the_file_it_deepens) {
  const fs::path dir = tempDir("audio-deepen");
  ArchSpec s;
  s.kind = ArchKind::AudioMask;
  s.channels = 2 * 257;
  s.outChannels = 257;
  s.height = 1;
  s.width = 23;
  s.width0 = 24;
  s.latent = 8;
  s.timeStride = 2;
  s.seed = 5;
  BuiltModel file = buildAudioMask(s);
  onnx::ExportOptions eo;
  eo.task = onnx::Task::AudioDenoise;
  eo.stft = onnx::Stft{512, 128, 16000};
  const std::string path = (dir / "d.onnx").string();
  onnx::exportOnnx(file.model, path, eo);
  nn::Rng rng(8);
  Tensor x(nn::Shape{3, 514, 1, 23});
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = rng.uniform(0, 1);
  const Tensor want = file.model.forward(x);

  ArchSpec deep = s;
  deep.decoderLayers = 3;
  deep.seed = 6;
  BuiltModel d = buildAudioMask(deep);
  BOOST_TEST(d.model.numParams() == file.model.numParams() + std::size_t(2 * (24 * 24 + 24)));
  BOOST_CHECK_THROW(warmStart(d.model, path), InvalidArgument);  // da1: not in the file
  const WarmStart w = warmStart(d.model, path, true);
  BOOST_TEST(w.identity == (std::vector<std::string>{"da1", "da2"}));
  BOOST_TEST(w.layers == 6);  // ea0..ea2, the code conv, da0, the mask conv
  const Tensor got = d.model.forward(x);
  double err = 0, spread = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    err = std::max(err, double(std::abs(got[i] - want[i])));
    spread = std::max(spread, double(std::abs(want[i] - want[0])));
  }
  BOOST_TEST(err < 1e-6, "the deepened model differs by " << err);
  BOOST_TEST(spread > 1e-3);

  // --context 47: ea3 is new; it starts as the identity on its newest tap.
  ArchSpec longer = s;
  longer.width = 47;
  BuiltModel l = buildAudioMask(longer);
  const WarmStart wl = warmStart(l.model, path, true);
  BOOST_TEST(wl.identity == std::vector<std::string>{"ea3"});
  int ea3 = -1;
  for (int i = 1; i < l.model.numNodes(); ++i)
    if (l.model.node(i).name == "ea3") ea3 = i;
  BOOST_REQUIRE(ea3 > 0);
  const nn::Scalar* p = l.model.params().data() + l.model.node(ea3).paramOffset;
  double ones = 0, others = 0;
  for (int o = 0; o < 24; ++o)
    for (int i = 0; i < 24; ++i)
      for (int t = 0; t < 3; ++t) {
        const double v = p[(o * 24 + i) * 3 + t];
        (o == i && t == 2 ? ones : others) += std::abs(v);
      }
  BOOST_TEST(ones == 24.0);
  BOOST_TEST(others == 0.0);
  for (int o = 0; o < 24; ++o) BOOST_TEST(p[24 * 24 * 3 + o] == 0.0f);  // the bias

  // Deepening does not excuse a layer that is there but does not fit (a code narrower than the
  // file's).
  ArchSpec other = s;
  other.latent = 4;
  BuiltModel o = buildAudioMask(other);
  BOOST_CHECK_THROW(warmStart(o.model, path, true), InvalidArgument);
  other = s;
  other.decoderLayers = 0;
  BOOST_CHECK_THROW(buildAudioMask(other), InvalidArgument);
  other.decoderLayers = 9;
  BOOST_CHECK_THROW(buildAudioMask(other), InvalidArgument);
  fs::remove_all(dir);
}

// Input planes: the log-magnitudes alone (1), with the noise floor (2, --noise-floor), with the
// envelope too (3, --envelope).
BOOST_DATA_TEST_CASE(a_short_run_exports_a_model_the_stream_path_runs,
                     boost::unit_test::data::make({1, 2, 3}), planes) {
  const bool floor = planes >= 2, envelope = planes == 3;
  const fs::path dir = tempDir("audio-train-" + std::to_string(planes));
  TrainConfig c = shortRun(dir, "a.onnx", 24, 12, 6);
  c.noiseData = {"/usr/share/sounds/alsa/Noise.wav"};
  c.epochs = 2;
  c.stepsPerEpoch = 30;
  c.valSamples = 256;
  c.noiseFloor = floor;
  c.envelope = envelope ? 0.95 : 0.0;
  Trainer t(c);
  const TrainResult r = t.run();
  BOOST_REQUIRE(fs::exists(c.output));
  BOOST_TEST(r.history.size() == 2u);
  BOOST_TEST(r.history.back().valLoss < r.history.front().loss);  // it learns something
  const onnx::ModelInfo info = onnx::readModelInfo(c.output);
  BOOST_TEST(onnx::taskName(info.task) == "audio-denoise");
  BOOST_REQUIRE(info.stft.has_value());
  BOOST_TEST(info.stft->nFft == 512);
  BOOST_TEST(info.stft->hop == 128);
  BOOST_TEST(info.stft->sampleRate == 16000);
  BOOST_TEST(info.receptiveField == 6);
  // core/audio's MaskModel (OpenCV DNN) computes what the trainer's model computes.
  audio::MaskModel m(c.output);
  BOOST_TEST(m.context() == 6);
  BOOST_TEST(m.bins() == 257);
  BOOST_TEST(m.rows() == 257 * planes);
  BOOST_TEST(m.noiseFloor().has_value() == floor);
  if (floor) {
    BOOST_TEST(m.noiseFloor()->smooth == audio::NoiseFloorOptions{}.smooth);
    BOOST_TEST(m.noiseFloor()->rise == audio::NoiseFloorOptions{}.rise);
  }
  BOOST_TEST(m.envelope().has_value() == envelope);
  if (envelope) BOOST_TEST(m.envelope()->smooth == 0.95f);
  AudioMixOptions mo;
  mo.context = 6;
  mo.noiseFloor = floor;
  mo.envelope = c.envelope;
  AudioMixSource src(loadSounds({kSpeech}, 16000), {}, mo);
  const Tensor batch = src.fixed(4, 21);
  Tensor in, target;
  splitAudioSamples(batch, in, target, 257);
  BOOST_TEST(in.shape().c == m.rows());
  BOOST_TEST(target.shape().c == 257);
  std::vector<float> mask(std::size_t(4) * 257);
  m.run(in.data(), mask.data(), 4);
  // Batching must not change a mask.
  for (int n = 0; n < 4; ++n) {
    std::vector<float> one(257);
    m.run(in.sample(n), one.data(), 1);
    for (int f = 0; f < 257; ++f)
      BOOST_TEST(std::abs(one[std::size_t(f)] - mask[std::size_t(n * 257 + f)]) < 1e-5);
  }
  // A stream through StreamDenoiser: same length out, delayed by the STFT's window less one.
  auto shared = std::make_shared<audio::MaskModel>(c.output);
  audio::StreamDenoiser d(shared, 16000);
  BOOST_TEST(d.latency() == 511);
  audio::StreamDenoiser d48(shared, 48000);
  BOOST_TEST(d48.fftSize() == 1536);
  BOOST_TEST(d48.latency() == 1535);
  audio::StreamDenoiser d44(shared, 44100);
  BOOST_TEST(d44.hop() == 353);
  BOOST_TEST(d44.fftSize() == 1412);
  // Refusals: a truncated file, a model of another task.
  {
    std::ifstream f(c.output, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::ofstream((dir / "cut.onnx"), std::ios::binary) << bytes.substr(0, bytes.size() / 3);
  }
  BOOST_CHECK_THROW(audio::MaskModel((dir / "cut.onnx").string()), FormatError);
  BOOST_CHECK_THROW(audio::MaskModel((dir / "none.onnx").string()), IoError);
  // A video denoiser (the source tree's models/, from the suites' data folder) is another task.
  const fs::path models = fs::path(CAE_TEST_DATA).parent_path().parent_path() / "models";
  BOOST_CHECK_THROW(audio::MaskModel((models / "denoise-gray.onnx").string()), InvalidArgument);
  if (planes < 3) {
    // A model with one more plane started from this one (--init: the plane's weights start at
    // zero; the floor from the plain model, the envelope from the floor's) computes this one's
    // masks, whatever the added plane holds.
    ArchSpec spec = c.arch;
    spec.channels = 257 * (planes + 1);
    spec.outChannels = 257;
    spec.height = 1;
    spec.width = 6;
    BuiltModel wide = buildAudioMask(spec);
    BOOST_TEST(warmStart(wide.model, c.output).widened == std::vector<std::string>{"ea0"});
    const int known = 257 * planes * 6;
    Tensor both(nn::Shape{4, spec.channels, 1, 6});
    for (int n = 0; n < 4; ++n)
      for (int i = 0; i < spec.channels * 6; ++i)
        both.sample(n)[i] = i < known ? in.sample(n)[i] : float(i % 7) / 7;
    const Tensor& out = wide.model.forward(both);
    for (int n = 0; n < 4; ++n)
      for (int f = 0; f < 257; ++f)
        BOOST_TEST(std::abs(out.sample(n)[f] - mask[std::size_t(n * 257 + f)]) < 1e-5);
  }
  fs::remove_all(dir);
}

// A model trained with look-ahead (--lookahead 2) carries it (cae.lookahead), and a stream
// masks the frame two hops before the newest: StreamDenoiser's output equals the overlap-add of
// frames masked that way, computed here frame by frame from MaskModel::run (the streaming and
// the whole-window paths alike); the stream waits two hops more, and strength 0 is the input
// delayed by that latency. A malformed or too long look-ahead in a model file is refused.
BOOST_AUTO_TEST_CASE(a_look_ahead_model_masks_the_frame_it_was_trained_for) {
  constexpr int kL = 2, kK = 6, kBins = 257;
  const fs::path dir = tempDir("audio-lookahead");
  TrainConfig c = shortRun(dir, "l.onnx", 16, 8, kK);
  c.lookahead = kL;
  c.epochs = 1;
  c.stepsPerEpoch = 20;
  c.valSamples = 64;
  Trainer(c).run();
  const onnx::ModelInfo info = onnx::readModelInfo(c.output);
  BOOST_TEST(info.unknown.at(onnx::key::kLookahead) == "2");
  auto m = std::make_shared<audio::MaskModel>(c.output);
  BOOST_TEST(m->lookahead() == kL);
  BOOST_TEST(m->context() == kK);

  // Noisy speech: a librivox excerpt with white noise, 1.5 s.
  const SoundSet sounds = loadSounds({kSpeech}, 16000);
  std::vector<float> x(sounds.clips[0].begin(), sounds.clips[0].begin() + 24000);
  nn::Rng rng(3);
  for (float& v : x) v += float(0.01 * rng.normal());
  // The reference: each frame's features, the mask of the window ending at frame t (zeros
  // before the start), applied to frame t - L (silence before the start).
  std::vector<std::vector<std::complex<float>>> frames;
  std::vector<float> discard(x.size());
  audio::StreamingStft analysis(512, 128);
  analysis.process(x.data(), discard.data(), x.size(),
                   [&](std::complex<float>* b, int n) { frames.emplace_back(b, b + n); });
  std::vector<float> window(std::size_t(kBins) * kK, 0.0f), mask(kBins);
  std::vector<std::vector<std::complex<float>>> masked;
  for (std::size_t t = 0; t < frames.size(); ++t) {
    for (int f = 0; f < kBins; ++f) {
      float* row = &window[std::size_t(f) * kK];
      std::copy(row + 1, row + kK, row);
      row[kK - 1] = audio::magnitudeToUnit(std::abs(frames[t][std::size_t(f)]), 512);
    }
    m->run(window.data(), mask.data());
    std::vector<std::complex<float>> out(kBins);
    if (t >= std::size_t(kL))
      for (int f = 0; f < kBins; ++f)
        out[std::size_t(f)] = frames[t - kL][std::size_t(f)] * mask[std::size_t(f)];
    masked.push_back(out);
  }
  std::vector<float> want(x.size());
  audio::StreamingStft synthesis(512, 128);
  std::size_t next = 0;
  synthesis.process(x.data(), want.data(), x.size(), [&](std::complex<float>* b, int n) {
    std::copy(masked[next].begin(), masked[next].begin() + n, b);
    ++next;
  });
  BOOST_REQUIRE(next == frames.size());
  double peak = 0;
  for (float v : want) peak = std::max(peak, double(std::abs(v)));
  BOOST_REQUIRE(peak > 0.01);
  for (const bool whole : {false, true}) {
    audio::StreamDenoiser d(m, 16000);
    d.setWholeWindow(whole);
    BOOST_TEST(d.latency() == 511 + kL * 128);
    std::vector<float> got(x.size());
    for (std::size_t at = 0; at < x.size(); at += 1000)  // odd blocks
      d.process(x.data() + at, got.data() + at, std::min<std::size_t>(1000, x.size() - at));
    double err = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
      err = std::max(err, double(std::abs(got[i] - want[i])));
    BOOST_TEST(err < 1e-4 * peak, (whole ? "whole window" : "streaming") << " differs by " << err);
  }
  // Strength 0: the input, delayed by the latency (look-ahead included).
  audio::StreamDenoiser pass(m, 16000);
  pass.setStrength(0);
  std::vector<float> y(x.size());
  pass.process(x.data(), y.data(), x.size());
  double err = 0;
  for (std::size_t i = std::size_t(pass.latency()); i < x.size(); ++i)
    err = std::max(err, double(std::abs(y[i] - x[i - std::size_t(pass.latency())])));
  for (std::size_t i = 0; i < std::size_t(pass.latency()); ++i)
    err = std::max(err, double(std::abs(y[i])));
  BOOST_TEST(err < 1e-4, "passthrough differs by " << err);
  // The key malformed or not less than the context.
  ArchSpec s;
  s.kind = ArchKind::AudioMask;
  s.channels = kBins;
  s.height = 1;
  s.width = kK;
  s.width0 = 16;
  s.latent = 8;
  BuiltModel b = buildAudioMask(s);
  for (const std::string bad : {"x", "-1", "1.5", "6"}) {
    onnx::ExportOptions eo;
    eo.task = onnx::Task::AudioDenoise;
    eo.stft = onnx::Stft{512, 128, 16000};
    eo.extra[onnx::key::kLookahead] = bad;
    const std::string path = (dir / "bad.onnx").string();
    onnx::exportOnnx(b.model, path, eo);
    BOOST_CHECK_THROW(audio::MaskModel{path}, FormatError);
  }
  fs::remove_all(dir);
}

// A run with --mask-loss time trains on the signal's error: the validation loss falls below the
// noise's own power, the report says by how much, and the file is the deployed one-mask form.
BOOST_AUTO_TEST_CASE(a_time_loss_run_lowers_the_signals_error) {
  constexpr int kK = 8, kL = 6;
  const fs::path dir = tempDir("audio-time-loss");
  TrainConfig c = shortRun(dir, "t.onnx", 16, 8, kK);
  c.arch.timeOutputs = kL;
  c.noiseFloor = true;
  c.maskLoss = "time";
  c.epochs = 6;
  c.stepsPerEpoch = 25;
  c.valSamples = 32;
  c.lr = 3e-3;
  const TrainResult r = Trainer(c).run();
  BOOST_TEST(r.history.back().valLoss < 1.0);
  BOOST_TEST(r.history.back().valLoss < r.history.front().loss);
  const onnx::ModelInfo info = onnx::readModelInfo(c.output);
  const auto metrics = nlohmann::json::parse(info.metrics);
  BOOST_TEST(metrics.at("val_time_snr_gain_db").get<double>() ==
                 -10 * std::log10(r.history.back().valLoss),
             boost::test_tools::tolerance(0.05));
  audio::MaskModel m(c.output);
  BOOST_TEST(m.context() == kK);
  fs::remove_all(dir);
}

// cae-train --sequence 8 --time-stride 2: a short run trains the dilated 18-frame model and
// writes the deployed 11-frame one, whose masks (OpenCV DNN, as caeaudiodenoise loads it) are
// the trained model's column for column.
BOOST_AUTO_TEST_CASE(a_sequence_run_writes_the_model_it_trained_in_deployed_form) {
  constexpr int kK = 11, kL = 8, kBins = 257;
  const fs::path dir = tempDir("audio-sequence");
  TrainConfig c = shortRun(dir, "s.onnx", 16, 8, kK);
  c.arch.timeStride = 2;
  c.arch.timeOutputs = kL;
  c.noiseFloor = true;
  c.maskLoss = "snr";
  c.epochs = 2;
  c.stepsPerEpoch = 20;
  c.valSamples = 32;
  const TrainResult r = Trainer(c).run();
  BOOST_TEST(r.history.back().valLoss < r.history.front().loss);
  const onnx::ModelInfo info = onnx::readModelInfo(c.output);
  BOOST_TEST(info.receptiveField == kK);
  audio::MaskModel m(c.output);
  BOOST_TEST(m.context() == kK);
  BOOST_TEST(m.rows() == 2 * kBins);
  // The trained form again, from the file's weights.
  ArchSpec s = c.arch;
  s.channels = 2 * kBins;
  s.outChannels = kBins;
  s.height = 1;
  s.width = kK;
  BuiltModel seq = buildAudioMask(s);
  BOOST_TEST(warmStart(seq.model, c.output).layers == 5);
  AudioMixOptions mo;
  mo.context = kK;
  mo.noiseFloor = true;
  mo.outputs = kL;
  AudioMixSource src(loadSounds({kSpeech}, 16000), {}, mo);
  Tensor in, target;
  splitAudioSamples(src.fixed(2, 8), in, target, kBins, kL);
  const Tensor y = seq.model.forward(in);
  double err = 0;
  std::vector<float> win(std::size_t(2 * kBins) * kK), mask(kBins);
  for (int n = 0; n < 2; ++n)
    for (int o = 0; o < kL; ++o) {
      for (int f = 0; f < 2 * kBins; ++f)
        for (int t = 0; t < kK; ++t)
          win[std::size_t(f) * kK + std::size_t(t)] = in.at(n, f, 0, o + t);
      m.run(win.data(), mask.data());
      for (int f = 0; f < kBins; ++f)
        err = std::max(err, double(std::abs(mask[std::size_t(f)] - y.at(n, f, 0, o))));
    }
  BOOST_TEST(err < 1e-4);
  fs::remove_all(dir);
}
