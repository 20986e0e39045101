#include "train/audio_data.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <filesystem>
#include <numeric>
#include <optional>
#include <utility>

#include "audio/mel.hpp"
#include "audio/resample.hpp"
#include "audio/stft.hpp"
#include "error.hpp"
#include "io/wav.hpp"

namespace cae::train {

namespace fs = std::filesystem;
using nn::Rng;
using nn::Tensor;

namespace {

constexpr double kPi = 3.14159265358979323846;

bool isSound(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(),
                 [](unsigned char ch) { return char(std::tolower(ch)); });
  return e == ".wav" || e == ".flac" || e == ".ogg";
}

double activePower(const std::vector<float>& x) {
  const std::size_t frame = 512;
  std::vector<double> p;
  for (std::size_t at = 0; at + frame <= x.size(); at += frame) {
    double s = 0;
    for (std::size_t i = at; i < at + frame; ++i) s += double(x[i]) * x[i];
    p.push_back(s / frame);
  }
  if (p.empty()) {
    double s = 0;
    for (float v : x) s += double(v) * v;
    return x.empty() ? 0 : s / double(x.size());
  }
  const double loud = *std::max_element(p.begin(), p.end());
  double sum = 0;
  int count = 0;
  for (double v : p)
    if (v >= loud * 1e-4) {
      sum += v;
      ++count;
    }
  return count ? sum / count : 0;
}

double power(const float* x, std::size_t n) {
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += double(x[i]) * x[i];
  return n ? s / double(n) : 0;
}

// A stretch of `len` samples of clip from a random place (looped when the clip is shorter).
void stretch(const std::vector<float>& clip, Rng& rng, std::size_t len, float* out) {
  if (clip.empty()) {
    std::fill(out, out + len, 0.0f);
    return;
  }
  std::size_t at = clip.size() > len ? std::size_t(rng.below(clip.size() - len + 1))
                                     : std::size_t(rng.below(clip.size()));
  for (std::size_t i = 0; i < len; ++i) {
    out[i] = clip[at];
    if (++at == clip.size()) at = 0;
  }
}

}  // namespace

std::size_t SoundSet::totalSamples() const {
  std::size_t n = 0;
  for (const auto& c : clips) n += c.size();
  return n;
}

std::vector<std::string> soundFiles(const std::vector<std::string>& paths) {
  std::vector<fs::path> files;
  for (const std::string& p : paths) {
    if (fs::is_directory(p)) {
      std::vector<fs::path> here;
      for (const auto& e : fs::recursive_directory_iterator(p))
        if (e.is_regular_file() && isSound(e.path())) here.push_back(e.path());
      std::sort(here.begin(), here.end());
      files.insert(files.end(), here.begin(), here.end());
    } else if (fs::exists(p)) {
      files.emplace_back(p);
    } else {
      throw IoError("no such sound file or folder: " + p);
    }
  }
  if (files.empty()) throw InvalidArgument("no .wav, .flac or .ogg files found in the sound paths");
  std::vector<std::string> names(files.size());
  std::transform(files.begin(), files.end(), names.begin(),
                 [](const fs::path& f) { return f.string(); });
  return names;
}

SoundSet loadSounds(const std::vector<std::string>& paths, int rate) {
  SoundSet s;
  for (const std::string& f : soundFiles(paths)) {
    io::MonoAudio a = io::readMonoAudio(f);
    s.clips.push_back(audio::resample(a.samples, a.sampleRate, rate));
    s.names.push_back(f);
    s.activePower.push_back(activePower(s.clips.back()));
  }
  return s;
}

FileSplit splitFiles(std::size_t n, double fraction, std::uint64_t seed) {
  FileSplit sp;
  sp.order.resize(n);
  std::iota(sp.order.begin(), sp.order.end(), std::size_t(0));
  Rng rng(seed);
  std::shuffle(sp.order.begin(), sp.order.end(), rng.engine());
  sp.held = std::size_t(std::lround(fraction * double(n)));
  if (sp.held == 0 && n >= 2 && fraction > 0) sp.held = 1;
  sp.held = std::min(sp.held, n);
  return sp;
}

void splitSounds(const SoundSet& all, double fraction, std::uint64_t seed, SoundSet& keep,
                 SoundSet& heldOut) {
  const FileSplit sp = splitFiles(all.clips.size(), fraction, seed);
  keep = {};
  heldOut = {};
  for (std::size_t k = 0; k < sp.order.size(); ++k) {
    SoundSet& to = k < sp.held ? heldOut : keep;
    const std::size_t i = sp.order[k];
    to.clips.push_back(all.clips[i]);
    to.names.push_back(all.names[i]);
    to.activePower.push_back(all.activePower[i]);
  }
}

AudioMixSource::AudioMixSource(SoundSet speech, SoundSet noise, AudioMixOptions o)
    : speech_(std::move(speech)), noise_(std::move(noise)), o_(o) {
  if (speech_.clips.empty()) throw InvalidArgument("audio-denoise: no speech to train on");
  if (o_.context < 1) throw InvalidArgument("audio-denoise: --context must be >= 1");
  if (o_.outputs < 1) throw InvalidArgument("audio-denoise: --sequence must be >= 1");
  if (o_.lookahead < 0 || o_.lookahead >= o_.context)
    throw InvalidArgument("audio-denoise: --lookahead L needs 0 <= L < --context (" +
                          std::to_string(o_.context) + "), got " + std::to_string(o_.lookahead));
  if (!(o_.snrLo <= o_.snrHi)) throw InvalidArgument("audio-denoise: --snr LO:HI needs LO <= HI");
  if (!(o_.recordedShare >= 0 && o_.recordedShare <= 1))
    throw InvalidArgument("audio-denoise: --recorded-share needs a share in [0, 1]");
  if (o_.babbleLo < 1 || o_.babbleLo > o_.babbleHi)
    throw InvalidArgument("audio-denoise: --babble LO:HI needs 1 <= LO <= HI");
  if (o_.envelope != 0 && (!o_.noiseFloor || !(o_.envelope > 0 && o_.envelope < 1)))
    throw InvalidArgument("audio-denoise: --envelope needs --noise-floor and 0 < SMOOTH < 1");
  fft_ = std::make_unique<audio::RealFft>(o_.n);
  double total = 0;
  for (const auto& c : speech_.clips) speechEnds_.push_back(total += double(c.size()));
}

std::size_t AudioMixSource::pickSpeech(Rng& rng) const {
  if (!o_.byDuration || speechEnds_.back() <= 0)
    return std::size_t(rng.below(speech_.clips.size()));
  const double at = rng.uniform() * speechEnds_.back();
  const auto it = std::upper_bound(speechEnds_.begin(), speechEnds_.end(), at);
  return std::min(std::size_t(it - speechEnds_.begin()), speech_.clips.size() - 1);
}

AudioMixSource::~AudioMixSource() = default;

void AudioMixSource::mixture(Rng& rng, std::size_t len, std::vector<float>& speech,
                             std::vector<float>& noise) const {
  speech.assign(len, 0.0f);
  noise.assign(len, 0.0f);
  const std::size_t si = pickSpeech(rng);
  stretch(speech_.clips[si], rng, len, speech.data());
  const double speechPower = std::max(speech_.activePower[si], 1e-12);

  std::vector<float> part(len);
  // Below `share` a recording; the rest of [0, 1) coloured, hum and babble as 5 : 3 : 5 (with
  // no recordings the draws below `share` are coloured too, as before the option).
  const double share = o_.recordedShare, made = 1 - share;
  const double colouredEnd = share + made * (5.0 / 13), humEnd = share + made * (8.0 / 13);
  const int kinds = rng.uniform() < 1.0 / 3 ? 2 : 1;
  for (int k = 0; k < kinds; ++k) {
    const double u = rng.uniform();
    const bool recorded = !noise_.clips.empty() && u < share;
    if (recorded) {
      stretch(noise_.clips[std::size_t(rng.below(noise_.clips.size()))], rng, len, part.data());
    } else if (u < colouredEnd) {  // coloured: y = a y + x, a < 0 bluish, a near 1 brown
      const double a = rng.uniform(-0.5, 0.985);
      double y = 0;
      for (std::size_t i = 0; i < len; ++i) part[i] = float(y = a * y + rng.normal());
    } else if (u < humEnd) {  // hum
      const double f0 = rng.uniform(45, 65), decay = rng.uniform(0.3, 2.0);
      const int harmonics = 1 + int(rng.below(40));
      std::fill(part.begin(), part.end(), 0.0f);
      for (int h = 1; h <= harmonics; ++h) {
        if (f0 * h > 0.49 * o_.rate) break;
        const double amp = std::pow(double(h), -decay) * rng.uniform(0.3, 1.0);
        const double ph = rng.uniform(0, float(2 * kPi)), w = 2 * kPi * f0 * h / o_.rate;
        // sin(w i + ph) as the imaginary part of a rotating phasor (a sin() per sample is
        // most of a long mixture's cost; the phasor drifts by ~1e-12 over a second)
        const std::complex<double> step = std::polar(1.0, w);
        std::complex<double> z = std::polar(amp, ph);
        for (std::size_t i = 0; i < len; ++i, z *= step) part[i] += float(z.imag());
      }
      const float hiss = float(std::sqrt(power(part.data(), len)) * 0.03);
      for (float& v : part) v += hiss * rng.normal();
    } else {  // babble of other stretches of speech
      std::fill(part.begin(), part.end(), 0.0f);
      std::vector<float> voice(len);
      const auto span = std::uint64_t(o_.babbleHi) - std::uint64_t(o_.babbleLo) + 1;
      const int voices = o_.babbleLo + int(rng.below(span));
      for (int v = 0; v < voices; ++v) {
        const std::size_t ci = pickSpeech(rng);
        stretch(speech_.clips[ci], rng, len, voice.data());
        const double g = std::pow(10.0, rng.uniform(-6, 6) / 20) /
                         std::sqrt(std::max(speech_.activePower[ci], 1e-12));
        for (std::size_t i = 0; i < len; ++i) part[i] += float(g * voice[i]);
      }
    }
    const double p = power(part.data(), len);
    if (p <= 1e-20) continue;
    const double rel = k == 0 ? 1.0 : std::pow(10.0, -rng.uniform(0, 10) / 10);
    const double g = std::sqrt(rel / p);
    for (std::size_t i = 0; i < len; ++i) noise[i] += float(g * part[i]);
  }
  // noise has unit power (or less with the second kind's share); set SNR and level.
  const double snr = rng.uniform(float(o_.snrLo), float(o_.snrHi));
  const double levelDb = rng.uniform(-35, -10);
  const double gs = std::pow(10.0, levelDb / 20) / std::sqrt(speechPower);
  const double np = std::max(power(noise.data(), len), 1e-20);
  const double gn = std::sqrt(speechPower * gs * gs / std::pow(10.0, snr / 10) / np);
  for (std::size_t i = 0; i < len; ++i) {
    speech[i] = float(speech[i] * gs);
    noise[i] = float(noise[i] * gn);
  }
}

void AudioMixSource::samples(Rng& rng, int count, float* const* columns) const {
  // With the noise floor, the mixture starts `warm` frames before the K + L - 1 the first
  // sample reads, and the others read theirs `kFloorSpacing` frames later each.
  const int warm = o_.noiseFloor ? int(rng.below(std::uint64_t(o_.floorWarmup) + 1)) : 0;
  const int frames = warm + (count - 1) * kFloorSpacing + o_.context + o_.outputs - 1;
  const std::size_t len = std::size_t(o_.n) + std::size_t(frames - 1) * std::size_t(o_.hop);
  std::vector<float> s, v;
  mixture(rng, len, s, v);
  const bool telephone = rng.uniform() < 0.1;
  render(s, v, warm, telephone, count, columns);
}

void AudioMixSource::render(const std::vector<float>& s, const std::vector<float>& v, int warm,
                            bool telephone, int count, float* const* columns) const {
  const int n = o_.n, hop = o_.hop, k = o_.context, bins = n / 2 + 1, outs = o_.outputs;
  const int in = k + outs - 1;  // the frames a sample reads
  const int frames = warm + (count - 1) * kFloorSpacing + in;
  const std::size_t len = std::size_t(n) + std::size_t(frames - 1) * std::size_t(hop);
  if (warm < 0 || count < 1 || s.size() < len || v.size() < len)
    throw InvalidArgument("audio-denoise: a mixture of " + std::to_string(s.size()) +
                          " samples is too short for its frames");
  const int top = telephone ? n / 4 + 1 : bins;  // bins up to a quarter of the rate
  static thread_local std::vector<float> w;
  if (int(w.size()) != n) w = audio::sqrtHannWindow(n);
  std::vector<float> frame(static_cast<std::size_t>(n)), mag(static_cast<std::size_t>(bins)),
      floor(static_cast<std::size_t>(bins));
  std::vector<std::complex<float>> Y(static_cast<std::size_t>(bins)),
      S(static_cast<std::size_t>(bins));
  std::optional<audio::NoiseFloor> tracker, envelope;
  if (o_.noiseFloor) tracker.emplace(bins, o_.floor);
  if (o_.envelope > 0) envelope.emplace(bins, audio::envelopeOptions(float(o_.envelope)));
  std::vector<float> env(envelope ? std::size_t(bins) : 0);
  const int cols = width();
  // The spectra's scale: 1 / the noise's RMS over the mixture.
  float unit = 1.0f;
  if (o_.spectra) {
    double p = 0;
    for (std::size_t i = 0; i < len; ++i) p += double(v[i]) * double(v[i]);
    unit = float(1.0 / std::sqrt(std::max(p / double(len), 1e-12)));
  }
  for (int t = 0; t < frames; ++t) {
    const std::size_t at = std::size_t(t) * std::size_t(hop);
    for (int i = 0; i < n; ++i)
      frame[std::size_t(i)] = (s[at + std::size_t(i)] + v[at + std::size_t(i)]) * w[std::size_t(i)];
    fft_->forward(frame.data(), Y.data());
    for (int f = 0; f < bins; ++f)
      mag[std::size_t(f)] = f < top ? audio::magnitudeToUnit(std::abs(Y[std::size_t(f)]), n) : 0.0f;
    if (tracker) tracker->update(mag.data(), floor.data());
    if (envelope) envelope->update(mag.data(), env.data());
    // The samples this frame belongs to: sample j reads frames first(j) .. first(j) + K + L - 2
    // and masks (for output o) frame first(j) + K - 1 - lookahead + o.
    bool clean = false;  // S holds this frame's clean spectrum
    for (int j = 0; j < count; ++j) {
      const int c = t - (warm + j * kFloorSpacing);
      if (c < 0 || c >= in) continue;
      float* out = columns[j];
      for (int f = 0; f < bins; ++f) {
        out[f * cols + c] = mag[std::size_t(f)];
        if (tracker) out[(bins + f) * cols + c] = floor[std::size_t(f)];
        if (envelope) out[(2 * bins + f) * cols + c] = env[std::size_t(f)];
      }
      const int o = c - (k - 1 - o_.lookahead);  // the output whose frame this is
      if (o < 0 || o >= outs) continue;
      const int col = in + o;
      for (int f = bins; f < channels(); ++f) out[f * cols + col] = 0.0f;
      // The frame masked: the clean spectrum for the target (Y holds the noisy one).
      if (!clean) {
        for (int i = 0; i < n; ++i)
          frame[std::size_t(i)] = s[at + std::size_t(i)] * w[std::size_t(i)];
        fft_->forward(frame.data(), S.data());
        clean = true;
      }
      for (int f = 0; f < bins; ++f) {
        const std::complex<float> y = Y[std::size_t(f)], cl = S[std::size_t(f)];
        const float y2 = std::norm(y);
        const float m =
            f < top && y2 > 1e-20f ? (cl.real() * y.real() + cl.imag() * y.imag()) / y2 : 0.0f;
        out[f * cols + col] = std::clamp(m, 0.0f, 1.0f);
      }
      if (!o_.spectra) continue;
      const int at = in + outs + 4 * o;
      for (int f = 0; f < channels(); ++f) {
        const bool keep = f < top;
        const std::complex<float> y = keep ? Y[std::size_t(f)] * unit : 0.0f,
                                  cl = keep ? S[std::size_t(f)] * unit : 0.0f;
        out[f * cols + at] = y.real();
        out[f * cols + at + 1] = y.imag();
        out[f * cols + at + 2] = cl.real();
        out[f * cols + at + 3] = cl.imag();
      }
    }
  }
}

void AudioMixSource::next(int n, Rng& rng, Tensor& out) const {
  const nn::Shape shape{n, channels(), 1, width()};
  if (out.shape() != shape) out.resize(shape);
  // Without the floor a mixture is the K frames of one sample; with it, up to kFloorGroup
  // samples share a mixture (and the cost of its warm-up frames).
  const int group = o_.noiseFloor ? kFloorGroup : 1;
  std::vector<float*> columns;
  for (int i = 0; i < n; i += group) {
    columns.clear();
    for (int j = i; j < std::min(n, i + group); ++j) columns.push_back(out.sample(j));
    samples(rng, int(columns.size()), columns.data());
  }
}

Tensor AudioMixSource::fixed(int n, std::uint64_t seed) const {
  Rng rng(seed);
  Tensor out;
  next(n, rng, out);
  return out;
}

void splitAudioSamples(const Tensor& samples, Tensor& input, Tensor& target, int bins, int outputs,
                       Tensor* spectra) {
  const nn::Shape s = samples.shape();
  const int extra = spectra ? 4 * outputs : 0;  // the spectra's columns
  if (outputs < 1 || s.h != 1 || s.w < 2 * outputs + extra)
    throw InvalidArgument(spectra ? "audio samples with spectra are {N, bins, 1, K + 6L - 1}"
                                  : "audio samples are {N, bins, 1, K + 2L - 1}");
  if (bins <= 0) bins = s.c;
  if (bins > s.c) throw InvalidArgument("audio samples have fewer rows than the mask's bins");
  const int k = s.w - outputs - extra;  // the frames read
  const nn::Shape is{s.n, s.c, 1, k}, ts{s.n, bins, 1, outputs};
  if (input.shape() != is) input.resize(is);
  if (target.shape() != ts) target.resize(ts);
  if (spectra && spectra->shape() != nn::Shape{s.n, bins, 4, outputs})
    spectra->resize(nn::Shape{s.n, bins, 4, outputs});
  const auto L = std::size_t(outputs);
  for (int i = 0; i < s.n; ++i)
    for (int f = 0; f < s.c; ++f) {
      const float* row = samples.sample(i) + std::size_t(f) * std::size_t(s.w);
      std::copy(row, row + k, input.sample(i) + std::size_t(f) * std::size_t(k));
      if (f >= bins) continue;
      std::copy(row + k, row + k + outputs, target.sample(i) + std::size_t(f) * L);
      if (!spectra) continue;
      const float* col = row + k + outputs;
      float* out = spectra->sample(i) + std::size_t(f) * 4 * L;
      for (std::size_t o = 0; o < L; ++o)
        for (std::size_t p = 0; p < 4; ++p) out[p * L + o] = col[4 * o + p];
    }
}

MelClips melClips(const SoundSet& sounds, const MelOptions& o) {
  MelClips c;
  for (std::size_t i = 0; i < sounds.clips.size(); ++i) {
    int frames = 0;
    c.frames.push_back(
        audio::melFrames(sounds.clips[i], o.n, o.hop, o.rate, o.mels, frames, o.fmax));
    c.count.push_back(frames);
    c.names.push_back(sounds.names[i]);
  }
  return c;
}

MelWindowSource::MelWindowSource(MelClips clips, MelOptions o) : clips_(std::move(clips)), o_(o) {
  for (std::size_t i = 0; i < clips_.count.size(); ++i)
    for (int t = 0; t + o_.context <= clips_.count[i]; ++t) starts_.emplace_back(i, t);
  if (starts_.empty())
    throw InvalidArgument("audio-anomaly: no clip is " + std::to_string(o_.context) +
                          " frames long (" + std::to_string((o_.context - 1) * o_.hop + o_.n) +
                          " samples)");
}

void MelWindowSource::window(std::size_t clip, int start, float* out) const {
  const std::vector<float>& f = clips_.frames[clip];
  const int k = o_.context, m = o_.mels;
  for (int t = 0; t < k; ++t)
    for (int b = 0; b < m; ++b)
      out[std::size_t(b) * std::size_t(k) + std::size_t(t)] =
          f[std::size_t(start + t) * std::size_t(m) + std::size_t(b)];
}

void MelWindowSource::next(int n, Rng& rng, Tensor& out) const {
  const nn::Shape shape{n, 1, o_.mels, o_.context};
  if (out.shape() != shape) out.resize(shape);
  for (int i = 0; i < n; ++i) {
    const auto& s = starts_[std::size_t(rng.below(starts_.size()))];
    window(s.first, s.second, out.sample(i));
  }
}

Tensor MelWindowSource::fixed(int n, std::uint64_t seed) const {
  Rng rng(seed);
  Tensor out;
  next(n, rng, out);
  return out;
}

std::vector<ClipWindow> windowMeans(
    const MelClips& clips, const MelOptions& o, int windowFrames, int stepFrames, int d,
    const std::function<std::vector<double>(const Tensor&)>& values) {
  if (windowFrames < 1 || stepFrames < 1 || d < 1)
    throw InvalidArgument("window means: bad window");
  std::vector<ClipWindow> out;
  const int k = o.context, m = o.mels;
  const auto width = std::size_t(d);
  for (std::size_t c = 0; c < clips.frames.size(); ++c) {
    const int contexts = clips.count[c] - k + 1;
    if (contexts < 1) continue;
    Tensor batch(nn::Shape{contexts, 1, m, k});
    const std::vector<float>& f = clips.frames[c];
    for (int j = 0; j < contexts; ++j)
      for (int t = 0; t < k; ++t)
        for (int b = 0; b < m; ++b)
          batch.sample(j)[std::size_t(b) * std::size_t(k) + std::size_t(t)] =
              f[std::size_t(j + t) * std::size_t(m) + std::size_t(b)];
    const std::vector<double> v = values(batch);
    if (v.size() != std::size_t(contexts) * width)
      throw Error("window means: " + std::to_string(v.size()) + " values for " +
                  std::to_string(contexts) + " contexts of " + std::to_string(d));
    // Context j ends at frame j + k - 1; window w holds frames [w step, w step + window).
    const int frames = clips.count[c];
    for (int start = 0; start == 0 || start + windowFrames <= frames; start += stepFrames) {
      ClipWindow w{c, std::vector<double>(width, 0.0)};
      int count = 0;
      for (int j = std::max(0, start - (k - 1)); j < contexts && j + k - 1 < start + windowFrames;
           ++j, ++count)
        for (std::size_t i = 0; i < width; ++i) w.mean[i] += v[std::size_t(j) * width + i];
      if (count) {
        for (double& x : w.mean) x /= count;
        out.push_back(std::move(w));
      }
      if (start + windowFrames >= frames) break;
    }
  }
  return out;
}

}  // namespace cae::train
