// core/codec's CDF tables and rANS coder: random symbol streams under random tables round-trip
// exactly (extreme tables and escaped values included), the stream costs what the tables say,
// and damaged streams end in a FormatError or wrong values, never a crash or a hang.
#define BOOST_TEST_MODULE entropy_coder
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <climits>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "codec/cdf.hpp"
#include "codec/latents.hpp"
#include "codec/rans.hpp"
#include "error.hpp"

using cae::codec::CdfTable;
using cae::codec::kCdfTotal;
using cae::codec::quantizeCdf;
using cae::codec::RansDecoder;
using cae::codec::RansEncoder;

namespace {

// A table of n values: a discretised Laplacian of random scale around a random centre, or (one
// time in four) a random spiky pmf with zeros, which quantisation must still give counts.
CdfTable randomTable(std::mt19937& g) {
  const int n = std::uniform_int_distribution<int>(1, 300)(g);
  std::vector<double> p(std::size_t(n), 0.0);
  if (g() % 4 == 0) {
    for (double& v : p) v = g() % 3 == 0 ? 0.0 : std::pow(std::uniform_real_distribution<>()(g), 8);
    p[g() % std::size_t(n)] += 1.0;
  } else {
    const double scale = std::exp(std::uniform_real_distribution<>(-3, 4)(g));
    const double centre = std::uniform_real_distribution<>(0, n - 1)(g);
    for (int i = 0; i < n; ++i) p[std::size_t(i)] = std::exp(-std::abs(i - centre) / scale);
  }
  const double tail = std::pow(10.0, std::uniform_real_distribution<>(-9, -1)(g));
  return quantizeCdf(p, tail, std::uniform_int_distribution<int>(-200, 100)(g));
}

// A value drawn from t's own distribution, or (one time in 50) anywhere in 32 bits.
std::int32_t drawValue(const CdfTable& t, std::mt19937& g) {
  if (g() % 50 == 0) return std::int32_t(g());
  const std::uint32_t r = g() % kCdfTotal;
  const int s = int(std::upper_bound(t.cdf.begin(), t.cdf.end(), r) - t.cdf.begin()) - 1;
  if (s < t.escape()) return t.offset + s;
  return g() % 2 ? t.offset - 1 - std::int32_t(g() % 1000)
                 : t.offset + t.escape() + std::int32_t(g() % 1000);
}

struct Stream {
  std::vector<CdfTable> tables;
  std::vector<int> which;  // the table of each value
  std::vector<std::int32_t> values;
};

Stream randomStream(std::uint32_t seed, int tables, int values) {
  std::mt19937 g(seed);
  Stream s;
  for (int i = 0; i < tables; ++i) s.tables.push_back(randomTable(g));
  for (int i = 0; i < values; ++i) {
    s.which.push_back(int(g() % std::uint32_t(tables)));
    s.values.push_back(drawValue(s.tables[std::size_t(s.which.back())], g));
  }
  return s;
}

std::vector<std::uint8_t> encode(const Stream& s) {
  RansEncoder enc;
  for (std::size_t i = 0; i < s.values.size(); ++i)
    enc.put(s.values[i], s.tables[std::size_t(s.which[i])]);
  return enc.finish();
}

std::vector<std::int32_t> decode(const Stream& s, const std::vector<std::uint8_t>& bytes) {
  RansDecoder dec(bytes.data(), bytes.size());
  std::vector<std::int32_t> out;
  for (int w : s.which) out.push_back(dec.get(s.tables[std::size_t(w)]));
  dec.finish();
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(quantised_tables_keep_every_symbol_and_follow_the_pmf) {
  std::mt19937 g(7);
  for (int k = 0; k < 200; ++k) {
    const CdfTable t = randomTable(g);
    BOOST_REQUIRE_NO_THROW(cae::codec::validate(t));
    BOOST_TEST(t.cdf.back() == kCdfTotal);
  }
  // A smooth pmf keeps its shape to within the rounding of 16 bits.
  const CdfTable t = quantizeCdf({0.25, 0.5, 0.25}, 0.0, -1);
  BOOST_TEST(t.freq(0) == 16384u);
  BOOST_TEST(t.freq(1) == 32767u);  // the escape's one count comes from the largest
  BOOST_TEST(t.freq(2) == 16384u);
  BOOST_TEST(t.freq(3) == 1u);
  BOOST_TEST(cae::codec::bitsOf(t, 0) == 1.0, boost::test_tools::tolerance(1e-4));
  BOOST_TEST(cae::codec::bitsOf(t, 5) == 16.0);  // escaped: the escape's own bits
}

BOOST_AUTO_TEST_CASE(bad_pmfs_and_bad_tables_are_refused) {
  BOOST_CHECK_THROW(quantizeCdf({}, 0.1, 0), cae::InvalidArgument);
  BOOST_CHECK_THROW(quantizeCdf({0.5, -0.1}, 0.1, 0), cae::InvalidArgument);
  BOOST_CHECK_THROW(quantizeCdf({0.5, NAN}, 0.1, 0), cae::InvalidArgument);
  BOOST_CHECK_THROW(quantizeCdf({0.0, 0.0}, 0.0, 0), cae::InvalidArgument);
  BOOST_CHECK_THROW(quantizeCdf(std::vector<double>(4096, 1.0), 0.1, 0), cae::InvalidArgument);
  CdfTable t = quantizeCdf({0.2, 0.8}, 0.01, 0);
  CdfTable flat = t;
  flat.cdf[2] = flat.cdf[1];
  BOOST_CHECK_THROW(cae::codec::validate(flat), cae::FormatError);
  CdfTable short_total = t;
  short_total.cdf.back() -= 1;
  BOOST_CHECK_THROW(cae::codec::validate(short_total), cae::FormatError);
  CdfTable empty;
  BOOST_CHECK_THROW(cae::codec::validate(empty), cae::FormatError);
  CdfTable high = t;
  high.offset = INT32_MAX;
  BOOST_CHECK_THROW(cae::codec::validate(high), cae::FormatError);
}

BOOST_AUTO_TEST_CASE(random_streams_under_random_tables_round_trip_exactly) {
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    const Stream s = randomStream(seed, 1 + int(seed % 17), 5000);
    const std::vector<std::uint8_t> bytes = encode(s);
    BOOST_TEST_CONTEXT("seed " << seed) { BOOST_TEST(decode(s, bytes) == s.values); }
  }
}

BOOST_AUTO_TEST_CASE(extreme_tables_and_values_round_trip) {
  std::vector<CdfTable> tables{
      quantizeCdf({1.0}, 0.0, 0),                               // one value, all but two counts
      quantizeCdf({1.0, 1e-12, 1e-12}, 1e-12, INT32_MIN),       // lowest offset, skewed
      quantizeCdf(std::vector<double>(4095, 1.0), 0.0, -2047),  // the widest, uniform
      quantizeCdf({1e-12}, 1.0, INT32_MAX - 1),                 // nearly all escape, at the top
  };
  const std::vector<std::int32_t> specials{
      0, 1, -1, INT32_MIN, INT32_MAX, 2047, -2048, INT32_MIN + 1, INT32_MAX - 1, 12345678};
  RansEncoder enc;
  std::vector<std::pair<int, std::int32_t>> put;
  for (int rep = 0; rep < 3; ++rep)
    for (std::size_t t = 0; t < tables.size(); ++t)
      for (std::int32_t v : specials) {
        enc.put(v, tables[t]);
        put.emplace_back(int(t), v);
      }
  const std::vector<std::uint8_t> bytes = enc.finish();
  RansDecoder dec(bytes.data(), bytes.size());
  for (const auto& [t, v] : put) BOOST_TEST(dec.get(tables[std::size_t(t)]) == v);
  BOOST_CHECK_NO_THROW(dec.finish());
}

BOOST_AUTO_TEST_CASE(an_empty_stream_is_four_bytes_and_decodes) {
  RansEncoder enc;
  const std::vector<std::uint8_t> bytes = enc.finish();
  BOOST_TEST(bytes.size() == 4u);
  RansDecoder dec(bytes.data(), bytes.size());
  BOOST_CHECK_NO_THROW(dec.finish());
}

BOOST_AUTO_TEST_CASE(the_stream_costs_what_the_tables_say) {
  const Stream s = randomStream(99, 8, 200000);
  double ideal = 0;  // escaped values' raw chunks excluded: count only in-range values
  Stream inRange = s;
  inRange.values.clear();
  inRange.which.clear();
  for (std::size_t i = 0; i < s.values.size(); ++i) {
    const CdfTable& t = s.tables[std::size_t(s.which[i])];
    const std::int64_t sym = std::int64_t(s.values[i]) - t.offset;
    if (sym < 0 || sym >= t.escape()) continue;
    inRange.values.push_back(s.values[i]);
    inRange.which.push_back(s.which[i]);
    ideal += cae::codec::bitsOf(t, s.values[i]);
  }
  const double bits = 8.0 * double(encode(inRange).size());
  BOOST_TEST_MESSAGE("ideal " << ideal / 8 << " bytes, coded " << bits / 8);
  BOOST_TEST(bits <= ideal * 1.005 + 64);  // rANS with 16-bit tables: a fraction of a percent
  BOOST_TEST(bits >= ideal - 64);
}

BOOST_AUTO_TEST_CASE(truncated_streams_are_refused_at_every_length) {
  const Stream s = randomStream(5, 4, 600);
  const std::vector<std::uint8_t> bytes = encode(s);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    const std::vector<std::uint8_t> cut(bytes.begin(), bytes.begin() + std::ptrdiff_t(n));
    BOOST_TEST_CONTEXT("kept " << n << " of " << bytes.size() << " bytes") {
      BOOST_CHECK_THROW(decode(s, cut), cae::FormatError);
    }
  }
}

BOOST_AUTO_TEST_CASE(damaged_streams_end_in_an_error_or_wrong_values_never_a_crash) {
  const Stream s = randomStream(11, 6, 800);
  const std::vector<std::uint8_t> bytes = encode(s);
  int refused = 0, decoded = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i)
    for (int bit = 0; bit < 8; bit += 3) {
      std::vector<std::uint8_t> d = bytes;
      d[i] ^= std::uint8_t(1u << bit);
      try {
        (void)decode(s, d);
        ++decoded;
      } catch (const cae::FormatError&) {
        ++refused;
      }
    }
  // Garbage after the header: random bytes of every length.
  std::mt19937 g(3);
  for (int n = 0; n < 200; ++n) {
    std::vector<std::uint8_t> junk(static_cast<std::size_t>(n));
    for (auto& b : junk) b = std::uint8_t(g());
    try {
      (void)decode(s, junk);
      ++decoded;
    } catch (const cae::FormatError&) {
      ++refused;
    }
  }
  BOOST_TEST_MESSAGE(refused << " damaged streams refused, " << decoded << " decoded to something");
  BOOST_TEST(refused > decoded);  // the final-state check catches most damage on its own
}

BOOST_AUTO_TEST_CASE(a_pictures_latents_round_trip_and_a_wrong_shape_is_refused) {
  const cae::codec::LatentShape s = cae::codec::latentShapeFor(641, 479, 16, 5);
  BOOST_TEST(s.channels == 5);
  BOOST_TEST(s.height == 30);
  BOOST_TEST(s.width == 41);
  std::mt19937 g(4);
  std::vector<CdfTable> tables;
  tables.reserve(std::size_t(s.channels));
  for (int c = 0; c < s.channels; ++c) tables.push_back(randomTable(g));
  std::vector<std::int32_t> q;
  q.reserve(s.size());
  const std::size_t plane = std::size_t(s.height) * std::size_t(s.width);
  for (std::size_t i = 0; i < s.size(); ++i) q.push_back(drawValue(tables[i / plane], g));
  const std::vector<std::uint8_t> p = cae::codec::encodeLatents(q, s, tables);
  BOOST_TEST(cae::codec::decodeLatents(p.data(), p.size(), s, tables) == q);
  // One row fewer or more than was coded: the stream does not fit.
  const cae::codec::LatentShape fewer{s.channels, s.height - 1, s.width};
  const cae::codec::LatentShape more{s.channels, s.height + 1, s.width};
  BOOST_CHECK_THROW(cae::codec::decodeLatents(p.data(), p.size(), fewer, tables), cae::FormatError);
  BOOST_CHECK_THROW(cae::codec::decodeLatents(p.data(), p.size(), more, tables), cae::FormatError);
  std::vector<std::uint8_t> longer = p;
  longer.push_back(0);
  BOOST_CHECK_THROW(cae::codec::decodeLatents(longer.data(), longer.size(), s, tables),
                    cae::FormatError);
  BOOST_CHECK_THROW(cae::codec::encodeLatents(q, fewer, tables), cae::InvalidArgument);
  const std::vector<CdfTable> four(tables.begin(), tables.end() - 1);
  BOOST_CHECK_THROW(cae::codec::decodeLatents(p.data(), p.size(), s, four), cae::InvalidArgument);
  BOOST_CHECK_THROW(cae::codec::latentShapeFor(0, 10, 16, 5), cae::InvalidArgument);
  // A header claiming a 32768 x 8192 picture over this payload: refused before the 5 x 2048 x
  // 512 latents are allocated, by the fewest bits such a picture takes under the tables.
  const cae::codec::LatentShape huge = cae::codec::latentShapeFor(32768, 8192, 16, 5);
  try {
    (void)cae::codec::decodeLatents(p.data(), p.size(), huge, tables);
    BOOST_ERROR("a payload far too short for its shape decoded");
  } catch (const cae::FormatError& e) {
    BOOST_TEST(std::string(e.what()).find("cannot hold 5x512x2048 latents") != std::string::npos,
               e.what());
  }
}

BOOST_AUTO_TEST_CASE(tables_survive_their_text_form_and_bad_text_is_refused) {
  std::mt19937 g(12);
  std::vector<CdfTable> tables;
  tables.reserve(31);
  for (int i = 0; i < 30; ++i) tables.push_back(randomTable(g));
  tables.push_back(quantizeCdf({1.0}, 0.0, INT32_MIN));
  const std::vector<CdfTable> back = cae::codec::parseTables(cae::codec::formatTables(tables));
  BOOST_REQUIRE_EQUAL(back.size(), tables.size());
  for (std::size_t i = 0; i < tables.size(); ++i) {
    BOOST_TEST(back[i].offset == tables[i].offset);
    BOOST_TEST(back[i].cdf == tables[i].cdf);
  }
  for (const char* bad : {"", "3", "x:1,2", "0:", "0:5,5", "0:70000", "0:1,,2", "0:1;", "0:2,1",
                          "99999999999:1", "0:1 ,2"}) {
    BOOST_TEST_CONTEXT("'" << bad << "'") {
      BOOST_CHECK_THROW(cae::codec::parseTables(bad), cae::FormatError);
    }
  }
  // "0:" would be a table of the escape alone; a table needs at least one value besides it.
  BOOST_TEST(cae::codec::parseTables("-2:100;7:30000,60000").size() == 2u);
}
