#include "train/model_export.hpp"

#include <cstdio>
#include <filesystem>
#include <locale>
#include <sstream>
#include <system_error>
#include <utility>

#include "audio/noise_floor.hpp"
#include "codec/bitstream.hpp"
#include "error.hpp"
#include "io/modality.hpp"
#include "nn/layers/entropy_bottleneck.hpp"
#include "nn/layers/sampling.hpp"
#include "onnx/metadata.hpp"
#include "train/audio_arch.hpp"
#include "train/codec_arch.hpp"
#include "train/codec_tables.hpp"
#include "train/training_data.hpp"

namespace cae::train {
namespace {

using nn::Model;
using nn::Shape;

onnx::Task exportTask(TrainTask t) {
  switch (t) {
    case TrainTask::Denoise:
      return onnx::Task::Denoise;
    case TrainTask::Anomaly:
      return onnx::Task::Anomaly;
    case TrainTask::Features:
      return onnx::Task::Features;
    case TrainTask::AudioDenoise:
      return onnx::Task::AudioDenoise;
    case TrainTask::AudioAnomaly:
      return onnx::Task::AudioAnomaly;
    default:
      return onnx::Task::Unknown;  // reconstruct: no cae.task
  }
}

// VAEs: the decoder alone, reading N(0, I) latents.
std::string exportDecoder(const TrainConfig& c, const ArchSpec& spec, const BuiltModel& built,
                          const onnx::ExportOptions& eo) {
  Model dec = extractDecoder(spec, built);
  onnx::ExportOptions d;
  d.format = eo.format;
  d.inputScale = eo.inputScale;
  if (c.window) {  // the decoder writes modality units too
    d.inputOffset = eo.inputOffset;
    for (const char* k : {onnx::key::kWindow, onnx::key::kSampleRescale})
      d.extra[k] = eo.extra.at(k);
  }
  d.trainerVersion = eo.trainerVersion;
  d.recipe = eo.recipe;
  const Shape z = dec.inputShape();
  d.latentShape = {z.c, z.h, z.w};
  d.extra[onnx::key::kSampleShape] = std::to_string(spec.channels) + "," +
                                     std::to_string(spec.height) + "," + std::to_string(spec.width);
  d.computeReceptiveField = false;
  d.docString = "VAE decoder: N(0, I) latents to images (cae-train sample)";
  std::string path = pathBeside(c.output, ".decoder.onnx");
  onnx::exportOnnx(dec, path, d);
  return path;
}

// cae.noise (onnx::NoiseSpec): which medical noise a denoiser was trained on and its
// parameters, e.g. "rician sigma=0.0196-0.0784" or "ct-lowdose angles=auto mu_scale=0.0266
// photons=10000-100000" ([0, 1] units; the photons per ray of LowDoseCtNoise). Empty for the
// older corruptions, whose models stay as they were (Gaussian: cae.noise_sigma alone).
std::string noiseDescription(const TrainConfig& c) {
  char range[64], mu[32];
  if (c.corruption == CorruptionKind::Rician) {
    std::snprintf(range, sizeof range, "%.4g-%.4g", c.sigmaLo, c.sigmaHi);
    return onnx::formatNoise({"rician", {{"sigma", range}}});
  }
  if (c.corruption == CorruptionKind::CtLowDose) {
    std::snprintf(range, sizeof range, "%.6g-%.6g", c.photonsLo, c.photonsHi);
    std::snprintf(mu, sizeof mu, "%.6g", c.ctMuScale);
    const std::string angles = c.ctAngles > 0 ? std::to_string(c.ctAngles) : "auto";
    return onnx::formatNoise(
        {"ct-lowdose", {{"photons", range}, {"angles", angles}, {"mu_scale", mu}}});
  }
  return "";
}

// The frames the model takes and their map to model units. 8-bit (RGB or GRAY8) by default.
// A --window model reads GRAY16 frames whose samples, made modality values by the sample
// rescale, go through the window: input_scale = slope / (HI - LO), input_offset = (intercept -
// LO) / (HI - LO) (io::unitMap; relative to 65535, the format's full scale, so that a GRAY16_LE
// frame's sample is multiplied by input_scale as it is).
void setSampleFormat(const TrainConfig& c, const ArchSpec& spec, onnx::ExportOptions& eo) {
  if (!c.window) {
    eo.format = spec.channels == 3 ? "RGB" : "GRAY8";
    eo.inputScale = 1.0 / 255.0;
    eo.inputOffset = 0.0;
    return;
  }
  const io::UnitMap m = io::unitMap(c.sampleRescale, *c.window);
  eo.format = "GRAY16_LE";
  eo.inputScale = m.scale;
  eo.inputOffset = m.offset;
  eo.extra[onnx::key::kWindow] = onnx::formatWindow(*c.window);
  eo.extra[onnx::key::kSampleRescale] = onnx::formatRescale(c.sampleRescale);
}

// A codec: the analysis as <output> (codec-encoder: pictures to unquantised latents) and the
// synthesis beside it as <output>.decoder.onnx (codec-decoder: rounded latents to pictures), each
// with the coder's tables and the identifier frames are checked against.
ExportedFiles exportCodec(const TrainConfig& c, const ArchSpec& spec, const BuiltModel& built,
                          onnx::ExportOptions eo) {
  const auto& eb = dynamic_cast<const nn::EntropyBottleneck&>(*built.model.node(built.rate).layer);
  const std::vector<codec::CdfTable> tables = codecTables(eb);
  Model enc = codecAnalysis(spec, built), dec = codecSynthesis(spec, built);
  char lambda[32];
  std::snprintf(lambda, sizeof lambda, "%.6g", c.lambda);
  eo.extra[onnx::key::kCodec] =
      "stride=" + std::to_string(1 << spec.stages) + " latent=" + std::to_string(spec.latent) +
      " id=" + codec::modelIdHex(codecId(dec, tables)) + " lambda=" + lambda;
  eo.extra[onnx::key::kCdfTables] = codec::formatTables(tables);
  eo.computeReceptiveField = false;
  eo.task = onnx::Task::CodecEncoder;
  onnx::exportOnnx(enc, c.output, eo);
  eo.task = onnx::Task::CodecDecoder;
  eo.docString = "cae-train codec synthesis: " + c.recipe;
  const std::string decoder = pathBeside(c.output, ".decoder.onnx");
  onnx::exportOnnx(dec, decoder, eo);
  return {c.output, decoder};
}

}  // namespace

std::string pathBeside(const std::string& output, const std::string& suffix) {
  std::filesystem::path p(output);
  p.replace_extension();
  return p.string() + suffix;
}

void ensureFolder(const std::string& file) {
  const std::filesystem::path p(file);
  if (!p.has_parent_path()) return;
  std::error_code ec;
  std::filesystem::create_directories(p.parent_path(), ec);
  if (ec) throw IoError("cannot create folder '" + p.parent_path().string() + "': " + ec.message());
}

ExportedFiles exportTrained(const TrainConfig& c, const ArchSpec& spec, BuiltModel& built,
                            onnx::ExportOptions eo) {
  setSampleFormat(c, spec, eo);
  eo.residual = false;  // a residual AE adds its input inside the graph: the output is clean
  if (c.corruption == CorruptionKind::Gaussian || c.corruption == CorruptionKind::Rician)
    eo.noiseSigma = c.sigmaHi;
  if (const std::string noise = noiseDescription(c); !noise.empty())
    eo.extra[onnx::key::kNoise] = noise;
  eo.trainerVersion = trainerVersion();
  eo.recipe = c.recipe;
  eo.docString = "cae-train: " + c.recipe;
  eo.task = exportTask(c.task);
  if (c.task == TrainTask::AudioDenoise || c.task == TrainTask::AudioAnomaly) {
    eo.stft = onnx::Stft{c.stftSize, c.stftHop, c.audioRate};
    eo.format = "F32LE";  // what the model reads: audio/stft.hpp magnitudeToUnit of F32 samples
    eo.inputScale = 1.0;
    eo.inputOffset = 0.0;
    if (c.task == TrainTask::AudioDenoise && c.noiseFloor)
      eo.extra[onnx::key::kNoiseFloor] = audio::formatNoiseFloor(audio::NoiseFloorOptions{});
    if (c.task == TrainTask::AudioDenoise && c.envelope > 0)
      eo.extra[onnx::key::kEnvelope] = audio::formatEnvelope(float(c.envelope));
    if (c.task == TrainTask::AudioDenoise && c.lookahead > 0)
      eo.extra[onnx::key::kLookahead] = std::to_string(c.lookahead);
    if (c.task == TrainTask::AudioAnomaly) {
      std::ostringstream w;
      w.imbue(std::locale::classic());
      w << c.analysisWindow;
      eo.extra[onnx::key::kAnalysisWindow] = w.str();
      eo.extra[onnx::key::kMels] = std::to_string(c.mels);
      std::ostringstream top;
      top.imbue(std::locale::classic());
      top << melTop(c);
      eo.extra[onnx::key::kMelFmax] = top.str();
    }
  }
  if (c.task == TrainTask::Anomaly && c.corruption == CorruptionKind::GridMask) {
    anomaly::Inpainting p;  // the Engine reconstructs such a model by inpainting
    p.scales = c.maskScales;
    eo.inpaint = p;
  }
  // Written only for temporal models, so that single-frame models stay as they were.
  if (spec.frames > 1) eo.extra[onnx::key::kFrames] = std::to_string(spec.frames);
  if (c.align == AlignKind::Translation) eo.extra[onnx::key::kAlign] = "translation";
  if (c.qat) {  // the ranges the model trained with, for its 8-bit inference
    std::map<std::string, std::pair<float, float>> r;
    for (int n = 1; n < built.model.numNodes(); ++n)
      if (built.model.fakeQuant(n)) {
        const auto hi = float(built.model.fakeQuantRange(n));
        r[built.model.node(n).name] = {built.model.fakeQuantSigned(n) ? -hi : 0.f, hi};
      }
    eo.extra[onnx::key::kInt8Ranges] = onnx::formatInt8Ranges(r);
  }
  if (built.sampling >= 0)
    if (auto* smp = dynamic_cast<nn::Sampling*>(&built.model.layer(built.sampling)))
      smp->setTraining(false);
  ensureFolder(c.output);
  if (built.compresses()) return exportCodec(c, spec, built, std::move(eo));
  if (spec.kind == ArchKind::AudioMask && spec.timeOutputs > 1) {
    // Trained on several frames at once (--sequence): the file holds the K-frame form.
    onnx::exportOnnx(deployedAudioMask(spec, built.model).model, c.output, eo);
    return ExportedFiles{c.output, ""};
  }
  const Shape one{1, spec.channels, spec.height, spec.width};
  if (c.task == TrainTask::Features) {
    Model enc = extractEncoder(spec, built);
    const Shape code = enc.outputShape(one);
    eo.latentShape = {code.c, code.h, code.w};
    onnx::exportOnnx(enc, c.output, eo);
  } else {
    onnx::exportOnnx(built.model, c.output, eo);
  }
  ExportedFiles files{c.output, ""};
  if (built.sampling >= 0) files.decoderOutput = exportDecoder(c, spec, built, eo);
  return files;
}

}  // namespace cae::train
