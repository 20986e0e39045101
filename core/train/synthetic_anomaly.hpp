// The synthetic anomalies that segmentation anomaly models (ArchSpec::segWidth, DRAEM: Zavrtanik
// et al., "DRAEM - A discriminatively trained reconstruction embedding for surface anomaly
// detection", ICCV 2021, sec. 3.3) are trained on: regions shaped by thresholded Perlin noise,
// filled with another picture (DRAEM uses DTD textures; cae-train takes --anomaly-source) or
// with an intensity or colour warp of the sample itself, and blended in with a random opacity.
// The model learns to reconstruct the clean sample and to segment the region.
//
// This generator is the training side only and deliberately unlike the defect benchmark's
// (core/anomaly/defects: scratches, spots, cuts, blobs, lightened and colour-shifted ellipses):
// its shapes are Perlin blobs, never strokes or ellipses, so the benchmark measures defects the
// model never saw.
//
//   SyntheticAnomaly gen(sources, channels, 64, 64, {});
//   gen.apply(clean, anomalous, mask, rng);   // mask: N x 1 x H x W, 1 inside the regions
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "nn/rng.hpp"
#include "nn/tensor.hpp"
#include "train/dataset.hpp"
#include "train/trainer.hpp"

namespace cae::train {

class SyntheticAnomaly {
 public:
  struct Options {
    double share = 0.5;  // of samples that get an anomaly (the others: mask all zero)
    // Perlin lattice cells per sample side, each axis drawn from the powers of two in
    // [minCells, maxCells] (DRAEM: 2^0..2^5 on 256 px).
    int minCells = 1, maxCells = 8;
    double threshold = 0.3;  // noise above it is inside a region (libnoise Perlin: about ±1)
    double maxOpacity = 1.0, minOpacity = 0.2;  // of the fill inside the region
  };

  // sources: pictures to paste from, with the samples' channel count (empty: warps of the sample
  // only), served as patches of height x width with flips and rotations. InvalidArgument for a
  // source smaller than the patch, a channel mismatch or options out of range.
  SyntheticAnomaly(std::vector<Image> sources, int channels, int height, int width,
                   const Options& o);
  ~SyntheticAnomaly();
  SyntheticAnomaly(SyntheticAnomaly&&) noexcept;
  SyntheticAnomaly& operator=(SyntheticAnomaly&&) noexcept;

  // anomalous = clean with regions replaced (values kept in [0, 1]); mask = 1 where replaced.
  // Draws only from rng, so the same rng state gives the same output. clean: N x channels x
  // height x width (InvalidArgument otherwise); anomalous may not alias clean.
  void apply(const nn::Tensor& clean, nn::Tensor& anomalous, nn::Tensor& mask, nn::Rng& rng) const;

  const Options& options() const { return o_; }
  bool hasSources() const { return bool(sources_); }

 private:
  Options o_;
  int channels_, height_, width_;
  std::unique_ptr<BatchSource> sources_;
};

// What cae-train needs of a segmentation model's configuration: a head (--seg-width) only with
// --task anomaly and --anomaly-map segmentation, and that map only with a head. InvalidArgument
// otherwise.
void checkSegmentationConfig(const TrainConfig& c);

// The generator of a run for samples of channels x height x width: c.anomalySources loaded with
// the samples' channels, c.anomalyShare,
// Perlin lattice cells per side from 1 to side / 8 (regions from about the whole sample down to
// about 8 px; DRAEM: 2^0..2^5 cells on 256 px, also down to 8 px). summary: one line for the user.
SyntheticAnomaly syntheticAnomaliesFor(const TrainConfig& c, int channels, int height, int width,
                                       std::string& summary);

}  // namespace cae::train
