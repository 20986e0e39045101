// The model file contract's metadata (DESIGN.md): `cae.*` key/value strings in ONNX
// metadata_props, read back with libonnx. No onnx or protobuf types leak through this header.
//
//   auto info = cae::onnx::readModelInfo("model.onnx");
//   if (!info.hasCaeMetadata) warn("no cae.* metadata; using defaults");
//   double x = pixel * info.inputScale + info.inputOffset;
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "anomaly/decision.hpp"
#include "anomaly/inpainting.hpp"
#include "io/modality.hpp"

namespace cae::onnx {

// The known keys. Values are plain text: numbers in the C locale, lists comma-separated.
namespace key {
inline constexpr const char* kTask = "cae.task";
inline constexpr const char* kFormat = "cae.format";
inline constexpr const char* kInputScale = "cae.input_scale";
inline constexpr const char* kInputOffset = "cae.input_offset";
inline constexpr const char* kResidual = "cae.residual";
inline constexpr const char* kReceptiveField = "cae.receptive_field";
inline constexpr const char* kNoiseSigma = "cae.noise_sigma";
inline constexpr const char* kNoise = "cae.noise";
inline constexpr const char* kFrames = "cae.frames";
inline constexpr const char* kAlign = "cae.align";
inline constexpr const char* kWindow = "cae.window";
inline constexpr const char* kSampleRescale = "cae.sample_rescale";
inline constexpr const char* kLatentShape = "cae.latent_shape";
inline constexpr const char* kQuantStep = "cae.quant_step";
inline constexpr const char* kScoreMean = "cae.score_mean";
inline constexpr const char* kScoreStd = "cae.score_std";
inline constexpr const char* kThreshold = "cae.threshold";
inline constexpr const char* kAnomalyMap = "cae.anomaly_map";
inline constexpr const char* kMapSigma = "cae.map_sigma";
// "MU,BETA,AREA,FPR[,logit]": anomaly::FrameModel (the threshold follows the area; logit: fitted
// on the logits of probability scores).
inline constexpr const char* kFrameModel = "cae.frame_model";
// "SCALES/GROUPS", e.g. "2,4,8,16/3": the model reconstructs by inpainting
// (anomaly/inpainting.hpp).
inline constexpr const char* kInpaint = "cae.inpaint";
inline constexpr const char* kStft = "cae.stft";
inline constexpr const char* kTrainerVersion = "cae.trainer_version";
inline constexpr const char* kRecipe = "cae.recipe";
inline constexpr const char* kMetrics = "cae.metrics";
inline constexpr const char* kInt8Ranges = "cae.int8_ranges";
// Codecs (codec-encoder / codec-decoder): "stride=S latent=M id=HEX16 lambda=L", and the coder's
// tables, one per latent channel (codec::formatTables); read and checked by core/codec.
inline constexpr const char* kCodec = "cae.codec";
inline constexpr const char* kCdfTables = "cae.cdf_tables";

// Task-specific keys. Not in knownKeys(): a model of another task does not lack them, so
// parseModelInfo keeps them as text in ModelInfo::unknown, where the module named reads them.
// audio-denoise (audio/noise_floor.hpp): "SMOOTH:RISE" of the running noise floor the model
// reads beside its frames; absent: the model has no floor input.
inline constexpr const char* kNoiseFloor = "cae.noise_floor";
// audio-denoise, beside cae.noise_floor: "SMOOTH" of the running envelope (audio/noise_floor.hpp
// envelopeOptions) the model reads as a third plane; absent: no envelope input.
inline constexpr const char* kEnvelope = "cae.envelope";
// audio-denoise: "L", the frames of look-ahead: the mask is of the frame L hops before the newest
// the model reads (0 <= L < the model's context), so a stream waits L hops more; absent: 0.
inline constexpr const char* kLookahead = "cae.lookahead";
// audio-anomaly (audio/mel_anomaly.hpp): seconds per analysis window (default 1), the number of
// log-mel bands (informative: the model's input height is what is used) and the top band's upper
// edge in Hz (default half the model's rate).
inline constexpr const char* kAnalysisWindow = "cae.analysis_window";
inline constexpr const char* kMels = "cae.mels";
inline constexpr const char* kMelFmax = "cae.mel_fmax";
// audio-anomaly window score (audio/residual_stats.hpp): of a window's mean residual per band,
// the mean vector and the lower triangle of the precision matrix, comma-separated; both or none.
inline constexpr const char* kResidualMean = "cae.residual_mean";
inline constexpr const char* kResidualPrecision = "cae.residual_precision";
// VAE decoders (train/sampler.hpp, `cae-train sample`): "C,H,W" of the samples.
inline constexpr const char* kSampleShape = "cae.sample_shape";
}  // namespace key

// Every key above, in the order of DESIGN.md.
const std::vector<std::string>& knownKeys();

enum class Task {
  Unknown,  // no cae.task: the loading element decides what the model is for
  Denoise,
  Anomaly,
  CodecEncoder,
  CodecDecoder,
  AudioDenoise,
  AudioAnomaly,
  Features,
};
// "denoise", "anomaly", "codec-encoder", ...; Unknown gives "".
std::string taskName(Task t);
// Inverse of taskName; throws FormatError for a name not in the list.
Task parseTask(const std::string& name);

// Short-time Fourier transform of the audio models; text form "n_fft=512,hop=128,rate=16000".
struct Stft {
  int nFft = 0;
  int hop = 0;
  int sampleRate = 0;
};
std::string formatStft(const Stft& s);
Stft parseStft(const std::string& text);  // FormatError when malformed

// cae.window "LO:HI" (modality values, LO < HI, finite) and cae.sample_rescale
// "SLOPE:INTERCEPT" (finite, SLOPE != 0); numbers in the C locale, shortest exact form.
std::string formatWindow(const io::Window& w);
io::Window parseWindow(const std::string& text);  // FormatError naming cae.window
std::string formatRescale(const io::Rescale& r);
io::Rescale parseRescale(const std::string& text);  // FormatError naming cae.sample_rescale

// cae.noise: the corruption a denoiser was trained on (cae-train --noise), "KIND key=value ...",
// e.g. "rician sigma=0.0196-0.0784" (model units) or "ct-lowdose photons=2000-100000
// angles=auto mu_scale=1". KIND is gaussian, rician or ct-lowdose; the parameters are kept as
// text (each key once). Gaussian models trained by cae-train carry cae.noise_sigma only.
struct NoiseSpec {
  std::string kind;
  std::map<std::string, std::string> params;
};
std::string formatNoise(const NoiseSpec& n);
NoiseSpec parseNoise(const std::string& text);  // FormatError naming cae.noise

// The metadata of one model file, typed. Every field has a documented default used when its key
// is absent, so a model exported elsewhere (PyTorch) without metadata still loads.
struct ModelInfo {
  bool hasCaeMetadata = false;      // at least one known cae.* key was present
  Task task = Task::Unknown;        // default: Unknown
  std::string format;               // GStreamer video/audio format; default "" (element negotiates)
  double inputScale = 1.0 / 255.0;  // model input = sample * scale + offset; default 8-bit to [0,1]
  double inputOffset = 0.0;
  bool residual = false;    // true: the model predicts the noise (output = input - prediction)
  int receptiveField = 0;   // pixels, for tile overlap; 0 unknown, -1 global (not tileable)
  double noiseSigma = 0.0;  // noise level trained for, in model-input units; 0 unknown
  std::optional<NoiseSpec> noise;  // the noise model trained for; default none (not said)
  // Temporal models: the input is this many frames stacked along the channels (the current frame
  // first, then the older ones), frames x C channels in, C out. Default 1: one frame in and out.
  int frames = 1;
  // Temporal models: how the older frames are moved onto the current one before the model reads
  // them (core/infer/align.hpp): "none" (default) or "translation" (global shift by phase
  // correlation), the same in training (cae-train --align) and in caedenoise.
  std::string align = "none";
  // Models of modality values (cae-train --window, core/io/modality.hpp): the values (HU for
  // CT) that model units 0 and 1 stand for. Default: none (the units are plain sample scales).
  std::optional<io::Window> window;
  // How the model's 16-bit samples (cae.format GRAY16_LE) become modality values: what
  // cae.input_scale / cae.input_offset were made from, so that input_scale = slope / (HI - LO)
  // and input_offset = (intercept - LO) / (HI - LO). Default 1:0.
  io::Rescale sampleRescale;
  std::vector<int> latentShape;  // C,H,W of the codec latent; default empty
  double quantStep = 1.0;        // codec latent quantisation step
  // cae.anomaly_map, cae.map_sigma, cae.threshold, cae.score_mean, cae.score_std as one value;
  // defaults: unsmoothed l2 map, no threshold, mean 0, std 1.
  anomaly::Decision anomaly;
  // cae.inpaint: anomaly models that reconstruct by inpainting (RIAD), run by the Engine as
  // scales x groups masked passes; default none (one plain pass).
  std::optional<anomaly::Inpainting> inpaint;
  std::optional<Stft> stft;      // audio models only
  std::string trainerVersion;    // default ""
  std::string recipe;            // free text (the training recipe); default ""
  std::string metrics;           // free text (validation metrics); default ""
  std::string codec, cdfTables;  // codecs: as stored (core/codec parses them); default ""
  // Models trained for 8-bit inference (cae-train --qat): per ONNX value name, the range its
  // 8-bit form covers (onednn::Options::int8), as "name:lo:hi,..."; default empty (none).
  std::map<std::string, std::pair<float, float>> int8Ranges;

  std::vector<std::string> defaulted;  // known keys absent from the file
  // Keys this version does not know, and the task-specific keys (key::kNoiseFloor ...), as is.
  std::map<std::string, std::string> unknown;
};

// Parses a metadata map. A known key with a malformed value throws FormatError naming the key.
ModelInfo parseModelInfo(const std::map<std::string, std::string>& metadata);

// All metadata_props of an ONNX file. IoError when the file cannot be read; FormatError when it is
// empty, truncated or not an ONNX model.
std::map<std::string, std::string> readOnnxMetadata(const std::string& path);
// readOnnxMetadata on bytes already in memory; `name` stands for the path in messages.
std::map<std::string, std::string> readOnnxMetadataBytes(const std::string& bytes,
                                                         const std::string& name);
// readOnnxMetadata + parseModelInfo.
ModelInfo readModelInfo(const std::string& path);

std::string formatInt8Ranges(const std::map<std::string, std::pair<float, float>>& r);
// FormatError naming cae.int8_ranges when malformed (a name without two numbers, lo > hi).
std::map<std::string, std::pair<float, float>> parseInt8Ranges(const std::string& text);

// Number formatting used for metadata values: shortest text that reads back exactly.
std::string formatNumber(double v);

}  // namespace cae::onnx
