#!/usr/bin/python3
"""Adds Gaussian noise to a PNG (GStreamer has no noise element): add-noise.py IN OUT SIGMA [SEED].

SIGMA is in 8-bit grey levels (a 16-bit image gets SIGMA * 257); the bit depth and channels of
IN are kept, values are clipped to the range.
"""
import sys

import numpy as np
from skimage import io


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__.strip())
    src, dst, sigma = sys.argv[1], sys.argv[2], float(sys.argv[3])
    seed = int(sys.argv[4]) if len(sys.argv) == 5 else 0
    img = io.imread(src)
    if img.dtype not in (np.uint8, np.uint16):
        sys.exit(f"add-noise.py: {src}: expected an 8- or 16-bit image, got {img.dtype}")
    top = float(np.iinfo(img.dtype).max)
    noise = np.random.default_rng(seed).normal(0.0, sigma * top / 255.0, img.shape)
    noisy = np.clip(np.rint(img.astype(np.float64) + noise), 0, top).astype(img.dtype)
    io.imsave(dst, noisy, check_contrast=False)


if __name__ == "__main__":
    main()
