#!/usr/bin/env python3
"""bench_pca_vs_ae's JSON lines → pca_vs_ae.md (table) and pca_vs_ae.png (plot)."""
import json
import os
import subprocess
import sys
from datetime import datetime, timezone

raw, outdir = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(raw, encoding="utf-8") if l.strip().startswith("{")]
methods = ["pca", "linear-ae", "dense-ae", "conv-ae"]
labels = {"pca": "PCA", "linear-ae": "linear AE", "dense-ae": "dense AE (ReLU)",
          "conv-ae": "conv AE"}
latents = sorted({r["latent"] for r in rows})
by = {(r["method"], r["latent"]): r for r in rows}
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                        cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()

md = ["# PCA against autoencoders: reconstruction error vs latent size\n",
      f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, commit {commit}. 16×16 gray "
      "patches (D = 256). Training images: skimage brick, grass, gravel and the mate-backgrounds "
      "photographs; test: 5,000 fixed patches of the 11 ANCHORS.md test images (never trained "
      "on). Autoencoders trained by cae::train::Trainer (Adam, cosine schedule) and evaluated "
      "from their ONNX files in OpenCV DNN; PCA fitted on 20,000 training patches.\n",
      "Test PSNR in dB (MSE in brackets; higher PSNR is better):\n",
      "| latent K | " + " | ".join(labels[m] for m in methods) + " |",
      "|---|" + "---|" * len(methods)]
for k in latents:
    cells = []
    for m in methods:
        r = by.get((m, k))
        cells.append(f"{r['psnr']:.2f} ({r['mse']:.2e})" if r else "–")
    md.append(f"| {k} | " + " | ".join(cells) + " |")
md.append("")
for k in latents:
    if ("pca", k) in by and ("linear-ae", k) in by:
        d = by[("linear-ae", k)]["psnr"] - by[("pca", k)]["psnr"]
        md.append(f"- K={k}: linear AE − PCA = {d:+.2f} dB; "
                  + "; ".join(f"{labels[m]} − PCA = {by[(m, k)]['psnr'] - by[('pca', k)]['psnr']:+.2f} dB"
                              for m in ("dense-ae", "conv-ae") if (m, k) in by))
md.append("\nTraining budgets (steps × batch, Adam lr 2e-3, cosine): linear AE 20000 × 128, "
          "dense AE (256-256-K-256-256, ReLU hidden and code) 8000 × 128, conv AE (16×16 → 2×2×K/4 "
          "code, 3 stages, 32–64 channels) 1200 × 32. The budgets are unequal on purpose: each run "
          "had to fit this benchmark into minutes on 2 cores, and the convolutional model costs "
          "~100× the dense ones per sample. So the nonlinear rows say what these budgets reach, not "
          "what the architectures can reach.")
md.append("\nTraining time per autoencoder (s, on a shared 2-core machine): " + ", ".join(
    f"{r['method']} K={r['latent']}: {r['train_s']:.0f}" for r in rows if r["method"] != "pca"))
md.append("\nReproduce: `bench/run_pca_bench.sh` (raw: `pca_vs_ae.jsonl`).")
open(os.path.join(outdir, "pca_vs_ae.md"), "w", encoding="utf-8").write("\n".join(md) + "\n")
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for m in methods:
        ks = [k for k in latents if (m, k) in by]
        ax.plot(ks, [by[(m, k)]["psnr"] for k in ks], marker="o", label=labels[m])
    ax.set_xscale("log", base=2)
    ax.set_xticks(latents)
    ax.set_xticklabels([str(k) for k in latents])
    ax.set_xlabel("latent size K")
    ax.set_ylabel("test reconstruction PSNR (dB)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "pca_vs_ae.png"), dpi=100)
except ImportError:
    print("matplotlib missing: no plot", file=sys.stderr)
print("\n".join(md))
