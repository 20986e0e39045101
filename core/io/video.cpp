#include "io/video.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "error.hpp"

namespace cae::io {

using nn::Scalar;
using nn::Shape;
using nn::Tensor;

namespace {

// An 8-bit BGR frame as a {1, C, H, W} tensor: gray, or RGB planes.
Tensor toTensor(const cv::Mat& bgr, bool gray) {
  cv::Mat m;
  if (gray && bgr.channels() == 1)
    m = bgr;
  else if (gray)
    cv::cvtColor(bgr, m, cv::COLOR_BGR2GRAY);
  else if (bgr.channels() == 1)
    cv::cvtColor(bgr, m, cv::COLOR_GRAY2RGB);
  else
    cv::cvtColor(bgr, m, cv::COLOR_BGR2RGB);
  const int c = m.channels();
  Tensor t(Shape{1, c, m.rows, m.cols});
  const std::size_t plane = t.shape().plane();
  for (int y = 0; y < m.rows; ++y) {
    const unsigned char* row = m.ptr<unsigned char>(y);
    for (int x = 0; x < m.cols; ++x)
      for (int k = 0; k < c; ++k)
        t[plane * std::size_t(k) + std::size_t(y) * std::size_t(m.cols) + std::size_t(x)] =
            Scalar(row[x * c + k]) / 255;
  }
  return t;
}

}  // namespace

std::vector<VideoFrame> readVideoFrames(const std::string& path, ColorMode mode, int step,
                                        int maxFrames) {
  if (step < 1) throw InvalidArgument("readVideoFrames: frame step must be >= 1");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw IoError("cannot open video '" + path + "': " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw IoError("cannot open video '" + path + "': it is a folder");

  cv::VideoCapture cap;
  // FFmpeg first, then OpenCV's own MJPEG reader; the GStreamer backend is left out (it only
  // adds noise on files FFmpeg refused, and the plugin process runs GStreamer itself).
  for (int api : {int(cv::CAP_FFMPEG), int(cv::CAP_OPENCV_MJPEG)}) {
    try {
      if (cap.open(path, api)) break;
    } catch (const cv::Exception&) {
      // the next backend may still read it
    }
  }
  if (!cap.isOpened()) throw FormatError("cannot decode video '" + path + "' (not a video?)");

  std::vector<VideoFrame> out;
  cv::Mat frame;
  // grab() skips the colour conversion of frames that are not kept.
  for (int i = 0; maxFrames <= 0 || int(out.size()) < maxFrames; ++i) {
    if (!cap.grab()) break;
    if (i % step != 0) continue;
    if (!cap.retrieve(frame) || frame.empty()) break;
    if (frame.depth() != CV_8U)
      throw FormatError("video '" + path + "' decodes to a non-8-bit frame type");
    out.push_back({toTensor(frame, mode == ColorMode::Gray), i});
  }
  if (out.empty()) throw FormatError("video '" + path + "' has no decodable frame");
  return out;
}

}  // namespace cae::io
