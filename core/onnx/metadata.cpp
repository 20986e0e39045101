#include "onnx/metadata.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <sstream>
#include <utility>

#include "error.hpp"
#include "onnx/proto_io.hpp"

namespace cae::onnx {
namespace {

const std::array<std::pair<Task, const char*>, 7> kTaskNames{{
    {Task::Denoise, "denoise"},
    {Task::Anomaly, "anomaly"},
    {Task::CodecEncoder, "codec-encoder"},
    {Task::CodecDecoder, "codec-decoder"},
    {Task::AudioDenoise, "audio-denoise"},
    {Task::AudioAnomaly, "audio-anomaly"},
    {Task::Features, "features"},
}};

FormatError badValue(const std::string& k, const std::string& v, const std::string& expected) {
  return FormatError("metadata " + k + " = '" + v + "' is not " + expected);
}

// from_chars, unlike strtod, ignores the locale: a German-locale pipeline reads "0.5" too.
double parseDouble(const std::string& k, const std::string& v) {
  double d = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size() || !std::isfinite(d))
    throw badValue(k, v, "a finite number");
  return d;
}

int toInt(const std::string& k, const std::string& v) {
  int i = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), i);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size())
    throw badValue(k, v, "an integer");
  return i;
}

bool toBool(const std::string& k, const std::string& v) {
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  throw badValue(k, v, "true/false");
}

// "A:B" as two finite numbers; the colon search starts after a leading sign.
std::pair<double, double> parsePair(const std::string& k, const std::string& v,
                                    const std::string& expected) {
  const std::size_t colon = v.find(':', 1);
  if (v.empty() || colon == std::string::npos) throw badValue(k, v, expected);
  double a = 0, b = 0;
  const auto [endA, ecA] = std::from_chars(v.data(), v.data() + colon, a);
  const auto [endB, ecB] = std::from_chars(v.data() + colon + 1, v.data() + v.size(), b);
  if (ecA != std::errc() || endA != v.data() + colon || ecB != std::errc() ||
      endB != v.data() + v.size() || colon + 1 == v.size() || !std::isfinite(a) ||
      !std::isfinite(b))
    throw badValue(k, v, expected);
  return {a, b};
}

std::vector<std::string> splitComma(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = s.find(',', start);
    out.push_back(s.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

const std::vector<std::string>& knownKeys() {
  static const std::vector<std::string> keys{
      key::kTask,        key::kFormat,         key::kInputScale,     key::kInputOffset,
      key::kResidual,    key::kReceptiveField, key::kNoiseSigma,     key::kNoise,
      key::kFrames,      key::kAlign,          key::kWindow,         key::kSampleRescale,
      key::kLatentShape, key::kQuantStep,      key::kScoreMean,      key::kScoreStd,
      key::kThreshold,   key::kAnomalyMap,     key::kMapSigma,       key::kFrameModel,
      key::kInpaint,     key::kStft,           key::kTrainerVersion, key::kRecipe,
      key::kMetrics,     key::kInt8Ranges,     key::kCodec,          key::kCdfTables,
  };
  return keys;
}

std::string taskName(Task t) {
  for (const auto& [task, name] : kTaskNames)
    if (task == t) return name;
  return "";
}

Task parseTask(const std::string& name) {
  for (const auto& [task, n] : kTaskNames)
    if (name == n) return task;
  std::string all;
  for (const auto& [task, n] : kTaskNames) all += std::string(all.empty() ? "" : "|") + n;
  throw badValue(key::kTask, name, "one of " + all);
}

std::string formatStft(const Stft& s) {
  return "n_fft=" + std::to_string(s.nFft) + ",hop=" + std::to_string(s.hop) +
         ",rate=" + std::to_string(s.sampleRate);
}

Stft parseStft(const std::string& text) {
  Stft s;
  bool fft = false, hop = false, rate = false;
  for (const std::string& part : splitComma(text)) {
    const std::size_t eq = part.find('=');
    if (eq == std::string::npos) throw badValue(key::kStft, text, "n_fft=N,hop=N,rate=N");
    const std::string name = part.substr(0, eq), value = part.substr(eq + 1);
    const int v = toInt(key::kStft, value);
    if (v <= 0) throw badValue(key::kStft, text, "made of positive integers");
    if (name == "n_fft") {
      s.nFft = v;
      fft = true;
    } else if (name == "hop") {
      s.hop = v;
      hop = true;
    } else if (name == "rate") {
      s.sampleRate = v;
      rate = true;
    } else {
      throw badValue(key::kStft, text, "n_fft=N,hop=N,rate=N");
    }
  }
  if (!fft || !hop || !rate) throw badValue(key::kStft, text, "n_fft=N,hop=N,rate=N");
  return s;
}

std::string formatWindow(const io::Window& w) {
  return formatNumber(w.lo) + ":" + formatNumber(w.hi);
}

io::Window parseWindow(const std::string& text) {
  const char* expected = "LO:HI (modality values with LO < HI, e.g. -1000:2000)";
  const auto [lo, hi] = parsePair(key::kWindow, text, expected);
  if (!(lo < hi)) throw badValue(key::kWindow, text, expected);
  return {lo, hi};
}

std::string formatRescale(const io::Rescale& r) {
  return formatNumber(r.slope) + ":" + formatNumber(r.intercept);
}

io::Rescale parseRescale(const std::string& text) {
  const char* expected = "SLOPE:INTERCEPT (SLOPE != 0, e.g. 1:-1024)";
  const auto [slope, intercept] = parsePair(key::kSampleRescale, text, expected);
  if (slope == 0) throw badValue(key::kSampleRescale, text, expected);
  return {slope, intercept};
}

std::string formatInt8Ranges(const std::map<std::string, std::pair<float, float>>& r) {
  std::string out;
  for (const auto& [name, lh] : r)
    out += (out.empty() ? "" : ",") + name + ":" + formatNumber(double(lh.first)) + ":" +
           formatNumber(double(lh.second));
  return out;
}

std::map<std::string, std::pair<float, float>> parseInt8Ranges(const std::string& text) {
  std::map<std::string, std::pair<float, float>> r;
  for (const std::string& item : splitComma(text)) {
    const std::size_t a = item.find(':'), b = item.rfind(':');
    if (a == std::string::npos || a == 0 || b == a)
      throw badValue(key::kInt8Ranges, text, "name:lo:hi items separated by commas");
    const double lo = parseDouble(key::kInt8Ranges, item.substr(a + 1, b - a - 1));
    const double hi = parseDouble(key::kInt8Ranges, item.substr(b + 1));
    if (!(lo <= hi) || !std::isfinite(lo) || !std::isfinite(hi))
      throw badValue(key::kInt8Ranges, text, "finite ranges with lo <= hi");
    r[item.substr(0, a)] = {float(lo), float(hi)};
  }
  return r;
}

std::string formatNoise(const NoiseSpec& n) {
  std::string out = n.kind;
  for (const auto& [k, v] : n.params) out.append(" ").append(k).append("=").append(v);
  return out;
}

NoiseSpec parseNoise(const std::string& text) {
  const char* expected = "KIND key=value ... with KIND gaussian, rician or ct-lowdose";
  std::istringstream in(text);
  NoiseSpec n;
  in >> n.kind;
  if (n.kind != "gaussian" && n.kind != "rician" && n.kind != "ct-lowdose")
    throw badValue(key::kNoise, text, expected);
  for (std::string part; in >> part;) {
    const std::size_t eq = part.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == part.size() ||
        !n.params.emplace(part.substr(0, eq), part.substr(eq + 1)).second)
      throw badValue(key::kNoise, text, expected);
  }
  return n;
}

std::string formatNumber(double v) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

namespace {

// cae.frame_model: "MU,BETA,AREA,FPR[,logit|linear]".
anomaly::FrameModel parseFrameModel(const std::string& k, const std::string& v) {
  const std::vector<std::string> f = splitComma(v);
  if (f.size() != 4 && f.size() != 5) throw badValue(k, v, "MU,BETA,AREA,FPR[,logit]");
  if (f.size() == 5 && f[4] != "logit" && f[4] != "linear")
    throw badValue(k, v, "MU,BETA,AREA,FPR[,logit|linear]");
  const anomaly::FrameModel m{parseDouble(k, f[0]), parseDouble(k, f[1]), parseDouble(k, f[2]),
                              parseDouble(k, f[3]), f.size() == 5 && f[4] == "logit"};
  if (!std::isfinite(m.mu) || !m.valid())
    throw badValue(k, v, "MU,BETA,AREA,FPR with BETA > 0, AREA > 0 and 0 < FPR < 1");
  return m;
}

// The anomaly model's keys (cae.score_mean ... cae.inpaint) into info; false for other keys.
bool parseAnomalyKey(const std::string& k, const std::string& v, ModelInfo& info) {
  if (k == key::kScoreMean) {
    info.anomaly.scoreMean = parseDouble(k, v);
  } else if (k == key::kScoreStd) {
    info.anomaly.scoreStd = parseDouble(k, v);
    if (info.anomaly.scoreStd <= 0) throw badValue(k, v, "a positive deviation");
  } else if (k == key::kThreshold) {
    info.anomaly.threshold = parseDouble(k, v);
  } else if (k == key::kAnomalyMap) {
    try {
      info.anomaly.map.map = anomaly::parseMapKind(v);
    } catch (const InvalidArgument&) {
      throw badValue(k, v, "l2, lowpass, ssim, segmentation or segmentation-logit");
    }
  } else if (k == key::kMapSigma) {
    info.anomaly.map.smoothSigma = parseDouble(k, v);
    if (!(info.anomaly.map.smoothSigma >= 0)) throw badValue(k, v, "a smoothing sigma >= 0");
  } else if (k == key::kFrameModel) {
    info.anomaly.frame = parseFrameModel(k, v);
  } else if (k == key::kInpaint) {
    try {
      info.inpaint = anomaly::parseInpainting(v);
    } catch (const InvalidArgument&) {
      throw badValue(k, v, "SCALES/GROUPS, e.g. 2,4,8,16/3");
    }
  } else {
    return false;
  }
  return true;
}

}  // namespace

ModelInfo parseModelInfo(const std::map<std::string, std::string>& metadata) {
  ModelInfo info;
  for (const std::string& k : knownKeys()) {
    auto it = metadata.find(k);
    if (it == metadata.end()) {
      info.defaulted.push_back(k);
      continue;
    }
    info.hasCaeMetadata = true;
    const std::string& v = it->second;
    if (parseAnomalyKey(k, v, info)) continue;
    if (k == key::kTask) {
      info.task = parseTask(v);
    } else if (k == key::kFormat) {
      info.format = v;
    } else if (k == key::kInputScale) {
      info.inputScale = parseDouble(k, v);
    } else if (k == key::kInputOffset) {
      info.inputOffset = parseDouble(k, v);
    } else if (k == key::kResidual) {
      info.residual = toBool(k, v);
    } else if (k == key::kReceptiveField) {
      info.receptiveField = toInt(k, v);
      if (info.receptiveField < -1) throw badValue(k, v, "-1, 0 or a positive pixel count");
    } else if (k == key::kNoiseSigma) {
      info.noiseSigma = parseDouble(k, v);
    } else if (k == key::kNoise) {
      info.noise = parseNoise(v);
    } else if (k == key::kFrames) {
      info.frames = toInt(k, v);
      // An upper bound keeps a damaged value from sizing a frame ring of absurd length.
      if (info.frames < 1 || info.frames > 64) throw badValue(k, v, "a frame count in 1..64");
    } else if (k == key::kAlign) {
      if (v != "none" && v != "translation") throw badValue(k, v, "none or translation");
      info.align = v;
    } else if (k == key::kWindow) {
      info.window = parseWindow(v);
    } else if (k == key::kSampleRescale) {
      info.sampleRescale = parseRescale(v);
    } else if (k == key::kLatentShape) {
      for (const std::string& d : splitComma(v)) {
        info.latentShape.push_back(toInt(k, d));
        if (info.latentShape.back() < 1) throw badValue(k, v, "positive C,H,W");
      }
    } else if (k == key::kQuantStep) {
      info.quantStep = parseDouble(k, v);
      if (info.quantStep <= 0) throw badValue(k, v, "a positive step");
    } else if (k == key::kStft) {
      info.stft = parseStft(v);
    } else if (k == key::kTrainerVersion) {
      info.trainerVersion = v;
    } else if (k == key::kRecipe) {
      info.recipe = v;
    } else if (k == key::kMetrics) {
      info.metrics = v;
    } else if (k == key::kInt8Ranges) {
      info.int8Ranges = parseInt8Ranges(v);
    } else if (k == key::kCodec) {
      info.codec = v;
    } else if (k == key::kCdfTables) {
      info.cdfTables = v;
    }
  }
  const auto& known = knownKeys();
  for (const auto& [k, v] : metadata)
    if (std::find(known.begin(), known.end(), k) == known.end()) info.unknown.emplace(k, v);
  return info;
}

namespace {

std::map<std::string, std::string> metadataOf(const ::onnx::ModelProto& m) {
  std::map<std::string, std::string> out;
  for (const auto& p : m.metadata_props()) out[p.key()] = p.value();
  return out;
}

}  // namespace

std::map<std::string, std::string> readOnnxMetadata(const std::string& path) {
  return metadataOf(detail::readModelProto(path));
}

std::map<std::string, std::string> readOnnxMetadataBytes(const std::string& bytes,
                                                         const std::string& name) {
  return metadataOf(detail::parseModelProto(bytes, name));
}

ModelInfo readModelInfo(const std::string& path) { return parseModelInfo(readOnnxMetadata(path)); }

}  // namespace cae::onnx
