#include "train/synthetic_anomaly.hpp"

#include <libnoise/noise.h>  // Debian's libnoise-dev: Perlin gradient noise

#include <algorithm>
#include <cmath>
#include <string>

#include "error.hpp"

namespace cae::train {

using nn::Scalar;
using nn::Tensor;

namespace {

enum Fill { kSource, kIntensity, kColourOrFlat, kFills };

Scalar clamp01(double v) { return Scalar(std::min(1.0, std::max(0.0, v))); }

// One Perlin region mask into m (height x width), lattice cells per side drawn from the powers of
// two in [lo, hi]. Returns the share of pixels inside.
double perlinMask(std::vector<float>& m, int height, int width, const SyntheticAnomaly::Options& o,
                  nn::Rng& rng) {
  auto cells = [&] {
    int lo = 0, hi = 0;
    while ((1 << lo) < o.minCells) ++lo;
    while ((2 << hi) <= o.maxCells) ++hi;
    const int span = std::max(0, hi - lo) + 1;
    return double(1 << (lo + int(rng.below(std::uint64_t(span)))));
  };
  const double cy = cells(), cx = cells();
  noise::module::Perlin p;
  p.SetOctaveCount(1);
  p.SetSeed(int(rng.below(1u << 30)));
  const double ox = rng.uniform(0, 256), oy = rng.uniform(0, 256), z = rng.uniform(0, 256);
  m.assign(std::size_t(height) * std::size_t(width), 0.f);
  std::size_t inside = 0;
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const double v = p.GetValue(ox + (x + 0.5) * cx / width, oy + (y + 0.5) * cy / height, z);
      if (v > o.threshold) {
        m[std::size_t(y) * std::size_t(width) + std::size_t(x)] = 1.f;
        ++inside;
      }
    }
  return double(inside) / double(m.size());
}

}  // namespace

SyntheticAnomaly::SyntheticAnomaly(std::vector<Image> sources, int channels, int height, int width,
                                   const Options& o)
    : o_(o), channels_(channels), height_(height), width_(width) {
  if (channels < 1 || height < 1 || width < 1)
    throw InvalidArgument("synthetic anomalies: the sample shape must be positive");
  if (!(o.share >= 0 && o.share <= 1))
    throw InvalidArgument("synthetic anomalies: the share of samples must be in [0, 1]");
  if (o.minCells < 1 || o.maxCells < o.minCells)
    throw InvalidArgument("synthetic anomalies: lattice cells need 1 <= min <= max");
  if (!(o.minOpacity > 0 && o.minOpacity <= o.maxOpacity && o.maxOpacity <= 1))
    throw InvalidArgument("synthetic anomalies: opacities need 0 < min <= max <= 1");
  for (const Image& im : sources)
    if (im.pixels.shape().c != channels)
      throw InvalidArgument("anomaly source '" + im.source + "' has " +
                            std::to_string(im.pixels.shape().c) + " channels, the model " +
                            std::to_string(channels));
  if (!sources.empty()) {
    BatchSource::Options bo;
    bo.patchH = height;
    bo.patchW = width;
    bo.flips = bo.rotations = true;
    sources_ = std::make_unique<BatchSource>(std::move(sources), bo);
  }
}

SyntheticAnomaly::~SyntheticAnomaly() = default;
SyntheticAnomaly::SyntheticAnomaly(SyntheticAnomaly&&) noexcept = default;
SyntheticAnomaly& SyntheticAnomaly::operator=(SyntheticAnomaly&&) noexcept = default;

void SyntheticAnomaly::apply(const Tensor& clean, Tensor& anomalous, Tensor& mask,
                             nn::Rng& rng) const {
  const nn::Shape s = clean.shape();
  if (s.c != channels_ || s.h != height_ || s.w != width_)
    throw InvalidArgument("synthetic anomalies: samples are " + s.str() + ", expected " +
                          std::to_string(channels_) + "x" + std::to_string(height_) + "x" +
                          std::to_string(width_));
  anomalous = clean;
  mask.resize({s.n, 1, s.h, s.w});
  mask.setZero();
  const std::size_t plane = s.plane();
  std::vector<float> m;
  Tensor source;
  for (int n = 0; n < s.n; ++n) {
    if (rng.uniform() >= o_.share) continue;
    double covered = 0;
    for (int attempt = 0; attempt < 4 && covered < 0.005; ++attempt)
      covered = perlinMask(m, s.h, s.w, o_, rng);
    if (covered < 0.005) continue;  // no region after four draws: a normal sample
    const int kinds = sources_ ? kFills : kFills - 1;
    const int kind = int(rng.below(std::uint64_t(kinds))) + (sources_ ? 0 : 1);
    const double opacity = rng.uniform(Scalar(o_.minOpacity), Scalar(o_.maxOpacity));
    const Scalar* x = clean.sample(n);
    Scalar* y = anomalous.sample(n);
    // The fill value of channel c at pixel i.
    std::vector<double> gain(std::size_t(s.c), 1.0), offset(std::size_t(s.c), 0.0);
    double mean = 0;
    for (std::size_t i = 0; i < s.perSample(); ++i) mean += x[i];
    mean /= double(s.perSample());
    if (kind == kSource) {
      sources_->next(1, rng, source);
      const double g = rng.uniform(0.6, 1.4), o = rng.uniform(-0.2, 0.2);
      std::fill(gain.begin(), gain.end(), g);
      std::fill(offset.begin(), offset.end(), o);
    } else if (kind == kIntensity) {
      // Lighter or darker, with a contrast change: never the sample itself.
      const double sign = rng.uniform() < 0.5 ? -1.0 : 1.0;
      const double g = rng.uniform(0.5, 1.5), o = sign * rng.uniform(0.08, 0.35);
      std::fill(gain.begin(), gain.end(), g);
      for (int c = 0; c < s.c; ++c) offset[std::size_t(c)] = o + (1 - g) * mean;
    } else if (s.c >= 3) {
      // Colour only: offsets of zero mean over the channels (the gray level stays).
      double sum = 0;
      for (int c = 0; c < s.c; ++c) sum += (offset[std::size_t(c)] = rng.uniform(-0.3, 0.3));
      for (int c = 0; c < s.c; ++c) offset[std::size_t(c)] -= sum / s.c;
    } else {
      // Gray: the texture flattened towards its mean (a worn or smeared area).
      const double g = rng.uniform(0.0, 0.4);
      gain[0] = g;
      offset[0] = (1 - g) * mean + rng.uniform(-0.1, 0.1);
    }
    for (int c = 0; c < s.c; ++c) {
      const Scalar* xc = x + std::size_t(c) * plane;
      const Scalar* src = kind == kSource ? source.sample(0) + std::size_t(c) * plane : xc;
      Scalar* yc = y + std::size_t(c) * plane;
      const double g = gain[std::size_t(c)], o = offset[std::size_t(c)];
      for (std::size_t i = 0; i < plane; ++i) {
        if (m[i] == 0.f) continue;
        const double fill = clamp01(g * src[i] + o);
        yc[i] = clamp01(xc[i] + opacity * (fill - xc[i]));
      }
    }
    std::copy(m.begin(), m.end(), mask.sample(n));
  }
}

void checkSegmentationConfig(const TrainConfig& c) {
  if (c.arch.segWidth > 0 && c.task != TrainTask::Anomaly)
    throw InvalidArgument("a segmentation head (--seg-width) is for --task anomaly");
  const bool segMap = c.anomalyMap == "segmentation" || c.anomalyMap == "segmentation-logit";
  if (c.arch.segWidth > 0 && !segMap)
    throw InvalidArgument(
        "a model with a segmentation head is scored on its own output: "
        "--anomaly-map segmentation or segmentation-logit (not " +
        c.anomalyMap + ")");
  if (c.arch.segWidth == 0 && segMap)
    throw InvalidArgument("--anomaly-map " + c.anomalyMap +
                          " needs a segmentation head (--seg-width)");
}

SyntheticAnomaly syntheticAnomaliesFor(const TrainConfig& c, int channels, int height, int width,
                                       std::string& summary) {
  std::vector<Image> sources;
  if (!c.anomalySources.empty()) {
    LoadOptions lo;
    lo.channels = channels;
    lo.seed = c.seed;
    sources = loadImages(c.anomalySources, lo);
  }
  SyntheticAnomaly::Options o;
  o.share = c.anomalyShare;
  o.maxCells = std::max(1, std::min(height, width) / 8);
  const std::size_t n = sources.size();
  summary = "anomalies synthetic (Perlin regions) in " + std::to_string(int(c.anomalyShare * 100)) +
            "% of samples, filled from " +
            (n > 0 ? std::to_string(n) + " source pictures and warps of the sample"
                   : std::string("warps of the sample (no --anomaly-source)"));
  return SyntheticAnomaly(std::move(sources), channels, height, width, o);
}

}  // namespace cae::train
