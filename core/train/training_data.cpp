#include "train/training_data.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "error.hpp"
#include "io/image.hpp"
#include "train/audio_data.hpp"
#include "train/sequence_data.hpp"

namespace cae::train {
namespace {

using nn::Shape;

std::string sizeText(const Shape& s) { return std::to_string(s.w) + "x" + std::to_string(s.h); }

// Whole frames: every image one size, checked before the split could hide a mismatch.
void requireOneSize(const std::vector<Image>& images) {
  for (const Image& im : images) {
    const Shape a = images.front().pixels.shape(), b = im.pixels.shape();
    if (a.h != b.h || a.w != b.w)
      throw InvalidArgument("whole frames (--patch 0) need images of one size, but '" +
                            images.front().source + "' is " + sizeText(a) + " and '" + im.source +
                            "' is " + sizeText(b) + "; train on patches instead (e.g. --patch 64)");
  }
}

// Patches: every image at least the patch, checked before the split so that the message gives
// the size of the file the user named (width x height).
void requirePatchFits(const std::vector<Image>& images, int patch) {
  for (const Image& im : images) {
    const Shape s = im.pixels.shape();
    if (s.h < patch || s.w < patch)
      throw InvalidArgument("image '" + im.source + "' (" + sizeText(s) + ") is smaller than the " +
                            std::to_string(patch) + "x" + std::to_string(patch) +
                            " patch; use a smaller --patch or leave that file out");
  }
}

// A single image is split by rows (splitValidation): the patch must fit both parts.
void requireSplitFits(const Image& train, const Image& val, int patch) {
  const Shape a = train.pixels.shape(), b = val.pixels.shape();
  const int largest = std::min({a.h, b.h, a.w});
  if (patch <= largest) return;
  throw InvalidArgument("'" + train.source + "' (" + std::to_string(a.w) + "x" +
                        std::to_string(a.h + b.h) + ") is the only image: its top " +
                        std::to_string(a.h) + " rows train and its bottom " + std::to_string(b.h) +
                        " rows validate, so a patch can be at most " + std::to_string(largest) +
                        "x" + std::to_string(largest) + ", not " + std::to_string(patch) + "x" +
                        std::to_string(patch) +
                        "; use a smaller --patch or give more images (then whole images are "
                        "held out)");
}

// Appends each training image resized by each factor of c.scales below 1 (patch mode only:
// whole frames must keep one size).
void addScaled(const TrainConfig& c, std::vector<Image>& train) {
  const std::size_t n = train.size();
  for (double f : c.scales) {
    if (f == 1) continue;
    if (!(f > 0 && f < 1))
      throw InvalidArgument("scales must be in (0, 1], got " + std::to_string(f));
    if (c.patch == 0)
      throw InvalidArgument("--scales needs patches (--patch N): whole frames keep one size");
    for (std::size_t i = 0; i < n; ++i) {
      nn::Tensor t = io::resizeArea(train[i].pixels, f);
      if (t.shape().h < c.patch || t.shape().w < c.patch) continue;
      train.push_back({std::move(t), train[i].source + " (x" + std::to_string(f) + ")"});
    }
  }
}

// The single-frame samples: BatchSource's patches or whole frames.
class PatchSamples : public SampleSource {
 public:
  PatchSamples(std::vector<Image> images, const BatchSource::Options& o)
      : b_(std::move(images), o) {}
  void next(int n, nn::Rng& rng, nn::Tensor& out) const override { b_.next(n, rng, out); }
  nn::Tensor fixed(int n, std::uint64_t seed) const override { return b_.fixed(n, seed); }
  int channels() const override { return b_.channels(); }
  int frames() const override { return 1; }
  int height() const override { return b_.height(); }
  int width() const override { return b_.width(); }
  std::size_t size() const override { return b_.size(); }

 private:
  BatchSource b_;
};

// Clips of c.frames frames made from the images by a moving camera.
class ClipSamples : public SampleSource {
 public:
  ClipSamples(std::vector<Image> images, int patch, const ClipOptions& o)
      : s_(std::move(images), patch, o) {}
  void next(int n, nn::Rng& rng, nn::Tensor& out) const override { s_.next(n, rng, out); }
  nn::Tensor fixed(int n, std::uint64_t seed) const override { return s_.fixed(n, seed); }
  int channels() const override { return s_.channels(); }
  int frames() const override { return s_.frames(); }
  int height() const override { return s_.patch(); }
  int width() const override { return s_.patch(); }
  std::size_t size() const override { return s_.size(); }

 private:
  SequenceSource s_;
};

std::unique_ptr<SampleSource> clipSource(const TrainConfig& c, std::vector<Image> images,
                                         bool augment) {
  ClipOptions o;
  o.frames = c.frames;
  o.maxShift = c.maxMotion;
  o.flips = augment && c.flips;
  o.rotations = augment && c.rotations;
  o.context = clipContext(c);
  return std::make_unique<ClipSamples>(std::move(images), c.patch, o);
}

// Clips rendered larger than the patch leave out the images (and scaled copies) smaller than
// their context; the patch check has already named any that is smaller than the patch.
void keepAtLeast(std::vector<Image>& images, int size) {
  images.erase(std::remove_if(images.begin(), images.end(),
                              [&](const Image& im) {
                                const Shape s = im.pixels.shape();
                                return s.h < size || s.w < size;
                              }),
               images.end());
}

}  // namespace

// --task audio-denoise: speech (c.data) and noise (c.noiseData) split by file (or the validation
// speech and noise named by c.valSpeechData and c.valNoiseData), mixed on the fly.
static TrainingData loadAudioMixtures(const TrainConfig& c) {
  if (c.data.empty()) throw InvalidArgument("--task audio-denoise needs clean speech (--data)");
  SoundSet speech = loadSounds(c.data, c.audioRate), noise, trainSpeech, valSpeech, trainNoise,
           valNoise;
  if (!c.noiseData.empty()) noise = loadSounds(c.noiseData, c.audioRate);
  if (!c.valSpeechData.empty()) {
    trainSpeech = std::move(speech);
    valSpeech = loadSounds(c.valSpeechData, c.audioRate);
  } else if (speech.clips.size() < 2) {
    throw InvalidArgument("--task audio-denoise needs at least two speech files (one is held out)");
  } else {
    splitSounds(speech, c.valFraction, c.seed ^ 0x5e11u, trainSpeech, valSpeech);
  }
  if (c.valNoiseData.empty()) {
    splitSounds(noise, c.valFraction, c.seed ^ 0x5e12u, trainNoise, valNoise);
  } else {
    trainNoise = std::move(noise);
    valNoise = loadSounds(c.valNoiseData, c.audioRate);
  }
  if (valNoise.clips.empty()) valNoise = trainNoise;  // one recording: validation shares it
  AudioMixOptions o;
  o.rate = c.audioRate;
  o.n = c.stftSize;
  o.hop = c.stftHop;
  o.context = c.context;
  o.snrLo = c.snrLo;
  o.snrHi = c.snrHi;
  o.byDuration = c.speechSampling == "duration";
  o.babbleLo = c.babbleLo;
  o.babbleHi = c.babbleHi;
  o.recordedShare = c.recordedShare;
  o.noiseFloor = c.noiseFloor;
  o.envelope = c.envelope;
  o.lookahead = c.lookahead;
  o.outputs = c.arch.timeOutputs;
  o.spectra = c.maskLoss == "time";
  if (o.n < 16 || o.hop < 1 || o.n % o.hop != 0 || o.n / o.hop < 2)
    throw InvalidArgument("--stft N:HOP needs a hop that divides N at least twice, got " +
                          std::to_string(o.n) + ":" + std::to_string(o.hop));
  TrainingData d;
  d.train = std::make_unique<AudioMixSource>(std::move(trainSpeech), std::move(trainNoise), o);
  d.val = std::make_unique<AudioMixSource>(std::move(valSpeech), std::move(valNoise), o);
  d.valClean = d.val->fixed(c.valSamples, c.seed ^ 0x7a1u);
  return d;
}

namespace {
std::vector<std::string> heldOutNames(const std::vector<std::string>& names, double fraction,
                                      std::uint64_t seed) {
  const FileSplit sp = splitFiles(names.size(), fraction, seed);
  std::vector<std::string> out;
  for (std::size_t k = 0; k < sp.held; ++k) out.push_back(names[sp.order[k]]);
  return out;
}
}  // namespace

// The same splits as loadAudioMixtures() and loadMelWindows() (the same seeds), on names only.
AudioValidationFiles audioValidationFiles(const TrainConfig& c) {
  if (c.task != TrainTask::AudioDenoise && c.task != TrainTask::AudioAnomaly)
    throw InvalidArgument("--list-validation is for --task audio-denoise and audio-anomaly");
  if (c.data.empty()) throw InvalidArgument("--list-validation needs the training sounds (--data)");
  AudioValidationFiles v;
  v.sounds = c.valSpeechData.empty()
                 ? heldOutNames(soundFiles(c.data), c.valFraction, c.seed ^ 0x5e11u)
                 : soundFiles(c.valSpeechData);
  if (c.task == TrainTask::AudioAnomaly) return v;
  if (!c.valNoiseData.empty()) {
    v.noise = soundFiles(c.valNoiseData);
  } else if (!c.noiseData.empty()) {
    const std::vector<std::string> noise = soundFiles(c.noiseData);
    v.noise = heldOutNames(noise, c.valFraction, c.seed ^ 0x5e12u);
    if (v.noise.empty()) v.noise = noise;  // one recording: validation shares it
  }
  return v;
}

// --task audio-anomaly: normal machine sounds (c.data), split by file; the held-out clips are the
// validation windows and the calibration clips.
static TrainingData loadMelWindows(const TrainConfig& c) {
  if (c.data.empty()) throw InvalidArgument("--task audio-anomaly needs normal sounds (--data)");
  const SoundSet all = loadSounds(c.data, c.audioRate);
  if (all.clips.size() < 2)
    throw InvalidArgument("--task audio-anomaly needs at least two sound files (one is held out)");
  SoundSet train, val;
  splitSounds(all, c.valFraction, c.seed ^ 0x5e11u, train, val);
  MelOptions o;
  o.rate = c.audioRate;
  o.n = c.stftSize;
  o.hop = c.stftHop;
  o.mels = c.mels;
  o.context = c.context;
  o.fmax = melTop(c);
  if (!(o.fmax > 0 && o.fmax <= c.audioRate / 2.0))
    throw InvalidArgument("--mel-fmax must be above 0 and at most half of --rate (" +
                          std::to_string(c.audioRate / 2) + " Hz)");
  if (o.n < 16 || o.hop < 1 || o.n % o.hop != 0)
    throw InvalidArgument("--stft N:HOP needs a hop that divides N, got " + std::to_string(o.n) +
                          ":" + std::to_string(o.hop));
  TrainingData d;
  d.train = std::make_unique<MelWindowSource>(melClips(train, o), o);
  d.val = std::make_unique<MelWindowSource>(melClips(val, o), o);
  d.valClean = d.val->fixed(c.valSamples, c.seed ^ 0x7a1u);
  return d;
}

double melTop(const TrainConfig& c) {
  return c.melFmax > 0 ? c.melFmax : 0.9 * (c.audioRate / 2.0);
}

int clipContext(const TrainConfig& c) {
  if (c.clipContext > 0) return c.clipContext;
  return c.align == AlignKind::Translation ? kAlignContext : 0;
}

TrainingData loadTrainingData(const TrainConfig& c) {
  if (c.task == TrainTask::AudioDenoise) return loadAudioMixtures(c);
  if (c.task == TrainTask::AudioAnomaly) return loadMelWindows(c);
  if (c.frames < 1 || c.frames > 16)
    throw InvalidArgument("--frames must be between 1 and 16, got " + std::to_string(c.frames));
  if (c.frames > 1 && c.patch == 0)
    throw InvalidArgument("--frames makes clips from patches of the images: give --patch N");
  if (c.align != AlignKind::None && c.frames < 2)
    throw InvalidArgument(
        "--align translation aligns the older frames of a clip onto its current frame: it needs "
        "a temporal model (--frames K with K > 1)");
  if (c.clipContext != 0 && c.frames < 2)
    throw InvalidArgument(
        "--clip-context sizes the clips of a temporal model: it needs --frames "
        "K with K > 1");
  if (c.clipContext < 0 || (c.clipContext > 0 && c.clipContext < c.patch))
    throw InvalidArgument("--clip-context must be 0 or at least the patch (" +
                          std::to_string(c.patch) + "), got " + std::to_string(c.clipContext));
  if (!(c.noHistoryShare >= 0 && c.partialHistoryShare >= 0 &&
        c.noHistoryShare + c.partialHistoryShare <= 1))
    throw InvalidArgument(
        "--no-history-share and --partial-history-share must be >= 0 and sum to at most 1, got " +
        std::to_string(c.noHistoryShare) + " and " + std::to_string(c.partialHistoryShare));
  LoadOptions lo;
  lo.channels = c.channels;
  lo.sample = c.sample;
  lo.seed = c.seed;
  lo.window = c.window;
  lo.sampleRescale = c.sampleRescale;
  std::vector<Image> train = loadImages(c.data, lo), val;
  if (c.patch == 0) requireOneSize(train);
  if (c.patch > 0) requirePatchFits(train, c.patch);
  nn::Rng splitRng(c.seed ^ 0x5e11u);  // independent of the training generator, so resume agrees
  const bool single = train.size() == 1;
  splitValidation(train, val, c.valFraction, splitRng);
  if (single && c.patch > 0 && val.size() == 1) requireSplitFits(train[0], val[0], c.patch);
  addScaled(c, train);
  TrainingData d;
  if (c.task == TrainTask::Anomaly) d.heldOut = val;  // calibration crops are larger
  if (c.frames > 1) {
    if (const int r = clipContext(c); r > c.patch) {
      keepAtLeast(train, r);
      keepAtLeast(val, r);
      if (train.empty() || val.empty())
        throw InvalidArgument("no " + std::string(train.empty() ? "training" : "validation") +
                              " image is at least " + std::to_string(r) + "x" + std::to_string(r) +
                              " pixels, the size clips are rendered at");
    }
    d.train = clipSource(c, std::move(train), true);
    d.val = clipSource(c, std::move(val), false);
  } else {
    BatchSource::Options bo;
    bo.patchH = bo.patchW = c.patch;
    bo.flips = c.flips;
    bo.rotations = c.rotations;
    if (c.lighting) bo.lighting = LightingRange{};
    bo.defocus = c.defocus;
    d.train = std::make_unique<PatchSamples>(std::move(train), bo);
    BatchSource::Options vo;
    vo.patchH = vo.patchW = c.patch;
    d.val = std::make_unique<PatchSamples>(std::move(val), vo);
  }
  d.valClean = d.val->fixed(c.valSamples, c.seed + 7);
  return d;
}

}  // namespace cae::train
