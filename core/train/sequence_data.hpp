// Short clips made from still photographs: the training data of temporal denoisers (cae-train
// --frames K). A sample is K frames of one image patch seen by a moving camera, stacked along the
// channel axis with the current frame first and the older ones after it (channels [0, C) now,
// [C, 2C) one frame ago, ...), which is what a causal model reads from a live stream.
//
// The camera of a clip moves at a constant velocity (up to maxShift pixels per frame in each
// direction, sub-pixel), turning and zooming a little per frame; a share of the clips has a
// still camera (a tripod: only the noise differs between frames), and a share carries a small
// object that moves on its own across the background (occlusions and motion that the camera
// does not explain). Every frame, the current one included, is rendered at a sub-pixel position
// with OpenCV's bicubic warp, so that no frame is sharper than the others just because it was
// not interpolated. Noise is not added here: the trainer's corruption adds it to the whole clip
// (one sigma per sample, independent values per frame).
//
// Aligned clips (cae-train --align translation) are rendered at a context size around the patch
// (ClipOptions::context), because a shift estimate needs more than a patch of noisy pixels: the
// trainer adds its noise at that size (i.i.d. per pixel: the same noise model), alignFrames()
// moves every noisy older frame onto the noisy current frame with core/infer/align's functions
// (what caedenoise does on whole frames), and centrePatch() cuts the patch the model reads, and
// from the clean current frame its target.
//
//   SequenceSource clips(images, 64, ClipOptions{});      // InvalidArgument for bad options
//   clips.next(16, rng, batch);                           // {16, K*C, 64, 64}
//   nn::Tensor target = currentFrame(batch, clips.channels());  // {16, C, 64, 64}
//   // with o.context = 192: batch is {16, K*C, 192, 192}; after the noise,
//   alignFrames(noisy, clips.channels());  input = centrePatch(noisy, 64);
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "nn/rng.hpp"
#include "nn/tensor.hpp"
#include "train/dataset.hpp"

namespace cae::train {

struct ClipOptions {
  int frames = 3;       // K, the current frame included
  double maxShift = 4;  // camera translation per frame, pixels, uniform in [-max, max] per axis
  double maxRotation = 0.5;   // camera rotation per frame, degrees, uniform in [-max, max]
  double maxZoom = 0.01;      // relative scale change per frame, uniform in [-max, max]
  double staticShare = 0.25;  // clips whose camera stands still
  double objectShare = 0.25;  // clips with an independently moving object (drawn independently)
  bool flips = false;         // random mirror flips, the same for every frame of a clip
  bool rotations = false;     // random quarter turns, the same for every frame of a clip
  // Clips are rendered at context x context pixels with the patch at their centre (the camera
  // turns and zooms about it, the object is placed around it); 0: at the patch size.
  int context = 0;
};

// The default ClipOptions::context of aligned training: a shift estimate between noisy frames
// of this size is off by more than a pixel in about 2 % of clips at sigma 25 (whole 320x240
// frames: 0.5 %; 64x64 patches: most), and rendering and aligning it costs about a fifth of a
// training step.
inline constexpr int kAlignContext = 192;

// The motion of one clip. The camera moves by (dx, dy) pixels, turns by `rotation` and zooms by
// exp(zoom) per frame: frame j (j frames before the current one) sees the image through the
// camera displaced by -j * (dx, dy), turned by -j * rotation and scaled by exp(-j * zoom) about
// the patch centre. For a pure translation, frame j shows at (u + j*dx, v + j*dy) what the
// current frame shows at (u, v). The object, when there is one, sits at
// (objectX - j * objectDx, objectY - j * objectDy) in frame j: it moves by (objectDx, objectDy)
// per frame within the picture, whatever the camera does.
struct ClipMotion {
  double x = 0, y = 0;    // top-left of the current frame in the image, pixels (sub-pixel)
  double dx = 0, dy = 0;  // camera translation per frame, pixels
  double rotation = 0;    // radians per frame
  double zoom = 0;        // log scale per frame
  bool object = false;    // a moving object is pasted over the background
  int objectW = 0, objectH = 0;
  int objectSrcX = 0, objectSrcY = 0;  // top-left of its texture in the image (integer)
  double objectX = 0, objectY = 0;     // its top-left in the current frame, patch coordinates
  double objectDx = 0, objectDy = 0;   // its motion per frame in the frame, pixels
};

// Renders the clip of `motion` from image ({1, C, H, W} in [0, 1]) into sample n of out, which
// must be {N >= n + 1, frames * C, patch, patch}. Values are clamped to [0, 1] (bicubic
// interpolation overshoots at edges); pixels the camera sees outside the image are mirrored
// (BORDER_REFLECT_101), which drawn motions avoid. No flips or rotations.
void renderClip(const nn::Tensor& image, const ClipMotion& motion, int frames, int n,
                nn::Tensor& out);

// Channels [0, channels) of every sample of clips {N, K*channels, H, W}: the current frames.
nn::Tensor currentFrame(const nn::Tensor& clips, int channels);

// Moves every older frame of every clip of clips ({N, K*channels, H, W}, H and W >= 16) onto its
// current frame, in place: the shift is estimated by infer::estimateShift on the mean of the
// frame's channels against the current frame's, and applied to each channel by
// infer::applyShift (an untrusted estimate leaves the frame as it is).
void alignFrames(nn::Tensor& clips, int channels);

// Makes sample n of clips ({N, K*channels, H, W}) what caedenoise feeds without a full history
// (core/infer/frame_history.hpp), in place: older frames kept+1 .. K-1 become copies of older
// frame `kept`. kept = 0: a stream start (every older frame is the current frame); kept = 1: one
// frame kept (the oldest places repeat it). Call it after the noise (and alignment), so that the
// copies carry the same noise, as in the element. kept >= K-1 changes nothing.
void dropHistory(nn::Tensor& clips, int channels, int n, int kept);

// The shares of training clips fed as a stream start (cae-train --no-history-share) and with
// only some older frames kept (--partial-history-share, clips of 3 or more frames), drawn per
// clip with rng after the noise and alignment: dropHistory(kept 0) with probability none, else
// with probability partial dropHistory(kept k), k = 1 for 3-frame clips and drawn uniformly
// from 1..K-2 for K > 3. Returns how many clips were changed.
int simulateStreamStarts(nn::Tensor& clips, int channels, double none, double partial,
                         nn::Rng& rng);

// The centred patch x patch window of every plane of t ({N, C, H, W}, H and W >= patch; the
// offset rounds down, as SequenceSource places the patch in its context).
nn::Tensor centrePatch(const nn::Tensor& t, int patch);

// Serves clips of patch x patch pixels cut from images (all at least patch x patch).
class SequenceSource {
 public:
  // InvalidArgument: no images, images smaller than the patch (the context, when set) or with
  // different channel counts, frames outside 1..16, a negative motion limit, shares outside
  // [0, 1], a context smaller than the patch.
  SequenceSource(std::vector<Image> images, int patch, const ClipOptions& o);

  // n clips into out ({n, K*C, renderSize(), renderSize()}), drawn with rng only: for each, an
  // image uniformly (with replacement), a motion (drawMotion), then flips and a rotation when
  // enabled.
  void next(int n, nn::Rng& rng, nn::Tensor& out) const;
  // A fixed set of n clips (deterministic for a seed): validation. Clip i comes from image
  // i mod size(), without flips or rotations.
  nn::Tensor fixed(int n, std::uint64_t seed) const;

  // A motion for image: camera kind (still with staticShare, else velocity, rotation, zoom
  // drawn uniformly), the object with objectShare, and a position where every frame's view
  // lies inside the image (at the render size). The object is sized from the patch and placed
  // with at least half of it in the centre patch. Where the image is too small for the motion,
  // the motion is halved until it fits (an image of the render size gets a still camera).
  ClipMotion drawMotion(const nn::Tensor& image, nn::Rng& rng) const;

  int frames() const { return o_.frames; }
  int channels() const;  // of one frame
  int patch() const { return patch_; }
  int renderSize() const { return o_.context > 0 ? o_.context : patch_; }
  std::size_t size() const { return images_.size(); }
  const ClipOptions& options() const { return o_; }

 private:
  std::vector<Image> images_;
  int patch_;
  ClipOptions o_;
};

}  // namespace cae::train
