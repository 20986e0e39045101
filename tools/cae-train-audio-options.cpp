// The options of cae-train's audio tasks (audio-denoise, audio-anomaly): their CLI11 group, the
// defaults of each task and the checks that turn the parsed texts into a TrainConfig. Split from
// cae-train-options.cpp (the other tasks' options), which calls these.
#include "cae-train-audio-options.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

#include "error.hpp"

namespace cae::train::cli {
namespace {

// The audio tasks' data beyond DATA: noise, and what validates.
void addAudioDataOptions(CLI::App& app, Options& o) {
  TrainConfig& c = o.c;
  app.add_option("--noise-data", c.noiseData,
                 "audio-denoise: noise recordings (WAV/FLAC/OGG files or folders) mixed into the "
                 "speech, besides the coloured noise, hum and babble made on the fly")
      ->group("Audio");
  app.add_option("--val-noise-data", c.valNoiseData,
                 "audio-denoise: noise recordings that validate (files or folders): then all of "
                 "--noise-data trains, instead of a held-out share of its files")
      ->group("Audio");
  app.add_option("--val-speech-data", c.valSpeechData,
                 "audio-denoise: speech that validates (files or folders, e.g. voices that never "
                 "train): then all of DATA trains, instead of a held-out share of its files")
      ->group("Audio");
  app.add_flag("--list-validation", o.listValidation,
               "audio tasks: print the files this run would hold out for validation (lines "
               "'speech PATH' and 'noise PATH'; 'sound PATH' for audio-anomaly) and stop")
      ->group("Audio");
}

// "A:B" into two numbers; InvalidArgument naming the option otherwise.
void parsePair(const std::string& text, const char* option, double& a, double& b) {
  const std::size_t colon = text.find(':');
  char* end = nullptr;
  bool ok = colon != std::string::npos;
  if (ok) {
    a = std::strtod(text.c_str(), &end);
    ok = end == text.c_str() + colon;
  }
  if (ok) {
    b = std::strtod(text.c_str() + colon + 1, &end);
    ok = *end == 0 && end != text.c_str() + colon + 1;
  }
  if (!ok) throw InvalidArgument(std::string(option) + ": expected A:B, got '" + text + "'");
}

// --val-speech-data: audio-denoise only, and none of it among the training speech's paths.
void checkValSpeech(const TrainConfig& c) {
  if (c.valSpeechData.empty()) return;
  if (c.task != TrainTask::AudioDenoise)
    throw InvalidArgument("--val-speech-data is for --task audio-denoise");
  for (const std::string& v : c.valSpeechData)
    if (std::find(c.data.begin(), c.data.end(), v) != c.data.end())
      throw InvalidArgument("--val-speech-data: " + v +
                            " is in the training speech too (held-out speech must not train)");
}

// audio-denoise: what the model reads beside its frames' log-magnitudes, and which frame it masks.
void addAudioInputOptions(CLI::App& app, TrainConfig& c) {
  app.add_flag("--noise-floor", c.noiseFloor,
               "audio-denoise: the model reads each frame's running noise floor too (minimum "
               "tracking per bin, about 10 dB/s up; cae.noise_floor): a second plane of input")
      ->group("Audio");
  app.add_option("--envelope", c.envelope,
                 "audio-denoise, with --noise-floor: the model reads each frame's envelope too "
                 "(per bin, the log-magnitude smoothed as s = A s + (1 - A) x, e.g. 0.95: a few "
                 "hundred milliseconds; cae.envelope): a third plane of input. 0: none")
      ->check(CLI::Range(0.0, 0.999))
      ->capture_default_str()
      ->group("Audio");
  app.add_option("--lookahead", c.lookahead,
                 "audio-denoise: frames of look-ahead: the model masks the frame L hops before "
                 "the newest it reads, so it hears L frames after it and a stream waits L hops "
                 "more (cae.lookahead; L < --context)")
      ->check(CLI::Range(0, 63))
      ->capture_default_str()
      ->group("Audio");
}

// audio-denoise: how the model's convs run along time, in the file and in training.
void addAudioTimeOptions(CLI::App& app, Options& o) {
  TrainConfig& c = o.c;
  app.add_option("--time-stride", c.arch.timeStride,
                 "audio-denoise: 1 | 2: the stride along time of the model's first convs; with "
                 "2 each reads every second output of the one before, so the same layers see "
                 "about twice as many frames per conv (--context 23 for three convs, against 8 "
                 "with 1) at the same cost per frame in a stream")
      ->check(CLI::Range(1, 2))
      ->capture_default_str()
      ->group("Audio");
  app.add_option("--sequence", c.arch.timeOutputs,
                 "audio-denoise: frames each sample masks in training: with L > 1 the model "
                 "reads K + L - 1 consecutive frames and masks the L newest (its strides as "
                 "dilations), L times the frames per step for much less than L times the work; "
                 "the file written is the same K-frame model")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str()
      ->group("Audio");
  app.add_option("--decoder-layers", c.arch.decoderLayers,
                 "audio-denoise: 1x1 convs (with ReLU) between the code and the mask conv; "
                 "with --init-deepen a model may start from a file with fewer")
      ->check(CLI::Range(1, 8))
      ->capture_default_str()
      ->group("Audio");
}

}  // namespace

// --task audio-denoise (core/train/audio_data.hpp) and audio-anomaly.
void addAudioOptions(CLI::App& app, Options& o) {
  TrainConfig& c = o.c;
  addAudioDataOptions(app, o);
  app.add_option("--rate", c.audioRate, "audio-denoise: the model's sample rate, Hz")
      ->check(CLI::Range(4000, 96000))
      ->capture_default_str()
      ->group("Audio");
  app.add_option("--stft", o.stft,
                 "audio-denoise: N:HOP, the STFT size and hop in samples (HOP divides N at least "
                 "twice; the algorithmic latency is N - 1 samples); audio-anomaly: the log-mel "
                 "frames' (default there 1024:512)")
      ->capture_default_str()
      ->group("Audio");
  app.add_option("--context", c.context,
                 "audio-denoise: frames the model reads, the newest last; audio-anomaly: frames "
                 "per sample (default there 5)")
      ->check(CLI::Range(3, 64))
      ->capture_default_str()
      ->group("Audio");
  addAudioTimeOptions(app, o);
  app.add_option("--mask-loss", c.maskLoss,
                 "audio-denoise: psa (the gain's error weighted by each noisy bin's power over "
                 "its frame's mean: phase-sensitive spectrum approximation) | snr (psa with each "
                 "frame weighted by its power over its noise floor's, 1..100: loud frames count "
                 "more, as in SNR and SI-SDR; needs --noise-floor) | time (the squared error of "
                 "the overlap-added output signal of the --sequence frames against the clean "
                 "speech, over the noise's power: what SNR measures; needs --sequence >= "
                 "N / HOP of --stft) | mse (plain)")
      ->check(CLI::IsMember({"psa", "snr", "time", "mse"}))
      ->capture_default_str()
      ->group("Audio");
  app.add_option("--speech-sampling", c.speechSampling,
                 "audio-denoise: how mixtures draw their speech: duration (every second of "
                 "speech as often as any other) | clip (every file as often as any other)")
      ->check(CLI::IsMember({"duration", "clip"}))
      ->capture_default_str()
      ->group("Audio");
  addAudioInputOptions(app, c);
  app.add_option("--mels", c.mels, "audio-anomaly: log-mel bands")
      ->check(CLI::Range(8, 512))
      ->capture_default_str()
      ->group("Audio");
  app.add_option("--mel-fmax", c.melFmax,
                 "audio-anomaly: the top of the mel band, Hz (0: 90 % of the Nyquist frequency of "
                 "--rate, so that sound band-limited near it by a resampler or a converter reads "
                 "as the training sound did)")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str()
      ->group("Audio");
  app.add_option("--analysis-window", c.analysisWindow,
                 "audio-anomaly: seconds of sound one score covers (the element's window)")
      ->check(CLI::Range(0.1, 60.0))
      ->capture_default_str()
      ->group("Audio");
  app.add_option("--window-score", c.windowScore,
                 "audio-anomaly: mahalanobis (the distance of a window's mean residual per mel "
                 "band from the held-out normal windows', fitted on half the held-out clips) | "
                 "mse (its mean reconstruction error)")
      ->check(CLI::IsMember({"mahalanobis", "mse"}))
      ->capture_default_str()
      ->group("Audio");
  app.add_option("--snr", o.snr, "audio-denoise: LO:HI, the mixtures' SNR range in dB")
      ->capture_default_str()
      ->group("Audio");
  app.add_option("--recorded-share", o.c.recordedShare,
                 "audio-denoise: the share of noise draws taken from the --noise-data "
                 "recordings (training and validation mixtures); the rest is made noise "
                 "(coloured, hum, babble in the proportions 5:3:5)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str()
      ->group("Audio");
  app.add_option("--babble", o.babble,
                 "audio-denoise: LO:HI, how many voices of the training speech a babble noise "
                 "adds together (uniform; 1..64)")
      ->capture_default_str()
      ->group("Audio");
}

// --task audio-denoise: the speech denoiser's sizes (models/recipes/audio-denoise.sh) unless given.
void audioDefaults(const CLI::App& app, ArchSpec& a) {
  if (app.count("--channels") == 0) a.width0 = 192;
  if (app.count("--latent") == 0) a.latent = 64;
}

// --task audio-anomaly: the DCASE 2020 task 2 baseline's shape unless given: 5 frames of 128
// mels (1024-sample frames every 512 at 16 kHz), a dense autoencoder
// 640-128-128-128-128-8-128-128-128-128-640.
void audioAnomalyDefaults(const CLI::App& app, Options& o) {
  if (app.count("--stft") == 0) o.stft = "1024:512";
  if (app.count("--context") == 0) o.c.context = 5;
  if (o.arch.empty()) o.arch = "dense";
  if (o.arch == "dense" && o.layers.empty()) {
    const std::string in = std::to_string(o.c.mels * o.c.context);
    o.layers = in + "-128-128-128-128-8-128-128-128-128-" + in;
  }
}

// The audio options of configOf: the texts parsed, and the combinations CLI11 cannot check.
void audioConfig(const Options& o, TrainConfig& c) {
  if (c.task == TrainTask::AudioDenoise || c.task == TrainTask::AudioAnomaly) {
    double n = 0, hop = 0;
    parsePair(o.stft, "--stft", n, hop);
    c.stftSize = int(n);
    c.stftHop = int(hop);
    parsePair(o.snr, "--snr", c.snrLo, c.snrHi);
    if (c.snrLo > c.snrHi) throw InvalidArgument("--snr LO:HI needs LO <= HI");
    double lo = 0, hi = 0;
    parsePair(o.babble, "--babble", lo, hi);
    if (!(lo >= 1 && hi <= 64 && lo <= hi && lo == std::floor(lo) && hi == std::floor(hi)))
      throw InvalidArgument("--babble LO:HI needs whole numbers 1 <= LO <= HI <= 64, got '" +
                            o.babble + "'");
    c.babbleLo = int(lo);
    c.babbleHi = int(hi);
  }
  if (c.task == TrainTask::AudioDenoise && c.maskLoss == "snr" && !c.noiseFloor)
    throw InvalidArgument(
        "--mask-loss snr weighs each frame against its noise floor: it needs --noise-floor");
  if (c.task == TrainTask::AudioDenoise && c.maskLoss == "time" &&
      c.arch.timeOutputs < c.stftSize / std::max(1, c.stftHop))
    throw InvalidArgument(
        "--mask-loss time scores the signal under every window of the masked "
        "frames: it needs --sequence " +
        std::to_string(c.stftSize / std::max(1, c.stftHop)) + " or more (N / HOP of --stft), got " +
        std::to_string(c.arch.timeOutputs));
  if (c.envelope > 0 && (c.task != TrainTask::AudioDenoise || !c.noiseFloor))
    throw InvalidArgument(
        "--envelope is a third input plane beside the noise floor's: it needs "
        "--task audio-denoise and --noise-floor");
  if (c.arch.timeStride != 1 && c.task != TrainTask::AudioDenoise)
    throw InvalidArgument("--time-stride is for --task audio-denoise");
  if (c.arch.decoderLayers != 1 && c.task != TrainTask::AudioDenoise)
    throw InvalidArgument("--decoder-layers is for --task audio-denoise");
  if (c.arch.timeOutputs != 1 && c.task != TrainTask::AudioDenoise)
    throw InvalidArgument("--sequence is for --task audio-denoise");
  if (c.lookahead > 0 && c.task != TrainTask::AudioDenoise)
    throw InvalidArgument("--lookahead is for --task audio-denoise");
  if (c.lookahead >= c.context)
    throw InvalidArgument("--lookahead " + std::to_string(c.lookahead) +
                          " needs a longer --context (it reads the frames after the one it "
                          "masks): give L < " +
                          std::to_string(c.context));
  if (c.task != TrainTask::AudioDenoise && (!c.noiseData.empty() || !c.valNoiseData.empty()))
    throw InvalidArgument("--noise-data and --val-noise-data are for --task audio-denoise");
  if (!c.valNoiseData.empty() && c.noiseData.empty())
    throw InvalidArgument(
        "--val-noise-data names the validation noise of --noise-data's recordings: give both");
  for (const std::string& v : c.valNoiseData)
    if (std::find(c.noiseData.begin(), c.noiseData.end(), v) != c.noiseData.end())
      throw InvalidArgument("--val-noise-data: " + v +
                            " is in --noise-data too (held-out noise "
                            "must not train)");
  checkValSpeech(c);
}

}  // namespace cae::train::cli
