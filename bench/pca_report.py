#!/usr/bin/env python3
"""pca_vs_ae.jsonl → pca_vs_ae.md (tables) and pca_vs_ae.png (plot).

Rows without "data" (or "data": "patches") come from bench_pca_vs_ae (run_pca_bench.sh);
"fashion-mnist" rows from bench_pca_vs_ae_fmnist (run_pca_fmnist_bench.sh); "fashion-mnist-trial"
rows are its hyper-parameter trials on the validation split; "pca-sweep" rows are PCA at more K. A row with "meta" says when and at
which commit a part was measured."""
import json
import os
import sys

raw, outdir = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(raw, encoding="utf-8") if l.strip().startswith("{")]
for r in rows:
    r.setdefault("data", "patches")
meta = {r["data"]: r for r in rows if r.get("meta")}
rows = [r for r in rows if not r.get("meta")]
patch_rows = [r for r in rows if r["data"] == "patches"]
fm_rows = [r for r in rows if r["data"] == "fashion-mnist"]
trial_rows = [r for r in rows if r["data"] == "fashion-mnist-trial"]
sweep_rows = sorted((r for r in fm_rows if r["method"] == "pca-sweep"), key=lambda r: r["latent"])
fm_rows = [r for r in fm_rows if r["method"] != "pca-sweep"]

PATCH_METHODS = ["pca", "linear-ae", "dense-ae", "conv-ae"]
FM_METHODS = ["pca", "linear-ae", "deep-ae"]
LABELS = {"pca": "PCA", "linear-ae": "linear AE", "dense-ae": "dense AE (ReLU)",
          "conv-ae": "conv AE", "deep-ae": "deep AE"}


def index(rs):
    return {(r["method"], r["latent"]): r for r in rs}


def measured(data):
    m = meta.get(data)
    if not m:
        return "Measured: unknown."
    note = f"; {m['note']}" if m.get("note") else ""
    return f"Measured {m['measured']} UTC, commit {m['commit']}{note}."


def table(by, methods, latents, psnr="psnr", mse="mse"):
    out = ["| latent K | " + " | ".join(LABELS[m] for m in methods) + " |",
           "|---|" + "---|" * len(methods)]
    for k in latents:
        cells = [f"{by[(m, k)][psnr]:.2f} ({by[(m, k)][mse]:.2e})" if (m, k) in by else "–"
                 for m in methods]
        out.append(f"| {k} | " + " | ".join(cells) + " |")
    return out


def patch_section():
    by = index(patch_rows)
    latents = sorted({r["latent"] for r in patch_rows})
    md = ["## 1. 16×16 natural-image patches (where PCA is close to optimal)\n",
          f"{measured('patches')} 16×16 gray patches (D = 256). Training images: skimage brick, "
          "grass, gravel and the mate-backgrounds photographs; test: 5,000 fixed patches of the 11 "
          "ANCHORS.md test images (never trained on). Autoencoders trained by "
          "cae::train::Trainer (Adam, cosine schedule) and evaluated from their ONNX files in "
          "OpenCV DNN; PCA fitted on 20,000 training patches.\n",
          "Test PSNR in dB (MSE in brackets; higher PSNR is better):\n"]
    md += table(by, PATCH_METHODS, latents) + [""]
    for k in latents:
        if ("pca", k) in by and ("linear-ae", k) in by:
            d = by[("linear-ae", k)]["psnr"] - by[("pca", k)]["psnr"]
            md.append(f"- K={k}: linear AE − PCA = {d:+.2f} dB; " + "; ".join(
                f"{LABELS[m]} − PCA = {by[(m, k)]['psnr'] - by[('pca', k)]['psnr']:+.2f} dB"
                for m in ("dense-ae", "conv-ae") if (m, k) in by))
    md.append("\nTraining budgets (steps × batch, Adam lr 2e-3, cosine): linear AE 20000 × 128, "
              "dense AE (256-256-K-256-256, ReLU hidden and code) 8000 × 128, conv AE (16×16 → "
              "2×2×K/4 code, 3 stages, 32–64 channels) 1200 × 32. The budgets are unequal on "
              "purpose: each run had to fit this benchmark into minutes on 2 cores, and the "
              "convolutional model costs ~100× the dense ones per sample. So the nonlinear rows say "
              "what these budgets reach, not what the architectures can reach.")
    md.append("\nTraining time per autoencoder (s, on a shared 2-core machine): " + ", ".join(
        f"{r['method']} K={r['latent']}: {r['train_s']:.0f}" for r in patch_rows
        if r["method"] != "pca"))
    md.append("\nReproduce: `bench/run_pca_bench.sh` (rows without `data` in `pca_vs_ae.jsonl`).")
    return md


def claim_lines(by, latents):
    """Where the deep AE beats PCA on the test split, and by how much."""
    wins = [k for k in latents if ("deep-ae", k) in by and ("pca", k) in by
            and by[("deep-ae", k)]["psnr"] > by[("pca", k)]["psnr"]]
    losses = [k for k in latents if ("deep-ae", k) in by and k not in wins]
    gap = {k: by[("deep-ae", k)]["psnr"] - by[("pca", k)]["psnr"] for k in wins + losses}
    out = []
    if wins:
        out.append("- The deep AE beats PCA on the test images at K = "
                   + ", ".join(f"{k} ({gap[k]:+.2f} dB)" for k in wins) + ".")
    if losses:
        out.append("- It does not at K = " + ", ".join(f"{k} ({gap[k]:+.2f} dB)" for k in losses)
                   + ".")
    match = {k: pca_match(by[("deep-ae", k)]["mse"]) for k in wins + losses}
    if any(match.values()):
        out.append("- PCA components needed for the deep AE's test MSE (log-interpolated in the "
                   "PCA sweep, K = 4…256): " + ", ".join(
                       f"K={k}: ≈{match[k]:.0f} ({match[k] / k:.1f}×)" for k in sorted(match)
                       if match[k]) + ".")
    deep = [by[("deep-ae", k)] for k in sorted(gap)]
    if len(gap) > 1:
        ks = sorted(gap)
        trend = "shrinks" if gap[ks[-1]] < gap[ks[0]] else "grows"
        out.append(f"- The margin {trend} as K grows: {gap[ks[0]]:+.2f} dB at K={ks[0]}, "
                   f"{gap[ks[-1]]:+.2f} dB at K={ks[-1]}; whether PCA catches up beyond "
                   f"K={ks[-1]} is not measured. Test and validation PSNR agree within "
                   f"{max(abs(r['psnr'] - r['val_psnr']) for r in fm_rows):.2f} dB.")
    if deep and all(r["best_epoch"] == r["epochs"] for r in deep):
        out.append("- The kept epoch was the last one at every K: the deep AEs were still "
                   "improving when the budget ended, so the margins are lower bounds for this "
                   "architecture, not its limit.")
    if deep:
        widths = [int(w) for w in deep[-1]["arch"].split()[0].split("-")]
        weights = sum(a * b + b for a, b in zip(widths, widths[1:]))
        out.append(f"- What it costs: the K={deep[-1]['latent']} deep AE has {weights / 1e6:.1f} M "
                   "weights and trained "
                   + "–".join(f"{x:.0f}" for x in (min(r["train_s"] for r in deep) / 60,
                                                    max(r["train_s"] for r in deep) / 60))
                   + " min per K on one thread; PCA keeps 785·K numbers and fits in seconds.")
    lin = [by[("linear-ae", k)]["psnr"] - by[("pca", k)]["psnr"] for k in latents
           if ("linear-ae", k) in by and ("pca", k) in by]
    if lin:
        out.append(f"- The linear AE lands on PCA ({min(lin):+.3f} to {max(lin):+.3f} dB), as "
                   "Baldi & Hornik (1989) predict, so the optimiser is not what separates the "
                   "deep AE from PCA.")
    pb = index(patch_rows)
    d = [pb[(m, k)]["psnr"] - pb[("pca", k)]["psnr"] for (m, k) in pb
         if m in ("dense-ae", "conv-ae") and ("pca", k) in pb]
    if d:
        out.append("- Where it does not hold: section 1. On 16×16 natural-image patches, where "
                   "PCA is close to optimal, the "
                   f"nonlinear AEs at their budgets were {-max(d):.1f}–{-min(d):.1f} dB below PCA.")
    return out


def pca_match(mse):
    """PCA components whose test MSE equals `mse`, interpolated in log K between sweep points."""
    import math
    pts = [(r["latent"], r["mse"]) for r in sweep_rows]
    for (k0, m0), (k1, m1) in zip(pts, pts[1:]):
        if m0 >= mse >= m1:
            t = (math.log(m0) - math.log(mse)) / (math.log(m0) - math.log(m1))
            return math.exp(math.log(k0) + t * (math.log(k1) - math.log(k0)))
    return None


SELECTION = (
    "How the settings were chosen (validation split only, K = 32; rows above): at reduced scale "
    "(20,000 training images, 3 epochs) sigmoid hidden layers without pretraining barely trained "
    "(12.8 and 14.5 dB against PCA's 18.2), tanh and leaky ReLU trailed ReLU, and a linear output "
    "beat a sigmoid one; on the 50,000 images (4 epochs) Adam 1e-3 beat 3e-3 and the linear output "
    "beat the sigmoid one again. The linear AE needs lr 1e-2 and ~100 epochs to reach PCA. At about "
    "equal training time (3–4 min) a smaller 784-512-256-32 net (28 epochs) reached 20.48 dB "
    "against 20.32 dB for 784-1000-500-250-32 (10 epochs); the final run keeps Hinton & "
    "Salakhutdinov's widths anyway, so its deep-AE numbers are, if anything, a little below what the "
    "same time could buy. The settings were tuned at K = 32 only and reused for 8, 16 and 64.")


def trial_lines():
    if not trial_rows:
        return []
    out = ["\nHyper-parameter trials (validation split only; test images not read). Each row: "
           "method, K, training images × epochs, architecture/activation/output/lr, batch, "
           "validation PSNR (MSE):\n",
           "| method | K | train × epochs | setting | batch | val PSNR (MSE) |",
           "|---|---|---|---|---|---|"]
    for r in trial_rows:
        epochs = r.get("epochs") or "fit"
        out.append(f"| {r['method']} | {r['latent']} | {r['train_n']} × {epochs} "
                   f"| {r['arch']} | {r.get('batch', 128)} | {r['val_psnr']:.2f} "
                   f"({r['val_mse']:.2e}) |")
    return out


def fmnist_section():
    by = index(fm_rows)
    latents = sorted({r["latent"] for r in fm_rows})
    m = meta.get("fashion-mnist", {})
    deep = next((r for r in fm_rows if r["method"] == "deep-ae"), None)
    lin = next((r for r in fm_rows if r["method"] == "linear-ae"), None)
    md = ["\n## 2. Fashion-MNIST: the setting of Hinton & Salakhutdinov (2006)\n",
          f"{measured('fashion-mnist')} 28×28 gray images (D = 784, Debian's "
          "dataset-fashion-mnist). The 60,000 training images are split once by a fixed "
          "permutation into 50,000 for training and 10,000 for validation; every choice "
          "(learning rate, activation, output layer, epochs, the kept epoch) was made on the "
          "validation split. The 10,000 test images were read only by the final run. PCA is "
          "fitted on the 50,000 training images (core/train/pca). Autoencoders are trained "
          "directly on the core/nn engine: MSE loss, Adam, cosine schedule after half an epoch "
          "of warm-up, one thread; the weights of the epoch with the lowest validation MSE are "
          "kept. Deep AE: a linear code layer, mirrored decoder, no pretraining (Hinton & "
          "Salakhutdinov pretrained with RBMs; Adam and ReLU make that unnecessary here).\n"]
    if deep:
        md.append(f"- deep AE: {deep['arch']} (shown for K={deep['latent']}), "
                  f"{deep['epochs']} epochs × {deep['train_n'] // deep['batch']} steps × "
                  f"batch {deep['batch']}")
    if lin:
        md.append(f"- linear AE: one linear layer each way, {lin['arch']} (shown for "
                  f"K={lin['latent']}), {lin['epochs']} epochs, batch {lin['batch']}")
    md.append("\nTest PSNR in dB over the 10,000 test images (MSE per pixel in brackets, pixels in "
              "[0, 1]; higher PSNR is better):\n")
    md += table(by, FM_METHODS, latents) + [""]
    for k in latents:
        if ("pca", k) in by:
            md.append(f"- K={k}: " + "; ".join(
                f"{LABELS[x]} − PCA = {by[(x, k)]['psnr'] - by[('pca', k)]['psnr']:+.2f} dB"
                for x in ("linear-ae", "deep-ae") if (x, k) in by))
    md.append("\nValidation PSNR (the split the choices were made on), same layout:\n")
    md += table(by, FM_METHODS, latents, "val_psnr", "val_mse")
    md.append("\n### Where the claim holds\n")
    md += claim_lines(by, latents)
    md += trial_lines()
    if trial_rows:
        md.append("\n" + SELECTION)
    md.append("\nTraining time (s, one thread at nice 19 on a 2-core machine shared with other "
              "builds): " + ", ".join(f"{r['method']} K={r['latent']}: {r['train_s']:.0f}"
                                     for r in fm_rows if r["method"] != "pca")
              + (f"; the whole run: {m['wall_s'] / 60:.1f} min wall." if m else "."))
    md.append("\nReproduce: `bench/run_pca_fmnist_bench.sh` (rows with `\"data\":\"fashion-mnist\"` "
              "in `pca_vs_ae.jsonl`" + (f"; it ran `bench_pca_vs_ae_fmnist {m['args']}`" if m
                                         else "") + ").")
    return md


def plot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    panels = [(rs, methods, title) for rs, methods, title in
              [(patch_rows, PATCH_METHODS, "16×16 natural-image patches"),
               (fm_rows, FM_METHODS, "Fashion-MNIST (784-d)")] if rs]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    for ax, (rs, methods, title) in zip(axes[0], panels):
        by = index(rs)
        latents = sorted({r["latent"] for r in rs})
        if rs is fm_rows and sweep_rows:
            ax.plot([r["latent"] for r in sweep_rows], [r["psnr"] for r in sweep_rows], ":",
                    color="grey", label="PCA, more components")
            latents = sorted(set(latents) | {4, 128, 256})
        for m in methods:
            ks = [k for k in latents if (m, k) in by]
            if ks:
                ax.plot(ks, [by[(m, k)]["psnr"] for k in ks], marker="o", label=LABELS[m])
        ax.set_xscale("log", base=2)
        ax.set_xticks(latents)
        ax.set_xticklabels([str(k) for k in latents])
        ax.set_xlabel("latent size K")
        ax.set_ylabel("test reconstruction PSNR (dB)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "pca_vs_ae.png"), dpi=100)


md = ["# PCA against autoencoders: reconstruction error vs latent size\n"] + patch_section()
if fm_rows:
    md += fmnist_section()
open(os.path.join(outdir, "pca_vs_ae.md"), "w", encoding="utf-8").write("\n".join(md) + "\n")
try:
    plot()
except ImportError:
    print("matplotlib missing: no plot", file=sys.stderr)
print("\n".join(md))
