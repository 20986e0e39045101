#!/usr/bin/python3
"""Speech denoising benchmark (issue 15): caeaudiodenoise against GStreamer's webrtcdsp and
ffmpeg's afftdn and anlmdn, all measured in the same run on the same noisy files; writes
bench/reports/audio-denoise.{md,png,jsonl}.

Clean speech: the 8 voice clips of alsa-utils (/usr/share/sounds/alsa/*.wav but Noise.wav; 48 kHz
mono; test only, never training data), each clip on its own. Noise (held out from training):
seeded Gaussian white noise and four recordings of Debian sample packages (sonic-pi-samples'
vinyl hiss and 3D printer, lmms-common's raving crowd and applause), decoded by ffmpeg to mono at
the working rate, looped where shorter than the clip, from a seeded offset; mixed at 0, 5, 10 dB
SNR over the whole clip. Rates: 16 kHz (speech resampled with scipy's resample_poly) and 48 kHz.

Each method's output is aligned to the clean clip by the lag (0..200 ms, whole samples) that
maximizes its cross-correlation with the noisy input, then cut to the clip's length (padded with
zeros where shorter). Metrics per clip / noise / SNR / method: SNR improvement (output SNR - input
SNR), SI-SDR improvement (Le Roux et al. 2019, zero-mean) and STOI (Taal et al. 2011, the
reference implementation's steps; `--self-test` checks it). Real-time factor: each method on all
clips concatenated (white noise, 5 dB), pinned to one core (taskset -c 0), the best of a few
runs; the element's latency is the one it logs (GST_DEBUG=caeaudiodenoise:4).

Usage: audio_denoise.py [--plugin-dir DIR] [--model FILE] [--out DIR] [--rates 16000,48000]
         [--clips N] [--clips-48k N] [--noises white,vinyl_hiss,...] [--snrs 0,5,10] [--jobs N]
         [--rtf-repeats N] [--seed N] [--keep DIR]
       audio_denoise.py --report RAW.jsonl [--out DIR]   (the report again from a run's lines)
       audio_denoise.py --self-test"""
import argparse
import concurrent.futures
import datetime
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from scipy.io import wavfile
from scipy import signal
from scipy.signal import correlate, resample_poly

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

CLIP_DIR = "/usr/share/sounds/alsa"
CLIPS = ["Front_Center", "Front_Left", "Front_Right", "Rear_Center", "Rear_Left", "Rear_Right",
         "Side_Left", "Side_Right"]  # Noise.wav is not speech
OVERLAP_NCC = 0.5  # a test noise this close to a training recording is a copy of it
NOISES = {
    "white": None,
    "vinyl_hiss": "/usr/share/sonic-pi/samples/vinyl_hiss.flac",
    "3d_printer": "/usr/share/sonic-pi/samples/loop_3d_printer.flac",
    "crowd": "/usr/share/lmms/samples/misc/raving_crowd01.ogg",
    "applause": "/usr/share/lmms/samples/misc/applause01.ogg",
}
METHODS = ["cae", "webrtcdsp", "afftdn", "anlmdn", "noisy"]
PROCESSORS = METHODS[:-1]
# ANCHORS.md "Audio denoising": output SNR (after alignment) on white noise at 0 / 5 / 10 dB input SNR.
ANCHOR_WHITE_SNR_OUT = {"afftdn": (0.39, 5.64, 11.37), "anlmdn": (0.03, 5.03, 10.03),
                     "webrtcdsp": (8.02, 9.80, 10.84)}
# Issue 15's targets.
TARGET_OVER_WEBRTC_DB = 3.0       # SI-SDR improvement over webrtcdsp's, at 0 and 5 dB input
TARGET_OVER_WEBRTC_SNRS = (0, 5)
TARGET_RTF = 0.05                 # one core, 16 kHz
TARGET_LATENCY_MS = 40.0
MAX_LAG_S = 0.2
PEAK = 0.99  # mixtures louder than this are scaled down (clean reference with them)

WEBRTC = ["webrtcdsp", "echo-cancel=false", "noise-suppression=true",
          "noise-suppression-level=very-high", "gain-control=false", "experimental-agc=false",
          "limiter=false", "high-pass-filter=false", "voice-detection=false",
          "extended-filter=false", "delay-agnostic=false"]


# ----------------------------------------------------------------------------------- metrics
EPS = np.finfo(np.float64).eps


def snr_db(ref, est):
    """10 log10(|ref|^2 / |ref - est|^2)."""
    ref = np.asarray(ref, np.float64)
    est = np.asarray(est, np.float64)
    return 10 * np.log10(np.sum(ref ** 2) / max(np.sum((ref - est) ** 2), EPS))


def si_sdr_db(ref, est):
    """Scale-invariant SDR (Le Roux, Wisdom, Erdogan, Hershey, ICASSP 2019), zero-mean."""
    ref = np.asarray(ref, np.float64) - np.mean(ref)
    est = np.asarray(est, np.float64) - np.mean(est)
    alpha = np.dot(est, ref) / max(np.dot(ref, ref), EPS)
    target = alpha * ref
    return 10 * np.log10(max(np.sum(target ** 2), EPS) / max(np.sum((est - target) ** 2), EPS))


# STOI (Taal, Hendriks, Heusdens, Jensen, IEEE TASLP 2011), following the authors' MATLAB
# reference (stoi.m) step by step: 10 kHz, 256-sample Hann frames with 50 % overlap, 512-point
# FFT, 15 one-third-octave bands from 150 Hz, 30-frame segments (384 ms), clipping at
# beta = -15 dB, frames more than 40 dB below the loudest frame of the clean signal removed.
STOI_FS = 10000
STOI_FRAME = 256
STOI_NFFT = 512
STOI_BANDS = 15
STOI_MINFREQ = 150
STOI_N = 30
STOI_BETA = -15.0
STOI_DYN_RANGE = 40.0


def _hann(n):
    return np.hanning(n + 2)[1:-1]  # MATLAB's hanning(n): no zero end points


def _thirdoct(fs, nfft, num_bands, min_freq):
    """The one-third-octave band matrix (bands x nfft/2+1) of stoi.m's thirdoct."""
    f = np.linspace(0, fs, nfft + 1)[:nfft // 2 + 1]
    k = np.arange(num_bands, dtype=np.float64)
    freq_low = min_freq * 2.0 ** ((2 * k - 1) / 6)
    freq_high = min_freq * 2.0 ** ((2 * k + 1) / 6)
    obm = np.zeros((num_bands, len(f)))
    for i in range(num_bands):
        lo = int(np.argmin((f - freq_low[i]) ** 2))
        hi = int(np.argmin((f - freq_high[i]) ** 2))
        obm[i, lo:hi] = 1
    return obm


_OBM = _thirdoct(STOI_FS, STOI_NFFT, STOI_BANDS, STOI_MINFREQ)


def _frames(x, framelen, hop):
    """Windowed frames starting at 0, hop, ... while a whole frame fits (stoi.m's 1:hop:len-N)."""
    starts = range(0, len(x) - framelen, hop)
    w = _hann(framelen)
    return np.array([w * x[i:i + framelen] for i in starts]).reshape(-1, framelen)


def _remove_silent_frames(x, y, dyn_range, framelen, hop):
    """stoi.m's removeSilentFrames: drop the frames more than dyn_range dB below the clean
    signal's loudest, then overlap-add the windowed frames that are left."""
    xf, yf = _frames(x, framelen, hop), _frames(y, framelen, hop)
    energy = 20 * np.log10(np.linalg.norm(xf, axis=1) / np.sqrt(framelen) + EPS)
    keep = (np.max(energy) - dyn_range - energy) < 0
    xf, yf = xf[keep], yf[keep]
    n = len(xf)
    xs = np.zeros((n - 1) * hop + framelen) if n else np.zeros(0)
    ys = np.zeros_like(xs)
    for i in range(n):
        xs[i * hop:i * hop + framelen] += xf[i]
        ys[i * hop:i * hop + framelen] += yf[i]
    return xs, ys


def _resample_to(x, fs, target):
    if fs == target:
        return np.asarray(x, np.float64)
    g = np.gcd(int(fs), int(target))
    return resample_poly(np.asarray(x, np.float64), target // g, fs // g)


def stoi(clean, processed, fs):
    """Short-time objective intelligibility of `processed` against `clean` (same length)."""
    if len(clean) != len(processed):
        raise ValueError("stoi: signals of different lengths")
    x = _resample_to(clean, fs, STOI_FS)
    y = _resample_to(processed, fs, STOI_FS)
    x, y = _remove_silent_frames(x, y, STOI_DYN_RANGE, STOI_FRAME, STOI_FRAME // 2)
    xspec = np.fft.rfft(_frames(x, STOI_FRAME, STOI_FRAME // 2), n=STOI_NFFT).T  # bins x frames
    yspec = np.fft.rfft(_frames(y, STOI_FRAME, STOI_FRAME // 2), n=STOI_NFFT).T
    if xspec.shape[1] < STOI_N:
        raise ValueError(f"stoi: {xspec.shape[1]} frames of speech, {STOI_N} needed")
    xb = np.sqrt(_OBM @ np.abs(xspec) ** 2)  # bands x frames
    yb = np.sqrt(_OBM @ np.abs(yspec) ** 2)
    m = xb.shape[1]
    xseg = np.stack([xb[:, j - STOI_N:j] for j in range(STOI_N, m + 1)])  # segments x bands x N
    yseg = np.stack([yb[:, j - STOI_N:j] for j in range(STOI_N, m + 1)])
    alpha = np.linalg.norm(xseg, axis=2, keepdims=True) / (np.linalg.norm(yseg, axis=2, keepdims=True) + EPS)
    clip = 10 ** (-STOI_BETA / 20)
    yprime = np.minimum(yseg * alpha, xseg * (1 + clip))
    yprime = yprime - yprime.mean(axis=2, keepdims=True)
    xc = xseg - xseg.mean(axis=2, keepdims=True)
    yprime /= np.linalg.norm(yprime, axis=2, keepdims=True) + EPS
    xc /= np.linalg.norm(xc, axis=2, keepdims=True) + EPS
    return float(np.sum(xc * yprime) / (xseg.shape[0] * xseg.shape[1]))


def find_lag(out, noisy, max_lag):
    """The lag L in 0..max_lag maximizing sum_n out[n + L] noisy[n]."""
    n = len(noisy)
    o = np.zeros(n + max_lag)
    k = min(len(out), n + max_lag)
    o[:k] = out[:k]
    c = correlate(o, np.asarray(noisy, np.float64), mode="full", method="fft")
    zero = n - 1
    return int(np.argmax(c[zero:zero + max_lag + 1]))


def align(out, noisy, length, rate):
    lag = find_lag(out, noisy, int(round(MAX_LAG_S * rate)))
    y = np.zeros(length)
    seg = out[lag:lag + length]
    y[:len(seg)] = seg
    return y, lag


# ------------------------------------------------------------------------------------ audio io
def read_wav(path):
    rate, x = wavfile.read(path)
    if x.ndim > 1:
        x = x[:, 0]
    if x.dtype == np.int16:
        x = x.astype(np.float64) / 32768.0
    elif x.dtype == np.int32:
        x = x.astype(np.float64) / 2147483648.0
    else:
        x = x.astype(np.float64)
    return rate, x


def write_wav(path, rate, x):
    wavfile.write(path, rate, np.asarray(x, np.float32))


def decode(path, rate):
    """A sound file, mono (the channels' mean) at `rate`, through ffmpeg."""
    p = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", path, "-ac", "1", "-ar",
                        str(rate), "-f", "f32le", "-"], capture_output=True, check=True)
    return np.frombuffer(p.stdout, np.float32).astype(np.float64)


def clean_clip(name, rate):
    fs, x = read_wav(os.path.join(CLIP_DIR, name + ".wav"))
    return _resample_to(x, fs, rate)


def noise_for(kind, n, rate, rng, cache):
    """n samples of noise `kind` at `rate`: seeded Gaussian, or the recording from a seeded
    offset, looped."""
    if NOISES[kind] is None:
        return rng.standard_normal(n)
    key = (kind, rate)
    if key not in cache:
        cache[key] = decode(NOISES[kind], rate)
    rec = cache[key]
    start = int(rng.integers(0, len(rec)))
    idx = (start + np.arange(n)) % len(rec)
    return rec[idx]


def mix(clean, noise, snr):
    """clean + noise scaled to `snr` dB over the whole clip; both scaled down together when the
    mixture would exceed PEAK. Returns (clean, noisy, scale)."""
    g = np.sqrt(np.sum(clean ** 2) / (np.sum(noise ** 2) * 10 ** (snr / 10)))
    noisy = clean + g * noise
    peak = np.max(np.abs(noisy))
    s = PEAK / peak if peak > PEAK else 1.0
    return clean * s, noisy * s, s


# --------------------------------------------------------------------------------- the methods
class Runner:
    def __init__(self, plugin_dir, model, work):
        self.model = model
        self.env = dict(os.environ, GST_PLUGIN_PATH=plugin_dir,
                        GST_REGISTRY=os.path.join(work, "registry.bin"), GST_DEBUG_NO_COLOR="1")

    def command(self, method, inp, out, timed=False):
        if method in ("cae", "webrtcdsp"):
            fmt, elem = ("F32LE", ["caeaudiodenoise"] + ([f"model={self.model}"] if self.model else [])) \
                if method == "cae" else ("S16LE", WEBRTC)
            gst = ["gst-launch-1.0"] + ([] if timed else ["-q"])
            return gst + ["filesrc", f"location={inp}", "!", "wavparse", "!", "audioconvert", "!",
                          f"audio/x-raw,format={fmt}", "!", *elem, "!", "audioconvert", "!",
                          "wavenc", "!", "filesink", f"location={out}"]
        filt = {"afftdn": "afftdn=nr=30", "anlmdn": "anlmdn"}[method]
        log = ["-hide_banner", "-nostats", "-v", "info", "-benchmark"] if timed else ["-v", "error"]
        return ["ffmpeg", "-nostdin", "-y"] + log + ["-i", inp, "-af", filt, "-c:a", "pcm_f32le", out]

    def run(self, method, inp, out, prefix=(), timed=False, env=None):
        cmd = list(prefix) + self.command(method, inp, out, timed)
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True, env=env or self.env)
        wall = time.perf_counter() - t0
        if p.returncode != 0 or not os.path.exists(out):
            raise RuntimeError(f"{method} failed ({p.returncode}): {shlex.join(cmd)}\n{p.stderr[-2000:]}")
        return wall, p.stdout + p.stderr

    def latency(self, inp, out):
        """(reported latency ms, algorithmic latency ms, STFT size, hop) the element logs."""
        env = dict(self.env, GST_DEBUG="caeaudiodenoise:4")
        _, log = self.run("cae", inp, out, env=env)
        m = re.search(r"STFT (\d+) / hop (\d+), latency (\d+):(\d+):([\d.]+) \(algorithmic "
                      r"(\d+):(\d+):([\d.]+)\)", log)
        if not m:
            return None
        sec = lambda h, mi, s: (int(h) * 3600 + int(mi) * 60 + float(s)) * 1000
        return sec(*m.group(3, 4, 5)), sec(*m.group(6, 7, 8)), int(m.group(1)), int(m.group(2))


def processing_seconds(method, log):
    """The processing time a method reports: gst-launch-1.0's "Execution ended after" (from
    PLAYING to EOS), ffmpeg's -benchmark rtime."""
    if method in ("cae", "webrtcdsp"):
        m = re.search(r"Execution ended after (\d+):(\d+):([\d.]+)", log)
        return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)) if m else None
    m = re.search(r"rtime=([\d.]+)s", log)
    return float(m.group(1)) if m else None



# ------------------------------------------------------------- the test noise against training
def _varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return v, i


def onnx_metadata(path):
    """The metadata_props of an ONNX file (ModelProto field 14: key 1, value 2), read from the
    protobuf wire format (Debian's python3 has no onnx package)."""
    b, i, props = open(path, "rb").read(), 0, {}
    while i < len(b):
        tag, i = _varint(b, i)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            _, i = _varint(b, i)
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        elif wire == 2:
            n, i = _varint(b, i)
            if field == 14:
                e, j, kv = b[i:i + n], 0, {}
                while j < len(e):
                    t, j = _varint(e, j)
                    m, j = _varint(e, j)
                    kv[t >> 3] = e[j:j + m].decode("utf-8", "replace")
                    j += m
                props[kv.get(1, "")] = kv.get(2, "")
            i += n
        else:
            break  # not a field this reader knows: stop rather than misread
    return props


def training_noise_files(recipe):
    """The files and folders after --noise-data and --val-noise-data in a cae.recipe command."""
    out, take = [], False
    for a in shlex.split(recipe):
        if a in ("--noise-data", "--val-noise-data"):
            take = True
        elif a.startswith("-"):
            take = False
        elif take:
            out.append(a)
    files = []
    for p in out:
        if os.path.isdir(p):
            files += sorted(os.path.join(d, f) for d, _, fs in os.walk(p) for f in fs
                            if f.lower().endswith((".wav", ".flac", ".ogg", ".mp3")))
        else:
            files.append(p)
    return files


def max_ncc(a, b, seconds=4, rate=8000):
    """The largest normalized cross-correlation of up to `seconds` of the shorter signal against
    the longer one, over every lag: near 1 when one recording holds the other."""
    a, b = a - a.mean(), b - b.mean()
    x, y = (a, b) if len(a) >= len(b) else (b, a)
    y = y[:seconds * rate]
    if len(y) < rate // 10 or not np.any(y):
        return 0.0
    c = signal.fftconvolve(x, y[::-1], mode="valid")
    cs = np.concatenate([[0.0], np.cumsum(x * x)])
    ex = np.maximum(cs[len(y):] - cs[:-len(y)], 0)
    return float(np.max(np.abs(c) / (np.sqrt(ex * np.sum(y * y)) + 1e-9)))


def noise_overlap(model):
    """Each recorded test noise against every noise recording the model's recipe trained or
    validated on, at 8 kHz: the largest normalized cross-correlation, and with which file."""
    recipe = onnx_metadata(model).get("cae.recipe", "") if model and os.path.exists(model) else ""
    files = training_noise_files(recipe)
    out = {"type": "overlap", "files": len(files), "recipe_found": bool(recipe), "noises": {}}
    train = {f: decode(f, 8000).astype(np.float64) for f in files if os.path.exists(f)}
    for kind, path in NOISES.items():
        if not path:
            continue
        test = decode(path, 8000).astype(np.float64)
        best = max(((max_ncc(test, x), f) for f, x in train.items()), default=(0.0, ""))
        out["noises"][kind] = {"ncc": best[0], "file": best[1]}
    return out

# ------------------------------------------------------------------------------------- the run
def model_info(path):
    if not path or not os.path.exists(path):
        return {"model": path}
    h = hashlib.sha256(open(path, "rb").read()).hexdigest()[:12]
    mtime = datetime.datetime.utcfromtimestamp(os.path.getmtime(path)).strftime("%Y-%m-%d %H:%M")
    return {"model": path, "model_sha256": h, "model_bytes": os.path.getsize(path),
            "model_mtime_utc": mtime}


def head_commit():
    """The checkout's HEAD commit, read from .git (no git command)."""
    try:
        g = os.path.join(ROOT, ".git")
        head = open(os.path.join(g, "HEAD")).read().strip()
        if not head.startswith("ref: "):
            return head[:9]
        ref = head[5:]
        p = os.path.join(g, ref)
        if os.path.exists(p):
            return open(p).read().strip()[:9]
        for line in open(os.path.join(g, "packed-refs")):
            if line.strip().endswith(" " + ref):
                return line.split()[0][:9]
    except OSError:
        pass
    return "unknown"


def loadavg():
    return " ".join(open("/proc/loadavg").read().split()[:3])


def default_model(runner):
    """The element's default model path, as gst-inspect-1.0 reports it."""
    p = subprocess.run(["gst-inspect-1.0", "caeaudiodenoise"], capture_output=True, text=True,
                       env=runner.env)
    m = re.search(r"model\s*:.*?Default: \"([^\"]*)\"", p.stdout, re.S)
    return m.group(1) if m else None


def check_inputs(runner):
    missing = [os.path.join(CLIP_DIR, c + ".wav") for c in CLIPS
               if not os.path.exists(os.path.join(CLIP_DIR, c + ".wav"))]
    missing += [p for p in NOISES.values() if p and not os.path.exists(p)]
    if missing:
        sys.exit("missing input files (alsa-utils, sonic-pi-samples, lmms-common): " + ", ".join(missing))
    for tool in ("gst-launch-1.0", "gst-inspect-1.0", "ffmpeg", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found")
    for elem in ("caeaudiodenoise", "webrtcdsp"):
        p = subprocess.run(["gst-inspect-1.0", elem], capture_output=True, text=True, env=runner.env)
        if p.returncode != 0:
            sys.exit(f"GStreamer element {elem} not found (GST_PLUGIN_PATH={runner.env['GST_PLUGIN_PATH']})")


def run_bench(args):
    t_start = time.time()
    meta = {"type": "machine", "utc": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"),
            "nproc": os.cpu_count(), "loadavg_start": loadavg(), "commit": head_commit(),
            "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                         if l.startswith("model name")), "?"),
            "command": os.environ.get("CAE_BENCH_COMMAND") or shlex.join([sys.executable] + sys.argv),
            "plugin_dir": args.plugin_dir, "nice": os.nice(0)}
    work = args.keep or tempfile.mkdtemp(prefix="cae-audio-bench-")
    os.makedirs(work, exist_ok=True)
    runner = Runner(args.plugin_dir, args.model, work)
    check_inputs(runner)
    meta.update(model_info(args.model or default_model(runner)))
    rates = [int(r) for r in args.rates.split(",")]
    snrs = [float(s) for s in args.snrs.split(",")]
    noises = args.noises.split(",")
    for n in noises:
        if n not in NOISES:
            sys.exit(f"unknown noise {n} (known: {', '.join(NOISES)})")
    clips_at = {r: CLIPS[:args.clips_48k if r == 48000 and args.clips_48k else args.clips] for r in rates}
    meta.update({"rates": rates, "snrs": snrs, "noises": noises,
                 "clips": {str(r): c for r, c in clips_at.items()}, "seed": args.seed,
                 "jobs": args.jobs, "rtf_repeats": args.rtf_repeats})
    rms = [10 * np.log10(np.mean(clean_clip(c, 48000) ** 2)) for c in CLIPS]
    meta["speech_rms_dbfs"] = float(np.mean(rms))
    rows = [meta]
    print(f"[audio-bench] work folder {work}; model {meta.get('model')}", file=sys.stderr)

    # The noisy files, then every method on each.
    cache = {}
    cases = []
    for rate in rates:
        for ci, clip in enumerate(clips_at[rate]):
            clean0 = clean_clip(clip, rate)
            for ni, kind in enumerate(noises):
                rng = np.random.default_rng([args.seed, ci, ni, rate])
                noise = noise_for(kind, len(clean0), rate, rng, cache)
                for snr in snrs:
                    clean, noisy, scale = mix(clean0, noise, snr)
                    base = os.path.join(work, f"{rate}-{clip}-{kind}-{snr:g}")
                    write_wav(base + "-noisy.wav", rate, noisy)
                    cases.append(dict(rate=rate, clip=clip, noise=kind, snr=snr, base=base,
                                      clean=clean, scale=scale))
    print(f"[audio-bench] {len(cases)} noisy files; {len(cases) * len(PROCESSORS)} method runs",
          file=sys.stderr)

    def evaluate(case, method):
        inp = case["base"] + "-noisy.wav"
        rate, noisy = read_wav(inp)
        clean = case["clean"]
        if method == "noisy":
            out, lag = noisy, 0
        else:
            path = case["base"] + f"-{method}.wav"
            runner.run(method, inp, path)
            _, raw = read_wav(path)
            out, lag = align(raw, noisy, len(clean), rate)
            if not args.keep:
                os.remove(path)
        snr_in = snr_db(clean, noisy)
        sisdr_in = si_sdr_db(clean, noisy)
        return {"type": "result", "rate": rate, "clip": case["clip"], "noise": case["noise"],
                "snr": case["snr"], "method": method, "lag": lag, "scale": case["scale"],
                "snr_in": snr_in, "snr_out": snr_db(clean, out), "snri": snr_db(clean, out) - snr_in,
                "sisdr_in": sisdr_in, "sisdr_out": si_sdr_db(clean, out),
                "sisdri": si_sdr_db(clean, out) - sisdr_in, "stoi": stoi(clean, out, rate)}

    jobs = [(c, m) for c in cases for m in METHODS]
    done = 0
    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
        futures = [pool.submit(evaluate, c, m) for c, m in jobs]
        for f in futures:
            rows.append(f.result())
            done += 1
            if done % 200 == 0:
                print(f"[audio-bench] {done}/{len(jobs)}", file=sys.stderr)
    for c in cases:
        if not args.keep:
            os.remove(c["base"] + "-noisy.wav")

    # Speed: all clips concatenated (white noise, 5 dB), one core, the best of a few runs.
    for rate in rates:
        clean = np.concatenate([clean_clip(c, rate) for c in CLIPS])
        rng = np.random.default_rng([args.seed, 999, rate])
        _, noisy, _ = mix(clean, rng.standard_normal(len(clean)), 5.0)
        inp = os.path.join(work, f"speed-{rate}.wav")
        write_wav(inp, rate, noisy)
        dur = len(noisy) / rate
        lat = runner.latency(inp, os.path.join(work, f"speed-{rate}-lat.wav"))
        if lat:
            rows.append({"type": "latency", "rate": rate, "latency_ms": lat[0],
                         "algorithmic_ms": lat[1], "fft": lat[2], "hop": lat[3]})
        for method in PROCESSORS:
            out = os.path.join(work, f"speed-{rate}-{method}.wav")
            runner.run(method, inp, out)  # warm the file cache
            walls, procs = [], []
            for _ in range(args.rtf_repeats):
                wall, log = runner.run(method, inp, out, prefix=("taskset", "-c", "0"), timed=True)
                walls.append(wall)
                procs.append(processing_seconds(method, log))
            procs = [p for p in procs if p is not None]
            rows.append({"type": "speed", "rate": rate, "method": method, "audio_s": dur,
                         "wall_s": min(walls), "proc_s": min(procs) if procs else None,
                         "rtf_wall": min(walls) / dur,
                         "rtf_proc": min(procs) / dur if procs else None, "repeats": len(walls)})
            print(f"[audio-bench] speed {rate} Hz {method}: {min(walls):.3f} s for {dur:.1f} s",
                  file=sys.stderr)
    overlap = noise_overlap(meta.get("model"))
    rows.append(overlap)
    for kind, o in overlap["noises"].items():
        print(f"[audio-bench] {kind} against the model's training noise: largest NCC "
              f"{o['ncc']:.3f} ({o['file'] or '-'})", file=sys.stderr)
    rows.append({"type": "run", "seconds": round(time.time() - t_start), "loadavg_end": loadavg()})
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    os.makedirs(args.out, exist_ok=True)
    raw = os.path.join(args.out, "audio-denoise.jsonl")
    with open(raw, "w") as f:
        for r in rows:
            f.write(json.dumps({k: v for k, v in r.items()}) + "\n")
    report(rows, args.out)


# ---------------------------------------------------------------------------------- the report
def report(rows, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    meta = next((r for r in rows if r.get("type") == "machine"), {})
    run = next((r for r in rows if r.get("type") == "run"), {})
    res = [r for r in rows if r.get("type") == "result"]
    speed = [r for r in rows if r.get("type") == "speed"]
    lats = {r["rate"]: r for r in rows if r.get("type") == "latency"}
    rates = sorted({r["rate"] for r in res})
    snrs = sorted({r["snr"] for r in res})
    noises = list(dict.fromkeys(r["noise"] for r in res))
    methods = [m for m in METHODS if any(r["method"] == m for r in res)]

    def mean(key, **sel):
        v = [r[key] for r in res if all(r[k] == x for k, x in sel.items())]
        return (sum(v) / len(v)) if v else float("nan")

    def khz(rate):
        return f"{rate / 1000:g} kHz"

    fmt = lambda v, p=2: "—" if v is None or v != v else f"{v:.{p}f}"
    L = ["# Speech denoising: caeaudiodenoise against webrtcdsp, afftdn, anlmdn (issue 15)", ""]
    L.append(f"Measured {meta.get('utc', '?')} UTC, commit {meta.get('commit', '?')}, "
             f"{meta.get('nproc', '?')} cores ({meta.get('cpu', '?')}), shared machine, run under "
             f"nice {meta.get('nice', '?')}; load {meta.get('loadavg_start', '?')} at the start, "
             f"{run.get('loadavg_end', '?')} at the end; {run.get('seconds', '?')} s in all.")
    L += ["", f"Command: `{meta.get('command', '?')}`", ""]
    model = meta.get("model", "?")
    L.append(f"Model: `{model}`" + (f" ({meta['model_bytes']} bytes, sha256 {meta['model_sha256']}…, "
                                   f"modified {meta['model_mtime_utc']} UTC)" if "model_sha256" in meta else "")
             + f"; plugin `{meta.get('plugin_dir', '?')}`.")
    clips = meta.get("clips", {})
    per_rate = "; ".join(f"{khz(int(r))}: {len(c)} clip(s)" for r, c in clips.items())
    scaled = sum(1 for r in res if r["method"] == "noisy" and r["scale"] < 1)
    L += ["", "**Set-up.** Clean speech: the alsa-utils voice clips (/usr/share/sounds/alsa, 48 kHz, "
          "Noise.wav left out; test only, never training data), each clip on its own "
          f"({per_rate}); 16 kHz versions by scipy's resample_poly. Noise, none of it in "
          "training: `white` (Gaussian, seeded), `vinyl_hiss` and `3d_printer` (sonic-pi-samples), "
          "`crowd` (lmms raving_crowd01) and `applause` (lmms applause01), decoded by ffmpeg to mono "
          "at the working rate, looped, from a seeded offset; mixed at "
          f"{', '.join(f'{s:g}' for s in snrs)} dB SNR over the whole clip"
          + (f" ({scaled} mixtures scaled down together with their clean reference to peak at "
             f"{PEAK})" if scaled else "") + ". Every method ran on the same float32 WAV files in "
          "this run: `caeaudiodenoise` (F32LE), `webrtcdsp` (S16LE; " + " ".join(WEBRTC[1:]) +
          "), ffmpeg `afftdn=nr=30` and `anlmdn` (defaults); `noisy` is the input itself. Each "
          "output is aligned to the clean clip by the lag (0–200 ms) of its largest "
          "cross-correlation with the noisy input, then cut to the clip's length.",
          "", "**Metrics.** SNR improvement: output SNR − input SNR against the clean clip. SI-SDR "
          "improvement: scale-invariant SDR (Le Roux et al. 2019, zero-mean) of the output − that "
          "of the input. STOI: Taal et al. 2011 as the authors' MATLAB code computes it (10 kHz, "
          "256-sample frames at 50 % overlap, 512-point FFT, 15 third-octave bands from 150 Hz, "
          "30-frame segments, beta −15 dB, 40 dB silent-frame removal; resampled with "
          "resample_poly rather than MATLAB's resample; `bench/audio_denoise.py --self-test` "
          "checks it); absolute, 0–1, the `noisy` row is the input's. Means over clips and noise "
          "kinds."]

    for rate in rates:
        n = len({(r["clip"], r["noise"]) for r in res if r["rate"] == rate})
        L += ["", f"## {khz(rate)} (means over {n} clip × noise pairs)", "",
              "SI-SDRi, SNRi: improvements in dB; STOI: of the output; at each input SNR.", "",
              "| method | " + " | ".join(f"{k} {s:g} dB" for k in ("SI-SDRi", "SNRi", "STOI") for s in snrs) + " |",
              "|---|" + "---|" * (3 * len(snrs))]
        for m in methods:
            cells = [fmt(mean("sisdri", rate=rate, method=m, snr=s)) for s in snrs]
            cells += [fmt(mean("snri", rate=rate, method=m, snr=s)) for s in snrs]
            cells += [fmt(mean("stoi", rate=rate, method=m, snr=s), 3) for s in snrs]
            L.append(f"| {m} | " + " | ".join(cells) + " |")
        L += ["", f"SI-SDR improvement per noise kind at {khz(rate)} (dB, at "
              f"{' / '.join(f'{s:g}' for s in snrs)} dB input SNR; means over clips):", "",
              "| method | " + " | ".join(noises) + " |", "|---|" + "---|" * len(noises)]
        for m in methods:
            L.append(f"| {m} | " + " | ".join(
                " / ".join(fmt(mean("sisdri", rate=rate, method=m, noise=k, snr=s), 1) for s in snrs)
                for k in noises) + " |")
        L += ["", f"SNR improvement per noise kind at {khz(rate)} (dB, same layout):", "",
              "| method | " + " | ".join(noises) + " |", "|---|" + "---|" * len(noises)]
        for m in methods:
            L.append(f"| {m} | " + " | ".join(
                " / ".join(fmt(mean("snri", rate=rate, method=m, noise=k, snr=s), 1) for s in snrs)
                for k in noises) + " |")

    if "white" in noises and all(s in snrs for s in (0, 5, 10)):
        L += ["", "## White noise: this run against ANCHORS.md (output SNR, dB, at 0 / 5 / 10 dB input SNR)",
              "", "ANCHORS.md's “Audio denoising” table gives the output SNR after aligning for the "
              "filter's latency (its figures are the input SNR plus the improvement), so this table "
              "does too. afftdn's noise floor is a fixed parameter (nf, default −50 dB), so what it "
              "removes depends on the absolute level of the noise: here the speech is at the clips' "
              "own level" + (f" (RMS {meta['speech_rms_dbfs']:.1f} dBFS on average)" if "speech_rms_dbfs" in meta
                             else "") + ", and quieter mixtures give afftdn more.", "",
              "| method | " + " | ".join(f"this run, {khz(r)}" for r in rates) + " | ANCHORS.md |",
              "|---|" + "---|" * (len(rates) + 1)]
        for m in ("webrtcdsp", "afftdn", "anlmdn"):
            if m in methods:
                L.append(f"| {m} | " + " | ".join(
                    " / ".join(fmt(mean("snr_out", rate=r, method=m, noise="white", snr=s)) for s in (0, 5, 10))
                    for r in rates) + " | " + " / ".join(f"{v:.2f}" for v in ANCHOR_WHITE_SNR_OUT[m]) + " |")

    L += ["", "## Alignment (lag of the largest cross-correlation with the noisy input, samples)", "",
          "| method | " + " | ".join(f"{khz(r)}: median (min–max)" for r in rates) + " |",
          "|---|" + "---|" * len(rates)]
    for m in methods:
        cells = []
        for rate in rates:
            lags = sorted(r["lag"] for r in res if r["rate"] == rate and r["method"] == m)
            cells.append("—" if not lags else
                         f"{lags[len(lags) // 2]} = {lags[len(lags) // 2] / rate * 1000:.1f} ms "
                         f"({lags[0]}–{lags[-1]})")
        L.append(f"| {m} | " + " | ".join(cells) + " |")
    if lats:
        L += ["", "caeaudiodenoise's latency as it logs it (GST_DEBUG=caeaudiodenoise:4): " + "; ".join(
            f"{khz(r)}: STFT {l['fft']} / hop {l['hop']}, algorithmic {l['algorithmic_ms']:.2f} ms, "
            f"reported (algorithmic + one hop's measured processing) {l['latency_ms']:.2f} ms"
            for r, l in sorted(lats.items())) + "."]

    if speed:
        L += ["", "## Speed (one core: taskset -c 0; the best of "
              f"{speed[0].get('repeats', '?')} runs)", "",
              "All clips concatenated, white noise at 5 dB. Whole process: wall time of the command "
              "(start-up, plugin and model loading, file I/O included) / audio duration. "
              "Processing: gst-launch-1.0's “Execution ended after” (PLAYING to EOS) or ffmpeg's "
              "-benchmark rtime, / audio duration.", "",
              "| method | rate | audio s | whole process s | RTF whole process | RTF processing |",
              "|---|---|---|---|---|---|"]
        for s in speed:
            L.append(f"| {s['method']} | {khz(s['rate'])} | {s['audio_s']:.2f} | {s['wall_s']:.3f} | "
                     f"{s['rtf_wall']:.4f} | {fmt(s['rtf_proc'], 4)} |")

    # Targets.
    ov = next((r for r in rows if r.get("type") == "overlap"), None)
    if ov:
        L += ["", "## The test noises against the model's training noise", "",
              f"Every noise recording named by `--noise-data` and `--val-noise-data` in the model's "
              f"`cae.recipe` ({ov['files']} files{'' if ov['recipe_found'] else '; the model has no recipe'}) "
              "against each recorded test noise, both at 8 kHz: the largest normalized "
              "cross-correlation of up to 4 s of the shorter over every lag of the longer. A copy "
              f"of a test recording reads near 1 (frozen-bubble-data's applause.ogg against "
              f"lmms applause01: 0.95); distinct recordings here read under 0.15. "
              f"{OVERLAP_NCC:g} or more is an overlap.", "",
              "| test noise | largest NCC | training file | |", "|---|---|---|---|"]
        for kind, o in ov["noises"].items():
            L.append(f"| {kind} | {o['ncc']:.3f} | `{o['file'] or '-'}` | "
                     f"{'**overlap**' if o['ncc'] >= OVERLAP_NCC else 'distinct'} |")
    L += ["", "## Targets (issue 15)", "", "| target | rate | measured | |", "|---|---|---|---|"]
    ok = lambda b: "**met**" if b else "**missed**"
    if ov:
        worst = max(ov["noises"].values(), key=lambda o: o["ncc"], default={"ncc": 0.0, "file": ""})
        L.append(f"| no test noise in training (NCC < {OVERLAP_NCC:g}) | — | largest {worst['ncc']:.3f} | "
                 f"{ok(worst['ncc'] < OVERLAP_NCC and ov['recipe_found'])} |")
    if "cae" in methods:
        for rate in rates:
            if "webrtcdsp" in methods:
                for s in TARGET_OVER_WEBRTC_SNRS:
                    if s in snrs:
                        c = mean("sisdri", rate=rate, method="cae", snr=s)
                        w = mean("sisdri", rate=rate, method="webrtcdsp", snr=s)
                        L.append(f"| SI-SDRi ≥ webrtcdsp + {TARGET_OVER_WEBRTC_DB:g} dB at {s:g} dB | "
                                 f"{khz(rate)} | cae {c:.2f}, webrtcdsp {w:.2f} (+{TARGET_OVER_WEBRTC_DB:g}: "
                                 f"{w + TARGET_OVER_WEBRTC_DB:.2f}) | {ok(c >= w + TARGET_OVER_WEBRTC_DB)} |")
            for other in ("afftdn", "anlmdn"):
                if other in methods:
                    pairs = [(s, mean("sisdri", rate=rate, method="cae", snr=s),
                              mean("sisdri", rate=rate, method=other, snr=s)) for s in snrs]
                    L.append(f"| SI-SDRi ahead of {other} at every level | {khz(rate)} | " + ", ".join(
                        f"{s:g} dB: {c:.2f} vs {o:.2f}" for s, c, o in pairs) + f" | "
                        f"{ok(all(c > o for _, c, o in pairs))} |")
        s16 = next((s for s in speed if s["method"] == "cae" and s["rate"] == 16000), None)
        if s16:
            L.append(f"| RTF ≤ {TARGET_RTF:g}, one core | 16 kHz | {s16['rtf_wall']:.4f} whole process, "
                     f"{fmt(s16['rtf_proc'], 4)} processing | {ok(s16['rtf_wall'] <= TARGET_RTF)} |")
        for rate, l in sorted(lats.items()):
            L.append(f"| latency ≤ {TARGET_LATENCY_MS:g} ms | {khz(rate)} | {l['latency_ms']:.2f} ms reported "
                     f"({l['algorithmic_ms']:.2f} algorithmic) | {ok(l['latency_ms'] <= TARGET_LATENCY_MS)} |")
        L += ["", "SI-SDR targets are judged on the means over clips and noise kinds; the RTF on the "
              "whole process (the stricter figure); the latency on what the element reports to the "
              "pipeline (algorithmic + measured processing of one hop)."]

    fig, axes = plt.subplots(1, len(rates), figsize=(5.2 * len(rates), 4.0), squeeze=False)
    for ax, rate in zip(axes[0], rates):
        for m in methods:
            ax.plot(snrs, [mean("sisdri", rate=rate, method=m, snr=s) for s in snrs], marker="o", label=m,
                    ls="--" if m == "noisy" else "-")
        if "webrtcdsp" in methods:
            ts = [s for s in snrs if s in TARGET_OVER_WEBRTC_SNRS]
            ax.plot(ts, [mean("sisdri", rate=rate, method="webrtcdsp", snr=s) + TARGET_OVER_WEBRTC_DB
                         for s in ts], "x:", color="gray", label="target: webrtcdsp + 3 dB")
        ax.set_title(f"{khz(rate)}, mean over clips and noise kinds", fontsize=10)
        ax.set_xlabel("input SNR (dB)")
        ax.set_ylabel("SI-SDR improvement (dB)")
        ax.set_xticks(snrs)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "audio-denoise.png"), dpi=110)
    plt.close(fig)
    L += ["", "![SI-SDR improvement against input SNR](audio-denoise.png)", "",
          "Raw lines (one per clip, noise, SNR and method): `audio-denoise.jsonl`. Reproduce: "
          "`bench/run_audio_bench.sh [builddir] [--model FILE] [options of bench/audio_denoise.py]`."]
    with open(os.path.join(out, "audio-denoise.md"), "w") as f:
        f.write("\n".join(L) + "\n")
    print(f"[audio-bench] report: {os.path.join(out, 'audio-denoise.md')}", file=sys.stderr)


# ------------------------------------------------------------------------------------ self-test
def self_test():
    """Checks of the metrics on a real clip: STOI(x, x) = 1, STOI falls as noise rises, SI-SDR's
    scale invariance, the SNR of a mixture, and the alignment's lag; and of the overlap check."""
    failures = []

    def check(cond, what):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            failures.append(what)

    rng = np.random.default_rng(0)
    for rate in (16000, 48000):
        x = clean_clip("Front_Center", rate)
        s = stoi(x, x, rate)
        check(abs(s - 1) < 1e-6, f"{rate} Hz: STOI(x, x) = {s:.8f}")
        noise = rng.standard_normal(len(x))
        vals = []
        for snr in (30, 15, 5, 0, -5, -10):
            _, noisy, _ = mix(x, noise, snr)
            vals.append(stoi(x, noisy, rate))
        check(all(a > b for a, b in zip(vals, vals[1:])) and 0 < vals[-1] < vals[0] < 1,
              f"{rate} Hz: STOI falls with noise (30..-10 dB): " + " ".join(f"{v:.3f}" for v in vals))
        check(abs(stoi(x, 0.3 * x, rate) - 1) < 1e-6, f"{rate} Hz: STOI is scale-invariant")
        _, noisy, _ = mix(x, noise, 5.0)
        check(abs(snr_db(x, noisy) - 5.0) < 1e-9, f"{rate} Hz: the mixture's SNR is 5 dB "
              f"({snr_db(x, noisy):.6f})")
        check(abs(si_sdr_db(x, noisy) - si_sdr_db(x, 0.25 * noisy)) < 1e-9,
              f"{rate} Hz: SI-SDR is scale-invariant ({si_sdr_db(x, noisy):.3f} dB)")
        d = int(0.032 * rate) - 1
        delayed = np.concatenate([np.zeros(d), noisy * 0.7, np.zeros(d)])
        check(find_lag(delayed, noisy, int(MAX_LAG_S * rate)) == d, f"{rate} Hz: alignment finds a lag of {d}")
    obm = _OBM
    check(obm.shape == (15, 257) and obm.sum(axis=1).min() >= 1,
          "15 third-octave bands over 257 bins, none empty")
    f = np.linspace(0, STOI_FS, STOI_NFFT + 1)[:STOI_NFFT // 2 + 1]
    lo = f[np.argmax(obm[0] > 0)]
    hi = f[len(f) - 1 - np.argmax(obm[-1][::-1] > 0)]
    check(100 < lo < 160 and 4000 < hi < 4400, f"bands span {lo:.0f}..{hi:.0f} Hz")
    # the overlap check: a delayed, scaled copy reads 1, independent noise near 0; the recipe's
    # noise files; the ONNX metadata reader on a shipped model
    a = rng.standard_normal(8000 * 6)
    check(max_ncc(a, 0.3 * a[12345:12345 + 8000 * 3]) > 0.999, "NCC of a clip's stretch ≈ 1")
    check(max_ncc(a, rng.standard_normal(8000 * 3)) < 0.1, "NCC of independent noise < 0.1")
    files = training_noise_files("cae-train s/ --noise-data /a.wav /b.ogg --rate 16000 "
                                 "--val-noise-data /c.mp3 -o m.onnx")
    check(files == ["/a.wav", "/b.ogg", "/c.mp3"], f"recipe noise files {files}")
    meta = onnx_metadata(os.path.join(ROOT, "models", "audio-denoise.onnx"))
    check(meta.get("cae.task") == "audio-denoise" and "--task audio-denoise" in meta.get("cae.recipe", ""),
          f"ONNX metadata: cae.task {meta.get('cae.task')!r}, {len(meta)} keys")
    print("self-test: " + ("all passed" if not failures else f"{len(failures)} failed"))
    return 0 if not failures else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--plugin-dir", default=os.path.join(os.environ.get("CAE_BUILD_DIR", os.path.join(ROOT, "build")),
                                                         "plugins"))
    ap.add_argument("--model", help="caeaudiodenoise model= (default: the element's default)")
    ap.add_argument("--out", default=os.environ.get("CAE_BENCH_OUT") or os.path.join(HERE, "reports"))
    ap.add_argument("--rates", default="16000,48000")
    ap.add_argument("--clips", type=int, default=len(CLIPS), help="first N clips (at most 8)")
    ap.add_argument("--clips-48k", type=int, default=0, help="first N clips at 48 kHz (0: --clips)")
    ap.add_argument("--noises", default=",".join(NOISES))
    ap.add_argument("--snrs", default="0,5,10")
    ap.add_argument("--jobs", type=int, default=2, help="method runs at once")
    ap.add_argument("--rtf-repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--keep", help="work folder to keep (noisy and denoised WAVs)")
    ap.add_argument("--report", metavar="RAW.jsonl", help="only write the report from a run's lines")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    if args.report:
        rows = [json.loads(l) for l in open(args.report) if l.strip()]
        os.makedirs(args.out, exist_ok=True)
        report(rows, args.out)
        return 0
    if not os.path.exists(os.path.join(args.plugin_dir, "libgstcae.so")):
        sys.exit(f"no {args.plugin_dir}/libgstcae.so: build the plugin first")
    if args.model and not os.path.exists(args.model):
        sys.exit(f"model not found: {args.model}")
    args.plugin_dir = os.path.abspath(args.plugin_dir)
    args.model = os.path.abspath(args.model) if args.model else None
    args.out = os.path.abspath(args.out)
    run_bench(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
