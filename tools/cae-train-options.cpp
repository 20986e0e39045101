// The options of cae-train: see cae-train-options.hpp.
#include "cae-train-options.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "anomaly/inpainting.hpp"
#include "cae-train-anomaly-options.hpp"
#include "cae-train-audio-options.hpp"
#include "cae-train-medical-options.hpp"
#include "error.hpp"
#include "train/cli_text.hpp"

namespace cae::train::cli {
namespace {

// Parses "25" or "5-50" (8-bit grey levels) into [lo, hi] in [0, 1] units.
void parseSigma(const std::string& text, double& lo, double& hi) {
  const std::size_t dash = text.find('-', 1);
  char* end = nullptr;
  lo = std::strtod(text.c_str(), &end);
  hi = lo;
  if (dash != std::string::npos) hi = std::strtod(text.c_str() + dash + 1, &end);
  if (!end || *end || !(lo >= 0 && hi >= lo && hi <= 255))
    throw InvalidArgument(
        "--sigma: expected a level or range in 8-bit grey levels, e.g. 25 or "
        "5-50, within 0..255; got '" +
        text + "'");
  lo /= 255;
  hi /= 255;
}

// A choice among names: shown and checked by CLI11 as text, stored into target after parsing.
std::vector<std::function<void()>> gApplyChoices;

template <class E>
CLI::Option* enumOption(CLI::App& app, const std::string& name, E& target,
                        const std::map<std::string, E>& values, const std::string& help) {
  auto text = std::make_shared<std::string>();
  std::vector<std::string> names;
  for (const auto& [k, v] : values) {
    names.push_back(k);
    if (v == target) *text = k;
  }
  gApplyChoices.push_back([text, values, &target] { target = values.at(*text); });
  return app.add_option(name, *text, help)->check(CLI::IsMember(names))->capture_default_str();
}

void addDataOptions(CLI::App& app, Options& o) {
  TrainConfig& c = o.c;
  std::string& color = o.color;
  app.add_option("data", c.data,
                 "image files or folders (PNG/JPEG/TIFF 8/16-bit, DICOM, video, "
                 "WAV, IDX such as Fashion-MNIST); folders are searched "
                 "recursively");
  app.add_option("--color", color, "convert every image to gray or rgb")
      ->check(CLI::IsMember({"gray", "rgb"}))
      ->capture_default_str()
      ->group("Data");
  app.add_option("--patch", c.patch,
                 "square training patch size; 0: whole frames (all images "
                 "one size)")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str()
      ->group("Data");
  app.add_flag("--flips", c.flips, "random horizontal/vertical flips")->group("Data");
  app.add_flag("--rotations", c.rotations, "random 90-degree rotations")->group("Data");
  app.add_flag("--lighting", c.lighting,
               "random lighting per training patch (gain 15 %, offset 0.05, gamma 25 %), so "
               "that a model learns the surface rather than one exposure")
      ->group("Data");
  app.add_option("--defocus", c.defocus,
                 "largest defocus blur (Gaussian sigma, pixels): half the training patches "
                 "blurred by a sigma drawn up to it, as a line camera's focus drifts; 0: none")
      ->check(CLI::Range(0.0, 8.0))
      ->capture_default_str()
      ->group("Data");
  app.add_option("--val-fraction", c.valFraction, "share of the images held out for validation")
      ->check(CLI::Range(0.01, 0.9))
      ->capture_default_str()
      ->group("Data");
  app.add_option("--val-samples", c.valSamples, "fixed validation samples evaluated each epoch")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str()
      ->group("Data");
  app.add_option("--sample", c.sample, "use at most N images (0: all), for quick runs")
      ->check(CLI::Range(0, 100000000))
      ->capture_default_str()
      ->group("Data");
  app.add_option("--scales", c.scales,
                 "multi-scale data: also train on every image downsized by these factors "
                 "(area averaging), e.g. 1,0.5,0.25")
      ->delimiter(',')
      ->check(CLI::Range(0.01, 1.0))
      ->group("Data");
}

void addArchitectureOptions(CLI::App& app, Options& o) {
  TrainConfig& c = o.c;
  std::string& arch = o.arch;
  std::string& layers = o.layers;
  app.add_option("--arch", arch,
                 "dense | conv | vae (dense VAE) | conv-vae | stacked (dense, "
                 "greedy layer-wise pretraining) | pca (SVD, no training) | codec (compression: "
                 "--stages strided convs of --channels N to --latent M, --activation gdn or "
                 "relu) | audio-mask (speech: causal 1x3 convs of --channels over --context "
                 "frames to a --latent code, then a mask per bin); default: conv, codec for --task "
                 "compress, audio-mask for --task audio-denoise")
      ->check(CLI::IsMember(
          {"dense", "conv", "vae", "conv-vae", "stacked", "pca", "codec", "audio-mask"}))
      ->group("Architecture");
  app.add_option("--layers", layers,
                 "dense sizes input to code (decoder mirrored) or the full "
                 "mirror, e.g. 784-128-32-128-784")
      ->group("Architecture");
  app.add_option("--depth", c.arch.depth, "conv: 3x3 convolutions per resolution")
      ->check(CLI::Range(1, 8))
      ->capture_default_str()
      ->group("Architecture");
  app.add_option("--stem", c.arch.stem,
                 "conv: run the network at 1/N resolution behind a learned N x N "
                 "unshuffle (kernel = stride = N) and its transposed inverse; 1: none")
      ->check(CLI::IsMember({1, 2, 4, 8}))
      ->capture_default_str()
      ->group("Architecture");
  app.add_flag("--linear-stem", c.arch.linearStem,
               "conv: no activation after the stem (a linear, lossless unshuffle)")
      ->group("Architecture");
  app.add_option("--stages", c.arch.stages, "conv: stride-2 downsamplings")
      ->check(CLI::Range(0, 6))
      ->capture_default_str()
      ->group("Architecture");
  app.add_option("--channels", c.arch.width0,
                 "conv: feature channels at full resolution "
                 "(doubling per stage)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str()
      ->group("Architecture");
  app.add_option("--max-channels", c.arch.maxChannels, "conv: channel cap")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str()
      ->group("Architecture");
  app.add_flag("--skips", c.arch.skips, "conv: U-Net skip connections (not with VAEs)")
      ->group("Architecture");
  app.add_flag("--residual", c.arch.residual, "conv: output = input + model (denoisers)")
      ->group("Architecture");
  app.add_option("--latent", c.arch.latent,
                 "code size: PCA components, VAE latent (dense: "
                 "units, conv: channels), conv code channels")
      ->check(CLI::Range(0, 1 << 20))
      ->capture_default_str()
      ->group("Architecture");
  app.add_option("--activation", c.arch.activation,
                 "hidden and code activation (gdn: codec only, GDN / IGDN)")
      ->check(CLI::IsMember({"relu", "leaky_relu", "sigmoid", "tanh", "linear", "gdn"}))
      ->capture_default_str()
      ->group("Architecture");
  app.add_option("--output-activation", c.arch.output, "output layer (bce forces sigmoid)")
      ->check(CLI::IsMember({"linear", "sigmoid", "relu", "leaky_relu", "tanh"}))
      ->capture_default_str()
      ->group("Architecture");
  app.add_flag("--allow-overcomplete", c.allowOvercomplete,
               "accept a code not smaller than the input (dense units or conv channels x "
               "height x width against input values; undercomplete is checked by default)")
      ->group("Architecture");
  app.add_option("--pretrain-epochs", c.pretrainEpochs,
                 "stacked: epochs per pretraining stage "
                 "(0: --epochs)")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str()
      ->group("Architecture");
}

// Temporal denoisers: clips of several frames and the stem channels that read the older ones.
void addTemporalOptions(CLI::App& app, Options& o) {
  TrainConfig& c = o.c;
  app.add_option("--frames", c.frames,
                 "temporal denoiser (--task denoise, --arch conv): train on clips of K frames "
                 "made from the images by a moving camera; the model reads the current and "
                 "K-1 previous frames stacked as channels and writes the current frame "
                 "(cae.frames = K); 1: single images")
      ->check(CLI::Range(1, 16))
      ->capture_default_str()
      ->group("Temporal");
  app.add_option("--max-motion", c.maxMotion,
                 "clips (--frames): largest camera translation per frame, pixels, each "
                 "direction (a quarter of the clips still, a quarter with a moving object)")
      ->check(CLI::Range(0.0, 64.0))
      ->capture_default_str()
      ->group("Temporal");
  app.add_option("--temporal-channels", c.arch.temporalChannels,
                 "conv with --frames and a --stem: this many more stem channels for what the "
                 "older frames add (with --init and (K-1) x --channels of them, they start as "
                 "the single-frame stem on each older frame, read with zero weights)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str()
      ->group("Temporal");
  enumOption(app, "--align", c.align,
             std::map<std::string, AlignKind>{{"none", AlignKind::None},
                                              {"translation", AlignKind::Translation}},
             "with --frames: none | translation (the older frames of each noisy clip are "
             "aligned onto the current frame by the global shift caedenoise finds on whole "
             "frames, core/infer/align; the model says cae.align = translation)")
      ->group("Temporal");
  app.add_option("--clip-context", c.clipContext,
                 "with --frames: render, noise (and align) clips at this size around the "
                 "patch, whose centre the model reads; 0: the patch, or 192 with --align "
                 "translation (images smaller than it are left out)")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str()
      ->group("Temporal");
  app.add_option("--no-history-share", c.noHistoryShare,
                 "with --frames: this share of training clips is fed as caedenoise feeds a "
                 "stream start (every older frame a copy of the noisy current frame), after "
                 "the noise and alignment")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str()
      ->group("Temporal");
  app.add_option("--partial-history-share", c.partialHistoryShare,
                 "with --frames 3 or more: this share of training clips keeps only some older "
                 "frames (1 with --frames 3, 1 to frames-2 drawn uniformly with more; the older "
                 "places repeat the oldest kept, as caedenoise on the frames after a start)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str()
      ->group("Temporal");
}

void addTaskOption(CLI::App& app, Options& o) {
  TrainConfig& c = o.c;
  enumOption(app, "--task", c.task,
             std::map<std::string, TrainTask>{{"reconstruct", TrainTask::Reconstruct},
                                              {"denoise", TrainTask::Denoise},
                                              {"anomaly", TrainTask::Anomaly},
                                              {"features", TrainTask::Features},
                                              {"compress", TrainTask::Compress},
                                              {"audio-denoise", TrainTask::AudioDenoise},
                                              {"audio-anomaly", TrainTask::AudioAnomaly}},
             "reconstruct | denoise (PSNR vs OpenCV NLM in the summary) | anomaly (score "
             "calibration in the metadata) | features (exports the encoder alone) | compress "
             "(a codec: lambda * 255^2 * MSE + bits per pixel; writes the encoder and "
             "<output>.decoder.onnx; unless given --arch codec --stages 4 --channels 64 --latent "
             "96 --activation gdn) | audio-denoise (speech: DATA is clean speech, mixed with "
             "--noise-data and made noise; --arch audio-mask) | audio-anomaly (machine "
             "sounds: DATA is normal operation; a dense autoencoder of --context log-mel frames, "
             "threshold at --fpr over --analysis-window seconds)")
      ->group("Objective");
}

void addObjectiveOptions(CLI::App& app, Options& o) {
  TrainConfig& c = o.c;
  std::string& sigma = o.sigma;
  addTaskOption(app, o);
  app.add_option("--lambda", c.lambda,
                 "compress: rate-distortion trade-off (CompressAI's scale: 0.0018 ~ 0.1 bpp .. "
                 "0.0483 ~ 1 bpp and more)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str()
      ->group("Objective");
  app.add_option("--codec-kernel", c.arch.codecKernel,
                 "compress: kernel of the codec's strided and transposed convolutions")
      ->check(CLI::Range(2, 9))
      ->capture_default_str()
      ->group("Objective");
  app.add_option("--quantize", c.arch.codecQuantize,
                 "compress: the quantiser in training: noise (y + uniform noise), ste (rounded, "
                 "gradient passed straight through) or mixed (rounded for the decoder, noisy for "
                 "the rate)")
      ->check(CLI::IsMember({"noise", "ste", "mixed"}))
      ->capture_default_str()
      ->group("Objective");
  enumOption(app, "--loss", c.loss,
             std::map<std::string, LossKind>{
                 {"mse", LossKind::Mse}, {"bce", LossKind::Bce}, {"l1", LossKind::L1}},
             "reconstruction loss: mse | bce | l1")
      ->group("Objective");
  enumOption(app, "--noise", c.corruption,
             std::map<std::string, CorruptionKind>{{"none", CorruptionKind::None},
                                                   {"gaussian", CorruptionKind::Gaussian},
                                                   {"masking", CorruptionKind::Masking},
                                                   {"salt-pepper", CorruptionKind::SaltPepper},
                                                   {"rician", CorruptionKind::Rician},
                                                   {"ct-lowdose", CorruptionKind::CtLowDose},
                                                   {"grid-mask", CorruptionKind::GridMask}},
             "input corruption (denoising AE): none | gaussian | masking | salt-pepper | "
             "rician (MR magnitude noise, --sigma) | ct-lowdose (CT photon noise through "
             "projection and FBP, --photons) | grid-mask (one random set of square cells "
             "blanked, --mask-scales; an anomaly model then reconstructs by inpainting, RIAD)")
      ->group("Objective");
  app.add_option_function<std::string>(
         "--mask-scales",
         [&c](const std::string& v) {
           try {
             c.maskScales = anomaly::parseInpainting(v + "/3").scales;
           } catch (const InvalidArgument&) {
             throw CLI::ValidationError("--mask-scales",
                                        "cell sides 1..256 separated by commas (e.g. 2,4,8,16), "
                                        "got '" +
                                            v + "'");
           }
         },
         "grid-mask: cell sides in pixels, comma-separated (default 2,4,8,16); inference runs "
         "3 complementary masks per scale")
      ->group("Objective");
  app.add_option("--sigma", sigma,
                 "gaussian / rician noise std-dev in 8-bit grey levels, or a range "
                 "LO-HI drawn per sample (blind denoiser)")
      ->capture_default_str()
      ->group("Objective");
  app.add_flag("--noise-clip", c.noiseClip,
               "gaussian: clip each noisy sample to [0, 1] as an 8-bit frame stores it, in "
               "training and validation (dark and bright regions then carry the clipping's "
               "bias the model has to undo); default off")
      ->group("Objective");
  app.add_option("--noise-p", c.corruptP, "masking / salt-pepper probability per value")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str()
      ->group("Objective");
}

// The regularizers of the objective (sparsity, contractive, weight decay, TV, the VAE's KL).
void addRegularizerOptions(CLI::App& app, Options& o) {
  TrainConfig& c = o.c;
  Sparsity& sparsity = o.sparsity;
  double& sparsityLambda = o.sparsityLambda;
  enumOption(app, "--sparsity", sparsity,
             std::map<std::string, Sparsity>{
                 {"none", Sparsity::None}, {"l1", Sparsity::L1}, {"kl", Sparsity::Kl}},
             "sparse AE: none | l1 (activity penalty, --sparsity-weight) | kl (KL to --rho, "
             "weight --sparsity-weight, needs --activation sigmoid)")
      ->group("Objective");
  app.add_option("--sparsity-weight", sparsityLambda, "lambda (l1) or beta (kl)")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str()
      ->group("Objective");
  app.add_option("--rho", c.klRho, "kl sparsity: target mean activation")
      ->check(CLI::Range(1e-4, 0.9999))
      ->capture_default_str()
      ->group("Objective");
  app.add_option("--contractive", c.contractive,
                 "contractive AE: lambda of the encoder "
                 "Jacobian's squared Frobenius norm")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str()
      ->group("Objective");
  app.add_option("--contractive-sigma", c.contractiveSigma,
                 "probe size of the stochastic "
                 "estimate (non-dense encoders)")
      ->check(CLI::Range(1e-6, 1.0))
      ->capture_default_str()
      ->group("Objective");
  app.add_option("--weight-decay", c.weightDecayL2, "L2 weight decay lambda (biases excluded)")
      ->check(CLI::Range(0.0, 1e3))
      ->capture_default_str()
      ->group("Objective");
  app.add_option("--weight-decay-l1", c.weightDecayL1, "L1 weight decay lambda")
      ->check(CLI::Range(0.0, 1e3))
      ->capture_default_str()
      ->group("Objective");
  app.add_option("--tv", c.totalVariation, "total-variation weight on the output image")
      ->check(CLI::Range(0.0, 1e3))
      ->capture_default_str()
      ->group("Objective");
  app.add_option("--kl-weight", c.vaeKlWeight, "VAE: weight of KL(q(z|x) || N(0, I)) (beta)")
      ->check(CLI::Range(0.0, 1e3))
      ->capture_default_str()
      ->group("Objective");
}

void addOptimisationOptions(CLI::App& app, Options& o) {
  TrainConfig& c = o.c;
  enumOption(app, "--optimizer", c.optimizer,
             std::map<std::string, OptimizerKind>{{"adam", OptimizerKind::Adam},
                                                  {"sgd", OptimizerKind::Sgd}},
             "adam | sgd (with --momentum)")
      ->group("Optimisation");
  app.add_flag("--qat", c.qat,
               "quantisation-aware training: train and validate in the 8-bit arithmetic of "
               "oneDNN's int8 inference (weights per output channel, the inputs of convolutions "
               "of 16+ channels); usually a short fine-tune from --init at a low --lr")
      ->group("Training");
  app.add_option("--lr", c.lr, "learning rate")
      ->check(CLI::PositiveNumber)
      ->capture_default_str()
      ->group("Optimisation");
  app.add_option("--momentum", c.momentum, "sgd momentum")
      ->check(CLI::Range(0.0, 0.999))
      ->capture_default_str()
      ->group("Optimisation");
  enumOption(app, "--schedule", c.schedule,
             std::map<std::string, ScheduleKind>{{"constant", ScheduleKind::Constant},
                                                 {"step", ScheduleKind::Step},
                                                 {"cosine", ScheduleKind::Cosine}},
             "learning-rate schedule: constant | step | cosine")
      ->group("Optimisation");
  app.add_option("--step-gamma", c.stepGamma, "step schedule: factor per decay")
      ->check(CLI::Range(1e-6, 1.0))
      ->capture_default_str()
      ->group("Optimisation");
  app.add_option("--step-every", c.stepEvery, "step schedule: epochs between decays")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str()
      ->group("Optimisation");
  app.add_option("--warmup", c.warmup, "linear warmup steps")
      ->check(CLI::Range(0, 100000000))
      ->capture_default_str()
      ->group("Optimisation");
  app.add_option("--min-lr", c.minLr, "cosine schedule: final learning rate")
      ->check(CLI::Range(0.0, 1e3))
      ->capture_default_str()
      ->group("Optimisation");
  app.add_option("--batch", c.batch, "samples per step")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str()
      ->group("Optimisation");
  app.add_option("--epochs", c.epochs, "epochs (each --steps steps, then validation)")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str()
      ->group("Optimisation");
  app.add_option("--steps", c.stepsPerEpoch, "steps per epoch")
      ->check(CLI::Range(1, 100000000))
      ->capture_default_str()
      ->group("Optimisation");
  app.add_option("--patience", c.patience,
                 "early stopping: epochs without a better validation "
                 "loss (0: off); the best weights are kept")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str()
      ->group("Optimisation");
  app.add_option("--ema", c.ema,
                 "weight averaging: an exponential moving average of the weights with this "
                 "decay per step (e.g. 0.999; warm-up d = min(D, (1 + t) / (10 + t))); "
                 "validation, early stopping and the file written use the average (0: off)")
      ->check(CLI::Range(0.0, 0.999999))
      ->capture_default_str()
      ->group("Optimisation");
  app.add_option("--seed", c.seed, "seed for data split, weights, batches and noise")
      ->capture_default_str()
      ->group("Optimisation");
  app.add_option("--threads", c.threads, "engine threads (0: OMP_NUM_THREADS or all cores)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str()
      ->group("Optimisation");
}

void addFileOptions(CLI::App& app, Options& o) {
  TrainConfig& c = o.c;
  bool& quiet = o.quiet;
  app.add_option("-o,--output", c.output,
                 "the ONNX model to write (VAEs also write "
                 "<output>.decoder.onnx)")
      ->capture_default_str()
      ->group("Files");
  app.add_option("--checkpoint", c.checkpoint,
                 "checkpoint file, written every epoch and on "
                 "Ctrl-C / SIGUSR1 (default: <output>.ckpt)")
      ->group("Files");
  app.add_option("--init", c.init,
                 "start from the weights of this ONNX model (a cae-train file with the same "
                 "layers; a --frames model may start from the single-frame model: older "
                 "frames get zero weights, so it starts as that model) or of this checkpoint "
                 "(same architecture: all weights, a codec's decoder and entropy model too; "
                 "a fresh optimizer and schedule)")
      ->check(CLI::ExistingFile)
      ->group("Files");
  app.add_option("--init-average", c.initAverage,
                 "more files of --init's layers (ONNX or checkpoints): start from the mean of "
                 "their weights and --init's, a model soup of runs fine-tuned from one model "
                 "(Wortsman et al. 2022); with --steps 1 --lr 1e-12, a soup written as it is")
      ->check(CLI::ExistingFile)
      ->group("Files");
  app.add_flag("--init-deepen", c.initDeepen,
               "with an ONNX --init: a square convolution the file lacks (a layer added to make "
               "the model deeper) starts as the identity on its newest tap with zero bias, "
               "instead of being an error")
      ->group("Files");
  app.add_flag("--resume", c.resume,
               "continue from the checkpoint exactly where it stopped "
               "(same options)")
      ->group("Files");
  app.add_option("--log", c.log,
                 "JSON-lines log, one line per epoch and a summary (default: "
                 "<output>.log.jsonl; '-': none)")
      ->group("Files");
  app.add_option("--loss-curve", c.lossCurve,
                 "loss-curve PNG (default: <output>.loss.png; '-': "
                 "none)")
      ->group("Files");
  app.add_flag("-q,--quiet", quiet, "no progress line")->group("Files");
}

// --task compress: the architecture options the user left out take the high-quality codec's
// values (models/recipes/codec.sh hq), not the conv autoencoder's.
void codecDefaults(const CLI::App& app, ArchSpec& a) {
  if (app.count("--stages") == 0) a.stages = 4;
  if (app.count("--channels") == 0) a.width0 = 64;
  if (app.count("--latent") == 0) a.latent = 96;
  if (app.count("--activation") == 0) a.activation = "gdn";
}

}  // namespace

void addTrainOptions(CLI::App& app, Options& o) {
  addDataOptions(app, o);
  addModalityOptions(app, o);
  addArchitectureOptions(app, o);
  addTemporalOptions(app, o);
  addObjectiveOptions(app, o);
  addAudioOptions(app, o);
  addRegularizerOptions(app, o);
  addCtNoiseOptions(app, o);
  addAnomalyOptions(app, o);
  addOptimisationOptions(app, o);
  addFileOptions(app, o);
}

// `sample`: decode random latents with a VAE decoder.
CLI::App* addSampleCommand(CLI::App& app, Options& o) {
  CLI::App* sample = app.add_subcommand("sample",
                                        "decode random N(0, I) latents with a VAE's "
                                        "decoder (model.decoder.onnx) into an image "
                                        "grid");
  sample->add_option("--model", o.sampleModel, "the decoder written beside a VAE model")
      ->required();
  sample->add_option("--count", o.sampleCount, "number of samples")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  sample->add_option("--out", o.sampleOut, "PNG grid to write")->capture_default_str();
  sample->add_option("--seed", o.sampleSeed, "seed of the latents")->capture_default_str();
  return sample;
}

void finishOptions(const CLI::App& app, Options& o) {
  for (const auto& apply : gApplyChoices) apply();
  if (o.c.task == TrainTask::Compress && (o.arch.empty() || o.arch == "codec"))
    codecDefaults(app, o.c.arch);
  if (o.c.task == TrainTask::AudioDenoise && (o.arch.empty() || o.arch == "audio-mask"))
    audioDefaults(app, o.c.arch);
  if (o.c.task == TrainTask::AudioAnomaly) audioAnomalyDefaults(app, o);
}

// The TrainConfig of parsed options; InvalidArgument for combinations CLI11 cannot check.
TrainConfig configOf(Options& o, const std::string& recipe) {
  TrainConfig& c = o.c;
  std::string& arch = o.arch;
  const std::string& layers = o.layers;
  const Sparsity sparsity = o.sparsity;
  const double sparsityLambda = o.sparsityLambda;
  if (c.data.empty()) throw InvalidArgument("no training data given (folders or files)");
  c.channels = o.color == "rgb" ? 3 : 1;
  parseModality(o.window, o.sampleRescale, c);
  // A segmentation head is scored on its own output: the default map follows it (as a
  // probability: the logit form raised false alarms on unseen texture, models/recipes/anomaly.sh).
  if (c.arch.segWidth > 0 && c.anomalyMap == "lowpass") c.anomalyMap = "segmentation";
  const std::map<std::string, ArchKind> kinds{
      {"dense", ArchKind::Dense},  {"stacked", ArchKind::Dense},       {"conv", ArchKind::Conv},
      {"vae", ArchKind::DenseVae}, {"conv-vae", ArchKind::ConvVae},    {"pca", ArchKind::Pca},
      {"codec", ArchKind::Codec},  {"audio-mask", ArchKind::AudioMask}};
  if (arch.empty())
    arch = c.task == TrainTask::Compress       ? "codec"
           : c.task == TrainTask::AudioDenoise ? "audio-mask"
                                               : "conv";
  c.arch.kind = kinds.at(arch);
  if (c.arch.activation == "gdn" && c.arch.kind != ArchKind::Codec)
    throw InvalidArgument("--activation gdn is for --arch codec");
  c.stacked = arch == "stacked";
  if (c.arch.kind == ArchKind::Dense || c.arch.kind == ArchKind::DenseVae) {
    if (layers.empty())
      throw InvalidArgument("--arch " + arch + " needs --layers, e.g. 784-128-32-128-784");
    c.arch.dense = encoderSizes(parseLayerSizes(layers));
    if (c.arch.kind == ArchKind::DenseVae && c.arch.latent > 0 &&
        c.arch.dense.back() != c.arch.latent)
      c.arch.dense.push_back(c.arch.latent);
  } else if (!layers.empty()) {
    throw InvalidArgument("--layers is for --arch dense, stacked or vae");
  }
  double sigmaLo = 0, sigmaHi = 0;
  parseSigma(o.sigma, sigmaLo, sigmaHi);  // checked even when unused: a typo is still a typo
  if (c.corruption == CorruptionKind::Gaussian || c.corruption == CorruptionKind::Rician)
    c.sigmaLo = sigmaLo, c.sigmaHi = sigmaHi;
  double photonsLo = 0, photonsHi = 0;
  parsePhotons(o.photons, photonsLo, photonsHi);
  if (c.corruption == CorruptionKind::CtLowDose) c.photonsLo = photonsLo, c.photonsHi = photonsHi;
  if (c.corruption == CorruptionKind::GridMask && c.arch.segWidth > 0)
    throw InvalidArgument(
        "--noise grid-mask (inpainting) and --seg-width are separate anomaly "
        "models: choose one");
  if (c.noiseClip && c.corruption != CorruptionKind::Gaussian)
    throw InvalidArgument("--noise-clip is for --noise gaussian");
  if ((c.corruption == CorruptionKind::Masking || c.corruption == CorruptionKind::SaltPepper) &&
      c.corruptP <= 0)
    throw InvalidArgument("--noise masking / salt-pepper needs --noise-p (e.g. 0.2)");
  if (c.calibDefocus > 0 && c.calibVariation == "none")
    throw InvalidArgument("--calib-defocus blurs --calib-variation's crops: give it as well");
  if (sparsity == Sparsity::L1) c.activityL1 = sparsityLambda;
  if (sparsity == Sparsity::Kl) c.klBeta = sparsityLambda;
  if (sparsity != Sparsity::None && sparsityLambda <= 0)
    throw InvalidArgument("--sparsity needs --sparsity-weight > 0");
  if (!c.initAverage.empty() && c.init.empty())
    throw InvalidArgument(
        "--init-average averages other files' weights with --init's: give --init");
  if (!c.initAverage.empty() && c.resume)
    throw InvalidArgument("--init-average starts a run; --resume continues one: not both");
  if (c.initDeepen && c.init.empty())
    throw InvalidArgument("--init-deepen starts new layers beside an --init file's: give --init");
  audioConfig(o, c);
  c.recipe = recipe;
  return c;
}

}  // namespace cae::train::cli
