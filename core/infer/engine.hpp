// Inference over OpenCV DNN or oneDNN (DESIGN.md, core/infer): load a model file and its cae.*
// metadata, choose backend and target, normalise samples, and run frames of any size in tiles
// that overlap by the model's receptive field, so memory stays bounded and tile seams do not show.
//
//   cae::infer::EngineOptions o;
//   o.model = "models/denoise-gray.onnx";
//   cae::infer::Engine e(o);                 // throws cae::IoError / FormatError / InvalidArgument
//   cv::Mat y = e.run(x);                    // x: N×C×H×W CV_32F blob in model units
//
// Library errors are cae::Error subclasses; OpenCV exceptions are turned into them too.
#pragma once

#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "onnx/graph_info.hpp"
#include "onnx/metadata.hpp"

namespace cae::infer {

// Backends and targets this project offers (the names are the element's enum nicks). OpenCV and
// Cuda are cv::dnn backends; OneDNN is core/infer/onednn (CPU target only); Auto picks OneDNN
// where it is built and covers the graph, else OpenCV (with a warning naming the reason).
enum class Backend { OpenCV, Cuda, OneDNN, Auto };
enum class Target { Cpu, OpenCL, OpenCLFp16, Cuda, CudaFp16 };
// Arithmetic of the oneDNN backend's convolutions (onednn::Options::bf16). F32 everywhere else:
// OpenCV DNN's CPU path has no bf16, and its reduced precisions are targets (opencl-fp16,
// cuda-fp16). Auto: bf16 for denoising models (cae.task, else EngineOptions::task) where the CPU
// has bf16 instructions (onednn::nativeBf16()), else f32: anomaly thresholds are calibrated in f32.
enum class Precision { F32, Bf16, Auto };

std::string backendName(Backend b);          // "opencv", "cuda", "onednn", "auto"
std::string targetName(Target t);            // "cpu", "opencl", "opencl-fp16", "cuda", "cuda-fp16"
Backend parseBackend(const std::string& s);  // InvalidArgument for unknown names
Target parseTarget(const std::string& s);
std::string precisionName(Precision p);  // "f32", "bf16", "auto"
Precision parsePrecision(const std::string& s);

// Whether this OpenCV build and machine can run the pair; when not, *why says so in a sentence
// (e.g. "OpenCV was built without CUDA" or "no OpenCL device: install pocl-opencl-icd").
// OpenCL: OpenCV picks its device once, when anything first touches OpenCL; call this (or build
// the Engine) before other OpenCV work so that a CPU device (pocl) can be picked when no GPU is.
bool available(Backend b, Target t, std::string* why = nullptr);

struct EngineOptions {
  std::string model;  // .onnx path
  Backend backend = Backend::Auto;
  Target target = Target::Cpu;
  // Side of the square output region each tile produces (rounded up to the model's size
  // multiple); the tile the model sees is larger by the overlap on each side. 0: whole frames up
  // to kAutoTileLimit pixels on a side, tiles of kAutoTile beyond. A size below the model's
  // smallest useful tile (Engine::minTileSize()) is raised to it, with a warning.
  int tileSize = 0;
  // OpenCV: cv::setNumThreads (process-wide in OpenCV), 0: leave it as it is. OneDNN: OpenMP
  // threads of this engine's forwards (set on the calling thread), 0: onednn::kDefaultThreads.
  int threads = 0;
  // oneDNN's convolutions in f32 or bf16 (see Precision); ignored (f32) on the other backends.
  Precision precision = Precision::F32;
  // Task the caller needs; a model whose cae.task says otherwise is refused (InvalidArgument).
  // Unknown: accept any. A model without cae.task is accepted (with a warning in warnings()).
  onnx::Task task = onnx::Task::Unknown;
};

inline constexpr int kAutoTileLimit = 2048;
inline constexpr int kAutoTile = 512;
// The smallest tile side any model is run with: below it, per-tile overhead dominates.
inline constexpr int kMinTile = 16;

// Affine map between stored samples and model units: model = sample * scale + offset.
struct Normalisation {
  double scale = 1.0 / 255.0;
  double offset = 0.0;
};

// How a frame is cut: the frame is reflect-padded by `margin` (and up to the size multiple), cut
// into tiles of core×core output pixels whose inputs overlap by `margin` on every side; tile
// origins sit on the size multiple so strided layers see the same grid in every tile.
struct TilePlan {
  int margin = 0;  // overlap on each side, a multiple of the size multiple
  int core = 0;    // output pixels per tile side (height and width); 0: one tile
  int tilesY = 1, tilesX = 1;
};

// What a model file says about itself, read without building the network (cheap: metadata and
// graph facts only), e.g. to know the formats a model can take before it is loaded. Throws
// IoError / FormatError like the Engine for unreadable or corrupt files.
struct ModelDescription {
  std::string path;
  onnx::ModelInfo info;
  onnx::GraphInfo graph;
  int channels = 1;  // modelChannels(info, graph): of one frame
};
ModelDescription describeModel(const std::string& path);

// Channels of one frame a model reads: from the graph (divided by cae.frames: a temporal model
// reads its frames stacked along the channels), else cae.format (RGB/BGR: 3), else 1.
int modelChannels(const onnx::ModelInfo& info, const onnx::GraphInfo& graph);

class Engine {
 public:
  explicit Engine(const EngineOptions& o);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const onnx::ModelInfo& info() const { return info_; }
  const onnx::GraphInfo& graph() const { return graph_; }
  const EngineOptions& options() const { return o_; }
  // The backend that runs the model: OpenCV, Cuda or OneDNN (never Auto). With backend=onednn or
  // auto on a graph the oneDNN backend does not cover (or a build without it), OpenCV, and
  // fallbackReason() says why (that sentence is also one of warnings()).
  Backend backendInUse() const { return inUse_; }
  const std::string& fallbackReason() const { return fallback_; }
  // F32 or Bf16 (never Auto): what the backend in use computes in.
  Precision precisionInUse() const { return precision_; }
  // Channels of one frame, which the model reads per frame and writes (from the graph, else
  // cae.format, else 1).
  int channels() const { return channels_; }
  // Frames the model reads stacked along the channels, the current frame first (cae.frames; 1
  // for single-frame models): run() takes framesIn() x channels() channels, writes
  // outputChannels().
  int framesIn() const { return frames_; }
  // Channels the model writes: channels(), except for an anomaly model whose output is its map
  // (cae.anomaly_map segmentation): 1.
  int outputChannels() const { return outChannels_; }
  // Things a user should know about the model (no metadata, defaults used); one line each.
  const std::vector<std::string>& warnings() const { return warnings_; }

  // Samples of `bitDepth` bits (8 or 16) to model units. cae.input_scale is relative to the
  // model's own cae.format; a 16-bit frame fed to an 8-bit model is rescaled to the same range.
  Normalisation normalisation(int bitDepth) const;

  // The tiling of an h×w frame under the current options.
  TilePlan plan(int h, int w) const;
  // The smallest tile side worth running: the overlap margin (a tile smaller than its overlap
  // computes mostly overlap: tile-size 1 made a 512x512 frame take 14 s), at least kMinTile,
  // rounded up to the size multiple. Smaller EngineOptions::tileSize values are raised to it.
  int minTileSize() const;

  // Runs the model on an N×(K·C)×H×W CV_32F blob (K = framesIn(), C = channels(), any H, W ≥ 1)
  // in model units and returns the N×outputChannels()×H×W output. InvalidArgument for other shapes;
  // Error when OpenCV fails. A model that reconstructs by inpainting (cae.inpaint) is run once per
  // set of blanked cells (anomaly::Inpainting::passes()), and the output is its reconstruction.
  cv::Mat run(const cv::Mat& blob);
  // The same into `out`, whose memory is reused when it is already a continuous N×C×H×W float
  // blob (else it is reallocated; never the input's memory), and the engine keeps its padding
  // and tile buffers: a stream of frames of one size allocates nothing per frame.
  void run(const cv::Mat& blob, cv::Mat& out);

 private:
  void forward(const cv::Mat& tile, cv::Mat& out);  // one padded tile through the net
  void runPass(const cv::Mat& blob, cv::Mat& out);  // one pass of the model over the frame
  // A model with cae.inpaint: its reconstruction by inpainting (anomaly/inpainting.hpp).
  void runInpainting(const cv::Mat& blob, cv::Mat& out);
  // Builds the oneDNN net when oneDNN is built and covers the graph; else sets fallback_.
  bool loadOneDnn();

  EngineOptions o_;
  onnx::ModelInfo info_;
  onnx::GraphInfo graph_;
  int channels_ = 1;
  int outChannels_ = 1;
  int frames_ = 1;
  std::vector<std::string> warnings_;
  Backend inUse_ = Backend::OpenCV;
  Precision precision_ = Precision::F32;
  std::string fallback_;
  struct NetHolder;
  std::unique_ptr<NetHolder> net_;
};

// The format's full-scale value: 255 for 8-bit formats (GRAY8, RGB, ...), 65535 for GRAY16_LE/BE.
double fullScale(const std::string& format);

}  // namespace cae::infer
