// Streaming inference of the speech denoiser (core/audio/column_net.hpp): one column per layer
// per frame gives the masks of OpenCV DNN's whole-window forward on the shipped model, frame by
// frame from a start of silence; StreamDenoiser's streaming and whole-window paths give the same
// sound, also across strength 0 stretches and resets; graphs that are not such a chain are left
// to OpenCV.
#define BOOST_TEST_MODULE column_net
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "audio/column_net.hpp"
#include "audio/denoiser.hpp"
#include "audio/resample.hpp"
#include "io/wav.hpp"
#include "onnx/graph.hpp"

namespace fs = std::filesystem;
namespace audio = cae::audio;

namespace {

const fs::path kRoot = fs::path(CAE_TEST_DATA).parent_path().parent_path();
std::string model(const char* name) { return (kRoot / "models" / name).string(); }

float maxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  BOOST_REQUIRE_EQUAL(a.size(), b.size());
  float d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

}  // namespace

BOOST_AUTO_TEST_CASE(one_column_per_layer_gives_the_whole_windows_masks) {
  audio::MaskModel m(model("audio-denoise.onnx"));
  BOOST_REQUIRE(m.columns() != nullptr);
  BOOST_TEST(m.columns()->rows == m.rows());
  BOOST_TEST(m.columns()->outputs == m.bins());
  BOOST_TEST(m.columns()->context == m.context());
  audio::ColumnNet net(m.columns());
  const int rows = m.rows(), k = m.context();
  // Features as the element makes them (in [0, 1]), oldest first; the window starts as zeros.
  std::mt19937 gen(5);
  std::uniform_real_distribution<float> u(0.0f, 0.8f);
  std::vector<float> window(std::size_t(rows) * std::size_t(k), 0.0f),
      column(static_cast<std::size_t>(rows));
  std::vector<float> streamed(static_cast<std::size_t>(m.bins())), whole(streamed);
  float worst = 0, spread = 0;
  for (int frame = 0; frame < 3 * k; ++frame) {
    for (float& v : column) v = u(gen);
    for (int f = 0; f < rows; ++f) {
      float* row = &window[std::size_t(f) * std::size_t(k)];
      std::copy(row + 1, row + k, row);
      row[k - 1] = column[std::size_t(f)];
    }
    net.push(column.data(), streamed.data());
    m.run(window.data(), whole.data());
    worst = std::max(worst, maxAbsDiff(streamed, whole));
    const auto [lo, hi] = std::minmax_element(whole.begin(), whole.end());
    spread = std::max(spread, *hi - *lo);
  }
  BOOST_TEST_MESSAGE("largest difference of a gain: " << worst);
  // Float rounding: sums of up to 1,542 products in another order, through five layers (0.8 to
  // 1.5e-5 for the shipped models and their candidates); a column read from the wrong frame
  // moves gains by tenths.
  BOOST_TEST(worst < 5e-5f);
  BOOST_TEST(spread > 0.3f);  // masks that vary: the comparison means something
  // reset(): silence before, as at construction.
  net.reset();
  std::fill(window.begin(), window.end(), 0.0f);
  for (int f = 0; f < rows; ++f)
    window[std::size_t(f) * std::size_t(k) + std::size_t(k - 1)] = column[std::size_t(f)];
  net.push(column.data(), streamed.data());
  m.run(window.data(), whole.data());
  BOOST_TEST(maxAbsDiff(streamed, whole) < 5e-5f);
}

BOOST_AUTO_TEST_CASE(the_element_path_sounds_the_same_streaming_or_whole) {
  auto m = std::make_shared<audio::MaskModel>(model("audio-denoise.onnx"));
  const cae::io::MonoAudio a = cae::io::readMonoAudio("/usr/share/sounds/alsa/Front_Center.wav");
  for (const int rate : {16000, 48000}) {
    std::vector<float> x = audio::resample(a.samples, a.sampleRate, rate);
    std::mt19937 gen(9);
    std::normal_distribution<float> n(0.0f, 0.05f);
    for (float& v : x) v += n(gen);
    audio::StreamDenoiser s(m, rate), w(m, rate);
    BOOST_TEST(s.streaming());
    w.setWholeWindow(true);
    BOOST_TEST(!w.streaming());
    std::vector<float> ys(x.size()), yw(x.size());
    // Blocks of odd sizes; a stretch at strength 0 and a reset in the middle.
    const std::size_t third = x.size() / 3;
    bool wasReset = false;
    for (std::size_t at = 0; at < x.size();) {
      const std::size_t len = std::min<std::size_t>(777, x.size() - at);
      const float strength = at >= third && at < 2 * third ? 0.0f : 1.0f;
      const bool reset = at >= 2 * third + third / 2 && !wasReset;
      wasReset = wasReset || reset;
      for (audio::StreamDenoiser* d : {&s, &w}) {
        d->setStrength(strength);
        if (reset) d->reset();
      }
      s.process(x.data() + at, ys.data() + at, len);
      w.process(x.data() + at, yw.data() + at, len);
      at += len;
    }
    const float d = maxAbsDiff(ys, yw);
    BOOST_TEST_MESSAGE(rate << " Hz: largest sample difference " << d);
    BOOST_TEST(d < 1e-4f);
    BOOST_TEST(maxAbsDiff(ys, std::vector<float>(ys.size(), 0.0f)) > 0.1f);
  }
}

BOOST_AUTO_TEST_CASE(graphs_that_are_not_a_column_chain_are_left_to_opencv) {
  // An image denoiser (padded convolutions, a residual add), the machine-sound autoencoder.
  for (const char* name : {"denoise-fast.onnx", "audio-anomaly.onnx"}) {
    BOOST_TEST_CONTEXT(name) {
      BOOST_TEST(audio::ColumnNet::fromGraph(cae::onnx::readGraph(model(name))) == nullptr);
    }
  }
  // Nor a chain whose conv is grouped or padded.
  const cae::onnx::Graph g = cae::onnx::readGraph(model("audio-denoise.onnx"));
  BOOST_REQUIRE(audio::ColumnNet::fromGraph(g) != nullptr);
  for (const char* attr : {"group", "pads"}) {
    cae::onnx::Graph bad = g;
    for (cae::onnx::Node& n : bad.nodes)
      if (n.op == "Conv") {
        cae::onnx::Attribute a;
        a.kind = std::string(attr) == "group" ? cae::onnx::Attribute::Kind::Int
                                              : cae::onnx::Attribute::Kind::Ints;
        a.i = 2;
        a.ints = {0, 1, 0, 1};
        n.attrs[attr] = a;
        break;
      }
    BOOST_TEST_CONTEXT(attr) { BOOST_TEST(audio::ColumnNet::fromGraph(bad) == nullptr); }
  }
  // A stride along time is taken, as dilations of the convs after it: the shipped layers
  // (three 1 x 3 convs, the code's 1 x 2, then 1 x 1) read 8 frames with strides of 1, and 13
  // with 2 in the first conv only, so MaskModel (which runs the file's window) would leave such
  // a chain to OpenCV.
  cae::onnx::Graph strided = g;
  bool first = true;
  for (cae::onnx::Node& n : strided.nodes)
    if (n.op == "Conv") {
      cae::onnx::Attribute a;
      a.kind = cae::onnx::Attribute::Kind::Ints;
      a.ints = {1, first ? 2 : 1};
      n.attrs["strides"] = a;
      first = false;
    }
  const auto w = audio::ColumnNet::fromGraph(strided);
  BOOST_REQUIRE(w != nullptr);
  BOOST_TEST(w->context == 13);
  BOOST_REQUIRE(w->layers.size() == 6u);
  BOOST_TEST(w->layers[0].dilation == 1);
  BOOST_TEST(w->layers[1].dilation == 2);
  BOOST_TEST(w->layers[0].stride == 2);
  BOOST_TEST(w->layers[1].stride == 1);
  BOOST_TEST(w->layers[3].dilation == 2);      // the code conv, 1 x 2
  BOOST_TEST(w->layers.back().dilation == 1);  // a 1 x 1 conv needs no spacing
}
