#!/usr/bin/env python3
"""Turns bench/run_train_bench.sh's JSON lines into train_step.md and train_step.png."""
import json
import os
import platform
import statistics
import subprocess
import sys
from datetime import datetime, timezone

raw, outdir = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(raw, encoding="utf-8") if l.strip()]


def med(impl, key):
    vals = [r[key] for r in rows if r.get("impl") == impl and key in r]
    return statistics.median(vals) if vals else float("nan")


def per_round(impl, key):
    return {r["round"]: r[key] for r in rows if r.get("impl") == impl and key in r}


cae_ms, torch_ms = med("cae", "ms_per_step"), med("libtorch", "ms_per_step")
gflop_step = med("cae", "gflops") * cae_ms / 1e3  # GFLOP per step, from the engine's count
sgemm = max(med("eigen-sgemm", "gflops_1024"), med("eigen-sgemm", "gflops_conv"))
cae_gf = med("cae", "gflops")
torch_gf = gflop_step / (torch_ms / 1e3)
# Speed-up per round (both measured in the same round), then the median of those ratios.
c, t = per_round("cae", "ms_per_step"), per_round("libtorch", "ms_per_step")
ratios = [t[k] / c[k] for k in c if k in t]
speedup = statistics.median(ratios) if ratios else float("nan")
cpu = "unknown"
try:
    for line in open("/proc/cpuinfo", encoding="utf-8"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
except OSError:
    pass
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                        cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()
threads = rows[0].get("threads", "?") if rows else "?"

md = []
md.append("# Training step: CAE-REF, forward + backward + Adam, batch 16×1×64×64\n")
md.append(f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {cpu}, {os.cpu_count()} cores, "
          f"{threads} threads, commit {commit}. Rounds alternate engine / libtorch; figures are "
          f"medians over {len(ratios)} rounds; the speed-up is the median of per-round ratios.\n")
md.append(f"CAE-REF: {med('cae', 'gflop_per_patch_fwd'):.4f} GFLOP per 64×64 patch forward; "
          f"a training step counts 3× forward = {gflop_step:.2f} GFLOP.\n")
md.append("| implementation | ms / step | patches / s | effective GFLOP/s |")
md.append("|---|---|---|---|")
md.append(f"| cae engine (Eigen) | {cae_ms:.1f} | {16 / cae_ms * 1e3:.1f} | {cae_gf:.1f} |")
md.append(f"| libtorch {rows[1].get('version', '') if len(rows) > 1 else ''} (Debian) | "
          f"{torch_ms:.1f} | {16 / torch_ms * 1e3:.1f} | {torch_gf:.1f} |")
md.append(f"| Eigen sgemm ceiling (1024³ / 64×576·576×4096) | | | "
          f"{med('eigen-sgemm', 'gflops_1024'):.1f} / {med('eigen-sgemm', 'gflops_conv'):.1f} |")
md.append("")
md.append(f"- **Engine vs libtorch: {speedup:.2f}×** faster (target ≥ 4×): "
          f"{'met' if speedup >= 4 else 'NOT met'}.")
md.append(f"- **Engine vs sgemm: {100 * cae_gf / sgemm:.0f} %** of the best sgemm rate "
          f"({sgemm:.1f} GFLOP/s) (target ≥ 50 %): {'met' if cae_gf >= 0.5 * sgemm else 'NOT met'}.")
md.append(f"- Against the libtorch figure in shared/ANCHORS.md (1.04 s per step, measured there "
          f"with PyTorch 1.13 from Debian), the engine is {1040 / cae_ms:.2f}× faster; the libtorch "
          f"measured in this run took {torch_ms / 1e3:.2f} s.")
md.append(f"- Engine split: forward {med('cae', 'fwd_ms'):.1f} ms, backward + Adam "
          f"{med('cae', 'bwd_adam_ms'):.1f} ms.")
if any(r.get("impl") == "cae-infer" for r in rows):
    ci, oi = med("cae-infer", "ms"), med("opencv-dnn", "ms")
    md.append("")
    md.append("## Inference forward, CAE-REF on one 512×512 frame\n")
    md.append("| implementation | ms / frame | effective GFLOP/s |")
    md.append("|---|---|---|")
    md.append(f"| cae engine | {ci:.1f} | {med('cae-infer', 'gflops'):.1f} |")
    md.append(f"| OpenCV DNN 4.6 (CPU) | {oi:.1f} | {med('opencv-dnn', 'gflops'):.1f} |")
    md.append(f"\nMax abs difference between the two outputs: {med('opencv-dnn', 'max_abs_diff'):.2e}.")
md.append("\nReproduce: `bench/run_train_bench.sh` (installs libtorch-dev, builds, runs, writes this "
          "file). Raw measurements: `train_step.jsonl`.")
open(os.path.join(outdir, "train_step.md"), "w", encoding="utf-8").write("\n".join(md) + "\n")

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.4))
    names = ["cae engine", "libtorch"]
    ax[0].bar(names, [16 / cae_ms * 1e3, 16 / torch_ms * 1e3], color=["#2a7", "#888"])
    ax[0].set_ylabel("patches / s (64×64)")
    ax[0].set_title("training throughput")
    ax[1].bar(names + ["sgemm"], [cae_gf, torch_gf, sgemm], color=["#2a7", "#888", "#ccc"])
    ax[1].set_ylabel("GFLOP/s")
    ax[1].set_title("effective rate")
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "train_step.png"), dpi=100)
except ImportError:
    print("matplotlib missing: no plot", file=sys.stderr)
print("\n".join(md))
