// libFuzzer target for what caedec and `cae-codec decode` do with bytes before any pixel: the
// frame parser (magic, version, sizes, CRC), the entropy decoder of the latents, and the reader
// of a model's cae.cdf_tables. The CRC keeps random bytes from ever reaching the payload, so the
// first byte (modulo 3) picks the route:
//   0: the bytes are a frame; parse it and, when it parses, decode its payload as latents of its
//      picture under the target's tables;
//   1: the rest is a payload; decode it as latents of a shape read from the next 3 bytes;
//   2: the rest is the text of cae.cdf_tables; parse it, and when it parses, code a few values
//      (in range, at the edges and escaped) under each table and decode them: a value that does
//      not come back aborts (a finding).
// A cae::FormatError is a clean refusal; a crash, a sanitizer report, a hang (libFuzzer's
// -timeout) or any other exception is a finding.
//
//   scripts/fuzz.sh codec [seconds]        # builds with clang + libFuzzer and runs it
//   build/tests/fuzz/test_fuzz_replay_codec   # replays tests/fuzz/corpus-codec without libFuzzer
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "codec/bitstream.hpp"
#include "codec/latents.hpp"
#include "codec/rans.hpp"
#include "error.hpp"

namespace {

// Tables like a trained model's: discretised Laplacians of growing width, one per channel, with
// offsets on both sides of zero; a few narrow ones so that escapes are common.
const std::vector<cae::codec::CdfTable>& tables() {
  static const std::vector<cae::codec::CdfTable> t = [] {
    std::vector<cae::codec::CdfTable> v;
    for (int c = 0; c < 8; ++c) {
      const int half = 1 + 3 * c;
      std::vector<double> p;
      for (int i = -half; i <= half; ++i) p.push_back(std::exp(-std::abs(i) / (0.3 + c)));
      v.push_back(cae::codec::quantizeCdf(p, 1e-4, -half));
    }
    return v;
  }();
  return t;
}

constexpr int kStride = 16;

void decodeFrame(const std::uint8_t* data, std::size_t size) {
  const cae::codec::FrameView f = cae::codec::parseFrame(data, size);
  const cae::codec::LatentShape s =
      cae::codec::latentShapeFor(f.header.width, f.header.height, kStride, int(tables().size()));
  (void)cae::codec::decodeLatents(f.payload, f.payloadSize, s, tables());
}

void parseTables(const std::uint8_t* data, std::size_t size) {
  const std::vector<cae::codec::CdfTable> tables =
      cae::codec::parseTables(std::string(reinterpret_cast<const char*>(data), size));
  cae::codec::RansEncoder enc;
  std::vector<std::int32_t> put;
  for (const cae::codec::CdfTable& t : tables)
    for (std::int64_t v : {std::int64_t(t.offset), std::int64_t(t.offset) + t.escape() - 1,
                           std::int64_t(t.offset) - 1, std::int64_t(t.offset) + t.escape(),
                           std::int64_t(0), std::int64_t(INT32_MIN), std::int64_t(INT32_MAX)}) {
      const auto x = std::int32_t(std::clamp<std::int64_t>(v, INT32_MIN, INT32_MAX));
      enc.put(x, t);
      put.push_back(x);
    }
  const std::vector<std::uint8_t> bytes = enc.finish();
  cae::codec::RansDecoder dec(bytes.data(), bytes.size());
  std::size_t i = 0;
  for (const cae::codec::CdfTable& t : tables)
    for (int k = 0; k < 7; ++k)
      if (dec.get(t) != put[i++]) std::abort();
  dec.finish();
}

void decodePayload(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return;
  const cae::codec::LatentShape s{1 + data[0] % 8, 1 + data[1] % 32, 1 + data[2] % 32};
  const std::vector<cae::codec::CdfTable> t(tables().begin(), tables().begin() + s.channels);
  (void)cae::codec::decodeLatents(data + 3, size - 3, s, t);
}

}  // namespace

// Inputs decoded to the end without a refusal (the replay test checks that the seeds do).
int caeFuzzDecoded = 0;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  try {
    if (data[0] % 3 == 0)
      decodeFrame(data + 1, size - 1);
    else if (data[0] % 3 == 1)
      decodePayload(data + 1, size - 1);
    else
      parseTables(data + 1, size - 1);
    ++caeFuzzDecoded;
  } catch (const cae::FormatError&) {
  }
  return 0;
}
