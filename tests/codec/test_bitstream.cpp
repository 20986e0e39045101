// core/codec's frame format: what is written reads back; every truncation, every bit flip,
// another model's frame, another version and an empty buffer are refused with the reason.
#define BOOST_TEST_MODULE bitstream
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "codec/bitstream.hpp"
#include "error.hpp"

using cae::codec::FrameHeader;
using cae::codec::FrameView;
using cae::codec::parseFrame;
using cae::codec::writeFrame;

namespace {

std::vector<std::uint8_t> somePayload(std::size_t n) {
  std::mt19937 g(1);
  std::vector<std::uint8_t> p(n);
  for (auto& b : p) b = std::uint8_t(g());
  return p;
}

const FrameHeader kHeader{3, 2, 641, 479, 0x0123456789abcdefULL};

std::string refusal(const std::vector<std::uint8_t>& bytes) {
  try {
    (void)parseFrame(bytes.data(), bytes.size());
  } catch (const cae::FormatError& e) {
    return e.what();
  }
  return {};
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_written_frame_reads_back_and_says_where_it_ends) {
  const std::vector<std::uint8_t> payload = somePayload(1000);
  std::vector<std::uint8_t> f = writeFrame(kHeader, payload);
  BOOST_TEST(f.size() == cae::codec::kFrameHeaderSize + payload.size());
  f.push_back(0x55);  // the next frame's first byte: not part of this one
  const FrameView v = parseFrame(f.data(), f.size());
  BOOST_TEST(v.header.channels == 3);
  BOOST_TEST(v.header.ratePoint == 2);
  BOOST_TEST(v.header.width == 641);
  BOOST_TEST(v.header.height == 479);
  BOOST_TEST(v.header.modelId == kHeader.modelId);
  BOOST_TEST(v.frameSize == f.size() - 1);
  BOOST_TEST(std::vector<std::uint8_t>(v.payload, v.payload + v.payloadSize) == payload);
  BOOST_CHECK_NO_THROW(cae::codec::requireModel(v.header, kHeader.modelId));
  const std::vector<std::uint8_t> empty = writeFrame({1, 0, 1, 1, 0}, {});
  BOOST_TEST(parseFrame(empty.data(), empty.size()).payloadSize == 0u);
}

BOOST_AUTO_TEST_CASE(every_truncation_is_refused_with_the_reason) {
  const std::vector<std::uint8_t> f = writeFrame(kHeader, somePayload(300));
  for (std::size_t n = 0; n < f.size(); ++n) {
    const std::string why =
        refusal(std::vector<std::uint8_t>(f.begin(), f.begin() + std::ptrdiff_t(n)));
    BOOST_TEST_CONTEXT("kept " << n << " bytes") {
      BOOST_TEST(!why.empty());
      if (n >= 4) BOOST_TEST(why.find("truncated") != std::string::npos, why);
    }
  }
  BOOST_TEST(refusal({}).find("not a cae frame") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(every_single_bit_flip_is_refused) {
  const std::vector<std::uint8_t> f = writeFrame(kHeader, somePayload(200));
  for (std::size_t i = 0; i < f.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<std::uint8_t> d = f;
      d[i] ^= std::uint8_t(1u << bit);
      BOOST_TEST_CONTEXT("byte " << i << " bit " << bit) { BOOST_TEST(!refusal(d).empty()); }
    }
  std::vector<std::uint8_t> d = f;
  d[40] ^= 0x10;
  BOOST_TEST(refusal(d).find("CRC") != std::string::npos, refusal(d));
}

BOOST_AUTO_TEST_CASE(another_models_frame_and_another_version_are_named_as_such) {
  const std::vector<std::uint8_t> f = writeFrame(kHeader, somePayload(10));
  const FrameView v = parseFrame(f.data(), f.size());
  try {
    cae::codec::requireModel(v.header, 42);
    BOOST_FAIL("another model's frame was accepted");
  } catch (const cae::FormatError& e) {
    const std::string m = e.what();
    BOOST_TEST(m.find("0123456789abcdef") != std::string::npos, m);
    BOOST_TEST(m.find("000000000000002a") != std::string::npos, m);
  }
  std::vector<std::uint8_t> v2 = f;
  v2[4] = 2;
  BOOST_TEST(refusal(v2).find("version 2") != std::string::npos, refusal(v2));
}

BOOST_AUTO_TEST_CASE(impossible_pictures_are_refused_on_both_sides) {
  BOOST_CHECK_THROW(writeFrame({2, 0, 64, 64, 0}, {}), cae::InvalidArgument);
  BOOST_CHECK_THROW(writeFrame({3, 0, 0, 64, 0}, {}), cae::InvalidArgument);
  BOOST_CHECK_THROW(writeFrame({3, 0, 40000, 64, 0}, {}), cae::InvalidArgument);
  BOOST_CHECK_THROW(writeFrame({3, 0, 30000, 30000, 0}, {}), cae::InvalidArgument);
  BOOST_CHECK_THROW(writeFrame({3, -1, 64, 64, 0}, {}), cae::InvalidArgument);
  std::vector<std::uint8_t> f = writeFrame(kHeader, {});
  f[5] = 4;  // four channels: refused before the CRC is looked at
  BOOST_TEST(refusal(f).find("4 channels") != std::string::npos, refusal(f));
}
