// cae-train --task audio-anomaly (issue 15): the machine-sound generator (faults where they were
// put), log-mel features that do not depend on the stream's rate, a short training run on normal
// clips whose model core/audio's scorer loads with its calibration, and the analysis windows'
// timing and scores (a fault scores above the normal windows, the stream's windows as computed
// from whole clips); the residual statistics behind the Mahalanobis window score (fit, score,
// their metadata text and its errors).
#define BOOST_TEST_MODULE audio_anomaly_train
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "audio/machine_sounds.hpp"
#include "audio/mel.hpp"
#include "audio/mel_anomaly.hpp"
#include "audio/resample.hpp"
#include "audio/residual_stats.hpp"
#include "error.hpp"
#include "io/wav.hpp"
#include "onnx/metadata.hpp"
#include "train/trainer.hpp"

namespace fs = std::filesystem;
using namespace cae;
using cae::audio::Fault;

namespace {

fs::path tempDir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("cae-test-" + name + "-" + std::to_string(getpid()));
  fs::create_directories(d);
  return d;
}

std::vector<float> clip(Fault f, double a, double b, std::uint64_t seed, double seconds = 6) {
  audio::ClipOptions o;
  o.seconds = seconds;
  o.fault = f;
  o.faultStart = a;
  o.faultEnd = b;
  o.seed = seed;
  return audio::machineClip(audio::machine(3), o);
}

// Vectors of d correlated values: one strong direction (all values together, variance d + 0.25),
// the others weak (variance 0.25).
std::vector<std::vector<double>> correlated(int n, int d, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  std::normal_distribution<double> z;
  std::vector<std::vector<double>> out;
  for (int i = 0; i < n; ++i) {
    const double common = z(g);
    std::vector<double> v(static_cast<std::size_t>(d));
    for (double& x : v) x = 1.0 + common + 0.5 * z(g);
    out.push_back(v);
  }
  return out;
}

double rms(const std::vector<float>& x, std::size_t a, std::size_t b) {
  double s = 0;
  for (std::size_t i = a; i < b; ++i) s += double(x[i]) * x[i];
  return std::sqrt(s / double(b - a));
}

}  // namespace

BOOST_AUTO_TEST_CASE(machines_are_repeatable_and_faults_sit_where_they_were_put) {
  BOOST_TEST(audio::machine(3).rotationHz == audio::machine(3).rotationHz);
  BOOST_TEST(audio::machine(3).rotationHz != audio::machine(4).rotationHz);
  const std::vector<float> a = clip(Fault::None, 0, 0, 5), b = clip(Fault::None, 0, 0, 5);
  BOOST_TEST(a == b);
  BOOST_TEST(a.size() == 96000u);
  const double level = 20 * std::log10(rms(a, 0, a.size()));
  BOOST_TEST((level > -24 && level < -16), "level " << level << " dBFS");
  // A dropout from 2 s to 4 s: the level there falls; before and after it does not.
  const std::vector<float> d = clip(Fault::Dropout, 2, 4, 6);
  double quiet = 1e9;
  for (std::size_t at = 32000; at + 800 < 64000; at += 800)
    quiet = std::min(quiet, rms(d, at, at + 800));
  BOOST_TEST(20 * std::log10(quiet / rms(d, 0, 32000)) < -15);
  BOOST_TEST(std::abs(20 * std::log10(rms(d, 70000, 96000) / rms(d, 0, 30000))) < 3);
  for (Fault f : audio::allFaults()) BOOST_TEST((audio::parseFault(audio::faultName(f)) == f));
  BOOST_CHECK_THROW(audio::parseFault("squeak"), InvalidArgument);
}

BOOST_AUTO_TEST_CASE(log_mel_features_do_not_depend_on_the_rate) {
  // A 16 kHz sound resampled to a faster stream has nothing left in the resampler's transition
  // band just below 8 kHz: with the band up to the Nyquist frequency (fmax 0) the top bands read
  // darker, so only the bands below are compared; with the band up to 7.2 kHz (the trainer's
  // default, 90 % of it) every band reads the same.
  const std::vector<float> x = clip(Fault::None, 0, 0, 9, 3);
  for (double fmax : {0.0, 7200.0}) {
    const int top = fmax > 0 ? 64 : 60;
    int n16 = 0;
    const std::vector<float> f16 = audio::melFrames(x, 1024, 512, 16000, 64, n16, fmax);
    BOOST_TEST(n16 == 1 + (48000 - 1024) / 512);
    for (int rate : {32000, 44100, 48000}) {
      const std::vector<float> y = audio::resample(x, 16000, rate);
      audio::MelStream s(1024, 512, 16000, 64, rate, fmax);
      std::vector<float> f;
      s.push(y.data(), y.size(), [&](const float* v) { f.insert(f.end(), v, v + 64); });
      BOOST_REQUIRE(f.size() >= std::size_t(64 * (n16 - 2)));
      // Features in units of 100 dB: the same sound reads within 1 dB on the bands compared.
      double worst = 0;
      for (int t = 2; t < n16 - 2; ++t)
        for (int b = 2; b < top; ++b)
          worst = std::max(worst, double(std::abs(f[std::size_t(t) * 64 + std::size_t(b)] -
                                                  f16[std::size_t(t) * 64 + std::size_t(b)])));
      BOOST_TEST(worst * 100 < 1.0, rate << " Hz, fmax " << fmax << ": worst band differs by "
                                         << worst * 100 << " dB");
    }
  }
  BOOST_CHECK_THROW(audio::MelStream(1024, 512, 16000, 64, 8000), InvalidArgument);
  BOOST_CHECK_THROW(audio::MelStream(1024, 512, 16000, 64, 48000, 8500), InvalidArgument);
}

BOOST_AUTO_TEST_CASE(residual_statistics_weigh_a_shift_by_its_normal_spread) {
  constexpr int d = 6;
  const audio::ResidualStats s = audio::ResidualStats::fit(correlated(4000, d, 1), 0.01);
  BOOST_TEST(s.size() == d);
  // Fresh normal vectors score about 1 on average (d-dimensional, divided by d).
  double mean = 0;
  for (const auto& v : correlated(4000, d, 2)) mean += s.score(v.data()) / 4000;
  BOOST_TEST(mean > 0.9);
  BOOST_TEST(mean < 1.15);
  // A shift along the normal spread (all values together, by 1 each) is ordinary; a shift of one
  // value alone, by less (2, against a length of 2.45), is far out.
  std::vector<double> along(d, 2.0), against(d, 1.0);
  against[2] += 2.0;
  BOOST_TEST(s.score(along.data()) < 0.3);
  BOOST_TEST(s.score(against.data()) > 1.5);
  // The metadata text gives the same numbers back, bit for bit.
  const audio::ResidualStats t = audio::ResidualStats::parse(s.meanText(), s.precisionText(), d);
  BOOST_TEST(t.meanText() == s.meanText());
  BOOST_TEST(t.precisionText() == s.precisionText());
  for (const auto& v : correlated(20, d, 3)) BOOST_TEST(t.score(v.data()) == s.score(v.data()));
  // Errors name the key and what is wrong.
  const auto refused = [&](const std::string& m, const std::string& p, const std::string& words) {
    try {
      audio::ResidualStats::parse(m, p, d);
      BOOST_ERROR("accepted: " << words);
    } catch (const FormatError& e) {
      BOOST_TEST(std::string(e.what()).find(words) != std::string::npos, e.what());
    }
  };
  refused("1,2,3", s.precisionText(), "cae.residual_mean: 3 numbers, the model has 6 bands");
  refused(s.meanText(), "1,2,3", "cae.residual_precision: 3 numbers");
  refused(s.meanText() + ",", s.precisionText(), "cae.residual_mean: ends with a comma");
  refused("1,2,x,4,5,6", s.precisionText(), "cae.residual_mean: not a list of numbers");
  refused("", s.precisionText(), "cae.residual_mean: 0 numbers");
  std::string negative = s.precisionText();
  negative.insert(0, "-");  // the first diagonal entry
  refused(s.meanText(), negative, "diagonal entry 0 is not positive");
  BOOST_CHECK_THROW(audio::ResidualStats::fit(correlated(1, d, 4), 0.1), InvalidArgument);
  BOOST_CHECK_THROW(audio::ResidualStats::fit(correlated(10, d, 4), 0.0), InvalidArgument);
  BOOST_CHECK_THROW(audio::ResidualStats::fit({{1.0, 2.0}, {1.0, 2.0}}, 0.1), InvalidArgument);
  BOOST_CHECK_THROW(audio::ResidualStats::fit({{1.0, 2.0}, {1.0}}, 0.1), InvalidArgument);
}

BOOST_AUTO_TEST_CASE(a_short_run_calibrates_a_model_whose_windows_find_a_fault) {
  const fs::path dir = tempDir("audio-anomaly");
  for (int i = 0; i < 10; ++i)
    io::writeMonoWav((dir / ("normal-" + std::to_string(i) + ".wav")).string(),
                     clip(Fault::None, 0, 0, 100 + std::uint64_t(i)), 16000);
  train::TrainConfig c;
  c.task = train::TrainTask::AudioAnomaly;
  c.arch.kind = train::ArchKind::Dense;
  c.arch.dense = {64 * 5, 64, 8};
  c.arch.activation = "relu";
  c.mels = 64;
  c.stftSize = 1024;
  c.stftHop = 512;
  c.context = 5;
  c.valFraction = 0.3;
  c.data = {dir.string()};
  c.batch = 64;
  c.epochs = 3;
  c.stepsPerEpoch = 100;
  c.threads = 1;
  c.analysisWindow = 0.5;
  c.output = (dir / "m.onnx").string();
  train::Trainer t(c);
  const train::TrainResult r = t.run();
  BOOST_REQUIRE(fs::exists(c.output));
  const onnx::ModelInfo info = onnx::readModelInfo(c.output);
  BOOST_TEST(onnx::taskName(info.task) == "audio-anomaly");
  BOOST_TEST(info.anomaly.calibrated());
  auto m = std::make_shared<audio::MelAnomalyModel>(c.output);
  BOOST_TEST(m->mels() == 64);
  BOOST_TEST(m->context() == 5);
  BOOST_TEST(m->windowSeconds() == 0.5);
  // Windows of 0.5 s at 48 kHz: 24000 samples each, consecutive, and a flush for the rest.
  const std::vector<float> faulty = audio::resample(clip(Fault::Rubbing, 2, 4, 555), 16000, 48000);
  audio::AnomalyStream s(m, 48000);
  BOOST_TEST(s.windowSamples() == 24000u);
  std::vector<audio::AnomalyStream::Window> w;
  s.push(faulty.data(), faulty.size(),
         [&](const audio::AnomalyStream::Window& x) { w.push_back(x); });
  s.flush([&](const audio::AnomalyStream::Window& x) { w.push_back(x); });
  BOOST_REQUIRE(w.size() == 12u);
  for (std::size_t i = 0; i < w.size(); ++i) {
    BOOST_TEST(w[i].start == i * 24000);
    BOOST_TEST(w[i].contexts > 0);
  }
  double inside = 1e9, outside = 0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (i >= 4 && i < 8) inside = std::min(inside, w[i].score);
    if (i < 3 || i > 8) outside = std::max(outside, w[i].score);
  }
  BOOST_TEST(inside > outside, "fault windows from " << inside << ", normal up to " << outside);
  BOOST_TEST(inside > *info.anomaly.threshold);
  BOOST_CHECK_THROW(audio::MelAnomalyModel((dir / "none.onnx").string()), IoError);

  // The windows score the Mahalanobis distance of their mean residual (the default): the same
  // numbers from the whole clip's frames at the model's rate, contexts ending in each window.
  BOOST_REQUIRE(m->residualStats().size() == 64);
  BOOST_TEST(m->melTop() == 7200.0);  // the trainer's default: 90 % of 8 kHz
  const std::vector<float> x = clip(Fault::None, 0, 0, 777, 3);
  audio::AnomalyStream s16(m, 16000);
  std::vector<audio::AnomalyStream::Window> w16;
  s16.push(x.data(), x.size(), [&](const audio::AnomalyStream::Window& y) { w16.push_back(y); });
  int frames = 0;
  const std::vector<float> f = audio::melFrames(x, 1024, 512, 16000, 64, frames, m->melTop());
  const int contexts = frames - 4;
  std::vector<float> ctx(std::size_t(contexts) * 64 * 5);
  for (int j = 0; j < contexts; ++j)
    for (int t = 0; t < 5; ++t)
      for (int b = 0; b < 64; ++b)
        ctx[(std::size_t(j) * 64 + std::size_t(b)) * 5 + std::size_t(t)] =
            f[std::size_t(j + t) * 64 + std::size_t(b)];
  std::vector<double> err(static_cast<std::size_t>(contexts));
  std::vector<double> res(static_cast<std::size_t>(contexts) * 64);
  m->residuals(ctx.data(), contexts, err.data(), res.data());
  BOOST_REQUIRE(w16.size() == 5u);  // 3 s: five whole 0.5 s windows before the flush
  for (const audio::AnomalyStream::Window& y : w16) {
    std::vector<double> mean(64, 0.0);
    double e = 0;
    int n = 0;
    for (int j = 0; j < contexts; ++j) {
      const std::uint64_t last = std::uint64_t(j + 4) * 512 + 1023;  // the context's last sample
      if (last < y.start || last >= y.end) continue;
      for (int b = 0; b < 64; ++b)
        mean[std::size_t(b)] += res[std::size_t(j) * 64 + std::size_t(b)];
      e += err[std::size_t(j)];
      ++n;
    }
    BOOST_REQUIRE(n == y.contexts);
    for (double& v : mean) v /= n;
    BOOST_TEST(y.error == e / n, boost::test_tools::tolerance(1e-6));
    BOOST_TEST(y.score == m->residualStats().score(mean.data()),
               boost::test_tools::tolerance(1e-6));
  }

  // Statistics that do not parse, or half of them, are refused when the model loads.
  std::string bytes;
  {
    std::ifstream in(c.output, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const std::size_t key = bytes.find("cae.residual_precision");
  BOOST_REQUIRE(key != std::string::npos);
  std::string broken = bytes;
  broken[broken.find(',', key)] = ';';
  std::ofstream((dir / "broken.onnx").string(), std::ios::binary) << broken;
  try {
    const audio::MelAnomalyModel loaded((dir / "broken.onnx").string());
    BOOST_ERROR("a model with malformed residual statistics loaded");
  } catch (const FormatError& e) {
    BOOST_TEST(std::string(e.what()).find("cae.residual_precision: not a list of numbers") !=
                   std::string::npos,
               e.what());
  }
  std::string half = bytes;
  half.replace(key, 8, "cae.xxxx");  // the key renamed: only the mean is left
  std::ofstream((dir / "half.onnx").string(), std::ios::binary) << half;
  BOOST_CHECK_THROW(audio::MelAnomalyModel((dir / "half.onnx").string()), FormatError);

  // --window-score mse: no statistics, and a window scores its mean error.
  c.windowScore = "mse";
  c.epochs = 1;
  c.output = (dir / "mse.onnx").string();
  train::Trainer(c).run();
  auto mse = std::make_shared<audio::MelAnomalyModel>(c.output);
  BOOST_TEST(mse->residualStats().empty());
  audio::AnomalyStream sm(mse, 16000);
  int windows = 0;
  sm.push(x.data(), x.size(), [&](const audio::AnomalyStream::Window& y) {
    BOOST_TEST(y.score == y.error);
    ++windows;
  });
  BOOST_TEST(windows == 5);
  fs::remove_all(dir);
}
