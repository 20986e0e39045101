// The coded frame of caeenc, caedec and cae-codec: a versioned header, the entropy-coded payload
// and a CRC, so that a damaged stream or one made with another model is refused with a message
// that says which, before any decoding starts.
//
// Layout (integers little-endian):
//   offset size
//     0     4   magic "CAEF"
//     4     1   version (kBitstreamVersion)
//     5     1   channels: 1 (gray) or 3 (RGB)
//     6     2   rate point: the model's quality index the frame was coded at
//     8     4   width  \  of the picture before padding to the model's multiple
//    12     4   height /
//    16     8   model identifier (derived from the model's weights: codec/model_id)
//    24     4   payload length in bytes
//    28     4   CRC-32 (IEEE 802.3, boost::crc_32_type) of bytes 0..27 and of the payload
//    32     -   payload
//
//   std::vector<std::uint8_t> f = writeFrame({3, 0, 640, 480, id}, payload);
//   FrameView v = parseFrame(f.data(), f.size());   // FormatError: what is wrong with it
//   requireModel(v.header, id);                      // FormatError: made with another model
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cae::codec {

constexpr std::uint8_t kBitstreamVersion = 1;
constexpr std::size_t kFrameHeaderSize = 32;
// Pictures larger than this on a side, or than kMaxPixels in all, are refused.
constexpr std::uint32_t kMaxSide = 32768;
constexpr std::uint64_t kMaxPixels = std::uint64_t(1) << 28;

struct FrameHeader {
  int channels = 0;
  int ratePoint = 0;
  int width = 0, height = 0;
  std::uint64_t modelId = 0;
};

struct FrameView {
  FrameHeader header;
  const std::uint8_t* payload = nullptr;  // into the parsed bytes
  std::size_t payloadSize = 0;
  std::size_t frameSize = 0;  // header + payload: where the next frame would start
};

// InvalidArgument when the header does not describe a picture this format can carry.
std::vector<std::uint8_t> writeFrame(const FrameHeader& h,
                                     const std::vector<std::uint8_t>& payload);

// Reads one frame at the start of data (bytes after it are left alone: frameSize says where it
// ends). FormatError, with the reason, when it is not a cae frame, is of another version, is
// truncated, describes an impossible picture or fails its CRC.
FrameView parseFrame(const std::uint8_t* data, std::size_t size);

// FormatError when the frame was coded by a model other than the one with this identifier.
void requireModel(const FrameHeader& h, std::uint64_t modelId);

// The identifier as 16 hex digits (messages, cards).
std::string modelIdHex(std::uint64_t id);

}  // namespace cae::codec
