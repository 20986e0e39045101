// The speech denoiser's inference, side by side in one process on one thread: StreamDenoiser
// running each hop's mask as one column per layer (core/audio/column_net.hpp) against OpenCV
// DNN's whole-window forward (MaskModel::run), on the same noisy speech, alternating repeats so
// that a change in the machine's load hits both. Prints one JSON line per model and path: real-time
// factor, microseconds per hop, multiply-adds per hop (from the layers' shapes) and GFLOP/s, and
// the largest difference between the two paths' outputs.
//
//   bench_audio_inference [--seconds 30] [--repeats 5] [--rate 16000] MODEL.onnx...
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <opencv2/core.hpp>
#include <random>
#include <string>
#include <vector>

#include "audio/column_net.hpp"
#include "audio/denoiser.hpp"
#include "audio/resample.hpp"
#include "io/wav.hpp"

namespace audio = cae::audio;

namespace {

// Multiply-adds per hop: the streaming path computes one column per layer; the whole window
// computes every column each layer's output has within the model's context (a strided layer
// every stride-th).
std::pair<double, double> macsPerHop(const audio::ColumnNet::Weights& w) {
  double stream = 0, whole = 0;
  int cols = w.context;
  for (const auto& l : w.layers) {
    const double perColumn = double(l.out) * l.in * l.k;
    cols = (cols - l.k) / l.stride + 1;
    stream += perColumn;
    whole += perColumn * cols;
  }
  return {stream, whole};
}

double seconds(audio::StreamDenoiser& d, const std::vector<float>& x, std::vector<float>& y) {
  d.reset();
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t at = 0; at < x.size(); at += 1024)
    d.process(x.data() + at, y.data() + at, std::min<std::size_t>(1024, x.size() - at));
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  double secondsOfSound = 30;
  int repeats = 5, rate = 16000;
  std::vector<std::string> models;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc)
      secondsOfSound = std::atof(argv[++i]);
    else if (a == "--repeats" && i + 1 < argc)
      repeats = std::max(1, std::atoi(argv[++i]));
    else if (a == "--rate" && i + 1 < argc)
      rate = std::atoi(argv[++i]);
    else if (a == "--help" || a == "-h" || a[0] == '-') {
      std::fprintf(stderr, "usage: %s [--seconds S] [--repeats N] [--rate HZ] MODEL.onnx...\n",
                   argv[0]);
      return a[0] == '-' && a != "--help" && a != "-h" ? 2 : 0;
    } else
      models.push_back(a);
  }
  if (models.empty()) models.push_back("models/audio-denoise.onnx");
  cv::setNumThreads(1);
  // Real speech (the alsa-utils clips, looped) with white noise at about 5 dB SNR.
  const cae::io::MonoAudio a = cae::io::readMonoAudio("/usr/share/sounds/alsa/Front_Center.wav");
  const std::vector<float> clip = audio::resample(a.samples, a.sampleRate, rate);
  std::vector<float> x(std::size_t(secondsOfSound * rate));
  std::mt19937 gen(3);
  std::normal_distribution<float> noise(0.0f, 0.03f);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = clip[i % clip.size()] + noise(gen);
  std::vector<float> ys(x.size()), yw(x.size());
  for (const std::string& path : models) {
    auto m = std::make_shared<audio::MaskModel>(path);
    if (!m->columns()) {
      std::fprintf(stderr, "%s: not a column chain; only the whole-window path runs it\n",
                   path.c_str());
      continue;
    }
    audio::StreamDenoiser s(m, rate), w(m, rate);
    w.setWholeWindow(true);
    double bestS = 1e30, bestW = 1e30;
    for (int r = 0; r < repeats; ++r) {
      bestS = std::min(bestS, seconds(s, x, ys));
      bestW = std::min(bestW, seconds(w, x, yw));
    }
    float diff = 0;
    for (std::size_t i = 0; i < x.size(); ++i) diff = std::max(diff, std::abs(ys[i] - yw[i]));
    const double hops = double(x.size()) / s.hop();
    const auto [macS, macW] = macsPerHop(*m->columns());
    for (const bool streaming : {true, false}) {
      const double t = streaming ? bestS : bestW, macs = streaming ? macS : macW;
      std::printf(
          "{\"model\": \"%s\", \"path\": \"%s\", \"rate\": %d, \"audio_s\": %.1f, \"repeats\": %d, "
          "\"rtf\": %.5f, \"us_per_hop\": %.2f, \"macs_per_hop\": %.0f, \"gflops\": %.3f, "
          "\"max_diff\": %.3g}\n",
          path.c_str(), streaming ? "streaming" : "whole-window", rate, secondsOfSound, repeats,
          t / secondsOfSound, 1e6 * t / hops, macs, 2 * macs * hops / t / 1e9, double(diff));
    }
    std::fflush(stdout);
  }
  return 0;
}
