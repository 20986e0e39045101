// The training loop of cae-train: everything the CLI sets (TrainConfig) and the Trainer that turns
// it into one ONNX model file — data, architecture, objectives (loss, corruption, regularizers),
// optimizer and schedule, validation with early stopping, atomic checkpoints with bit-identical
// resume, cancellation, progress, a JSON-lines log, a loss-curve PNG and the task's final
// numbers (denoise PSNR against OpenCV NLM, anomaly calibration).
//
//   cae::train::TrainConfig c;  c.data = {"photos/"};  c.arch.kind = ArchKind::Conv;
//   cae::train::Trainer t(c);   t.setCancelFlag(&stop);   t.setProgress(print);
//   TrainResult r = t.run();    // TrainingDiverged when the loss turns NaN/inf
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "error.hpp"
#include "io/modality.hpp"
#include "train/architecture.hpp"

namespace cae::train {

// The loss became NaN or infinite. The last good checkpoint is left in place; what() says why.
class TrainingDiverged : public Error {
 public:
  using Error::Error;
};

enum class TrainTask {
  Reconstruct,
  Denoise,
  Anomaly,
  Features,
  Compress,
  AudioDenoise,
  AudioAnomaly
};
enum class LossKind { Mse, Bce, L1 };
enum class CorruptionKind { None, Gaussian, Masking, SaltPepper, Rician, CtLowDose, GridMask };
enum class OptimizerKind { Adam, Sgd };
enum class ScheduleKind { Constant, Step, Cosine };
// How a temporal model's older frames are brought onto the current one before it reads them
// (cae.align): not at all, or by the global translation of core/infer/align.hpp.
enum class AlignKind { None, Translation };

struct TrainConfig {
  // Data.
  std::vector<std::string> data;  // files and folders (see loadImages)
  int channels = 1;               // 1 gray, 3 RGB
  int patch = 32;                 // square training patches; 0: whole frames
  bool flips = false, rotations = false;
  bool lighting = false;     // random lighting per training patch (LightingRange's defaults)
  double defocus = 0;        // largest defocus sigma of training patches (applyDefocus)
  double valFraction = 0.1;  // held-out share of the images
  std::size_t sample = 0;    // keep at most this many images (0: all)
  int valSamples = 64;       // fixed validation samples (patches or frames)
  // Multi-scale data: each training image is also added resized by each factor < 1 here
  // (area averaging), so textures are seen at several distances. Empty or {1}: as loaded.
  std::vector<double> scales;
  // Modality values (--window LO:HI, core/io/modality.hpp): DICOM files are read as stored *
  // Rescale Slope + Intercept (HU for CT), 16-bit PNG/TIFF samples through sampleRescale, both
  // mapped u = (v - lo) / (hi - lo), not clipped; the model says cae.format GRAY16_LE,
  // cae.window and cae.sample_rescale. Unset: each DICOM file's own min..max, pictures / 65535.
  std::optional<io::Window> window;
  io::Rescale sampleRescale;  // 16-bit pictures and the model's GRAY16 frames -> modality values
  // Temporal denoisers: each sample is a clip of `frames` frames of one image seen by a moving
  // camera (core/train/sequence_data.hpp), stacked as channels with the current frame first; the
  // model outputs the clean current frame. 1: single images. Needs --task denoise and patches.
  int frames = 1;
  double maxMotion = 4;  // clips: largest camera translation per frame, pixels, each direction
  // Translation: the older frames of each noisy clip are aligned onto its current frame by
  // core/infer/align (as caedenoise does on whole frames), the model says cae.align =
  // translation. Needs frames > 1.
  AlignKind align = AlignKind::None;
  // Clips are rendered (and noised, and aligned) at clipContext x clipContext around the patch,
  // whose centre the model then reads. 0: the patch itself, or kAlignContext (192) with align.
  int clipContext = 0;
  // Stream starts: this share of training clips is fed as caedenoise feeds a stream with no
  // history (every older frame a copy of the noisy current frame), and partialHistoryShare
  // (3 or more frames) with one older frame kept (the older places repeat it), after the noise
  // and alignment (train/sequence_data.hpp, simulateStreamStarts). Validation is unchanged;
  // the final metrics add its loss with no history. Ignored for frames = 1.
  double noHistoryShare = 0.15;
  double partialHistoryShare = 0.1;

  // Architecture. stacked: greedy layer-wise pretraining of each dense stage, then fine-tuning.
  ArchSpec arch;
  bool stacked = false;
  // Start from the weights of this ONNX model (layers matched by name, train/warm_start.hpp),
  // e.g. the single-frame denoiser a --frames model extends. Empty: random initialisation.
  std::string init;
  // With init: layers the file lacks start as the identity where they can (warm_start.hpp's
  // deepen), instead of being an error: a model made deeper than the file's.
  bool initDeepen = false;
  // With init: more files (ONNX or checkpoints of the same layers) whose weights are averaged
  // with init's, a model soup of runs fine-tuned from one model (Wortsman et al. 2022).
  std::vector<std::string> initAverage;
  bool allowOvercomplete = false;  // dense: accept a code not smaller than the input
  int pretrainEpochs = 0;          // per stacked stage; 0: same as epochs

  TrainTask task = TrainTask::Reconstruct;
  LossKind loss = LossKind::Mse;

  // Corruption of the input (denoising AEs); values in [0,1] pixel units.
  CorruptionKind corruption = CorruptionKind::None;
  double sigmaLo = 0, sigmaHi = 0;  // gaussian, rician: fixed when equal, else per-sample uniform
  // gaussian: the noisy sample clipped to [0, 1], as an 8-bit frame stores it (the model then
  // learns the clipping's bias in dark and bright regions); off by default (older recipes).
  bool noiseClip = false;
  double corruptP = 0;  // masking / salt-pepper probability
  // ct-lowdose (train/ct_lowdose.hpp): photons per ray, fixed when equal, else per-sample
  // log-uniform; projection angles over 180 degrees (0: enough for the sample size); the
  // attenuation per pixel width of the value 1 (LowDoseCtNoise::kDefaultMuScale).
  double photonsLo = 0, photonsHi = 0;
  int ctAngles = 0;
  double ctMuScale = 0.0266;

  // Regularizers (0 disables each).
  double weightDecayL1 = 0, weightDecayL2 = 0;
  double activityL1 = 0;
  double klRho = 0.05, klBeta = 0;  // KL sparsity of the code
  double contractive = 0;
  double contractiveSigma = 0.05;  // ContractiveEstimate's probe size (non-dense encoders)
  double totalVariation = 0;
  double vaeKlWeight = 1;  // beta of the VAE's KL term, relative to the per-sample ELBO

  // Optimisation.
  OptimizerKind optimizer = OptimizerKind::Adam;
  double lr = 1e-3, momentum = 0.9;
  ScheduleKind schedule = ScheduleKind::Constant;
  double stepGamma = 0.5;
  int stepEvery = 10;  // epochs between step decays
  int warmup = 0;      // linear warmup steps
  double minLr = 0;    // cosine floor
  int batch = 16, epochs = 10, stepsPerEpoch = 100;
  int patience = 0;  // epochs without validation improvement before stopping; 0: never
  // Weight averaging (Polyak): 0, off; D in (0, 1), an exponential moving average of the weights
  // after every step, e = d e + (1 - d) w with d = min(D, (1 + t) / (10 + t)) at the t-th step
  // (a short warm-up, as TensorFlow's ExponentialMovingAverage), starting from the stage's first
  // weights. Validation, the best epoch's weights and the file written use the average; the
  // steps (and a checkpoint's model weights) keep the raw ones.
  double ema = 0;
  std::uint64_t seed = 1;
  int threads = 0;  // 0: the engine's default

  // Anomaly: false-positive rate at which the threshold is set on held-out normal data; the
  // frame score it is set on (core/anomaly/score.hpp: the largest pixel of the smoothed l2,
  // lowpass or ssim map), computed on held-out crops of up to calibSize x calibSize pixels (each
  // side at most 3/4 of the held-out images', so that the crops vary).
  double fpr = 0.01;
  // Segmentation anomaly models (arch.segWidth > 0): the pictures synthetic anomalies are
  // filled from (train/synthetic_anomaly.hpp; empty: intensity and colour warps of the sample
  // only) and the share of training samples that get one. Their map is "segmentation" or
  // "segmentation-logit".
  std::vector<std::string> anomalySources;
  // Frame-size calibration (anomaly::FrameModel): with frameFpr > 0 the crop scores are fitted by
  // the extreme-value model, cae.threshold is its threshold for deployW x deployH frames at that
  // per-frame false-alarm rate, and the model carries the fit (cae.frame_model) so that
  // caeanomaly keeps the rate at any frame size. 0: the crop quantile at fpr, as before.
  double frameFpr = 0;
  int deployW = 640, deployH = 480;
  double anomalyShare = 0.5;
  std::string anomalyMap = "lowpass";
  double mapSigma = 4.0;
  int calibSize = 640;
  // "line": calibration crops seen as a line's camera varies (train/line_variation.hpp:
  // lighting, view, noise); "lighting": the same without the view change (a fixed camera);
  // "none": plain crops of the held-out images.
  std::string calibVariation = "none";
  double calibDefocus = 0;  // with calibVariation: the crops' largest defocus sigma (applyDefocus)
  // --noise grid-mask: the cell sides blanked in training (anomaly/inpainting.hpp); an anomaly
  // model trained so reconstructs by inpainting (cae.inpaint).
  std::vector<int> maskScales{2, 4, 8, 16};

  // Files. Empty checkpoint: <output>.ckpt; empty log: <output>.log.jsonl; empty lossCurve:
  // <output>.loss.png ("-" disables log or curve).
  std::string output = "model.onnx";
  std::string checkpoint, log, lossCurve;
  bool resume = false;
  std::string recipe;  // the command line, stored as cae.recipe

  // --task compress (ArchKind::Codec): the rate-distortion trade-off lambda of
  // L = lambda * 255^2 * MSE + bits per pixel (nn/losses/rate_distortion.hpp); the quantiser's
  // training proxy is arch.codecQuantize.
  double lambda = 0.0130;

  // --task audio-denoise (train/audio_data.hpp): `data` is clean speech, noiseData noise
  // recordings, both resampled to audioRate; STFT of stftSize samples every stftHop (the sqrt-Hann
  // frames of audio::StreamingStft), the model reads the last `context` frames; mixtures at SNRs
  // uniform in [snrLo, snrHi] dB.
  std::vector<std::string> noiseData;
  // Validation noise named outright (--val-noise-data): then every noiseData recording trains
  // and these alone validate; empty, noiseData is split by file like the speech.
  std::vector<std::string> valNoiseData;
  // Validation speech named outright (--val-speech-data), e.g. voices that never train: then all
  // of data trains and these alone validate; empty, data is split by file (the same voices).
  std::vector<std::string> valSpeechData;
  int audioRate = 16000, stftSize = 512, stftHop = 128, context = 8;
  double snrLo = -5, snrHi = 20;
  // The masks' loss: "psa" (the gain's error weighted by the noisy bin's power, Objective::
  // maskLoss), "snr" (psa with each frame weighted by its power over its noise floor's; needs
  // noiseFloor), "time" (the overlap-added output's error over the noise's power, averaged over
  // stretches; needs arch.timeOutputs >= stftSize / stftHop: train/overlap_add_loss.hpp) or
  // "mse" (plain mask MSE).
  std::string maskLoss = "psa";
  // How mixtures draw their speech: "duration" (every second of speech as often as any other)
  // or "clip" (every file as often as any other; sessions 16-17's models).
  std::string speechSampling = "duration";
  // Babble noise: babbleLo..babbleHi voices of the training speech added together (uniform).
  int babbleLo = 3, babbleHi = 6;
  // The share of noise draws from the recordings (--noise-data); the rest is made noise.
  double recordedShare = 0.35;
  // Give the model each frame's noise floor too (audio/noise_floor.hpp, cae.noise_floor): a
  // second plane of bins rows of input.
  bool noiseFloor = false;
  // With noiseFloor: a third plane, each frame's envelope (audio/noise_floor.hpp
  // envelopeOptions, this smoothing per frame; cae.envelope). 0: none.
  double envelope = 0;
  // Frames of look-ahead (cae.lookahead): the mask is of the frame this many before the newest
  // the model reads. 0 <= lookahead < context.
  int lookahead = 0;
  // --task audio-anomaly (train/audio_data.hpp MelWindowSource): `data` is normal machine
  // sounds; `mels` log-mel bands of stftSize-sample Hann frames every stftHop (defaults there
  // 1024:512), `context` frames per sample (default 5); the threshold is set at fpr on the
  // held-out clips' scores over analysis windows of analysisWindow seconds, each scored as
  // windowScore says: "mahalanobis" (the distance of the window's mean residual per band from
  // the normal windows', train/audio_report.hpp) or "mse" (its mean reconstruction error).
  // melFmax: the top of the mel band in Hz; 0: 90 % of audioRate / 2, so that sound
  // band-limited by a resampler or a converter's anti-alias filter near the Nyquist frequency
  // reads as the training sound did (the DCASE baseline's rate / 2 does not).
  int mels = 128;
  double melFmax = 0;
  double analysisWindow = 1.0;
  std::string windowScore = "mahalanobis";

  // Quantisation-aware training (core/train/qat.hpp): the 8-bit rounding of oneDNN's int8
  // inference applied in training and validation steps (one-stage conv models).
  bool qat = false;
};

// What the progress callback sees after every step.
struct Progress {
  std::string stage;  // "train", "pretrain 1/2", "finetune"
  int epoch = 0, epochs = 0;
  int step = 0, steps = 0;  // within the epoch
  double loss = 0;          // running mean over the epoch so far
  double valLoss = -1;      // last validation loss; <0 before the first
  double patchesPerSecond = 0;
  double etaSeconds = 0;  // for the whole run
};

struct EpochRecord {
  std::string stage;
  int epoch = 0;
  double loss = 0, valLoss = 0, lr = 0, seconds = 0, patchesPerSecond = 0;
};

struct TrainResult {
  std::vector<EpochRecord> history;  // every stage's epochs, in order
  double bestValLoss = 0;
  int bestEpoch = 0;
  bool earlyStopped = false;
  bool cancelled = false;  // stopped by the cancel flag; a checkpoint was written, no model
  std::string output, decoderOutput;  // files written (decoderOutput: VAEs only)
  std::string metricsJson;            // also stored as cae.metrics
  std::string summary;                // human-readable final lines
};

class Trainer {
 public:
  explicit Trainer(TrainConfig config);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  void setProgress(std::function<void(const Progress&)> f);
  // Informational lines for the user (data found, the architecture, resuming, stages).
  void setMessages(std::function<void(const std::string&)> f);
  // Checked between steps; when it turns true the run writes a checkpoint and returns
  // (TrainResult::cancelled).
  void setCancelFlag(const std::atomic<bool>* flag);
  // Requests a checkpoint after the current step (e.g. from a SIGUSR1 handler).
  void setCheckpointFlag(std::atomic<bool>* flag);

  // Loads data, builds, trains and exports. InvalidArgument for an unusable configuration,
  // IoError / FormatError for data and files, TrainingDiverged for a NaN/inf loss.
  TrainResult run();

  const TrainConfig& config() const { return config_; }
  std::string checkpointPath() const;
  std::string logPath() const;        // "" when disabled
  std::string lossCurvePath() const;  // "" when disabled

 private:
  struct Impl;
  TrainConfig config_;
  std::function<void(const Progress&)> progress_;
  std::function<void(const std::string&)> messages_;
  const std::atomic<bool>* cancel_ = nullptr;
  std::atomic<bool>* checkpointNow_ = nullptr;
};

// Versions of the trainer written into cae.trainer_version.
const char* trainerVersion();

}  // namespace cae::train
