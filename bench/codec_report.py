#!/usr/bin/python3
"""Report of the learned-compression benchmark (issue 14): bench/reports/codec.{md,png,jsonl} and
codec_crops.png from bench_codec_rd's JSON lines and run_codec_bench.sh's element speeds.

BD-rate (Bjontegaard, VCEG-M33, 2001): per picture, log10(bits) fitted as a cubic in quality for
each codec, the mean difference of the fits over the qualities both cover, as a rate change in
percent (negative: fewer bits at the same quality); the table gives the mean over the pictures
where the ranges overlap by at least MIN_OVERLAP_DB (a fit over a sliver of overlap extrapolates
and gives figures like +20,000 %). Quality: RGB PSNR, and MS-SSIM as -10 log10(1 - MS-SSIM) dB.
With --cards MODELDIR, also writes the model cards MODELDIR/<family>.md of the shipped families
(codec-fast, codec-hq) from this run's numbers and the training logs in MODELDIR/logs.
Usage: codec_report.py RAW.jsonl OUTDIR [DUMPDIR] [--cards MODELDIR]"""
import json
import math
import os
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

TARGETS = {  # family: (vs JPEG, vs WebP) BD-rate targets in percent (None: none)
    "codec-hq": (-40.0, -10.0),
    "codec-fast": (-20.0, None),
}


MIN_OVERLAP_DB = 1.0


def bd_rate(r1, q1, r2, q2):
    """Bits of codec 2 against codec 1 at equal quality, percent; None without enough overlap."""
    if len(r1) < 2 or len(r2) < 2:
        return None
    lo, hi = max(min(q1), min(q2)), min(max(q1), max(q2))
    if hi - lo < MIN_OVERLAP_DB:
        return None
    deg1, deg2 = min(3, len(r1) - 1), min(3, len(r2) - 1)
    p1 = np.polyfit(q1, np.log10(r1), deg1)
    p2 = np.polyfit(q2, np.log10(r2), deg2)
    i1, i2 = np.polyint(p1), np.polyint(p2)
    a1 = np.polyval(i1, hi) - np.polyval(i1, lo)
    a2 = np.polyval(i2, hi) - np.polyval(i2, lo)
    return (10 ** ((a2 - a1) / (hi - lo)) - 1) * 100


MIN_OVERLAP_LOG10_RATE = 0.05  # 12 % in bits


def bd_psnr(r1, q1, r2, q2):
    """Quality of codec 2 minus codec 1 at equal bits, dB (Bjontegaard's companion figure: each
    quality fitted as a cubic in log10(bits), the mean difference over the rates both cover);
    None without enough overlap."""
    if len(r1) < 2 or len(r2) < 2:
        return None
    l1, l2 = np.log10(r1), np.log10(r2)
    lo, hi = max(min(l1), min(l2)), min(max(l1), max(l2))
    if hi - lo < MIN_OVERLAP_LOG10_RATE:
        return None
    p1 = np.polyint(np.polyfit(l1, q1, min(3, len(r1) - 1)))
    p2 = np.polyint(np.polyfit(l2, q2, min(3, len(r2) - 1)))
    return ((np.polyval(p2, hi) - np.polyval(p2, lo)) - (np.polyval(p1, hi) - np.polyval(p1, lo))) / (hi - lo)


def msssim_db(m):
    return -10 * math.log10(max(1e-10, 1 - m))


def main():
    args = sys.argv[1:]
    cards = None
    if "--cards" in args:
        at = args.index("--cards")
        cards = args[at + 1]
        del args[at:at + 2]
    raw, out = args[0], args[1]
    dump = args[2] if len(args) > 2 else None
    rows = [json.loads(l) for l in open(raw) if l.strip()]
    machine = next((r for r in rows if r.get("type") == "machine"), {})
    run = next((r for r in rows if r.get("type") == "run"), {})
    rd = [r for r in rows if "codec" in r]
    speed = [r for r in rows if r.get("type") == "element"]
    by = defaultdict(lambda: defaultdict(list))  # codec -> image -> points
    for r in rd:
        by[r["codec"]][r["image"]].append(r)
    codecs = sorted(by, key=lambda c: (c in ("jpeg", "webp"), c))
    images = sorted({r["image"] for r in rd})

    def curve(codec, image, key):
        pts = sorted(by[codec][image], key=lambda p: p["bpp"])
        q = [msssim_db(p["msssim"]) if key == "msssim" else p["psnr"] for p in pts]
        return [p["bpp"] for p in pts], q

    def mean_bd(codec, anchor, key, fn=bd_rate):
        vals = []
        for im in images:
            if im in by[codec] and im in by[anchor]:
                r1, q1 = curve(anchor, im, key)
                r2, q2 = curve(codec, im, key)
                v = fn(r1, q1, r2, q2)
                if v is not None:
                    vals.append(v)
        return (sum(vals) / len(vals), len(vals)) if vals else (None, 0)

    lines = ["# Learned compression against JPEG and WebP (issue 14)", ""]
    lines.append(
        f"Measured {machine.get('utc', '?')} UTC, commit {machine.get('commit', '?')}, "
        f"{machine.get('nproc', '?')} cores ({machine.get('cpu', '?')}); load "
        f"{machine.get('loadavg_start', '?')} at the start, {run.get('loadavg_end', '?')} at "
        f"the end; {run.get('seconds', '?')} s. The {len(images)} pictures of the ANCHORS.md test "
        "list, colour where the file is colour. Bits per pixel count whole files (JPEG, WebP "
        "through OpenCV: libjpeg-turbo 4:2:0, libwebp) and whole cae frames (32-byte header "
        "included); RGB PSNR; MS-SSIM as CompressAI reports it (bench/msssim.hpp). Every cae "
        "frame was decoded by PictureDecoder and checked equal to the encoder's reconstruction.")
    lines += ["", "## BD-rate (negative: fewer bits for the same quality; mean over pictures)", "",
              f"In brackets: the pictures where both curves share at least {MIN_OVERLAP_DB:g} dB of "
              "quality (a dash: none do).", ""]
    lines.append("| codec | vs JPEG (PSNR) | vs WebP (PSNR) | vs JPEG (MS-SSIM) | vs WebP (MS-SSIM) | target |")
    lines.append("|---|---|---|---|---|---|")
    def cells_of(c, fn, fmt):
        """The four table cells (PSNR, MS-SSIM against JPEG, WebP) of codec c under fn."""
        out = []
        for key in ("psnr", "msssim"):
            for anchor in ("jpeg", "webp"):
                v, n = mean_bd(c, anchor, key, fn)
                out.append("—" if v is None else fmt.format(v) + f" ({n})")
        return out

    learned = [c for c in codecs if c not in ("jpeg", "webp")]
    for c in learned:
        cells = cells_of(c, bd_rate, "{:+.1f} %")
        t = TARGETS.get(c)
        target = "—" if not t else ", ".join(
            f"{'≤' if x is not None else ''}{x:+.0f} % vs {a}" for x, a in zip(t, ("JPEG", "WebP")) if x is not None)
        lines.append(f"| {c} | {cells[0]} | {cells[1]} | {cells[2]} | {cells[3]} | {target} |")
    lines += ["", "## BD-PSNR (quality at equal bits, dB; positive: better; mean over pictures)", "",
              "In brackets: the pictures where both curves share at least 12 % of bits.", "",
              "| codec | vs JPEG (PSNR) | vs WebP (PSNR) | vs JPEG (MS-SSIM dB) | vs WebP (MS-SSIM dB) |",
              "|---|---|---|---|---|"]
    for c in learned:
        cells = cells_of(c, bd_psnr, "{:+.2f} dB")
        lines.append(f"| {c} | {cells[0]} | {cells[1]} | {cells[2]} | {cells[3]} |")
    webp_vs_jpeg, n = mean_bd("webp", "jpeg", "psnr")
    if webp_vs_jpeg is not None:
        lines += ["", f"WebP against JPEG on the same pictures: {webp_vs_jpeg:+.1f} % ({n} pictures, PSNR)."]

    lines += ["", "## Rate points (means over the pictures)", "",
              "| codec | parameter | bits per pixel | PSNR dB | MS-SSIM |", "|---|---|---|---|---|"]
    means = {}
    for c in codecs:
        params = sorted({r["param"] for r in rd if r["codec"] == c})
        pts = []
        for p in params:
            sel = [r for r in rd if r["codec"] == c and r["param"] == p]
            b = sum(r["bpp"] for r in sel) / len(sel)
            q = sum(r["psnr"] for r in sel) / len(sel)
            m = sum(r["msssim"] for r in sel) / len(sel)
            pts.append((b, q, m))
            lines.append(f"| {c} | {p:g} | {b:.3f} | {q:.2f} | {m:.4f} |")
        means[c] = pts
    if speed:
        lines += ["", "## Speed through the elements (gst-launch-1.0, RGB, frames per second)", "",
                  "| codec | pipeline | size | frames | fps |", "|---|---|---|---|---|"]
        for s in speed:
            lines.append(f"| {s['model']} | {s['pipeline']} | {s['width']}x{s['height']} | "
                         f"{s['frames']} | {s['fps']:.1f} |")
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
    for c, pts in means.items():
        pts = sorted(pts)
        ax[0].plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=c, ms=3)
        ax[1].plot([p[0] for p in pts], [msssim_db(p[2]) for p in pts], "o-", label=c, ms=3)
    for a, t in zip(ax, ("RGB PSNR (dB)", "MS-SSIM (dB)")):
        a.set_xlabel("bits per pixel (mean over the test pictures)")
        a.set_ylabel(t)
        a.set_xlim(0, 1.5)
        a.grid(alpha=0.3)
        a.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "codec.png"), dpi=110)
    lines += ["", "![rate-distortion](codec.png)"]
    if dump and os.path.isdir(dump) and crops(dump, rd, codecs, out):
        lines += ["", "## At about 0.25 bits per pixel (astronaut, a 160 x 160 crop)", "",
                  "![crops](codec_crops.png)"]
    lines += ["", "Reproduce: `bench/run_codec_bench.sh [builddir] FAMILY=enc1.onnx,... ...`."]
    with open(os.path.join(out, "codec.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    if cards:
        bd = {c: {(a, k): mean_bd(c, a, k) for a in ("jpeg", "webp") for k in ("psnr", "msssim")}
              for c in codecs if c not in ("jpeg", "webp")}
        for c in bd:
            for a in ("jpeg", "webp"):
                bd[c][(a, "bdpsnr")] = mean_bd(c, a, "psnr", bd_psnr)
        for family in ("codec-fast", "codec-hq"):
            if family in by:
                write_card(cards, family, machine, run, images, rd, bd[family],
                           [s for s in speed if s["model"].startswith(family + " ")])


DESIGNS = {
    "codec-fast": ("The real-time design: 4 stride-2 stages of 3x3 convolutions with ReLU (32 "
                   "channels), 64 latent channels at 1/16 resolution; synthesis mirrored with 3x3 "
                   "transposed convolutions. Runs on oneDNN when available."),
    "codec-hq": ("Ballé et al. 2018's factorized-prior transform: 4 stride-2 stages of 5x5 "
                 "convolutions with GDN (64 channels), 96 latent channels at 1/16 resolution; "
                 "synthesis mirrored with 5x5 transposed convolutions and IGDN. Runs on OpenCV "
                 "DNN (oneDNN does not cover GDN)."),
}
LAMBDAS = {1: 0.0035, 2: 0.0067, 3: 0.0130, 4: 0.0250}


def training_of(logdir, name):
    """(steps, minutes, summary metrics) of a training log, or None."""
    path = os.path.join(logdir, name + ".log.jsonl")
    if not os.path.exists(path):
        return None
    rows = [json.loads(l) for l in open(path) if l.strip()]
    epochs = [r for r in rows if r.get("event") == "epoch"]
    summary = next((r for r in rows if r.get("event") == "summary"), {})
    start = next((r for r in rows if r.get("event") == "start"), {})
    steps = None
    rec = start.get("recipe", "")
    if "--steps" in rec and epochs:
        steps = int(rec.split("--steps")[1].split()[0]) * epochs[-1]["epoch"]
    minutes = sum(r.get("seconds", 0) for r in epochs) / 60
    return steps, minutes, summary.get("metrics", {}), "--init" in rec


def write_card(modeldir, family, machine, run, images, rd, bd, speed):
    kind = family.split("-")[1]
    lines = [f"# {family} — learned image codec of caeenc / caedec / cae-codec (4 rate points)", ""]
    lines.append(f"**What.** {DESIGNS[family]} Each rate point is two files: the analysis "
                 f"(`{family}-qN.onnx`, the encoder caeenc and `cae-codec encode` run) and the "
                 f"synthesis (`{family}-qN.decoder.onnx`); the entropy model's 16-bit CDF tables "
                 "(one per latent channel) and the codec identifier frames carry are in both "
                 "files' metadata (`cae.cdf_tables`, `cae.codec`). Every frame is intra-coded.")
    lines += ["", "**Data.** The denoisers' photographs (models/recipes/denoise-data.sh): the 12 "
              "mate-backgrounds nature photographs and the skimage pictures not on the ANCHORS test "
              "list (brick, grass, gravel, retina, ihc, cell, page), RGB, random 64x64 patches with "
              "flips; the rate points also see every picture downsized by 1/2 and 1/4. cae-train "
              "holds 2 of the pictures out for validation (full size only)."]
    lines += ["", f"**Recipe.** `models/recipes/codec.sh {kind} all`: a base trained from scratch "
              "at lambda 0.013 on the pictures as they are (not shipped), then each rate point "
              "fine-tuned from the base's checkpoint with the downsized pictures added; the exact "
              "command of each file is in its `cae.recipe`. Logs and loss curves: "
              "`models/logs/" + family + "-{base,q1..q4}.log.jsonl`, `.loss.png`."]
    lines += ["", "**Training** (one engine thread each, sharing 2 cores; validation: 64 held-out "
              "64x64 patches with rounded latents; bpp there is the entropy model's estimate, the "
              "metrics below count coded frames):", "",
              "| rate point | lambda | steps | start | minutes | validation loss | bpp | PSNR dB |",
              "|---|---|---|---|---|---|---|---|"]
    logdir = os.path.join(modeldir, "logs")
    for q in ("base", 1, 2, 3, 4):
        t = training_of(logdir, f"{family}-{q}" if q == "base" else f"{family}-q{q}")
        if not t:
            continue
        steps, minutes, m, init = t
        lines.append(f"| {q if q == 'base' else 'q' + str(q)} | {LAMBDAS[3 if q == 'base' else q]} | "
                     f"{steps if steps else '?'} | {'base' if init else 'scratch'} | {minutes:.0f} | "
                     f"{m.get('val_loss', float('nan')):.3f} | {m.get('bpp', float('nan')):.3f} | "
                     f"{m.get('psnr', float('nan')):.2f} |")
    lines += ["", f"**Metrics** (bench/reports/codec.md, one run: {machine.get('utc', '?')} UTC, "
              f"commit {machine.get('commit', '?')}; the {len(images)} ANCHORS test pictures, RGB "
              "PSNR and MS-SSIM against bits per pixel of whole frames; JPEG and WebP measured in "
              "the same run):", "",
              "| rate point | bits per pixel | PSNR dB | MS-SSIM |", "|---|---|---|---|"]
    for q in (1, 2, 3, 4):
        sel = [r for r in rd if r["codec"] == family and r["param"] == q]
        if sel:
            n = len(sel)
            lines.append(f"| q{q} | {sum(r['bpp'] for r in sel) / n:.3f} | "
                         f"{sum(r['psnr'] for r in sel) / n:.2f} | "
                         f"{sum(r['msssim'] for r in sel) / n:.4f} |")
    fmt = lambda v: "—" if v[0] is None else f"{v[0]:+.1f} %"
    fmtdb = lambda v: "—" if v[0] is None else f"{v[0]:+.2f} dB"
    lines += ["", f"BD-rate (negative: fewer bits at the same quality): against JPEG "
              f"{fmt(bd[('jpeg', 'psnr')])} (PSNR), {fmt(bd[('jpeg', 'msssim')])} (MS-SSIM); "
              f"against WebP {fmt(bd[('webp', 'psnr')])} (PSNR), {fmt(bd[('webp', 'msssim')])} "
              "(MS-SSIM); a dash where the curves do not share 1 dB of quality. PSNR at equal bits "
              f"(BD-PSNR): {fmtdb(bd[('jpeg', 'bdpsnr')])} against JPEG, "
              f"{fmtdb(bd[('webp', 'bdpsnr')])} against WebP."]
    t = TARGETS.get(family)
    if t:
        lines.append("Targets (issue 14): " + ", ".join(
            f"≤ {x:+.0f} % against {a}" for x, a in zip(t, ("JPEG", "WebP")) if x is not None) + ".")
    if speed:
        lines += ["", "Speed through the elements (gst-launch-1.0, RGB, 2 cores, " +
                  f"load {machine.get('loadavg_start', '?')} at the start of the run): " +
                  ", ".join(f"{s['pipeline']} {s['width']}x{s['height']} {s['fps']:.1f} fps"
                            for s in speed) + f" ({speed[0]['model']})."]
    lines += ["", "**Limits.** Trained for minutes on 19 pictures, not for days on thousands as "
              "published codecs are: compare the numbers above, not the design's reputation. Where "
              "they trail JPEG and WebP, the PSNR that rises little from q1 to q4 says what limits "
              "them: the synthesis' capacity and the training length, not the entropy coder. "
              "Synthetic test cards (videotestsrc's saturated bars and snow) code poorly: the "
              "colours are outside the photographs'. "
              "Intra-only (no motion); a frame names the codec that made it, so a stream decodes "
              "only with the same files. Pictures are padded to a multiple of 16 by repeating the "
              "edge, which costs bits on small pictures."]
    with open(os.path.join(modeldir, family + ".md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    for q in (1, 2, 3, 4):  # a short card per file, pointing to the family's
        sel = [r for r in rd if r["codec"] == family and r["param"] == q]
        if not sel:
            continue
        n = len(sel)
        measured = (f"On the {n} ANCHORS test pictures (bench/reports/codec.md, the run of "
                    f"{machine.get('utc', '?')} UTC): {sum(r['bpp'] for r in sel) / n:.3f} bits per "
                    f"pixel, RGB PSNR {sum(r['psnr'] for r in sel) / n:.2f} dB, MS-SSIM "
                    f"{sum(r['msssim'] for r in sel) / n:.4f}.")
        name = f"{family}-q{q}"
        with open(os.path.join(modeldir, name + ".md"), "w") as f:
            f.write(f"# {name} — the encoder (analysis) of {family} at rate point {q}\n\n"
                    f"lambda {LAMBDAS[q]}; decoded by `{name}.decoder.onnx`. {measured}\n\n"
                    f"Design, data, recipe, training, the comparison with JPEG and WebP, speed and "
                    f"limits: the family's card, [{family}.md]({family}.md).\n")
        with open(os.path.join(modeldir, name + ".decoder.md"), "w") as f:
            f.write(f"# {name}.decoder — the decoder (synthesis) of {family} at rate point {q}\n\n"
                    f"Turns the latents `{name}.onnx` codes back into pictures; the pair shares "
                    f"the coder's tables and the codec identifier frames carry. {measured}\n\n"
                    f"See [{name}.md]({name}.md) and the family's card [{family}.md]({family}.md).\n")


def crops(dump, rd, codecs, out):
    """The side-by-side crops of the dumped picture; False when the run did not code it."""
    pic = "astronaut.png"
    if not any(r["image"] == pic for r in rd):
        return False
    shown = [("original", 0, None)]
    for c in codecs:
        pts = [r for r in rd if r["codec"] == c and r["image"] == pic]
        if pts:
            best = min(pts, key=lambda r: abs(r["bpp"] - 0.25))
            shown.append((c, best["param"], best))
    fig, ax = plt.subplots(1, len(shown), figsize=(2.6 * len(shown), 3.0), squeeze=False)
    ax = ax[0]
    for a, (c, p, r) in zip(ax, shown):
        img = plt.imread(os.path.join(dump, f"{c}-{p:g}.png"))
        a.imshow(img[170:330, 180:340], interpolation="nearest")
        a.set_title(c if r is None else f"{c}\n{r['bpp']:.3f} bpp, {r['psnr']:.2f} dB", fontsize=8)
        a.axis("off")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "codec_crops.png"), dpi=110)
    return True


if __name__ == "__main__":
    main()
