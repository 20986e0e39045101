// Training samples of the speech denoiser (`cae-train --task audio-denoise`): clean speech mixed
// on the fly with noise at a random SNR, turned into what the model reads (the log-magnitudes
// of the last K STFT frames) and what it should output (the newest frame's mask, or with
// look-ahead L the mask of the frame L before the newest).
//
// A sample is a {bins, 1, K + 1} tensor: columns 0..K-1 are the noisy frames' log-magnitudes
// (audio/stft.hpp magnitudeToUnit; sqrt-Hann window as the element's StreamingStft), oldest
// first; with the noise floor (--noise-floor) a second plane of bins rows follows, each frame's
// noise-floor estimate (audio/noise_floor.hpp), its column K unused (0); column K is the target,
// the truncated phase-sensitive mask of the newest frame, clamp(Re(S conj(Y)) / |Y|^2, 0, 1)
// (Erdogan et al., ICASSP 2015): the gain that brings the noisy bin Y closest to the clean bin S
// without changing its phase. splitAudioSamples() cuts a batch into the model's input and target.
//
// The noise of each mixture is drawn from:
//   recorded  a random stretch of a noise recording (the --noise-data files; recordedShare of
//             the draws, 0.35 by default)
//   coloured  Gaussian noise through a random one-pole filter (white to brown, or bluish)
//   hum       mains hum: a 45-65 Hz fundamental with random decaying harmonics, a little hiss
//   babble    babbleLo..babbleHi (default 3..6) stretches of the training speech, summed
// and, for a third of the mixtures, a second kind 0-10 dB below the first. The SNR (speech power
// over its active frames, noise power over the stretch) is uniform in [snrLo, snrHi] dB, the
// speech level uniform in -35..-10 dBFS, and one mixture in ten is band-limited to 1/4 of the
// rate (a telephone stream upsampled: nothing above 4 kHz at 16 kHz).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "audio/fft.hpp"
#include "audio/noise_floor.hpp"
#include "nn/rng.hpp"
#include "nn/tensor.hpp"
#include "train/training_data.hpp"

namespace cae::train {

// Sounds at one rate: every .wav/.flac/.ogg file under the paths (folders recursively, sorted),
// mixed down to mono and resampled (audio/resample.hpp) to `rate`. IoError / FormatError for
// unreadable files, InvalidArgument when nothing is found.
struct SoundSet {
  std::vector<std::vector<float>> clips;
  std::vector<std::string> names;
  std::vector<double> activePower;  // mean power of each clip's frames within 40 dB of its loudest
  std::size_t totalSamples() const;
};
SoundSet loadSounds(const std::vector<std::string>& paths, int rate);
// The sound files loadSounds() reads, in its order (each folder's files sorted); IoError for a
// path that does not exist, InvalidArgument when there is no sound file.
std::vector<std::string> soundFiles(const std::vector<std::string>& paths);
// A split by file (recordings held out whole): a shuffle of the n indices by seed; the first
// `held` = round(fraction * n) (at least one when n >= 2) are held out.
struct FileSplit {
  std::vector<std::size_t> order;
  std::size_t held = 0;
};
FileSplit splitFiles(std::size_t n, double fraction, std::uint64_t seed);
// splitFiles() applied to loaded sounds: the held-out ones to heldOut, the rest to keep, both in
// the shuffled order.
void splitSounds(const SoundSet& all, double fraction, std::uint64_t seed, SoundSet& keep,
                 SoundSet& heldOut);

struct AudioMixOptions {
  int rate = 16000, n = 512, hop = 128, context = 8;
  double snrLo = -5, snrHi = 20;
  // How a mixture's speech (and babble's voices) is drawn: false, every clip equally often;
  // true, a clip as often as its length (every second of speech equally often, so that many
  // short prompts of one voice do not outweigh long recordings of others).
  bool byDuration = false;
  // Babble: babbleLo..babbleHi voices (uniform), each at -6..6 dB around its active power.
  int babbleLo = 3, babbleHi = 6;
  // The share of noise draws from the recordings (when there are any); the rest is coloured,
  // hum and babble in the proportions 5 : 3 : 5 (0.35 gives 0.35 / 0.25 / 0.15 / 0.25).
  double recordedShare = 0.35;
  // A second plane of bins rows: the noise floor (audio/noise_floor.hpp) of each of the K
  // frames, tracked from the start of a mixture that runs 0..floorWarmup frames (uniform)
  // before them, as a stream runs before the frames the model reads (and from its start, or a
  // discontinuity, with no past at all). Four samples share a mixture, 40 frames apart, so
  // the warm-ups run 0..floorWarmup + 120 frames.
  bool noiseFloor = false;
  audio::NoiseFloorOptions floor;
  int floorWarmup = 125;
  // With the floor, a third plane: the envelope of each of the K frames (audio/noise_floor.hpp
  // envelopeOptions, this smoothing; 0: none), tracked over the same run-up.
  double envelope = 0;
  // Look-ahead: the target is the mask of frame K - 1 - lookahead (0: the newest), so the
  // model reads that many frames after the one it masks. 0 <= lookahead < context.
  int lookahead = 0;
  // Frames masked per sample (cae-train --sequence): L > 1 reads K + L - 1 consecutive frames
  // and holds the targets of the L newest (each from the K frames that end at it).
  int outputs = 1;
  // The noisy and clean spectra of the L masked frames too (cae-train --mask-loss time,
  // train/overlap_add_loss.hpp): 4L more columns after the targets, for output o the columns
  // 4o .. 4o + 3 of them Re Y, Im Y, Re S, Im S in the first bins rows, divided by the
  // mixture's noise RMS (so the time-domain loss of the noisy frames is about 1). Telephone
  // mixtures have them zeroed above a quarter of the rate, as their magnitudes.
  bool spectra = false;
};

class AudioMixSource : public SampleSource {
 public:
  // speech must hold at least one clip; noise may be empty (then no recorded noise is drawn).
  AudioMixSource(SoundSet speech, SoundSet noise, AudioMixOptions o);
  ~AudioMixSource() override;
  void next(int n, nn::Rng& rng, nn::Tensor& out) const override;
  nn::Tensor fixed(int n, std::uint64_t seed) const override;
  int bins() const { return o_.n / 2 + 1; }
  // bins, then with the noise floor as many again, and with the envelope as many again
  int channels() const override {
    return bins() * (1 + (o_.noiseFloor ? 1 : 0) + (o_.envelope > 0 ? 1 : 0));
  }
  int frames() const override { return 1; }
  int height() const override { return 1; }
  // K + L - 1 frames and the L targets (and with the spectra 4L columns of them)
  int width() const override {
    return o_.context + 2 * o_.outputs - 1 + (o_.spectra ? 4 * o_.outputs : 0);
  }
  std::size_t size() const override { return speech_.clips.size(); }

  // One mixture of `length` samples as the source draws them (speech, noise), for tests and
  // reports: the clean speech and the noise, each at its final level.
  void mixture(nn::Rng& rng, std::size_t length, std::vector<float>& speech,
               std::vector<float>& noise) const;
  // The samples of one drawn mixture (speech, noise as mixture() gives them) whose first
  // sample's frames start `warm` frames in (the noise floor tracked from the start), the
  // others kFloorSpacing frames apart, into count buffers of channels() x width(); telephone:
  // the bins above a quarter of the rate zeroed (and masked as 0). InvalidArgument when the
  // mixture is too short. The source's generator draws the rest; tests call it outright.
  void render(const std::vector<float>& speech, const std::vector<float>& noise, int warm,
              bool telephone, int count, float* const* columns) const;
  static constexpr int kFloorSpacing = 40;
  const SoundSet& speech() const { return speech_; }
  const SoundSet& noise() const { return noise_; }

 private:
  // count samples, each channels() x width(), row-major, from one mixture.
  void samples(nn::Rng& rng, int count, float* const* columns) const;
  // With the noise floor: samples per mixture, and the frames between their starts.
  static constexpr int kFloorGroup = 4;
  std::size_t pickSpeech(nn::Rng& rng) const;  // a clip index as o_.byDuration says
  SoundSet speech_, noise_;
  std::vector<double> speechEnds_;  // cumulative clip lengths (byDuration)
  AudioMixOptions o_;
  std::unique_ptr<audio::RealFft> fft_;  // used by one caller at a time (next/fixed)
};

// A batch of samples {N, C, 1, K + 2L - 1} as the model's input {N, C, 1, K + L - 1} and its
// target {N, bins, 1, L}, the first bins rows of the last L columns (bins 0: C; L: `outputs`).
// With spectra non-null the samples have the 4L spectra columns after those (AudioMixOptions::
// spectra), given as {N, bins, 4, L} (plane p, column o: the sample's column K + 2L - 1 + 4o + p).
void splitAudioSamples(const nn::Tensor& samples, nn::Tensor& input, nn::Tensor& target,
                       int bins = 0, int outputs = 1, nn::Tensor* spectra = nullptr);

}  // namespace cae::train

namespace cae::train {

// --task audio-anomaly: windows of K consecutive log-mel frames of machine sounds (audio/mel.hpp
// MelStream at the model's rate), each a {1, 1, mels, K} sample (row m = mel band, column t =
// frame, oldest first), for a dense autoencoder of the DCASE 2020 task 2 baseline family.
struct MelOptions {
  int rate = 16000, n = 1024, hop = 512, mels = 128, context = 5;
  double fmax = 0;  // the top of the mel band, Hz; 0: rate / 2
};
struct MelClips {
  std::vector<std::vector<float>> frames;  // per clip: count x mels, row-major
  std::vector<int> count;                  // frames per clip
  std::vector<std::string> names;
};
MelClips melClips(const SoundSet& sounds, const MelOptions& o);

class MelWindowSource : public SampleSource {
 public:
  // InvalidArgument when no clip has K frames.
  MelWindowSource(MelClips clips, MelOptions o);
  void next(int n, nn::Rng& rng, nn::Tensor& out) const override;
  nn::Tensor fixed(int n, std::uint64_t seed) const override;
  int channels() const override { return 1; }
  int frames() const override { return 1; }
  int height() const override { return o_.mels; }
  int width() const override { return o_.context; }
  std::size_t size() const override { return clips_.frames.size(); }
  const MelClips& clips() const { return clips_; }
  const MelOptions& options() const { return o_; }

 private:
  void window(std::size_t clip, int start, float* out) const;
  MelClips clips_;
  MelOptions o_;
  std::vector<std::pair<std::size_t, int>> starts_;  // every (clip, first frame) of a window
};

// The analysis windows of clips: each context (K frames ending at frame j >= K - 1) has a
// vector of d values (values(batch) gives N x d of them, sample after sample, for a {N, 1, mels,
// K} batch); a window of `windowFrames` frames holds the mean vector of the contexts ending in
// it; windows start every `stepFrames` frames. Clips shorter than one window give one window
// over what they have.
struct ClipWindow {
  std::size_t clip = 0;
  std::vector<double> mean;
};
std::vector<ClipWindow> windowMeans(
    const MelClips& clips, const MelOptions& o, int windowFrames, int stepFrames, int d,
    const std::function<std::vector<double>(const nn::Tensor&)>& values);

}  // namespace cae::train
