// The speech denoiser's time-domain loss (cae-train --mask-loss time): the mean squared error of
// the signal the element would output for L consecutive masked frames, after their sqrt-Hann
// synthesis and overlap-add (audio/stft.hpp StreamingStft), against the clean speech, over the
// samples that lie under all n / hop of those frames' windows. Frame-wise mask losses weigh each
// frame on its own; this one sees what SNR and SI-SDR see: the output's error in the signal,
// the frames' windows overlapping, loud stretches counting by their level.
//
//   pred    {N, bins, 1, L}: the masks of L consecutive frames (hop apart), oldest first
//   target  {N, bins, 4, L}: per bin and frame Re Y, Im Y, Re S, Im S: the noisy and the clean
//           frame's spectrum (AudioMixOptions::spectra), scaled by 1 / the mixture's noise RMS,
//           so that a loss of 1 is the noise's own power (mask 1) and -10 log10(loss) is the
//           output's SNR improvement over those samples
//
// The loss of a sample is (1 / T) sum_t e(t)^2 over the T = (L - n / hop + 1) hop covered
// samples, e = sum_l w(t - l hop) irfft(M_l Y_l - S_l)(t - l hop) / (n / (2 hop)); the batch's is
// the mean over samples. dLoss/dM_l[k] = (a_k / n) Re(Y_l[k] conj(G_l[k])), G_l the FFT of frame
// l's share of dLoss/de times the window (a_k = 1 at DC and Nyquist, 2 between).
#pragma once

#include <memory>

#include "audio/fft.hpp"
#include "nn/losses/loss.hpp"

namespace cae::train {

class OverlapAddLoss : public nn::Loss {
 public:
  // n, hop: the STFT of the element (InvalidArgument unless hop divides n, n / hop >= 2).
  OverlapAddLoss(int n, int hop);
  ~OverlapAddLoss() override;

  std::string name() const override { return "overlap_add_mse"; }
  // ShapeError unless pred is {N, n/2 + 1, 1, L} and target {N, n/2 + 1, 4, L} with
  // L >= n / hop (fewer frames cover no sample with all their windows).
  double compute(const nn::Tensor& pred, const nn::Tensor& target, nn::Tensor* grad) const override;
  // The masks per sample this loss needs at least: n / hop.
  int minFrames() const { return n_ / hop_; }

 private:
  int n_, hop_;
  std::unique_ptr<audio::RealFft> fft_;  // compute() is called by one thread at a time
};

}  // namespace cae::train
