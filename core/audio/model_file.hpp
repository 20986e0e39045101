// What core/audio's model loaders (denoiser.hpp MaskModel, mel_anomaly.hpp MelAnomalyModel) check
// alike before their own checks: the file is there, it is a model of the task asked for with a
// usable cae.stft, and OpenCV DNN reads it (the reference path; the audio models are small).
#pragma once

#include <opencv2/dnn.hpp>
#include <string>

#include "onnx/metadata.hpp"

namespace cae::audio {

// IoError for a missing file, FormatError for a file that is no model, InvalidArgument for a
// model of another task, without cae.stft, or whose STFT's hop does not divide its size.
onnx::ModelInfo readAudioModelInfo(const std::string& path, onnx::Task task);
// FormatError naming the file when OpenCV DNN cannot read it; the net runs on the CPU.
cv::dnn::Net readAudioNet(const std::string& path);

}  // namespace cae::audio
