// A trained codec at work: 8-bit pictures of any size to cae frames and back, for caeenc,
// caedec and cae-codec. The model is the pair cae-train --task compress writes: the encoder
// (X.onnx, cae.task codec-encoder) and the decoder beside it (X.decoder.onnx), both carrying
// cae.codec and cae.cdf_tables.
//
//   cae::codec::PictureEncoder enc({"models/codec-hq-q3.onnx"});
//   std::vector<std::uint8_t> frame = enc.encode(rgb8);       // CV_8UC3 RGB or CV_8UC1, any size
//   cae::codec::PictureDecoder dec({"models/codec-hq-q3.onnx"}); // finds the .decoder.onnx
//   cv::Mat back = dec.decode(frame.data(), frame.size());     // FormatError for damaged frames
//
// A picture is padded (edges replicated) to the model's stride, run through the analysis,
// rounded (ties to even, as the trainer's quantiser), entropy-coded channel by channel and framed
// (core/codec/bitstream.hpp); decoding undoes that and crops. A gray picture goes through an RGB
// model as three equal channels and comes back gray. The decoder's output of a frame is the
// encoder's reconstruction (PictureEncoder::reconstruct) exactly, on the same backend.
#pragma once

#include <cstdint>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "codec/cdf.hpp"

namespace cae::codec {

struct CodecOptions {
  std::string model;  // the encoder file, or the decoder file (the other is found beside it)
  // Backend of both halves: "auto" (oneDNN where it covers the graph, else OpenCV DNN),
  // "opencv" or "onednn" (InvalidArgument where it does not cover the graph).
  std::string backend = "auto";
  int threads = 0;  // 0: the backend's default
};

// What cae.codec says, and the tables.
struct CodecInfo {
  int stride = 0, latent = 0, channels = 0;  // channels: of the pictures the model codes
  std::uint64_t id = 0;
  double lambda = 0;
  std::vector<CdfTable> tables;
  std::string encoderPath, decoderPath;
};

// The two files of a codec from either one; IoError when one is missing, FormatError when they
// are not a codec pair (task, cae.codec, tables, identifiers that differ).
CodecInfo readCodec(const std::string& model);

class PictureEncoder {
 public:
  explicit PictureEncoder(const CodecOptions& o);
  ~PictureEncoder();
  PictureEncoder(const PictureEncoder&) = delete;
  PictureEncoder& operator=(const PictureEncoder&) = delete;

  const CodecInfo& info() const;
  const std::string& backendInUse() const;  // "onednn" or "opencv"
  // One frame of the picture (CV_8UC1 or CV_8UC3 RGB, any size and stride). InvalidArgument for
  // other types or sizes the frame format cannot carry.
  std::vector<std::uint8_t> encode(const cv::Mat& picture, int ratePoint = 0);
  // What a decoder makes of the last encode(): the synthesis of the same latents, cropped.
  cv::Mat reconstruct();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class PictureDecoder {
 public:
  explicit PictureDecoder(const CodecOptions& o);
  ~PictureDecoder();
  PictureDecoder(const PictureDecoder&) = delete;
  PictureDecoder& operator=(const PictureDecoder&) = delete;

  const CodecInfo& info() const;
  const std::string& backendInUse() const;
  // The picture of one frame (CV_8UC1 or CV_8UC3 RGB as it was coded). FormatError for a frame
  // that is damaged, truncated, of another version or made by another model.
  cv::Mat decode(const std::uint8_t* frame, std::size_t size);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cae::codec
