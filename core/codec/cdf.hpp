// Quantised cumulative distributions for the range coder (core/codec/rans.hpp): one table per
// latent channel, built from the trained density of that channel and stored in the model's
// metadata, so that encoder and decoder agree to the bit.
//
// A table covers the values offset .. offset + n - 2 directly; symbol n - 1 is the escape, which
// stands for any value outside that range (the coder then writes the value itself). Its
// frequencies sum to 1 << kCdfPrecision and every symbol, the escape included, has at least one
// count, so every value is codable under every table.
//
//   CdfTable t = quantizeCdf({0.1, 0.8, 0.1}, /*tail=*/1e-3, /*offset=*/-1);  // values -1, 0, 1
//   validate(t);    // FormatError when a table read from a file breaks these rules
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cae::codec {

constexpr int kCdfPrecision = 16;
constexpr std::uint32_t kCdfTotal = 1u << kCdfPrecision;
// Tables with more symbols than this are refused (a channel's range of quantised values).
constexpr int kMaxSymbols = 4096;

struct CdfTable {
  // cdf[0] = 0 < cdf[1] < ... < cdf[n] = kCdfTotal; symbol s has frequency cdf[s+1] - cdf[s].
  std::vector<std::uint32_t> cdf;
  std::int32_t offset = 0;  // the value of symbol 0

  int symbols() const { return int(cdf.size()) - 1; }  // n, the escape included
  int escape() const { return symbols() - 1; }
  std::uint32_t start(int s) const { return cdf[std::size_t(s)]; }
  std::uint32_t freq(int s) const { return cdf[std::size_t(s) + 1] - cdf[std::size_t(s)]; }
};

// Quantises probabilities of the values offset .. offset + pmf.size() - 1 plus the escape's
// (tailMass: the probability of every other value) to counts summing to kCdfTotal, each at least
// one; what rounding adds or takes comes from the largest counts (Ballé et al.'s
// pmf_to_quantized_cdf does the same). Negative or non-finite inputs, an empty pmf or more than
// kMaxSymbols - 1 values throw InvalidArgument.
CdfTable quantizeCdf(const std::vector<double>& pmf, double tailMass, std::int32_t offset);

// FormatError (naming what) when t breaks the rules above; tables read from files go through it.
void validate(const CdfTable& t, const std::string& what = "CDF table");

// Tables as the text of a model's cae.cdf_tables: one "offset:c1,c2,...,c(n-1)" per table (its
// inner CDF entries; 0 and kCdfTotal are implied), joined by ';'. parseTables() validates every
// table and throws FormatError naming the first bad one.
std::string formatTables(const std::vector<CdfTable>& tables);
std::vector<CdfTable> parseTables(const std::string& text);

// Bits an ideal coder spends on value v under t (the escape's bits included, not the raw bits
// of the escaped value): for rate estimates and tests.
double bitsOf(const CdfTable& t, std::int32_t v);

}  // namespace cae::codec
