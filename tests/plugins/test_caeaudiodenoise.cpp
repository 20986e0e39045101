// caeaudiodenoise through GstHarness with real speech (the alsa-utils voice clips, which no
// model trains on): every format, rate and channel count as a fixed delay at strength 0, the
// SNR raised on noisy speech by the shipped model, channels independent, a discontinuity
// starting the state again, the EOS drain, LATENCY, and the errors (missing, corrupt and
// wrong-task models, caps the element does not take).
#define BOOST_TEST_MODULE element_caeaudiodenoise
#include <gst/audio/audio.h>
#include <gst/check/gstharness.h>
#include <gst/gst.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "audio/resample.hpp"
#include "io/wav.hpp"
#include "onnx/metadata.hpp"
#include "plugins/harness.hpp"

using cae::testing::GstInit;
BOOST_TEST_GLOBAL_FIXTURE(GstInit);

namespace {

using cae::testing::play;
using cae::testing::scratch;

std::string sourceRoot() {
  const char* r = std::getenv("CAE_SOURCE_ROOT");
  return r ? r : ".";
}

// A real voice at `rate`, mono, in [-1, 1].
std::vector<float> speech(int rate, const char* clip = "Front_Center.wav") {
  const cae::io::MonoAudio a =
      cae::io::readMonoAudio(std::string("/usr/share/sounds/alsa/") + clip);
  return cae::audio::resample(a.samples, a.sampleRate, rate);
}

std::vector<float> whiteNoise(std::size_t n, double rms, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> nd(0, rms);
  std::vector<float> v(n);
  for (float& x : v) x = float(nd(gen));
  return v;
}

double power(const std::vector<float>& x) {
  double s = 0;
  for (float v : x) s += double(v) * v;
  return x.empty() ? 0 : s / double(x.size());
}

// SNR of y against the clean reference x, in dB.
double snr(const std::vector<float>& x, const std::vector<float>& y) {
  double e = 0;
  for (std::size_t i = 0; i < x.size(); ++i) e += (double(y[i]) - x[i]) * (double(y[i]) - x[i]);
  return 10 * std::log10(power(x) * double(x.size()) / std::max(e, 1e-20));
}

struct Format {
  std::string format = "F32LE";
  int rate = 16000, channels = 1;
  std::string caps() const {
    return "audio/x-raw,format=" + format + ",rate=" + std::to_string(rate) +
           ",channels=" + std::to_string(channels) + ",layout=interleaved";
  }
  int bytesPerSample() const { return format == "S16LE" ? 2 : 4; }
};

// Interleaved frames of the channels as the stream's format.
GstBuffer* makeBuffer(const Format& s, const std::vector<std::vector<float>>& ch, std::size_t at,
                      std::size_t frames) {
  GstBuffer* b = gst_buffer_new_allocate(
      nullptr, frames * std::size_t(s.channels * s.bytesPerSample()), nullptr);
  GstMapInfo m;
  gst_buffer_map(b, &m, GST_MAP_WRITE);
  for (std::size_t i = 0; i < frames; ++i)
    for (int c = 0; c < s.channels; ++c) {
      const float v = ch[std::size_t(c)][at + i];
      const std::size_t k = i * std::size_t(s.channels) + std::size_t(c);
      if (s.format == "S16LE")
        reinterpret_cast<gint16*>(m.data)[k] =
            gint16(std::clamp(std::lround(v * 32768.0f), -32768L, 32767L));
      else
        reinterpret_cast<float*>(m.data)[k] = v;
    }
  gst_buffer_unmap(b, &m);
  GST_BUFFER_PTS(b) = gst_util_uint64_scale_int(at, GST_SECOND, s.rate);
  GST_BUFFER_DURATION(b) = gst_util_uint64_scale_int(frames, GST_SECOND, s.rate);
  return b;
}

void appendBuffer(const Format& s, GstBuffer* b, std::vector<std::vector<float>>& out) {
  GstMapInfo m;
  gst_buffer_map(b, &m, GST_MAP_READ);
  const std::size_t frames = m.size / std::size_t(s.channels * s.bytesPerSample());
  for (std::size_t i = 0; i < frames; ++i)
    for (int c = 0; c < s.channels; ++c) {
      const std::size_t k = i * std::size_t(s.channels) + std::size_t(c);
      out[std::size_t(c)].push_back(
          s.format == "S16LE" ? float(reinterpret_cast<const gint16*>(m.data)[k]) / 32768.0f
                              : reinterpret_cast<const float*>(m.data)[k]);
    }
  gst_buffer_unmap(b, &m);
}

// The channels through `element` in buffers of random sizes (1..max frames), then EOS; every
// buffer pulled, the drain included. latencyFrames: from the LATENCY query's algorithmic part.
struct Result {
  std::vector<std::vector<float>> out;
  GstClockTime latency = 0;
};
Result run(const std::string& element, const Format& s, const std::vector<std::vector<float>>& ch,
           std::size_t maxBlock = 1500, unsigned seed = 1,
           const std::vector<std::size_t>& discontAt = {}) {
  GstHarness* h = gst_harness_new_parse(element.c_str());
  gst_harness_set_src_caps_str(h, s.caps().c_str());
  Result r;
  r.out.assign(std::size_t(s.channels), {});
  std::mt19937 gen(seed);
  std::uniform_int_distribution<std::size_t> block(1, maxBlock);
  const std::size_t len = ch[0].size();
  for (std::size_t at = 0; at < len;) {
    std::size_t n = std::min(block(gen), len - at);
    for (std::size_t d : discontAt)
      if (d > at && d < at + n) n = d - at;  // a discontinuity starts its own buffer
    GstBuffer* b = makeBuffer(s, ch, at, n);
    if (std::find(discontAt.begin(), discontAt.end(), at) != discontAt.end())
      GST_BUFFER_FLAG_SET(b, GST_BUFFER_FLAG_DISCONT);
    BOOST_REQUIRE(gst_harness_push(h, b) == GST_FLOW_OK);
    GstBuffer* o = gst_harness_pull(h);
    BOOST_REQUIRE(o);
    BOOST_TEST(GST_BUFFER_PTS(o) == gst_util_uint64_scale_int(at, GST_SECOND, s.rate));
    appendBuffer(s, o, r.out);
    gst_buffer_unref(o);
    at += n;
  }
  GstQuery* q = gst_query_new_latency();
  if (gst_pad_peer_query(h->sinkpad, q)) {  // the element's source pad
    gboolean live;
    GstClockTime mn, mx;
    gst_query_parse_latency(q, &live, &mn, &mx);
    r.latency = mn;
  }
  gst_query_unref(q);
  BOOST_REQUIRE(gst_harness_push_event(h, gst_event_new_eos()));
  while (GstBuffer* o = gst_harness_try_pull(h)) {
    appendBuffer(s, o, r.out);
    gst_buffer_unref(o);
  }
  gst_harness_teardown(h);
  return r;
}

// The delay of the shipped model at a rate: the STFT's window - 1 samples (the window 32 ms,
// four hops) and the model's look-ahead in hops (cae.lookahead), as its metadata gives them.
std::size_t delayAt(int rate) {
  const cae::onnx::ModelInfo info =
      cae::onnx::readModelInfo(sourceRoot() + "/models/audio-denoise.onnx");
  const auto it = info.unknown.find(cae::onnx::key::kLookahead);
  const long hops =
      info.stft->nFft / info.stft->hop + (it == info.unknown.end() ? 0 : std::stol(it->second));
  return std::size_t(hops * std::lround(double(info.stft->hop) * rate / info.stft->sampleRate) - 1);
}

}  // namespace

BOOST_AUTO_TEST_CASE(strength_zero_is_a_fixed_delay_in_every_format_rate_and_layout) {
  for (const std::string format : {"F32LE", "S16LE"})
    for (int rate : {8000, 16000, 32000, 44100, 48000})
      for (int channels : {1, 2}) {
        Format s{format, rate, channels};
        const std::vector<float> v = speech(rate);
        std::vector<std::vector<float>> ch{v};
        if (channels == 2) {  // the second channel: the voice reversed and quieter
          ch.emplace_back(v.rbegin(), v.rend());
          for (float& x : ch[1]) x *= 0.5f;
        }
        const Result r = run("caeaudiodenoise strength=0", s, ch, 1500, unsigned(rate + channels));
        const std::size_t d = delayAt(rate);
        BOOST_TEST_CONTEXT(format << " " << rate << " Hz x" << channels) {
          // The drain at EOS: output = input + latency, and the input is all there, delayed.
          BOOST_TEST(r.out[0].size() == v.size() + d);
          const double tol = format == "S16LE" ? 1.5 / 32768 : 2e-5;
          double err = 0;
          for (int c = 0; c < channels; ++c)
            for (std::size_t i = 0; i < v.size(); ++i)
              err = std::max(
                  err, double(std::abs(r.out[std::size_t(c)][i + d] - ch[std::size_t(c)][i])));
          BOOST_TEST(err <= tol, "max difference " << err);
          // LATENCY: at least the algorithmic delay, and not much more (the processing part).
          const GstClockTime algo = gst_util_uint64_scale_int(d, GST_SECOND, rate);
          BOOST_TEST(r.latency >= algo);
          BOOST_TEST(r.latency < algo + 20 * GST_MSECOND);
        }
      }
}

BOOST_AUTO_TEST_CASE(the_shipped_model_raises_the_snr_of_noisy_real_speech) {
  // White noise at 5 dB SNR over a real voice, at the model's rate and at 48 kHz.
  for (int rate : {16000, 48000}) {
    const std::vector<float> clean = speech(rate, "Front_Left.wav");
    const std::vector<float> noise =
        whiteNoise(clean.size(), std::sqrt(power(clean) / std::pow(10, 0.5)), 9);
    std::vector<float> noisy(clean.size());
    for (std::size_t i = 0; i < clean.size(); ++i) noisy[i] = clean[i] + noise[i];
    Format s{"F32LE", rate, 1};
    const Result r = run("caeaudiodenoise", s, {noisy});
    const std::size_t d = delayAt(rate);
    const std::vector<float> out(r.out[0].begin() + long(d),
                                 r.out[0].begin() + long(d + clean.size()));
    const double before = snr(clean, noisy), after = snr(clean, out);
    BOOST_TEST_MESSAGE(rate << " Hz: SNR " << before << " dB in, " << after << " dB out");
    BOOST_TEST(std::abs(before - 5.0) < 0.2);
    BOOST_TEST(after > before + 5.0, rate << " Hz: " << before << " -> " << after << " dB");
    // strength 0.5 lies between: less suppression, less gain.
    const Result half = run("caeaudiodenoise strength=0.5", s, {noisy});
    const std::vector<float> h(half.out[0].begin() + long(d),
                               half.out[0].begin() + long(d + clean.size()));
    BOOST_TEST(snr(clean, h) > before);
    BOOST_TEST(snr(clean, h) < after);
  }
}

BOOST_AUTO_TEST_CASE(channels_are_denoised_independently_and_a_discontinuity_starts_again) {
  const int rate = 16000;
  const std::vector<float> clean = speech(rate);
  const std::vector<float> noise = whiteNoise(clean.size(), 0.05, 4);
  std::vector<float> noisy(clean.size());
  for (std::size_t i = 0; i < clean.size(); ++i) noisy[i] = clean[i] + noise[i];
  const Result mono = run("caeaudiodenoise", Format{"F32LE", rate, 1}, {noisy}, 700, 5);
  // The same voice on the left of a stereo stream, silence on the right.
  const Result st = run("caeaudiodenoise", Format{"F32LE", rate, 2},
                        {noisy, std::vector<float>(noisy.size(), 0.0f)}, 900, 6);
  double diff = 0, right = 0;
  for (std::size_t i = 0; i < mono.out[0].size(); ++i) {
    diff = std::max(diff, double(std::abs(st.out[0][i] - mono.out[0][i])));
    right = std::max(right, double(std::abs(st.out[1][i])));
  }
  BOOST_TEST(diff < 1e-6, "left differs from the mono run by " << diff);
  BOOST_TEST(right == 0.0);
  // A DISCONT buffer at sample 8000: from there the output is that of a fresh element fed the
  // rest of the stream.
  const std::size_t cut = 8000;
  const Result broken = run("caeaudiodenoise", Format{"F32LE", rate, 1}, {noisy}, 700, 7, {cut});
  const std::vector<float> rest(noisy.begin() + long(cut), noisy.end());
  const Result fresh = run("caeaudiodenoise", Format{"F32LE", rate, 1}, {rest}, 700, 8);
  double after = 0;
  for (std::size_t i = 0; i < rest.size(); ++i)
    after = std::max(after, double(std::abs(broken.out[0][cut + i] - fresh.out[0][i])));
  BOOST_TEST(after < 1e-6, "after the discontinuity the output differs by " << after);
}

BOOST_AUTO_TEST_CASE(unusable_models_and_caps_are_refused_with_a_clear_error) {
  const std::string src =
      "audiotestsrc num-buffers=4 ! audio/x-raw,format=F32LE,rate=16000,channels=1 ! ";
  const auto expectError = [&](const std::string& model, const std::string& words) {
    const cae::testing::PipelineRun r =
        play(src + "caeaudiodenoise model=" + model + " ! fakesink");
    BOOST_TEST(!r.eos, model);
    BOOST_TEST(r.error.find(words) != std::string::npos, model << ": " << r.error);
  };
  expectError((scratch() / "missing.onnx").string(), "no such model file");
  // A truncated copy of the shipped model.
  {
    std::ifstream in(sourceRoot() + "/models/audio-denoise.onnx", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    BOOST_REQUIRE(bytes.size() > 1000);
    std::ofstream(scratch() / "cut.onnx", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    std::ofstream(scratch() / "garbage.onnx", std::ios::binary) << std::string(5000, '\x17');
  }
  expectError((scratch() / "cut.onnx").string(), "Cannot read the audio denoising model");
  expectError((scratch() / "garbage.onnx").string(), "Cannot read the audio denoising model");
  // A video denoiser is a model of another task.
  expectError(sourceRoot() + "/models/denoise-gray.onnx", "not an audio-denoise model");
  // Caps it does not take (24-bit samples, a rate it does not list) are refused: the element
  // does not accept them and a buffer pushed with them is not negotiated.
  for (const std::string caps : {"format=S24LE,rate=16000", "format=F32LE,rate=12345"}) {
    GstHarness* h = gst_harness_new_parse("caeaudiodenoise");
    GstCaps* c =
        gst_caps_from_string(("audio/x-raw,channels=1,layout=interleaved," + caps).c_str());
    BOOST_TEST(!gst_pad_peer_query_accept_caps(h->srcpad, c), caps);
    gst_harness_set_src_caps(h, c);
    BOOST_TEST(gst_harness_push(h, gst_buffer_new_allocate(nullptr, 960, nullptr)) ==
                   GST_FLOW_NOT_NEGOTIATED,
               caps);
    gst_harness_teardown(h);
  }
}
