// cae-train --task audio-anomaly (issue 15): the machine-sound generator (faults where they were
// put), log-mel features that do not depend on the stream's rate, a short training run on normal
// clips whose model core/audio's scorer loads with its calibration, and the analysis windows'
// timing and scores (a fault scores above the normal windows).
#define BOOST_TEST_MODULE audio_anomaly_train
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "audio/machine_sounds.hpp"
#include "audio/mel.hpp"
#include "audio/mel_anomaly.hpp"
#include "audio/resample.hpp"
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
  const std::vector<float> x = clip(Fault::None, 0, 0, 9, 3);
  int n16 = 0;
  const std::vector<float> f16 = audio::melFrames(x, 1024, 512, 16000, 64, n16);
  BOOST_TEST(n16 == 1 + (48000 - 1024) / 512);
  for (int rate : {32000, 44100, 48000}) {
    const std::vector<float> y = audio::resample(x, 16000, rate);
    audio::MelStream s(1024, 512, 16000, 64, rate);
    std::vector<float> f;
    s.push(y.data(), y.size(), [&](const float* v) { f.insert(f.end(), v, v + 64); });
    BOOST_REQUIRE(f.size() >= std::size_t(64 * (n16 - 2)));
    // Features in units of 100 dB: the same sound reads within 0.5 dB on the bands that carry it.
    double worst = 0;
    for (int t = 2; t < n16 - 2; ++t)
      for (int b = 2; b < 60; ++b)
        worst = std::max(worst, double(std::abs(f[std::size_t(t) * 64 + std::size_t(b)] -
                                                f16[std::size_t(t) * 64 + std::size_t(b)])));
    BOOST_TEST(worst * 100 < 1.0, rate << " Hz: worst band differs by " << worst * 100 << " dB");
  }
  BOOST_CHECK_THROW(audio::MelStream(1024, 512, 16000, 64, 8000), InvalidArgument);
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
  fs::remove_all(dir);
}
