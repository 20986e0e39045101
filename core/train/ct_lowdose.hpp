// Low-dose CT noise simulated in the projection domain (after Zeng et al., "A simple low-dose
// x-ray CT simulation from high-dose scan", IEEE TNS 2015, and the AAPM/Mayo low-dose challenge
// practice): no low-dose/full-dose pairs exist here, so each clean sample is treated as a CT slice,
// projected, given Poisson photon statistics at a chosen dose, and reconstructed.
//
// Per sample and channel (each channel is its own slice; the photon count is drawn once per
// sample):
//   1. Attenuation: the value v (the trainer's [0, 1]) is mu = v * muScale per pixel width.
//      Default muScale = 0.0266: pixels of 0.07 cm (a 36 cm field of view on 512 pixels), water
//      mu ~ 0.19 / cm at ~70 keV = 0.0133 per pixel, and v = 1 twice water (~ +1000 HU), so that a
//      slice windowed [-1000, 1000] HU onto [0, 1] has water at 0.5 and a 300-pixel water path a
//      line integral of ~4, a typical abdomen.
//   2. Line integrals p = muScale * radon(v) (train/ct_projection.hpp: parallel beam, A angles
//      over 180 degrees, one-pixel detector bins, rotation about the image centre, Joseph's
//      method).
//   3. Transmission (Beer-Lambert): counts ~ Poisson(I0 * exp(-p)) per ray, I0 the photons per
//      ray and view of an unattenuated ray; a count of 0 becomes 0.5 before the log (photon
//      starvation must not give infinity); p' = -log(counts / I0).
//   4. noisy = clean + FBP(p' - p) / muScale: ramp filter (Shepp-Logan window by default), linear
//      interpolation. By linearity this is clean + FBP(noisy sinogram) - FBP(clean sinogram): only
//      the noise is added. The target the model learns stays the clean sample itself, not its FBP,
//      whose blur and streaks of this geometry (and of a patch's cut edges) a denoiser must not
//      learn to undo; and one FBP per slice costs half of two.
// I0 is fixed or drawn per sample log-uniformly from [lo, hi] (blind denoisers over doses). The
// noise variance falls as 1 / I0 and grows with the attenuation along each ray (exp(p)); its
// power spectrum rises with frequency (the ramp), the texture of real CT noise, and it streaks
// along rays through dense objects.
// Angles: 0 chooses ceil(pi/2 * max(H, W)), the count at which the views sample the edge of the
// image as densely as the detector samples the centre (101 for a 64-pixel patch, 805 for 512).
// A patch is simulated as if it were the whole slice: its rays cross at most its own width, so
// for the same I0 a patch sees less attenuation, and less noise, than the full slice around it.
// Draws: I0 (when a range), then per channel one Poisson count per ray, angle by angle, bin by
// bin. Cost on one core (tests/train/test_medical_noise.cpp): ~0.5 s for a 512 x 512 slice with
// 360 angles, ~65 ms for a batch of 16 64 x 64 patches (101 angles).
#pragma once

#include <vector>

#include "nn/corruption/corruption.hpp"
#include "train/ct_projection.hpp"

namespace cae::train {

class LowDoseCtNoise : public nn::Corruption {
 public:
  static constexpr double kDefaultMuScale = 0.0266;

  struct Options {
    double photonsLo = 1e4, photonsHi = 1e4;  // I0; log-uniform per sample when lo < hi
    int angles = 0;                           // 0: ceil(pi/2 * max(H, W))
    double muScale = kDefaultMuScale;         // attenuation per pixel width of the value 1
    FbpFilter filter = FbpFilter::SheppLogan;
  };

  // InvalidArgument unless 0 < photonsLo <= photonsHi, angles >= 0 and muScale > 0.
  explicit LowDoseCtNoise(const Options& o);

  std::string name() const override { return "ct-lowdose"; }
  void apply(const nn::Tensor& clean, nn::Tensor& noisy, nn::Rng& rng) const override;
  // As apply(); photons (when non-null) receives the I0 used for each sample.
  void apply(const nn::Tensor& clean, nn::Tensor& noisy, nn::Rng& rng,
             std::vector<double>* photons) const;

  const Options& options() const { return o_; }
  // The angle count used for an H x W sample.
  int anglesFor(int height, int width) const;

 private:
  Options o_;
};

}  // namespace cae::train
