#include "infer/frame_history.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "error.hpp"

namespace cae::infer {

void FrameHistory::configure(int depth, int images, int channels, int height, int width) {
  if (depth < 0 || images < 1 || channels < 1 || height < 1 || width < 1)
    throw InvalidArgument("FrameHistory: a depth >= 0 and sizes >= 1 are needed");
  if (depth == depth_ && images == images_ && channels == channels_ && height == height_ &&
      width == width_)
    return;
  depth_ = depth;
  images_ = images;
  channels_ = channels;
  height_ = height;
  width_ = width;
  ring_.assign(std::size_t(depth), cv::Mat());
  for (cv::Mat& f : ring_) f.create(1, int(frameSamples()), CV_32F);
  newest_ = 0;
  size_ = 0;
}

std::size_t FrameHistory::frameSamples() const {
  return std::size_t(images_) * std::size_t(channels_) * std::size_t(height_) * width_;
}

const float* FrameHistory::frame(int j) const {
  // Older frame 1 sits at newest_, frame 2 before it (the ring runs backwards in time).
  const int k = ((newest_ - (j - 1)) % depth_ + depth_) % depth_;
  return ring_[std::size_t(k)].ptr<float>();
}

cv::Mat FrameHistory::plane(int j, int n, int c) const {
  if (j < 1 || j > size_ || n < 0 || n >= images_ || c < 0 || c >= channels_)
    throw InvalidArgument("FrameHistory::plane: no older frame " + std::to_string(j) + ", image " +
                          std::to_string(n) + ", channel " + std::to_string(c));
  const std::size_t hw = std::size_t(height_) * width_;
  float* p = const_cast<float*>(frame(j)) + (std::size_t(n) * channels_ + c) * hw;
  return cv::Mat(height_, width_, CV_32F, p);
}

void FrameHistory::checkBlob(const cv::Mat& blob) const {
  if (blob.dims != 4 || blob.type() != CV_32F || !blob.isContinuous() || blob.size[0] != images_ ||
      blob.size[1] != (depth_ + 1) * channels_ || blob.size[2] != height_ || blob.size[3] != width_)
    throw InvalidArgument("FrameHistory: the blob must be a continuous " + std::to_string(images_) +
                          " x " + std::to_string((depth_ + 1) * channels_) + " x " +
                          std::to_string(height_) + " x " + std::to_string(width_) + " float blob");
}

cv::Mat FrameHistory::meanOf(const float* frame, std::size_t imageStride, cv::Mat& scratch) const {
  const std::size_t hw = std::size_t(height_) * width_;
  if (images_ * channels_ == 1) return cv::Mat(height_, width_, CV_32F, const_cast<float*>(frame));
  scratch.create(height_, width_, CV_32F);
  float* dst = scratch.ptr<float>();
  std::fill(dst, dst + hw, 0.0f);
  for (int n = 0; n < images_; ++n)
    for (int c = 0; c < channels_; ++c) {
      const float* src = frame + std::size_t(n) * imageStride + std::size_t(c) * hw;
      for (std::size_t i = 0; i < hw; ++i) dst[i] += src[i];
    }
  scratch *= 1.0 / double(images_ * channels_);
  return scratch;
}

void FrameHistory::estimateShifts(const cv::Mat& blob, std::vector<Shift>& shifts) {
  checkBlob(blob);
  shifts.assign(std::size_t(size_), Shift{});
  if (height_ < kMinAlignSide || width_ < kMinAlignSide) return;
  const std::size_t image = std::size_t(depth_ + 1) * channels_ * height_ * width_;
  const cv::Mat current = meanOf(blob.ptr<float>(), image, currentMean_);
  const std::size_t olderImage = std::size_t(channels_) * height_ * width_;
  for (int j = 1; j <= size_; ++j)
    shifts[std::size_t(j - 1)] = estimateShift(current, meanOf(frame(j), olderImage, olderMean_));
}

void FrameHistory::fill(cv::Mat& blob, const std::vector<Shift>& shifts) const {
  checkBlob(blob);
  if (!shifts.empty() && int(shifts.size()) != size_)
    throw InvalidArgument("FrameHistory::fill: " + std::to_string(shifts.size()) + " shifts for " +
                          std::to_string(size_) + " older frames");
  const std::size_t hw = std::size_t(height_) * width_;
  const std::size_t image = std::size_t(depth_ + 1) * channels_ * hw;
  float* base = blob.ptr<float>();
  for (int j = 1; j <= depth_; ++j) {
    const int from = std::min(j, size_);  // 0: the current frame
    for (int n = 0; n < images_; ++n)
      for (int c = 0; c < channels_; ++c) {
        float* dst = base + std::size_t(n) * image + (std::size_t(j) * channels_ + c) * hw;
        const float* src = from == 0 ? base + std::size_t(n) * image + std::size_t(c) * hw
                                     : frame(from) + (std::size_t(n) * channels_ + c) * hw;
        if (from == 0 || shifts.empty() || !shifts[std::size_t(from - 1)].found) {
          std::memcpy(dst, src, hw * sizeof(float));
          continue;
        }
        const cv::Mat in(height_, width_, CV_32F, const_cast<float*>(src));
        cv::Mat out(height_, width_, CV_32F, dst);
        applyShift(in, shifts[std::size_t(from - 1)], out);
        if (out.ptr<float>() != dst) out.copyTo(cv::Mat(height_, width_, CV_32F, dst));
      }
  }
}

void FrameHistory::push(const cv::Mat& blob) {
  checkBlob(blob);
  if (depth_ == 0) return;
  newest_ = (newest_ + 1) % depth_;  // the oldest slot (or an unused one) becomes the newest
  float* dst = ring_[std::size_t(newest_)].ptr<float>();
  const std::size_t per = std::size_t(channels_) * height_ * width_;
  const std::size_t image = std::size_t(depth_ + 1) * per;
  for (int n = 0; n < images_; ++n)
    std::memcpy(dst + std::size_t(n) * per, blob.ptr<float>() + std::size_t(n) * image,
                per * sizeof(float));
  size_ = std::min(size_ + 1, depth_);
}

Shift scaleShift(const Shift& s, double sx, double sy) {
  Shift r = s;
  r.dx *= sx;
  r.dy *= sy;
  return r;
}

}  // namespace cae::infer
