// Frames of a video file as engine tensors, decoded by OpenCV's cv::VideoCapture (its FFmpeg and
// built-in MJPEG backends). OpenCV stays inside video.cpp.
#pragma once

#include <string>
#include <vector>

#include "io/image.hpp"
#include "nn/tensor.hpp"

namespace cae::io {

struct VideoFrame {
  nn::Tensor pixels;  // {1, C, H, W} in [0, 1]: C = 1 for Gray, else 3 (RGB)
  int index = 0;      // frame number in the file
};

// Frames 0, step, 2·step, ... of the file, at most maxFrames of them (0: no cap). Throws
// InvalidArgument for step < 1, IoError when the file is missing, FormatError when OpenCV cannot
// open it or decodes no frame.
std::vector<VideoFrame> readVideoFrames(const std::string& path, ColorMode mode, int step,
                                        int maxFrames);

}  // namespace cae::io
