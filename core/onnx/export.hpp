// Export of an engine model to one ONNX file that cv::dnn::readNetFromONNX loads (DESIGN.md,
// "The model file contract"). No onnx or protobuf types leak through this header.
//
//   cae::onnx::ExportOptions o;
//   o.task = cae::onnx::Task::Denoise;  o.format = "GRAY8";  o.noiseSigma = 0.1;
//   cae::onnx::exportOnnx(model, "denoise.onnx", o);
//
// Layers map to ONNX opset 13: Conv2d → Conv, ConvTranspose2d → ConvTranspose, Dense → Gemm
// (transB=1, after a Flatten when its input is 4-D), MaxPool2d → MaxPool, Upsample → Resize
// (nearest, asymmetric, floor), ReLU/LeakyReLU/Sigmoid/Tanh → Relu/LeakyRelu/Sigmoid/Tanh,
// Add → Add, Concat → Concat(axis 1), Flatten → Flatten, Reshape → Reshape, GDN / IGDN → Mul,
// Conv 1x1, Sqrt, Div / Mul (x / or * sqrt(beta + gamma x^2)), and a VAE's
// Sampling in its inference form z = mu (consumers read mu; Identity when it is the output).
// A dilated ConvTranspose is written with its kernel spread out with zeros and dilation 1,
// because OpenCV 4.6 ignores ConvTranspose dilations.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "nn/model.hpp"
#include "onnx/metadata.hpp"

namespace cae::onnx {

// What to write into metadata_props besides model.metadata(). An unset field writes nothing.
// Precedence, lowest first: model.metadata(), the fields below, `extra`. cae.receptive_field is
// computed from the graph (receptiveField()) unless one of those sets it.
struct ExportOptions {
  Task task = Task::Unknown;
  std::string format;
  std::optional<double> inputScale, inputOffset;
  std::optional<bool> residual;
  std::optional<int> receptiveField;
  std::optional<double> noiseSigma;
  std::vector<int> latentShape;
  std::optional<double> quantStep;
  // The anomaly decision, written as one unit: map kind and sigma, the statistics, and the
  // threshold when calibrated.
  std::optional<anomaly::Decision> anomaly;
  std::optional<anomaly::Inpainting> inpaint;  // cae.inpaint
  std::optional<Stft> stft;
  std::string trainerVersion, recipe, metrics;
  std::map<std::string, std::string> extra;
  // false: write cae.receptive_field only when given, never the computed value.
  bool computeReceptiveField = true;

  std::string docString;  // ModelProto doc_string, free text
};

// Metadata map exportOnnx() would write for this model and these options.
std::map<std::string, std::string> exportMetadata(const nn::Model& model,
                                                  const ExportOptions& opts = {});

// Serialises the model (weights as float32) to ONNX bytes after onnx::checker accepts them.
// InvalidArgument: model not compiled, or a layer type without an ONNX mapping.
// FormatError: the checker rejects the graph (a bug in this exporter; the message says why).
std::string exportOnnxBytes(const nn::Model& model, const ExportOptions& opts = {});

// exportOnnxBytes written atomically: a temporary file beside path, then rename. IoError when
// the file cannot be written.
void exportOnnx(const nn::Model& model, const std::string& path, const ExportOptions& opts = {});

// Runs onnx::checker on a file. IoError: unreadable; FormatError: not ONNX, or the checker's
// complaint.
void checkOnnxFile(const std::string& path);

// The graph input is float32 [batch, C, H, W]: H and W are symbolic ("height", "width") when every
// layer is convolutional, fixed to model.inputShape() when a Dense, Flatten or Reshape needs them.
bool fullyConvolutional(const nn::Model& model);

}  // namespace cae::onnx
