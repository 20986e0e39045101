#include "audio/model_file.hpp"

#include <filesystem>

#include "error.hpp"

namespace cae::audio {

onnx::ModelInfo readAudioModelInfo(const std::string& path, onnx::Task task) {
  if (!std::filesystem::is_regular_file(path)) throw IoError("no such model file: " + path);
  onnx::ModelInfo info = onnx::readModelInfo(path);  // FormatError for a file that is no model
  if (info.task != task)
    throw InvalidArgument(path + " is not an " + onnx::taskName(task) + " model (cae.task is '" +
                          onnx::taskName(info.task) + "')");
  if (!info.stft) throw InvalidArgument(path + " has no cae.stft (n_fft, hop, rate)");
  const onnx::Stft& s = *info.stft;
  if (s.nFft < 16 || s.hop < 1 || s.nFft % s.hop != 0 || s.sampleRate <= 0)
    throw InvalidArgument(path + ": cae.stft " + onnx::formatStft(s) + " is not usable");
  return info;
}

cv::dnn::Net readAudioNet(const std::string& path) {
  try {
    cv::dnn::Net net = cv::dnn::readNetFromONNX(path);
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    return net;
  } catch (const cv::Exception& e) {
    throw FormatError(path + ": OpenCV DNN cannot read the model: " + e.err);
  }
}

}  // namespace cae::audio
