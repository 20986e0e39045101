"""The quality target of issue 13 per model and noise level, from bench_enhance_quality's JSON
lines: PSNR >= NLM + 1.5 dB and SSIM above NLM's (means over the test slices).
Usage: enhance_targets.py enhance.jsonl  (prints markdown list items)"""
import collections
import json
import sys

NLM = "OpenCV NLM (16-bit, L1)"
rows = [json.loads(l) for l in open(sys.argv[1])]
mean = collections.defaultdict(lambda: [0.0, 0.0, 0])
for r in rows:
    m = mean[(r["level"], r["method"])]
    m[0] += r["psnr"]
    m[1] += r["ssim"]
    m[2] += 1
levels = list(dict.fromkeys(r["level"] for r in rows))
methods = [m for m in dict.fromkeys(r["method"] for r in rows)
           if m not in ("noisy", NLM) and not m.startswith("ffmpeg")]
for method in methods:
    parts = []
    for level in levels:
        if (level, method) not in mean:
            continue
        p, s, n = mean[(level, method)]
        np_, ns, nn = mean[(level, NLM)]
        dp, ok = p / n - np_ / nn, p / n >= np_ / nn + 1.5 and s / n > ns / nn
        parts.append(f"{level}: NLM {dp:+.2f} dB, SSIM {s / n:.3f} vs {ns / nn:.3f} → "
                     + ("**met**" if ok else "**missed**"))
    print(f"- {method} (PSNR ≥ NLM + 1.5 dB and SSIM above NLM's): " + "; ".join(parts) + ".")
