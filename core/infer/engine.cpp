#include "infer/engine.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <opencv2/core/ocl.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include "error.hpp"
#include "infer/onednn.hpp"
#include "onnx/graph.hpp"
#include "onnx/validate.hpp"

namespace cae::infer {
namespace {

int roundUp(int v, int m) { return (v + m - 1) / m * m; }

int dnnBackend(Backend b) {
  return b == Backend::Cuda ? cv::dnn::DNN_BACKEND_CUDA : cv::dnn::DNN_BACKEND_OPENCV;
}

int dnnTarget(Target t) {
  switch (t) {
    case Target::Cpu:
      return cv::dnn::DNN_TARGET_CPU;
    case Target::OpenCL:
      return cv::dnn::DNN_TARGET_OPENCL;
    case Target::OpenCLFp16:
      return cv::dnn::DNN_TARGET_OPENCL_FP16;
    case Target::Cuda:
      return cv::dnn::DNN_TARGET_CUDA;
    case Target::CudaFp16:
      return cv::dnn::DNN_TARGET_CUDA_FP16;
  }
  return cv::dnn::DNN_TARGET_CPU;
}

bool isCudaTarget(Target t) { return t == Target::Cuda || t == Target::CudaFp16; }

// Precision::Auto's choice: bf16 for denoisers where the CPU has bf16 instructions. Anomaly
// models stay f32: their thresholds were calibrated on f32 scores, which bf16 moves by a few
// per cent (a false-alarm rate is a tail probability: a small shift of the score moves it a lot).
bool autoBf16(const onnx::ModelInfo& info, onnx::Task asked) {
  const onnx::Task t = info.task != onnx::Task::Unknown ? info.task : asked;
  return t == onnx::Task::Denoise && onednn::nativeBf16();
}

}  // namespace

std::string backendName(Backend b) {
  switch (b) {
    case Backend::OpenCV:
      return "opencv";
    case Backend::Cuda:
      return "cuda";
    case Backend::OneDNN:
      return "onednn";
    case Backend::Auto:
      return "auto";
  }
  return "opencv";
}

std::string targetName(Target t) {
  switch (t) {
    case Target::Cpu:
      return "cpu";
    case Target::OpenCL:
      return "opencl";
    case Target::OpenCLFp16:
      return "opencl-fp16";
    case Target::Cuda:
      return "cuda";
    case Target::CudaFp16:
      return "cuda-fp16";
  }
  return "cpu";
}

Backend parseBackend(const std::string& s) {
  if (s == "opencv") return Backend::OpenCV;
  if (s == "cuda") return Backend::Cuda;
  if (s == "onednn") return Backend::OneDNN;
  if (s == "auto") return Backend::Auto;
  throw InvalidArgument("unknown backend '" + s + "' (auto, onednn, opencv, cuda)");
}

std::string precisionName(Precision p) {
  switch (p) {
    case Precision::F32:
      return "f32";
    case Precision::Bf16:
      return "bf16";
    case Precision::Auto:
      return "auto";
  }
  return "f32";
}

Precision parsePrecision(const std::string& s) {
  for (Precision p : {Precision::F32, Precision::Bf16, Precision::Auto})
    if (precisionName(p) == s) return p;
  throw InvalidArgument("unknown precision '" + s + "' (f32, bf16, auto)");
}

Target parseTarget(const std::string& s) {
  for (Target t : {Target::Cpu, Target::OpenCL, Target::OpenCLFp16, Target::Cuda, Target::CudaFp16})
    if (targetName(t) == s) return t;
  throw InvalidArgument("unknown target '" + s + "' (cpu, opencl, opencl-fp16, cuda, cuda-fp16)");
}

bool available(Backend b, Target t, std::string* why) {
  auto no = [&](const std::string& m) {
    if (why) *why = m;
    return false;
  };
  if (b == Backend::OneDNN) {
    if (t != Target::Cpu)
      return no("backend onednn runs only the cpu target, not " + targetName(t));
    if (!onednn::built())
      return no("this cae was built without oneDNN (meson option 'onednn'; Debian: libdnnl-dev)");
    return true;
  }
  if (b == Backend::Cuda) {
    if (!isCudaTarget(t))
      return no("backend cuda runs only the cuda and cuda-fp16 targets, not " + targetName(t));
    const auto ts = cv::dnn::getAvailableTargets(cv::dnn::DNN_BACKEND_CUDA);
    if (std::find(ts.begin(), ts.end(), dnnTarget(t)) == ts.end())
      return no("this OpenCV (" + std::string(CV_VERSION) +
                ") was built without CUDA support in its DNN module (Debian's is); use "
                "backend=opencv with target=cpu or opencl");
    return true;
  }
  if (isCudaTarget(t)) return no("target " + targetName(t) + " needs backend=cuda");
  if (t == Target::OpenCL || t == Target::OpenCLFp16) {
    // Unless OPENCV_OPENCL_DEVICE is set, OpenCV opens GPU devices only, and DNN then runs the
    // OpenCL target on the CPU path without a word; ":" means a GPU, else a CPU device (pocl).
    // Read when OpenCL is first used in the process, so it must be set before that.
    setenv("OPENCV_OPENCL_DEVICE", ":", 0);
    if (!cv::ocl::haveOpenCL())
      return no(
          "no OpenCL platform found: install an OpenCL driver (on a machine without a GPU, "
          "Debian's pocl-opencl-icd runs OpenCL on the CPU)");
    if (!cv::ocl::useOpenCL()) {
      const char* dev = std::getenv("OPENCV_OPENCL_DEVICE");
      return no(
          "an OpenCL platform is installed but OpenCV uses no OpenCL device in this "
          "process (OPENCV_OPENCL_DEVICE='" +
          std::string(dev ? dev : "") +
          "', or OpenCL was disabled or first used before this check); set "
          "OPENCV_OPENCL_DEVICE=: or use target=cpu");
    }
  }
  return true;
}

double fullScale(const std::string& format) {
  return format.rfind("GRAY16", 0) == 0 ? 65535.0 : 255.0;
}

int modelChannels(const onnx::ModelInfo& info, const onnx::GraphInfo& graph) {
  if (graph.inputChannels > 0) return graph.inputChannels / std::max(1, info.frames);
  return info.format == "RGB" || info.format == "BGR" ? 3 : 1;
}

ModelDescription describeModel(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw IoError("model file '" + path + "' does not exist or is not a file");
  ModelDescription d;
  d.path = path;
  d.info = onnx::readModelInfo(path);  // IoError / FormatError for unreadable or corrupt files
  d.graph = onnx::readGraphInfo(path);
  if (d.graph.inputChannels > 0 && d.graph.inputChannels % d.info.frames != 0)
    throw FormatError("'" + path + "' says it reads " + std::to_string(d.info.frames) +
                      " frames (cae.frames) but its graph reads " +
                      std::to_string(d.graph.inputChannels) + " channels, not a multiple of that");
  d.channels = modelChannels(d.info, d.graph);
  return d;
}

struct Engine::NetHolder {
  cv::dnn::Net net;
  std::unique_ptr<onednn::Net> onednn;  // set when the oneDNN backend runs the model
  // Buffers kept between run()s, so that a stream of frames of one size allocates nothing per
  // frame (per-frame megabyte buffers cost the elements hundreds of page faults a frame).
  cv::Mat padded, tile, y;
  cv::Mat masked, pass, mask, keep;  // inpainting: the blanked frame, a pass's output, a set's
                                     // cells and the rest
};

Engine::Engine(const EngineOptions& o) : o_(o), net_(std::make_unique<NetHolder>()) {
  if (o.model.empty()) throw InvalidArgument("no model file given");
  ModelDescription d = describeModel(o.model);
  info_ = std::move(d.info);
  graph_ = d.graph;
  if (!info_.hasCaeMetadata)
    warnings_.push_back("'" + o.model +
                        "' has no cae.* metadata: assuming 8-bit input scaled to [0, 1], a "
                        "clean-image output and a 32-pixel tile overlap");
  if (o.task != onnx::Task::Unknown && info_.task != onnx::Task::Unknown && info_.task != o.task)
    throw InvalidArgument("'" + o.model + "' is a model for task '" + onnx::taskName(info_.task) +
                          "' (cae.task), not for '" + onnx::taskName(o.task) + "'");
  if (o.task != onnx::Task::Unknown && info_.hasCaeMetadata && info_.task == onnx::Task::Unknown)
    warnings_.push_back("'" + o.model +
                        "' does not say what it is for (no cae.task); using it as a " +
                        onnx::taskName(o.task) + " model");
  if (graph_.inputHeight > 0 || graph_.inputWidth > 0)
    throw InvalidArgument("'" + o.model + "' needs a fixed input size (" +
                          std::to_string(graph_.inputHeight) + "x" +
                          std::to_string(graph_.inputWidth) +
                          "); frame-by-frame inference needs a fully convolutional model");
  if (info_.receptiveField < 0)
    throw InvalidArgument("'" + o.model +
                          "' is not convolutional (cae.receptive_field = -1): every output "
                          "depends on the whole input, so frames cannot be processed at any size");
  channels_ = d.channels;
  frames_ = info_.frames;
  const bool writesMap = anomaly::outputIsMap(info_.anomaly.map.map);
  outChannels_ = writesMap ? 1 : channels_;
  if (info_.inpaint && (writesMap || frames_ != 1))
    throw InvalidArgument("'" + o.model +
                          "' has cae.inpaint but is not a single-frame reconstruction model");
  if (graph_.outputChannels > 0 && graph_.outputChannels != outChannels_)
    throw InvalidArgument("'" + o.model + "' reads " + std::to_string(channels_) +
                          " channels per frame but writes " +
                          std::to_string(graph_.outputChannels) +
                          (writesMap ? "; a segmentation anomaly model writes one channel, its map"
                                     : "; an image-to-image model must write what it reads"));
  if (o.tileSize < 0) throw InvalidArgument("tile size must be >= 0");
  if (o.tileSize > 0 && o.tileSize < minTileSize())
    warnings_.push_back("tile size " + std::to_string(o.tileSize) + " is below '" + o.model +
                        "''s smallest useful tile (its overlap margin); using " +
                        std::to_string(minTileSize()));

  std::string why;
  // oneDNN asked for but not built (or not covering the graph) is not an error: OpenCV runs the
  // model and fallbackReason() says why (loadOneDnn).
  if (o.backend == Backend::OneDNN && o.target != Target::Cpu)
    throw InvalidArgument("backend onednn runs only the cpu target, not " + targetName(o.target));
  if (o.backend != Backend::OneDNN && !available(o.backend, o.target, &why))
    throw InvalidArgument(why);
  if (o.target == Target::OpenCL || o.target == Target::OpenCLFp16)
    // OpenCV's DNN otherwise falls back to the CPU, silently, on any OpenCL device that is not an
    // Intel GPU (pocl included). Read once by OpenCV, so it must be set before the first use.
    setenv("OPENCV_DNN_OPENCL_ALLOW_ALL_DEVICES", "1", 0);
  // Both backends trust the file (a damaged one can crash OpenCV), so all of it is checked first.
  onnx::validateModel(o.model);
  if ((o.backend == Backend::OneDNN || o.backend == Backend::Auto) && o.target == Target::Cpu &&
      loadOneDnn())
    return;
  inUse_ = o.backend == Backend::Cuda ? Backend::Cuda : Backend::OpenCV;
  if (o.precision == Precision::Bf16)
    warnings_.push_back("precision bf16 is the oneDNN backend's; OpenCV DNN runs '" + o.model +
                        "' in f32");
  if (o.threads > 0) cv::setNumThreads(o.threads);
  try {
    net_->net = cv::dnn::readNetFromONNX(o.model);
    net_->net.setPreferableBackend(dnnBackend(o.backend));
    net_->net.setPreferableTarget(dnnTarget(o.target));
  } catch (const cv::Exception& e) {
    throw FormatError("OpenCV DNN cannot load '" + o.model + "': " + e.err);
  }
}

bool Engine::loadOneDnn() {
  std::string why;
  if (!available(Backend::OneDNN, Target::Cpu, &why)) {
    fallback_ = why + "; running on OpenCV DNN";
  } else {
    const onnx::Graph g = onnx::readGraph(o_.model);
    if (onednn::covers(g, &why)) {
      onednn::Options no;
      no.threads = o_.threads;
      no.bf16 = o_.precision == Precision::Bf16 ||
                (o_.precision == Precision::Auto && autoBf16(info_, o_.task));
      net_->onednn = std::make_unique<onednn::Net>(g, no);
      inUse_ = Backend::OneDNN;
      precision_ = no.bf16 ? Precision::Bf16 : Precision::F32;
      const onnx::Task task = info_.task != onnx::Task::Unknown ? info_.task : o_.task;
      if (no.bf16 && task == onnx::Task::Anomaly)
        warnings_.push_back(
            "precision bf16 moves an anomaly model's scores by a few hundredths "
            "(its threshold was calibrated in f32): expect other false-alarm "
            "rates than the model card's");
      if (no.bf16 && !onednn::nativeBf16())
        warnings_.push_back(
            "this CPU has no bf16 instructions: oneDNN emulates precision bf16, "
            "slower than f32");
      return true;
    }
    fallback_ = why + "; running on OpenCV DNN";
  }
  warnings_.push_back(fallback_);
  return false;
}

Engine::~Engine() = default;

Normalisation Engine::normalisation(int bitDepth) const {
  if (bitDepth != 8 && bitDepth != 16)
    throw InvalidArgument("samples must be 8 or 16 bits, got " + std::to_string(bitDepth));
  const double frameMax = bitDepth == 16 ? 65535.0 : 255.0, full = fullScale(info_.format);
  Normalisation n;
  // Frames of the model's own depth take cae.input_scale as it is: x * 65535 / 65535 need not
  // give x back exactly, and a GRAY16 model's scale is the exact map of its window.
  n.scale = full == frameMax ? info_.inputScale : info_.inputScale * full / frameMax;
  n.offset = info_.inputOffset;
  return n;
}

namespace {

// Half the receptive field reaches each way; one more size multiple covers the asymmetry of
// strided grids and transposed convolutions.
int tileMargin(const onnx::ModelInfo& info, int mult) {
  const int rf = info.receptiveField > 0 ? info.receptiveField : 64;
  return roundUp((rf + 1) / 2 + mult, mult);
}

}  // namespace

int Engine::minTileSize() const {
  const int mult = std::max(1, graph_.sizeMultiple);
  return roundUp(std::max(tileMargin(info_, mult), kMinTile), mult);
}

TilePlan Engine::plan(int h, int w) const {
  const int mult = std::max(1, graph_.sizeMultiple);
  TilePlan p;
  p.margin = tileMargin(info_, mult);
  int core = o_.tileSize > 0 ? std::max(o_.tileSize, minTileSize()) : 0;
  if (core == 0 && std::max(h, w) > kAutoTileLimit) core = kAutoTile;
  if (core == 0 || (h <= core && w <= core)) return p;  // one tile: core 0
  p.core = roundUp(core, mult);
  p.tilesY = (h + p.core - 1) / p.core;
  p.tilesX = (w + p.core - 1) / p.core;
  return p;
}

void Engine::forward(const cv::Mat& tile, cv::Mat& out) {
  if (net_->onednn) {
    net_->onednn->forward(tile, out);
  } else {
    try {
      net_->net.setInput(tile);
      net_->net.forward().copyTo(out);  // OpenCV's output blob is its own, reused by it
    } catch (const cv::Exception& e) {
      throw Error("OpenCV DNN failed to run '" + o_.model + "': " + e.err);
    }
  }
  if (out.dims != 4 || out.size[0] != tile.size[0] || out.size[1] != outChannels_ ||
      out.size[2] != tile.size[2] || out.size[3] != tile.size[3])
    throw Error("'" + o_.model + "' returned a " + std::to_string(out.dims) +
                "-D output of a different shape than its input; not an image-to-image model");
}

namespace {

// Plane (n, c) of a 4-D blob as a 2-D header sharing its data.
cv::Mat plane(const cv::Mat& blob, int n, int c) {
  return cv::Mat(blob.size[2], blob.size[3], CV_32F, const_cast<float*>(blob.ptr<float>(n, c)));
}

// m as an n×c×h×w float blob: its memory kept when it already has that shape and is its own
// continuous buffer, else a new one.
void makeBlob(cv::Mat& m, int n, int c, int h, int w) {
  const int sz[4] = {n, c, h, w};
  if (m.dims == 4 && m.type() == CV_32F && m.isContinuous() && m.size[0] == n && m.size[1] == c &&
      m.size[2] == h && m.size[3] == w)
    return;
  m.release();
  m.create(4, sz, CV_32F);
}

}  // namespace

cv::Mat Engine::run(const cv::Mat& blob) {
  cv::Mat out;
  run(blob, out);
  return out;
}

void Engine::run(const cv::Mat& blob, cv::Mat& out) {
  if (out.data && out.data == blob.data) {  // the input is read while the output is written
    cv::Mat fresh;                          // (blob may be out itself)
    run(blob, fresh);
    out = fresh;
    return;
  }
  if (blob.dims != 4 || blob.type() != CV_32F || !blob.isContinuous() ||
      blob.size[1] != frames_ * channels_ || blob.size[0] < 1 || blob.size[2] < 1 ||
      blob.size[3] < 1)
    throw InvalidArgument("Engine::run needs a continuous N x " +
                          std::to_string(frames_ * channels_) + " x H x W float blob");
  // Checked once here: the passes below take this blob or one of its shape.
  if (info_.inpaint)
    runInpainting(blob, out);
  else
    runPass(blob, out);
}

void Engine::runInpainting(const cv::Mat& blob, cv::Mat& out) {
  const anomaly::Inpainting& p = *info_.inpaint;
  const int N = blob.size[0], C = blob.size[1], H = blob.size[2], W = blob.size[3];
  NetHolder& h = *net_;
  makeBlob(out, N, outChannels_, H, W);
  out.setTo(0);
  makeBlob(h.masked, N, C, H, W);
  h.mask.create(H, W, CV_32F);
  const double share = 1.0 / double(p.scales.size());
  for (int scale : p.scales)
    for (int g = 0; g < p.groups; ++g) {
      anomaly::fillGroupMask(h.mask.ptr<float>(), H, W, W, scale, g, p.groups,
                             anomaly::inferenceSeed(scale));
      cv::subtract(1.0, h.mask, h.keep);
      for (int n = 0; n < N; ++n)
        for (int c = 0; c < C; ++c) {
          cv::Mat dst = plane(h.masked, n, c);
          cv::multiply(plane(blob, n, c), h.keep, dst);
        }
      runPass(h.masked, h.pass);
      // Each pixel from the pass that blanked it, averaged over the scales.
      for (int n = 0; n < N; ++n)
        for (int c = 0; c < outChannels_; ++c) {
          cv::Mat dst = plane(out, n, c);
          cv::accumulateProduct(plane(h.pass, n, c), h.mask, dst);
        }
    }
  out.convertTo(out, CV_32F, share);
}

void Engine::runPass(const cv::Mat& blob, cv::Mat& out) {
  // C channels in (framesIn() frames of channels() each), CO = outputChannels() out.
  const int N = blob.size[0], C = blob.size[1], H = blob.size[2], W = blob.size[3];
  const int CO = outChannels_;
  const int mult = std::max(1, graph_.sizeMultiple);
  const int Hp = roundUp(H, mult), Wp = roundUp(W, mult);
  // Pad bottom/right up to the size multiple by reflection (a copy only when needed).
  cv::Mat padded = blob;
  if (Hp != H || Wp != W) {
    makeBlob(net_->padded, N, C, Hp, Wp);
    padded = net_->padded;
    for (int n = 0; n < N; ++n)
      for (int c = 0; c < C; ++c) {
        cv::Mat dst = plane(padded, n, c);
        cv::copyMakeBorder(plane(blob, n, c), dst, 0, Hp - H, 0, Wp - W,
                           H > 1 && W > 1 ? cv::BORDER_REFLECT_101 : cv::BORDER_REPLICATE);
      }
  }
  const TilePlan p = plan(H, W);
  if (p.core == 0 && Hp == H && Wp == W) {  // one tile of the frame's own size: straight to out
    makeBlob(out, N, CO, H, W);
    forward(padded, out);
    return;
  }
  makeBlob(out, N, CO, H, W);
  cv::Mat& y = net_->y;
  if (p.core == 0) {
    forward(padded, y);
    for (int n = 0; n < N; ++n)
      for (int c = 0; c < CO; ++c) {
        cv::Mat dst = plane(out, n, c);
        plane(y, n, c)(cv::Rect(0, 0, W, H)).copyTo(dst);
      }
    return;
  }
  for (int ty = 0; ty < p.tilesY; ++ty)
    for (int tx = 0; tx < p.tilesX; ++tx) {
      const int y0 = ty * p.core, x0 = tx * p.core;
      const int iy0 = std::max(0, y0 - p.margin), ix0 = std::max(0, x0 - p.margin);
      const int iy1 = std::min(Hp, y0 + p.core + p.margin);
      const int ix1 = std::min(Wp, x0 + p.core + p.margin);
      cv::Mat& tile = net_->tile;
      makeBlob(tile, N, C, iy1 - iy0, ix1 - ix0);
      for (int n = 0; n < N; ++n)
        for (int c = 0; c < C; ++c) {
          cv::Mat dst = plane(tile, n, c);
          plane(padded, n, c)(cv::Rect(ix0, iy0, ix1 - ix0, iy1 - iy0)).copyTo(dst);
        }
      forward(tile, y);
      const int oh = std::min(p.core, H - y0), ow = std::min(p.core, W - x0);
      for (int n = 0; n < N; ++n)
        for (int c = 0; c < CO; ++c) {
          cv::Mat dst = plane(out, n, c)(cv::Rect(x0, y0, ow, oh));
          plane(y, n, c)(cv::Rect(x0 - ix0, y0 - iy0, ow, oh)).copyTo(dst);
        }
    }
}

}  // namespace cae::infer
