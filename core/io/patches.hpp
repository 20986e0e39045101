// Random training patches from a set of images.
#pragma once

#include <vector>

#include "nn/rng.hpp"
#include "nn/tensor.hpp"

namespace cae::io {

// count patches of h×w, each from an image drawn uniformly from images (sample 0 of each, all
// with the same channel count C) at a uniformly drawn position, into a {count, C, h, w} tensor.
// Draws from rng only, so a seeded generator gives the same batch. Throws InvalidArgument when an
// image is smaller than the patch or the list is empty.
void samplePatches(const std::vector<nn::Tensor>& images, int count, int h, int w, nn::Rng& rng,
                   nn::Tensor& out);

}  // namespace cae::io
