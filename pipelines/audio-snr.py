#!/usr/bin/python3
"""Helpers of pipelines/denoise-audio.sh (Debian's python3 and numpy; 16-bit PCM WAV files).

  audio-snr.py add CLEAN.wav SNR_DB NOISY.wav [--seed N] [--length SECONDS]
      white Gaussian noise at SNR_DB (over the whole file) added to CLEAN, written as NOISY;
      --length: CLEAN repeated (with 0.5 s pauses) to that length first
  audio-snr.py compare CLEAN.wav NOISY.wav DENOISED.wav
      SNR of NOISY and of DENOISED against CLEAN, DENOISED first moved back by its extra
      length (caeaudiodenoise delays its output by its latency and adds that many samples at
      the end), and the gain; one line each.
"""
import sys
import wave

import numpy as np


def read(path):
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2:
            sys.exit(f"{path}: expected 16-bit PCM WAV")
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768
        ch = w.getnchannels()
        return x.reshape(-1, ch), w.getframerate()


def write(path, x, rate):
    y = np.clip(np.round(x * 32768), -32768, 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(x.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(y.tobytes())


def snr(ref, y):
    return 10 * np.log10(np.sum(ref**2) / max(np.sum((y - ref) ** 2), 1e-20))


def main(argv):
    if len(argv) >= 4 and argv[0] == "add":
        clean, rate = read(argv[1])
        seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 1
        if "--length" in argv:
            want = int(float(argv[argv.index("--length") + 1]) * rate)
            unit = np.concatenate([clean, np.zeros((rate // 2, clean.shape[1]))])
            clean = np.tile(unit, (want // len(unit) + 1, 1))[:want]
        rms = np.sqrt(np.mean(clean**2)) / 10 ** (float(argv[2]) / 20)
        noisy = clean + np.random.default_rng(seed).normal(0, rms, clean.shape)
        peak = np.max(np.abs(noisy))
        if peak > 0.99:  # keep the noisy file unclipped: scale both alike, say so
            print(f"audio-snr: scaled by {0.99 / peak:.3f} to fit 16 bits", file=sys.stderr)
            noisy *= 0.99 / peak
        write(argv[3], noisy, rate)
        return 0
    if len(argv) == 4 and argv[0] == "compare":
        clean, r1 = read(argv[1])
        noisy, r2 = read(argv[2])
        out, r3 = read(argv[3])
        if not (r1 == r2 == r3) or clean.shape[1] != out.shape[1]:
            sys.exit("compare: the files differ in rate or channels")
        n = min(len(clean), len(noisy))
        lag = len(out) - len(noisy)
        if lag < 0:
            sys.exit("compare: the denoised file is shorter than the noisy one")
        # The noisy file may be a scaled copy of clean + noise: measure against clean scaled alike.
        g = np.sum(noisy[:n] * clean[:n]) / max(np.sum(clean[:n] ** 2), 1e-20)
        ref = clean[:n] * g
        before, after = snr(ref, noisy[:n]), snr(ref, out[lag : lag + n])
        print(f"latency {lag} samples ({1000 * lag / r1:.1f} ms)")
        print(f"SNR before {before:.2f} dB, after {after:.2f} dB, gain {after - before:+.2f} dB")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
