#include "codec/bitstream.hpp"

#include <boost/crc.hpp>
#include <cstdio>
#include <cstring>

#include "error.hpp"

namespace cae::codec {

namespace {

constexpr char kMagic[4] = {'C', 'A', 'E', 'F'};

void putLe(std::vector<std::uint8_t>& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(std::uint8_t(v >> (8 * i)));
}

std::uint64_t getLe(const std::uint8_t* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

std::uint32_t crcOf(const std::uint8_t* head, const std::uint8_t* payload, std::size_t n) {
  boost::crc_32_type crc;
  crc.process_bytes(head, kFrameHeaderSize - 4);
  if (n) crc.process_bytes(payload, n);
  return crc.checksum();
}

// The reason a header cannot describe a picture, or empty.
std::string badPicture(std::uint64_t channels, std::uint64_t width, std::uint64_t height) {
  if (channels != 1 && channels != 3)
    return std::to_string(channels) + " channels (cae frames carry 1 or 3)";
  if (width == 0 || height == 0 || width > kMaxSide || height > kMaxSide ||
      width * height > kMaxPixels)
    return "a picture of " + std::to_string(width) + "x" + std::to_string(height);
  return {};
}

}  // namespace

std::vector<std::uint8_t> writeFrame(const FrameHeader& h,
                                     const std::vector<std::uint8_t>& payload) {
  if (h.channels < 0 || h.width < 0 || h.height < 0)
    throw InvalidArgument("cae frame: negative picture size or channels");
  const std::string bad =
      badPicture(std::uint64_t(h.channels), std::uint64_t(h.width), std::uint64_t(h.height));
  if (!bad.empty()) throw InvalidArgument("cae frame cannot carry " + bad);
  if (h.ratePoint < 0 || h.ratePoint > 0xffff)
    throw InvalidArgument("cae frame: rate point " + std::to_string(h.ratePoint));
  if (payload.size() > 0xffffffffu) throw InvalidArgument("cae frame: payload over 4 GiB");
  std::vector<std::uint8_t> out(kMagic, kMagic + 4);
  out.reserve(kFrameHeaderSize + payload.size());
  out.push_back(kBitstreamVersion);
  out.push_back(std::uint8_t(h.channels));
  putLe(out, std::uint64_t(h.ratePoint), 2);
  putLe(out, std::uint64_t(h.width), 4);
  putLe(out, std::uint64_t(h.height), 4);
  putLe(out, h.modelId, 8);
  putLe(out, payload.size(), 4);
  putLe(out, crcOf(out.data(), payload.data(), payload.size()), 4);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

FrameView parseFrame(const std::uint8_t* data, std::size_t size) {
  if (size < 4 || std::memcmp(data, kMagic, 4) != 0)
    throw FormatError("not a cae frame (no CAEF magic)");
  if (size < kFrameHeaderSize)
    throw FormatError("cae frame truncated: " + std::to_string(size) +
                      " bytes, the header alone is " + std::to_string(kFrameHeaderSize));
  if (data[4] != kBitstreamVersion)
    throw FormatError("cae frame of bitstream version " + std::to_string(data[4]) +
                      "; this cae reads version " + std::to_string(kBitstreamVersion));
  FrameView v;
  const std::string bad = badPicture(data[5], getLe(data + 8, 4), getLe(data + 12, 4));
  if (!bad.empty()) throw FormatError("cae frame header describes " + bad);
  v.header.channels = data[5];
  v.header.ratePoint = int(getLe(data + 6, 2));
  v.header.width = int(getLe(data + 8, 4));
  v.header.height = int(getLe(data + 12, 4));
  v.header.modelId = getLe(data + 16, 8);
  v.payloadSize = std::size_t(getLe(data + 24, 4));
  if (v.payloadSize > size - kFrameHeaderSize)
    throw FormatError("cae frame truncated: the header announces " + std::to_string(v.payloadSize) +
                      " payload bytes, " + std::to_string(size - kFrameHeaderSize) + " are there");
  v.payload = data + kFrameHeaderSize;
  v.frameSize = kFrameHeaderSize + v.payloadSize;
  if (crcOf(data, v.payload, v.payloadSize) != std::uint32_t(getLe(data + 28, 4)))
    throw FormatError("cae frame is damaged (CRC mismatch)");
  return v;
}

void requireModel(const FrameHeader& h, std::uint64_t modelId) {
  if (h.modelId != modelId)
    throw FormatError("cae frame was coded with model " + modelIdHex(h.modelId) +
                      ", not with this one (" + modelIdHex(modelId) + ")");
}

std::string modelIdHex(std::uint64_t id) {
  char s[17];
  std::snprintf(s, sizeof s, "%016llx", static_cast<unsigned long long>(id));
  return s;
}

}  // namespace cae::codec
