#!/usr/bin/env python3
"""run_denoise_bench.sh's JSON lines → denoise.md (tables, target checks) and denoise.png (plot).
Usage: denoise_report.py denoise.jsonl outdir"""
import json
import os
import subprocess
import sys
from datetime import datetime, timezone

raw, outdir = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(raw, encoding="utf-8") if l.strip().startswith("{")]
of = lambda t: [r for r in rows if r.get("type") == t]
one = lambda t: (of(t) or [{}])[0]
config, machine, run = one("config"), one("machine"), one("run")
frames, elements, speeds = of("frame"), of("element"), of("speed")
# Lines written before the oneDNN backend carry no backend: they were OpenCV DNN's.
for r in frames + elements:
    if r.get("kind", "model") == "model":
        r.setdefault("backend", "opencv")
checks = of("backend_check")

# ANCHORS.md "Image denoising" (mean over the 11 test images; papers on BSD68).
ANCHORS = {15: dict(noisy=25.10, nlm=31.56, bm3d=31.85, dncnn=31.73, bm3d_paper=31.07),
           25: dict(noisy=20.81, nlm=29.09, bm3d=28.95, dncnn=29.23, bm3d_paper=28.57),
           50: dict(noisy=15.19, nlm=25.14, bm3d=25.27, dncnn=26.23, bm3d_paper=25.62)}
SIZES = [(640, 480), (1280, 720), (1920, 1080)]

models = list(dict.fromkeys(r["method"] for r in frames if r["kind"] == "model"))
backends = list(dict.fromkeys(r["backend"] for r in frames if r["kind"] == "model"))
BACKEND = {"opencv": "OpenCV DNN", "onednn": "oneDNN", "onednn-bf16": "oneDNN bf16", "cuda": "CUDA"}
bname = lambda b: BACKEND.get(b, b)
methods = ["noisy"] + models + [m for m in ("nlm", "bm3d") if any(r["method"] == m for r in frames)]
labels = {"noisy": "noisy", "nlm": "OpenCV NLM", "bm3d": "ffmpeg bm3d"}
label = lambda m: labels.get(m, m)
sigmas = sorted({r["sigma"] for r in frames})
images = list(dict.fromkeys(r["image"] for r in frames))
full = len(images) == 11


def on(r, m, be):
    """Row r is method m (for a model: on backend be, default the first backend measured)."""
    return r["method"] == m and (r.get("kind") != "model" or r["backend"] == (be or backends[0]))


def mean_psnr(m, s, be=None):
    v = [r["psnr"] for r in frames if on(r, m, be) and r["sigma"] == s]
    return sum(v) / len(v) if v else None


def ms_512(m, s=None, be=None):
    """Time per 512×512 frame: total time over total pixels (all images; one sigma or all)."""
    v = [r for r in frames if on(r, m, be) and (s is None or r["sigma"] == s)]
    px = sum(r["w"] * r["h"] for r in v)
    return sum(r["ms"] for r in v) / px * 512 * 512 if px and m != "noisy" else None


def element_fps(m, w, h, key="fps", be=None):
    for r in elements:
        if r["method"] == m and r["width"] == w and r["height"] == h and r["backend"] == (be or backends[0]):
            return r[key]
    if m == "nlm":
        for r in speeds:
            if r["method"] == "nlm" and r["width"] == w and r["height"] == h:
                return r["fps"]
    return None


f2 = lambda v: "–" if v is None else f"{v:.2f}"
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                        cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()

# Threads: NLM and bm3d at --threads; the models at --model-threads (0: the element's default).
nt = config.get("threads", 2)
mt = config.get("model_threads", nt)
if mt == nt:
    threads_txt = f"{nt} threads for every method."
elif mt:
    threads_txt = f"{nt} threads for NLM and bm3d, {mt} for the models (in this process and the element)."
else:
    threads_txt = (f"{nt} threads for NLM and bm3d; the models at the element's default threads, here "
                   f"and through the element (OpenCV DNN: OpenCV's process-wide {nt}; oneDNN: "
                   f"onednn::kDefaultThreads = {config.get('onednn_default_threads', '?')}).")
md = ["# Denoising: learned models against OpenCV NLM and ffmpeg bm3d (issues 4, 11)\n",
      f"Measured {machine.get('utc', f'{datetime.now(timezone.utc):%Y-%m-%d %H:%M}')} UTC, commit "
      f"{machine.get('commit', commit)}, on "
      f"{machine.get('nproc', '?')} cores ({machine.get('cpu', '?')}); load average "
      f"{machine.get('loadavg_start', '?')} at the start, {run.get('loadavg_end', '?')} at the end; "
      f"the whole run took {run.get('seconds', 0) / 60:.1f} min. Absolute times on a shared machine "
      "are noisy: read them as ratios measured side by side in this one run.\n",
      f"Test images: {len(images)} of the ANCHORS.md test list ({', '.join(images)}), read as gray "
      "by OpenCV; additive white Gaussian noise with a fixed seed "
      f"({config.get('seed', '?')}), rounded and clipped to 8 bits; PSNR on the 8-bit output. All "
      "methods see the same noisy frames. Models run as caedenoise runs them "
      f"(cae::infer::Engine + runPlanes on the CPU), on each backend in turn: "
      f"{', '.join(bname(b) for b in backends)}; OpenCV fastNlMeansDenoising with "
      "ANCHORS' h (13.5 / 22.5 / 40 at sigma 15 / 25 / 50; windows 7 and 21); ffmpeg's bm3d filter "
      f"(basic estimate, `{config.get('bm3d', '')}` at sigma 25: ffmpeg's sigma is 3.75 × the "
      "noise sigma, the best scale on camera.png, other options at their defaults). "
      + threads_txt + "\n"]
if "omp_wait_policy" in machine:
    md.append(f"OMP_WAIT_POLICY=`{machine['omp_wait_policy'] or '(unset)'}` (oneDNN's OpenMP threads).\n")
if not full:
    md.append(f"**Reduced run ({len(images)} images): the ANCHORS columns are means over all 11 "
              "images and do not compare with these.**\n")

md += ["## PSNR (dB), mean over the test images\n",
       "| sigma | noisy (ANCHORS) | " + " | ".join(models) +
       " | OpenCV NLM (ANCHORS) | ffmpeg bm3d (ANCHORS) | DnCNN-S (paper, BSD68) | BM3D (paper, BSD68) |",
       "|---|---|" + "---|" * len(models) + "---|---|---|---|"]
for s in sigmas:
    a = ANCHORS.get(s, {})
    pair = lambda m, k: f"{f2(mean_psnr(m, s))} ({f2(a.get(k))})"
    md.append(f"| {s} | {pair('noisy', 'noisy')} | " + " | ".join(f2(mean_psnr(m, s)) for m in models) +
              f" | {pair('nlm', 'nlm')} | {pair('bm3d', 'bm3d')} | {f2(a.get('dncnn'))} | "
              f"{f2(a.get('bm3d_paper'))} |")

s_img = 25 if 25 in sigmas else sigmas[0]
md += [f"\n## PSNR (dB) per image at sigma {s_img}\n",
       "| image | size | " + " | ".join(label(m) for m in methods) + " |",
       "|---|---|" + "---|" * len(methods)]
by = {(r["method"], r["image"], r["sigma"]): r for r in frames}
for im in images:
    r0 = by.get(("noisy", im, s_img), {})
    md.append(f"| {im} | {r0.get('w', '?')}×{r0.get('h', '?')} | " +
              " | ".join(f2(by.get((m, im, s_img), {}).get("psnr")) for m in methods) + " |")
md.append("| **mean** | | " + " | ".join(f"**{f2(mean_psnr(m, s_img))}**" for m in methods) + " |")

if len(backends) > 1:
    md.append("\n## The same output on every backend\n")
    md.append("PSNRs above are the first backend's (" + bname(backends[0]) + "). Each model's output "
              "on every noisy frame, compared with that backend's: the float output of "
              "Engine::run on the blob caedenoise feeds, the 8-bit frame it writes, and the PSNR.\n")
    md.append("| model | backends | frames | max \\|Δ\\| float output | 8-bit pixels differing | "
              "max \\|Δ PSNR\\| (dB) | identical up to 1e-5 |")
    md.append("|---|---|---|---|---|---|---|")
    bf16 = lambda c: "bf16" in c["backends"]
    for c in checks:
        same = c["max_abs_diff"] <= 1e-5
        verdict = ("no (bf16 rounding, expected)" if bf16(c) else "**no**") if not same else "yes"
        md.append(f"| {c['method']} | {c['backends']} | {c['frames']} | {c['max_abs_diff']:.2g} | "
                  f"{c['pixels_differing']} of {c['pixels']} | {c['max_psnr_diff']:.2g} | {verdict} |")
    f32c, bfc = [c for c in checks if not bf16(c)], [c for c in checks if bf16(c)]
    if not checks:
        md.append("| (no check in the raw file) | | | | | | |")
    if f32c:
        md.append(f"\nIn f32 the float outputs agree within {max(c['max_abs_diff'] for c in f32c):.2g} (summation "
                  "order); an 8-bit pixel differs only where the output lies that close to a rounding "
                  f"boundary, which moves a frame's PSNR by at most {max(c['max_psnr_diff'] for c in f32c):.2g} dB.")
    if bfc:
        md.append(f"\noneDNN in bf16 (convolutions in bfloat16, the stem and the output in f32) differs from "
                  f"f32 by up to {max(c['max_abs_diff'] for c in bfc):.2g} in model units "
                  f"({max(c['max_abs_diff'] for c in bfc) * 255:.1f} steps of 8 bits), which moves a frame's "
                  f"PSNR by at most {max(c['max_psnr_diff'] for c in bfc):.2g} dB.")

nlm_ms = ms_512("nlm")
md += ["\n## Speed\n",
       "Time per 512×512 frame: total time over total pixels of the test images (all sigmas) × "
       "512², in this process (bm3d: wall clock of the ffmpeg call minus a null-filter "
       "ffmpeg call on the same frame, so ffmpeg's start-up and file I/O are left out). Frames per "
       "second through the element: `gst-launch-1.0 videotestsrc num-buffers=N ! "
       "video/x-raw,format=GRAY8,width=W,height=H ! caedenoise model=M backend=B threads=T ! fakesink "
       "sync=false`, fps = (N−1) / the \"Execution ended after\" time (the first buffer is "
       "processed while prerolling, before that clock starts); in brackets the element alone, "
       "with the time of the same pipeline without caedenoise subtracted. NLM's fps at the same "
       "sizes are from bench_denoise_quality (a scaled camera.png, sigma 25).\n",
       "| method | ms per 512×512 | × NLM's speed | " +
       " | ".join(f"fps {w}×{h}" for w, h in SIZES) + " |",
       "|---|---|---|" + "---|" * len(SIZES)]
for m, be in [(m, be) for m in methods[1:] for be in (backends if m in models else [None])]:
    t = ms_512(m, be=be)
    cells = []
    for w, h in SIZES:
        f, fn = element_fps(m, w, h, be=be), element_fps(m, w, h, "fps_net", be=be)
        cells.append("–" if f is None else f"{f:.1f}" + (f" ({fn:.1f})" if m in models and fn else ""))
    ratio = f"{nlm_ms / t:.2f}×" if t and nlm_ms else "–"
    name = f"{label(m)} ({bname(be)})" if be else label(m)
    md.append(f"| {name} | {'–' if t is None else f'{t:.0f}'} | {ratio} | " + " | ".join(cells) + " |")
base = {(r["width"], r["height"]): r for r in elements}
if base:
    md.append("\nBaseline (videotestsrc → fakesink, same N): " + ", ".join(
        f"{w}×{h}: {r['frames']} frames in {r['baseline_s']:.3f} s" for (w, h), r in base.items()) + ".")

# Targets of issue 4. Roles by name (…gray…, …fast…), else by position (first, second model).
role = {}
for m in models:
    if "fast" in m:
        role.setdefault("fast", m)
    elif "gray" in m:
        role.setdefault("gray", m)
for r, m in zip(["gray", "fast"], models):
    role.setdefault(r, m)
md.append("\n## Targets (issue 4)\n")
nlm25 = mean_psnr("nlm", 25)
met = lambda ok: "**met**" if ok else "**missed**"
stand = lambda r, m: "" if r in m else f" (`{m}` standing in for denoise-{r})"
if "gray" in role and nlm25 is not None and mean_psnr(role["gray"], 25) is not None:
    m = role["gray"]
    d = mean_psnr(m, 25) - nlm25
    speeds_txt = []
    for be in backends:
        sp = nlm_ms / ms_512(m, be=be)
        speeds_txt.append(f"{bname(be)} {sp:.2f}× NLM ({ms_512(m, be=be):.0f} vs {nlm_ms:.0f} ms per "
                          f"512×512) → {met(sp >= 2.0)} ({'by' if sp >= 2 else 'short by'} "
                          f"{abs(sp - 2.0):.2f}×)")
    md.append(f"- denoise-gray{stand('gray', m)}: ≥ 1.0 dB above NLM at sigma 25 at ≥ 2× NLM's "
              f"speed. PSNR: {d:+.2f} dB vs NLM → {met(d >= 1.0)} ({'by' if d >= 1.0 else 'short by'} "
              f"{abs(d - 1.0):.2f} dB). Speed: " + "; ".join(speeds_txt) + ".")
if "fast" in role and nlm25 is not None and mean_psnr(role["fast"], 25) is not None:
    m = role["fast"]
    d = mean_psnr(m, 25) - nlm25
    fps_txt = []
    for be in backends:
        f = element_fps(m, 640, 480, be=be)
        fps_txt.append(f"{bname(be)} " + ("not measured" if f is None else (
            f"{f:.1f} fps → {met(f >= 30)} ({'by' if f >= 30 else 'short by'} {abs(f - 30):.1f} fps)")))
    md.append(f"- denoise-fast{stand('fast', m)}: ≥ 30 fps at 640×480 gray through the element on "
              f"2 cores, PSNR ≥ NLM's at sigma 25. Speed: {'; '.join(fps_txt)}. PSNR: {d:+.2f} dB vs "
              f"NLM → {met(d >= 0)} ({'by' if d >= 0 else 'short by'} {abs(d):.2f} dB).")
if not full:
    md.append("- (reduced run: the checks are over the images measured, not the whole test list)")

# Targets of issue 11: the default model (caedenoise with no `model`: the file named by
# CAE_DEFAULT_DENOISE_MODEL in plugins/meson.build) and the quality model (by name …hq… or
# …quality…, else denoise-gray when it is not the default), against NLM and bm3d of this run.
md.append("\n## Targets (issue 11)\n")
bm3d = lambda s: mean_psnr("bm3d", s)
here = os.path.dirname(os.path.abspath(__file__))
default_file = "denoise-gray.onnx"
try:
    for line in open(os.path.join(here, "..", "plugins", "meson.build"), encoding="utf-8"):
        if "CAE_DEFAULT_DENOISE_MODEL=" in line:
            default_file = line.split('="', 1)[1].split('"', 1)[0]
except OSError:
    pass
default = next((m for m in models if m == default_file.removesuffix(".onnx")), None)
if default is None:
    md.append(f"- The default model ({default_file}): **not in this run**.")
elif nlm25 is not None and mean_psnr(default, 25) is not None:
    # What caedenoise runs with no properties set: backend auto (oneDNN where built), precision
    # auto (bf16 where the CPU has it: the bench measured onednn-bf16 only on such a CPU).
    element_be = next((b for b in ("onednn-bf16", "onednn", "opencv") if b in backends), backends[0])
    parts = []
    for be in backends:
        d = mean_psnr(default, 25, be=be) - nlm25
        sp = nlm_ms / ms_512(default, be=be)
        mark = " (the element's default here)" if be == element_be else ""
        parts.append(f"{bname(be)}{mark}: PSNR {d:+.2f} dB → {met(d >= 0.5)}, speed {sp:.2f}× → "
                     f"{met(sp >= 10.0)}")
    md.append(f"- The default model ({label(default)}): ≥ NLM + 0.5 dB at sigma 25 at ≥ 10× NLM's speed "
              f"(the model at the element's default threads, NLM at 2). " + "; ".join(parts) + ".")
quality = next((m for m in models if "hq" in m or "quality" in m), None)
if quality is None and default != "denoise-gray" and "denoise-gray" in models:
    quality = "denoise-gray"
if quality is None:
    md.append("- The quality model (≥ NLM + 1.0 dB at sigma 25, ≥ bm3d at sigma 15 and 50, at ≥ 2× "
              "NLM's speed): **not in this run** (no model named …hq… or …quality…, nor "
              "denoise-gray apart from the default).")
elif nlm25 is not None and mean_psnr(quality, 25) is not None:
    d = mean_psnr(quality, 25) - nlm25
    parts = [f"PSNR at sigma 25: {d:+.2f} dB vs NLM → {met(d >= 1.0)}"]
    for s in (15, 50):
        if bm3d(s) is not None and mean_psnr(quality, s) is not None:
            db = mean_psnr(quality, s) - bm3d(s)
            parts.append(f"sigma {s}: {db:+.2f} dB vs bm3d → {met(db >= 0)}")
    for be in backends:
        sp = nlm_ms / ms_512(quality, be=be)
        parts.append(f"{bname(be)} {sp:.2f}× NLM's speed → {met(sp >= 2.0)}")
    md.append(f"- The quality model ({label(quality)}): " + "; ".join(parts) + ".")

md.append("\nReproduce: `bench/run_denoise_bench.sh [builddir] [models...]` (backends: "
          "CAE_BENCH_BACKENDS, default \"opencv onednn onednn-bf16\"; raw: `denoise.jsonl`; "
          "one model's table for its card: `bench_denoise_quality --card MODEL`).")
open(os.path.join(outdir, "denoise.md"), "w", encoding="utf-8").write("\n".join(md) + "\n")

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    s = 25 if 25 in sigmas else sigmas[0]
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for m, be in [(m, be) for m in methods[1:] for be in (backends if m in models else [None])]:
        t, p = ms_512(m, be=be), mean_psnr(m, s, be=be)
        if t and p is not None:
            ax.scatter([t], [p], s=50, marker="s" if m in models else "o", zorder=3)
            ax.annotate(f"{label(m)} ({bname(be)})" if be else label(m), (t, p),
                        textcoords="offset points", xytext=(6, 4), fontsize=8)
    ax.set_xscale("log")
    ax.axhline(mean_psnr("noisy", s), color="gray", ls=":", lw=1)
    ax.text(ax.get_xlim()[1], mean_psnr("noisy", s), "noisy input ", ha="right", va="bottom", color="gray")
    if nlm_ms and mean_psnr("nlm", s) is not None and s == 25:
        # The denoise-gray target: at least 1 dB above NLM at no more than half NLM's time.
        tx, ty = nlm_ms / 2, mean_psnr("nlm", s) + 1.0
        x0, y1 = ax.get_xlim()[0], max(ax.get_ylim()[1], ty + 0.5)
        ax.fill_between([x0, tx], ty, y1, color="tab:green", alpha=0.1, lw=0)
        ax.plot([x0, tx, tx], [ty, ty, y1], color="tab:green", ls="--", lw=1)
        ax.text(tx, ty, " denoise-gray target:\n NLM + 1 dB at ≥ 2× its speed", color="tab:green",
                va="top", fontsize=8)
        ax.set_xlim(left=x0)
        ax.set_ylim(top=y1)
    ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1, 2, 5)))
    ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("time per 512×512 frame (ms, log scale)")
    ax.set_ylabel(f"mean PSNR at sigma {s} (dB)")
    ax.set_title(f"Denoising on {len(images)} test image(s): quality against time")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "denoise.png"), dpi=100)
except ImportError:
    print("matplotlib missing: no plot", file=sys.stderr)
print("\n".join(md))
