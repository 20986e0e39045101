// Per-pixel anomaly maps from a frame and its autoencoder reconstruction, smoothing, and the
// frame score. An autoencoder trained on normal data reconstructs normal texture well and
// defects badly, so where the two differ is where the defect is.
#pragma once

#include <cstddef>
#include <vector>

namespace cae::anomaly {

// Read-only float image with interleaved channels (model units, e.g. [0, 1]): sample c of pixel
// (x, y) is data[y * rowStride + x * channels + c]. rowStride counts floats; 0 means packed
// (width * channels).
struct ImageView {
  const float* data = nullptr;
  int width = 0, height = 0;
  int channels = 1;
  int rowStride = 0;
};

// A single-channel map of per-pixel scores, packed row-major.
struct ScoreMap {
  int width = 0, height = 0;
  std::vector<float> data;

  float at(int x, int y) const { return data[std::size_t(y) * std::size_t(width) + x]; }
  float& at(int x, int y) { return data[std::size_t(y) * std::size_t(width) + x]; }
};

// Squared error averaged over channels, per pixel.
ScoreMap l2Map(const ImageView& input, const ImageView& reconstruction);

// Squared low-passed residual: the difference input - reconstruction smoothed by a Gaussian of
// `sigma` pixels, then squared, averaged over channels. A texture's own residual is fine-grained
// and of either sign, so it averages out; a defect's residual is coherent (a spot, a cut, a shift
// of brightness or colour) and survives. sigma = 0 is l2Map.
ScoreMap lowpassMap(const ImageView& input, const ImageView& reconstruction, double sigma = 2.0);

// 1 - SSIM per pixel (Wang et al. 2004), averaged over channels: local means, variances and
// covariance under a Gaussian window of `sigma` (1.5 with radius 3*sigma gives the paper's
// 11x11 window), constants C1 = (0.01 L)^2 and C2 = (0.03 L)^2 for dynamic range L. 0 where the
// images agree, up to 2; clamped at 0 against rounding. Borders reflect.
ScoreMap ssimMap(const ImageView& input, const ImageView& reconstruction, double sigma = 1.5,
                 double dynamicRange = 1.0);

// Channel 0 of a model's output as the map (segmentation models write the anomaly probability).
void outputMap(const ImageView& output, ScoreMap& out);
// A map of probabilities as logits, log(p / (1 - p)), in place; p clamped to [1e-7, 1 - 1e-7]
// (logits within ±16.1), so that 0 and 1 (a saturated sigmoid in float) stay finite.
void toLogits(ScoreMap& map);
inline constexpr double kLogitClamp = 1e-7;

// Gaussian smoothing with standard deviation sigma (pixels; radius 3*sigma, borders reflect).
// sigma = 0 returns the map unchanged. Spreads an isolated noisy pixel so that one outlier does
// not decide the frame score.
ScoreMap smooth(const ScoreMap& map, double sigma);

// The largest pixel score.
double maxScore(const ScoreMap& map);
// Mean of the ceil(fraction * pixels) largest scores (at least one); fraction in (0, 1].
// fraction -> 0 approaches maxScore, fraction = 1 is the map's mean.
double topFractionMean(const ScoreMap& map, double fraction);

// The l2, low-pass and smoothed maps written into `out` instead: its memory is kept when it is
// large enough, and the functions' scratch buffers are kept per thread, so a stream of frames of
// one size allocates nothing per frame. smooth's out may be its map.
void l2Map(const ImageView& input, const ImageView& reconstruction, ScoreMap& out);
void lowpassMap(const ImageView& input, const ImageView& reconstruction, double sigma,
                ScoreMap& out);
void smooth(const ScoreMap& map, double sigma, ScoreMap& out);

// Every function throws InvalidArgument for an empty image or map, images whose size or channel
// count differ, a rowStride below width * channels, or a parameter outside its range.

}  // namespace cae::anomaly
