#!/usr/bin/env python3
"""Per-mixture SI-SDR on a speech denoiser's validation files, for choosing between models.

The speech benchmark (bench/audio_denoise.py) scores on test clips and test noise, which must
never pick a model. This script scores candidate models the same way (the element through
gst-launch, the output aligned to the clean clip, SI-SDR, SNR and STOI improvements) on the files the
model's own training run held out: `cae-train ... --list-validation` names them (the recipe
passes it through: `models/recipes/audio-denoise.sh DIR kinds --list-validation`).

Mixtures: --clips speech files of at least --min-seconds (seeded choice, spread over the list's
folders) with each validation noise recording and white noise, at 0, 5 and 10 dB over the whole
clip, as the benchmark mixes them. webrtcdsp runs on the same files for scale. --speech-dir DIR
takes the speech from speakers the models never heard instead (one folder per speaker, e.g.
/usr/share/ktuberling/sounds from ktuberling-data: recorded words in 25 languages), short files
joined into clips of --concat seconds; the noise still comes from the list.

  bench/audio_validation.py --list val.txt --model shipped=models/audio-denoise.onnx \\
      --model F=/work/runs/F.onnx [--clips 40] [--out out/audio-validation]

Writes OUT/validation.jsonl (one line per mixture and method) and OUT/validation.md (means).
"""

import argparse
import collections
import concurrent.futures
import datetime
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import audio_denoise as ad  # noqa: E402  (the benchmark's metrics, mixing and runner)


def read_list(path):
    """(speech files, noise files) from --list-validation's lines."""
    speech, noise = [], []
    for line in open(path):
        kind, _, f = line.strip().partition(" ")
        if kind in ("speech", "sound"):
            speech.append(f)
        elif kind == "noise":
            noise.append(f)
    if not speech:
        sys.exit(f"{path}: no 'speech PATH' lines (make it with cae-train ... --list-validation)")
    return speech, noise


def active_seconds(x, rate):
    """Seconds of 32 ms frames within 40 dB of the clip's loudest frame."""
    n = rate * 32 // 1000
    frames = len(x) // n
    if frames == 0:
        return 0.0
    e = np.sum(x[:frames * n].reshape(frames, n) ** 2, axis=1)
    if e.max() <= 0:
        return 0.0
    return float(np.sum(e > e.max() * 1e-4)) * n / rate


def choose_clips(files, count, min_seconds, rate, seed):
    """count speech clips with at least min_seconds of active speech, drawn round-robin over the
    files' folders (voices) in a seeded order."""
    by_dir = collections.defaultdict(list)
    for f in files:
        by_dir[os.path.dirname(f)].append(f)
    rng = np.random.default_rng(seed)
    queues = []
    for d in sorted(by_dir):
        q = list(by_dir[d])
        rng.shuffle(q)
        queues.append(q)
    chosen = []
    while len(chosen) < count and any(queues):
        for q in queues:
            while q:
                f = q.pop()
                x = ad.decode(f, rate)
                if active_seconds(x, rate) >= min_seconds:
                    chosen.append((f, x))
                    break
            if len(chosen) == count:
                break
    return chosen


def concatenated_clips(root, count, seconds, rate, seed, gap=0.15):
    """count clips of about `seconds`, each the words of one speaker folder under root (files in
    a seeded order, joined with `gap` s of silence), round-robin over the folders: for short
    recordings such as single words, from speakers a model never trained on."""
    dirs = sorted(d for d in (os.path.join(root, e) for e in os.listdir(root)) if os.path.isdir(d))
    rng = np.random.default_rng(seed)
    queues = []
    for d in dirs:
        files = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith((".ogg", ".wav", ".flac")))
        if len(files) >= 8:
            rng.shuffle(files)
            queues.append((d, files))
    chosen = []
    silence = np.zeros(int(gap * rate))
    while len(chosen) < count and any(q for _, q in queues):
        for d, q in queues:
            parts, n = [], 0
            while q and n < seconds * rate:
                x = ad.decode(q.pop(), rate)
                parts += [x, silence]
                n += len(x) + len(silence)
            if n >= seconds * rate:
                chosen.append((d, np.concatenate(parts)))
            if len(chosen) == count:
                break
    return chosen


def stoi_or_nan(clean, x, rate):
    """The benchmark's STOI, NaN for a clip with too little speech for it (under 30 frames)."""
    try:
        return ad.stoi(clean, x, rate)
    except ValueError:
        return float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--list", required=True, help="cae-train --list-validation's output")
    ap.add_argument("--speech-dir", help="speech of other speakers instead of the list's: one "
                    "folder per speaker, short files joined into clips of --concat seconds")
    ap.add_argument("--concat", type=float, default=4.0, help="seconds per --speech-dir clip")
    ap.add_argument("--model", action="append", required=True, metavar="NAME=PATH",
                    help="a candidate (repeat for several; each a row of the tables)")
    ap.add_argument("--plugin-dir", default=os.path.join(os.environ.get("CAE_BUILD_DIR", os.path.join(ad.ROOT, "build")),
                                                         "plugins"))
    ap.add_argument("--clips", type=int, default=40, help="speech clips (each with every noise)")
    ap.add_argument("--min-seconds", type=float, default=1.5,
                    help="least active speech in a listed file to use it")
    ap.add_argument("--rate", type=int, default=16000)
    ap.add_argument("--snrs", default="0,5,10")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--no-webrtc", action="store_true", help="leave webrtcdsp out")
    ap.add_argument("--out", default=os.path.join(ad.ROOT, "out", "audio-validation"))
    args = ap.parse_args()

    models = []
    for m in args.model:
        name, _, path = m.partition("=")
        if not path or not os.path.exists(path):
            sys.exit(f"--model {m}: give NAME=PATH of an existing model")
        models.append((name, path))
    speech, noise_files = read_list(args.list)
    rate = args.rate
    snrs = [float(s) for s in args.snrs.split(",")]
    if args.speech_dir:
        clips = concatenated_clips(args.speech_dir, args.clips, args.concat, rate, args.seed)
    else:
        clips = choose_clips(speech, args.clips, args.min_seconds, rate, args.seed)
    noises = [("white", None)] + [(os.path.splitext(os.path.basename(f))[0], ad.decode(f, rate))
                                  for f in noise_files]
    work = tempfile.mkdtemp(prefix="cae-audio-val-")
    runners = {name: ad.Runner(args.plugin_dir, path, work) for name, path in models}
    methods = [name for name, _ in models] + ([] if args.no_webrtc else ["webrtcdsp"])
    print(f"[audio-val] {len(clips)} clips x {len(noises)} noises x {len(snrs)} SNRs; "
          f"{', '.join(methods)}; work {work}", file=sys.stderr)

    cases = []
    for ci, (f, clean0) in enumerate(clips):
        for ni, (kind, rec) in enumerate(noises):
            rng = np.random.default_rng([args.seed, ci, ni])
            if rec is None:
                noise = rng.standard_normal(len(clean0))
            else:
                noise = rec[(int(rng.integers(0, len(rec))) + np.arange(len(clean0))) % len(rec)]
            for snr in snrs:
                clean, noisy, _ = ad.mix(clean0, noise, snr)
                base = os.path.join(work, f"{ci}-{kind}-{snr:g}")
                ad.write_wav(base + "-noisy.wav", rate, noisy)
                cases.append(dict(clip=f, noise=kind, snr=snr, base=base, clean=clean))

    def evaluate(case, method):
        inp = case["base"] + "-noisy.wav"
        _, noisy = ad.read_wav(inp)
        out = case["base"] + f"-{method}.wav"
        runner = runners.get(method) or next(iter(runners.values()))
        runner.run("cae" if method in runners else "webrtcdsp", inp, out)
        _, raw = ad.read_wav(out)
        os.remove(out)
        clean = case["clean"]
        y, lag = ad.align(raw, noisy, len(clean), rate)
        return {"clip": case["clip"], "noise": case["noise"], "snr": case["snr"], "method": method,
                "lag": lag, "sisdri": ad.si_sdr_db(clean, y) - ad.si_sdr_db(clean, noisy),
                "snri": ad.snr_db(clean, y) - ad.snr_db(clean, noisy),
                "stoii": stoi_or_nan(clean, y, rate) - stoi_or_nan(clean, noisy, rate)}

    rows = []
    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
        futures = [pool.submit(evaluate, c, m) for c in cases for m in methods]
        for i, fu in enumerate(futures):
            rows.append(fu.result())
            if (i + 1) % 200 == 0:
                print(f"[audio-val] {i + 1}/{len(futures)}", file=sys.stderr)
    for c in cases:
        os.remove(c["base"] + "-noisy.wav")

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "validation.jsonl"), "w") as fo:
        for r in rows:
            fo.write(json.dumps(r) + "\n")
    lines = [f"# Validation SI-SDR ({datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC)", "",
             f"{len(clips)} validation clips of {args.speech_dir or args.list} x {len(noises)} noises "
             f"({', '.join(k for k, _ in noises)}) at {rate} Hz; models: "
             + ", ".join(f"{n} = {p}" for n, p in models), "",
             "| method | " + " | ".join(f"SI-SDRi {s:g} dB" for s in snrs) + " | "
             + " | ".join(f"SNRi {s:g} dB" for s in snrs) + " | "
             + " | ".join(f"STOIi {s:g} dB" for s in snrs) + " |",
             "|---|" + "---|" * (3 * len(snrs))]
    for m in methods:
        si = [np.mean([r["sisdri"] for r in rows if r["method"] == m and r["snr"] == s]) for s in snrs]
        sn = [np.mean([r["snri"] for r in rows if r["method"] == m and r["snr"] == s]) for s in snrs]
        st = [np.nanmean([r["stoii"] for r in rows if r["method"] == m and r["snr"] == s])
              for s in snrs]
        lines.append(f"| {m} | " + " | ".join(f"{v:.2f}" for v in si + sn) + " | "
                     + " | ".join(f"{v:+.3f}" for v in st) + " |")
    lines += ["", "SI-SDRi per noise (0 / 5 / 10 dB):", "",
              "| method | " + " | ".join(k for k, _ in noises) + " |", "|---|" + "---|" * len(noises)]
    for m in methods:
        cells = []
        for k, _ in noises:
            cells.append(" / ".join(f"{np.mean([r['sisdri'] for r in rows if r['method'] == m and r['noise'] == k and r['snr'] == s]):.2f}"
                                    for s in snrs))
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    open(os.path.join(args.out, "validation.md"), "w").write(text)
    print(text)
    os.rmdir(work) if not os.listdir(work) else None


if __name__ == "__main__":
    main()
