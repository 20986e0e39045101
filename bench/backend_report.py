#!/usr/bin/env python3
"""run_backend_bench.sh's JSON lines -> backends.md (tables, target checks, the default thread
count) and backends.png (GFLOP/s per model; quiet against loaded times).
Usage: backend_report.py backends.jsonl outdir"""
import json
import math
import os
import re
import subprocess
import sys
from datetime import datetime, timezone

raw, outdir = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(raw, encoding="utf-8") if l.strip().startswith("{")]
of = lambda t: [r for r in rows if r.get("type") == t]
one = lambda t: (of(t) or [{}])[0]
machine, config, run = one("machine"), one("config"), one("run")
speed, load, layers, elements, checks = of("speed"), of("load"), of("layer"), of("element"), of("check")

models = list(dict.fromkeys(r["model"] for r in speed + load + elements))
sizes = list(dict.fromkeys((r["w"], r["h"]) for r in speed))
threads = sorted({r["threads"] for r in speed + load})
BACKENDS = ["opencv", "onednn"]
NAME = {"opencv": "OpenCV DNN", "onednn": "oneDNN"}
f1 = lambda v: "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.1f}"
f2 = lambda v: "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.2f}"
met = lambda ok: "**met**" if ok else "**missed**"


def find(rs, **kw):
    for r in rs:
        if all(r.get(k) == v for k, v in kw.items()):
            return r
    return None


def ceiling(t, when="start"):
    r = find(of("ceiling"), threads=t, when=when)
    return r["gflops"] if r else None


def geomean(v):
    v = [x for x in v if x and x > 0]
    return math.exp(sum(map(math.log, v)) / len(v)) if v else None


commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                        cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()
gap = config.get("gap_ms", 15)
main_w, main_h = sizes[0] if sizes else (640, 480)
top_t = max(threads) if threads else 2

def ceiling_est(t, when="start"):
    """The ceiling as the contention-free estimate reads it: per CPU-second, 1 thread only."""
    r = find(of("ceiling"), threads=t, when=when)
    return r.get("gflops_cpu") if r and t == 1 else None


def est(r):
    """(ms, GFLOP/s) of a 1-thread runner without other sessions' load: its CPU time (the time it
    ran, however long it waited). More threads have no such reading: their CPU time includes
    spin-waits at barriers, and their fastest call needs both CPUs free at once, which a
    contended machine rarely gives (fastest calls here ranged from 1× to 10× the sgemm's)."""
    if not r or "gflops_cpu" not in r or r["threads"] != 1:
        return None, None
    return r["cpu_ms"], r["gflops_cpu"]


def pair(a, b, fmt):
    return f"{fmt(a)} · {fmt(b)}" if a is not None or b is not None else "–"


ratio_f = lambda v: "–" if v is None else f"{v:.2f}×"
pct_f = lambda v: "–" if v is None else f"{v:.0f} %"

md = ["# Inference backends: OpenCV DNN against oneDNN (issue 11)\n",
      f"Measured {machine.get('date') or format(datetime.now(timezone.utc), '%Y-%m-%d %H:%M')} UTC, "
      f"commit {machine.get('commit') or commit}, on "
      f"{machine.get('nproc', '?')} cores ({machine.get('cpu', '?')}), niceness "
      f"{machine.get('nice', '?')}; load average {machine.get('loadavg_start', '?')} at the start, "
      f"{run.get('loadavg_end', '?')} at the end; CPU pressure (time some task waited for a CPU) "
      f"{machine.get('pressure_start', '?')} at the start, {run.get('pressure_end', '?')} at the "
      f"end; busy at the start: {machine.get('busy_start') or 'nothing above 10 % CPU'}. The whole "
      f"run took {run.get('seconds', 0) / 60:.1f} min. OpenCV {config.get('opencv', '?')}, oneDNN "
      f"{machine.get('onednn', '?')} (Debian, OpenMP), OMP_WAIT_POLICY="
      f"`{machine.get('omp_wait_policy') or '(unset)'}`, OMP_NUM_THREADS="
      f"`{machine.get('omp_num_threads') or '(unset)'}`. Absolute times on a shared machine are "
      "noisy: read them as ratios measured side by side in this one run.\n",
      "How: `bench_engine_backends` opens each model once per backend (OpenCV DNN: "
      "`cv::dnn::readNetFromONNX`, its own CPU backend; oneDNN: `core/infer/onednn::Net`) and runs "
      "the same random 1×C×H×W input (values in [0, 1]) through each configuration in turn — "
      f"{config.get('warmup', '?')} untimed rounds, then up to {config.get('reps', '?')} timed "
      "rounds (fewer where a model's rounds ran past the time budget; the count is in the .jsonl), "
      "the order rotated every round so that noise is shared — with "
      f"{gap:g} ms of idle time after every forward so that one backend's spinning thread pool does "
      "not run into the next one's timing. Times are medians (p90 beside where it matters). "
      "GFLOP/s = oneDNN's FLOP count of the forward (`Net::flopsPerForward`, 2 × multiply-adds; "
      "the same count for both backends) / time. The ceiling is Eigen's sgemm 1024³ "
      "(`c.noalias() = a * b`, OpenMP) at the same thread count, in the same process.\n",
      "Two readings of a time. **Median**: what a caller saw in this run, other sessions' "
      "load included. **Estimate without that load** (1 thread only): the forward's CPU time "
      "(getrusage: the time it actually ran, however long it waited for a CPU; the others' cache "
      "pollution, and a busy SMT sibling if the two CPUs are one core's, still count), sgemm read "
      "the same way for the ceiling. On a quiet machine the two agree; on a contended one (CPU "
      "pressure near 100 %) only the estimates compare backends, and 2-thread figures are not "
      "measurable: a 2-thread forward needs both CPUs at once.\n"]

# ---- targets -----------------------------------------------------------------------------------
md.append(f"## Targets (issue 11), {main_w}×{main_h}\n")
md.append("Each cell: median · estimate without other sessions' load (1 thread: CPU time; the element: "
          "CPU time; \"–\": no such estimate, see below).\n")
md.append("| model | " + " | ".join(f"oneDNN ÷ OpenCV, {t}T (≥ 3×)" for t in threads) + " | " +
          " | ".join(f"oneDNN % of sgemm, {t}T (≥ 60 %)" for t in threads) +
          " | element over Engine::run, oneDNN (≤ 10 %) |")
md.append("|---|" + "---|" * (2 * len(threads) + 1))
# Per target and reading, the values measured: met when every one passes (none measured: say so).
seen = {k: [] for k in ("ratio_med", "ratio_est", "share_med", "share_est", "elem_med", "elem_est")}
for m in models:
    rat, sh = [], []
    for t in threads:
        o = find(speed, model=m, w=main_w, h=main_h, backend="opencv", threads=t)
        d = find(speed, model=m, w=main_w, h=main_h, backend="onednn", threads=t)
        rm = o["median_ms"] / d["median_ms"] if o and d else None
        re_ = est(o)[0] / est(d)[0] if o and d and est(o)[0] and est(d)[0] else None
        sm = 100 * d["gflops"] / ceiling(t) if d and ceiling(t) else None
        se = 100 * est(d)[1] / ceiling_est(t) if d and est(d)[1] and ceiling_est(t) else None
        rat.append(pair(rm, re_, ratio_f))
        sh.append(pair(sm, se, pct_f))
        for k, v, lim in (("ratio_med", rm, 3), ("ratio_est", re_, 3), ("share_med", sm, 60),
                          ("share_est", se, 60)):
            if v is not None:
                seen[k].append(v >= lim)
    e = find(elements, model=m, backend="onednn")
    ovs = [100 * (e[k] - 1) if e and e.get(k) is not None and not math.isnan(e[k]) else None
           for k in ("ratio", "cpu_ratio")]
    for k, v in (("elem_med", ovs[0]), ("elem_est", ovs[1])):
        if v is not None:
            seen[k].append(v <= 10)
    md.append(f"| {m} | " + " | ".join(rat + sh) + " | " +
              pair(ovs[0], ovs[1], lambda v: "–" if v is None else f"{v:+.1f} %") + " |")
verdict = lambda k: met(all(seen[k])) if seen[k] else "not measured"
md.append(f"\noneDNN ≥ 3× OpenCV DNN on every model and thread count: by medians "
          f"{verdict('ratio_med')}, by the estimates (1 thread) {verdict('ratio_est')}. ≥ 60 % of the "
          f"sgemm ceiling: by medians {verdict('share_med')}, by the estimates (1 thread) "
          f"{verdict('share_est')}. The element adds ≤ 10 % on every model: by medians "
          f"{verdict('elem_med')}, by CPU time {verdict('elem_est')}.\n")
# bf16 (onednn::Options::bf16): what precision=auto runs for denoisers on CPUs with bf16
# instructions; anomaly models stay f32 (their thresholds are calibrated in f32).
bf16_rows = [r for r in speed if r["backend"] == "onednn-bf16"]
if bf16_rows:
    kinds = {r["model"]: r for r in of("model")}
    md.append(f"### The precision the element runs (`precision=auto`), {main_w}×{main_h}\n")
    md.append("oneDNN in bf16 (convolutions of 16+ channels in bfloat16, the rest f32) beside f32; "
              "auto runs bf16 for the denoisers here, f32 for the anomaly models. Each cell: "
              "median · estimate without other sessions' load.\n")
    md.append("| model | auto runs | " +
              " | ".join(f"oneDNN bf16 {t}T ms" for t in threads) + " | " +
              " | ".join(f"bf16 ÷ f32, {t}T" for t in threads) + " | " +
              " | ".join(f"auto ÷ OpenCV, {t}T (≥ 3×)" for t in threads) + " |")
    md.append("|---|---|" + "---|" * (3 * len(threads)))
    auto_seen = {"med": [], "est": []}
    for m in models:
        den = kinds.get(m, {}).get("denoiser", False)
        cells_ms, cells_bf, cells_auto = [], [], []
        for t in threads:
            o = find(speed, model=m, w=main_w, h=main_h, backend="opencv", threads=t)
            d = find(speed, model=m, w=main_w, h=main_h, backend="onednn", threads=t)
            b = find(speed, model=m, w=main_w, h=main_h, backend="onednn-bf16", threads=t)
            cells_ms.append(f"{b['median_ms']:.1f}" if b else "–")
            cells_bf.append(pair(d["median_ms"] / b["median_ms"] if d and b else None,
                                 est(d)[0] / est(b)[0] if d and b and est(d)[0] and est(b)[0] else None,
                                 ratio_f))
            a = b if den else d
            rm = o["median_ms"] / a["median_ms"] if o and a else None
            re_ = est(o)[0] / est(a)[0] if o and a and est(o)[0] and est(a)[0] else None
            cells_auto.append(pair(rm, re_, ratio_f))
            if rm is not None:
                auto_seen["med"].append(rm >= 3)
            if re_ is not None:
                auto_seen["est"].append(re_ >= 3)
        md.append(f"| {m} | {'bf16' if den else 'f32'} | " + " | ".join(cells_ms + cells_bf + cells_auto) + " |")
    v = lambda k: met(all(auto_seen[k])) if auto_seen[k] else "not measured"
    md.append(f"\nAt the element's precision, oneDNN ≥ 3× OpenCV DNN on every model and thread count: by "
              f"medians {v('med')}, by the estimates (1 thread) {v('est')}.\n")

skips = of("skip")
if skips:
    md.append("Not run on oneDNN: " + "; ".join(f"{s['model']} ({s['why']})" for s in skips) + ".\n")
slow = [r for r in layers if r["backend"] == "onednn" and r.get("flag")]
md.append("oneDNN primitives on a reference or gemm implementation: " +
          (", ".join(f"{r['model']} `{r['node']}` ({r['impl']})" for r in slow) if slow else
           "none — every primitive runs a JIT kernel") + ".\n")

# ---- ceiling and speed -------------------------------------------------------------------------
md.append("## The ceiling: Eigen sgemm 1024³ (GFLOP/s)\n")
md.append("| threads | median call, start | end | fastest call, start | end | per CPU-second, start | end |")
md.append("|---|---|---|---|---|---|---|")
for t in threads:
    c0, c1 = find(of("ceiling"), threads=t, when="start") or {}, find(of("ceiling"), threads=t, when="end") or {}
    md.append(f"| {t} | " + " | ".join(f1(c.get(k)) for k in ("gflops", "gflops_best", "gflops_cpu")
                                      for c in (c0, c1)) + " |")
md.append("")

for (w, h) in sizes:
    md.append(f"## Speed at {w}×{h}\n")
    md.append("Median ms per forward (GFLOP/s in brackets); speed-up = OpenCV's time ÷ oneDNN's at "
              "the same thread count and % of ceiling = oneDNN's GFLOP/s ÷ sgemm's at that thread "
              "count, each as median · estimate without other sessions' load; |Δ| = largest "
              "difference between the two backends' outputs.\n")
    cols = [(b, t) for b in BACKENDS for t in threads]
    md.append("| model | GFLOP | " + " | ".join(f"{NAME[b]} {t}T" for b, t in cols) + " | " +
              " | ".join(f"speed-up {t}T" for t in threads) + " | " +
              " | ".join(f"% ceiling {t}T" for t in threads) + " | |Δ| |")
    md.append("|---|---|" + "---|" * (len(cols) + 2 * len(threads) + 1))
    for m in models:
        rs = {(b, t): find(speed, model=m, w=w, h=h, backend=b, threads=t) for b, t in cols}
        any_r = next((r for r in rs.values() if r), None)
        if not any_r:
            continue
        cell = lambda r: "–" if not r else f"{r['median_ms']:.1f} ({r['gflops']:.0f})"
        sp, pc = [], []
        for t in threads:
            o, d = rs[("opencv", t)], rs[("onednn", t)]
            sp.append(pair(o["median_ms"] / d["median_ms"] if o and d else None,
                           est(o)[0] / est(d)[0] if o and d and est(o)[0] and est(d)[0] else None,
                           ratio_f))
            pc.append(pair(100 * d["gflops"] / ceiling(t) if d and ceiling(t) else None,
                           100 * est(d)[1] / ceiling_est(t) if d and est(d)[1] and ceiling_est(t) else None,
                           pct_f))
        ck = find(checks, model=m, w=w, h=h)
        md.append(f"| {m} | {any_r['flops'] / 1e9:.2f} | " + " | ".join(cell(rs[c]) for c in cols) +
                  " | " + " | ".join(sp) + " | " + " | ".join(pc) + " | " +
                  (f"{ck['max_abs_diff']:.1e}" if ck else "–") + " |")
    md.append("")

# ---- CPU time ----------------------------------------------------------------------------------
md.append(f"## CPU time per frame at {main_w}×{main_h}: what idle thread pools burn\n")
md.append("CPU time of the whole process (getrusage) during the forward, and during the "
          f"{gap:g} ms of idle time after it (the pool's spin-wait before its threads sleep: "
          "libgomp for oneDNN, TBB for OpenCV). At 30 fps every frame is followed by such a gap, so "
          "a frame costs the sum.\n")
md.append("| model | backend | threads | wall ms | CPU ms in the forward | CPU ms in the gap after |")
md.append("|---|---|---|---|---|---|")
for m in models:
    for b in BACKENDS:
        for t in threads:
            r = find(speed, model=m, w=main_w, h=main_h, backend=b, threads=t)
            if r:
                md.append(f"| {m} | {NAME[b]} | {t} | {r['median_ms']:.2f} | {r['cpu_ms']:.2f} | "
                          f"{r['gap_cpu_ms']:.2f} |")
md.append("")

# ---- threads under load ------------------------------------------------------------------------
def load_table(rs):
    quiet = [r for r in rs if r.get("condition") == "quiet"]
    loaded = [r for r in rs if r.get("condition") == "load"]
    out = ["| model | backend | threads | no added load | with the added load | slow-down | "
           "CPU ms per frame, without / with |", "|---|---|---|---|---|---|---|"]
    for m in models:
        for b in BACKENDS:
            for t in threads:
                q = find(quiet, model=m, backend=b, threads=t)
                l = find(loaded, model=m, backend=b, threads=t)
                if q and l:
                    out.append(f"| {m} | {NAME[b]} | {t} | {q['median_ms']:.2f} ({q['p90_ms']:.2f}) | "
                               f"{l['median_ms']:.2f} ({l['p90_ms']:.2f}) | "
                               f"{l['median_ms'] / q['median_ms']:.1f}× | "
                               f"{q['cpu_ms'] + q['gap_cpu_ms']:.1f} / {l['cpu_ms'] + l['gap_cpu_ms']:.1f} |")
    return out + [""]


def regret_table(rs):
    """Regret of a thread count = its time ÷ the best thread count's time (same model, backend,
    condition), geometric mean over models; the choice minimises the larger of quiet and loaded
    (minimax regret). Returns the table and the choice per backend."""
    quiet = [r for r in rs if r.get("condition") == "quiet"]
    loaded = [r for r in rs if r.get("condition") == "load"]
    out = ["| backend | threads | regret without | regret with the load | regret without, p90 | "
           "regret with, p90 |",
           "|---|---|---|---|---|---|"]
    choice = {}
    for b in BACKENDS:
        best = None
        for t in threads:
            reg = []
            for cond, key in ((quiet, "median_ms"), (loaded, "median_ms"), (quiet, "p90_ms"),
                              (loaded, "p90_ms")):
                v = []
                for m in models:
                    mine = find(cond, model=m, backend=b, threads=t)
                    alls = [find(cond, model=m, backend=b, threads=u) for u in threads]
                    if mine and all(alls):
                        v.append(mine[key] / min(a[key] for a in alls))
                reg.append(geomean(v))
            if reg[0] is None:
                continue
            out.append(f"| {NAME[b]} | {t} | " + " | ".join(f"{x:.2f}×" if x else "–" for x in reg) + " |")
            worst = max(reg[0], reg[1] or reg[0])
            if best is None or worst < best[0]:
                best = (worst, t)
        if best:
            choice[b] = best[1]
    return out + [""], choice


policies = list(dict.fromkeys(r.get("omp_wait_policy", "") for r in load))
policy_name = lambda p: f"OMP_WAIT_POLICY={p}" if p else "OMP_WAIT_POLICY unset (libgomp's default)"
if load:
    main_policy = machine.get("omp_wait_policy", policies[0])
    main_policy = main_policy if main_policy in policies else policies[0]
    kind = next((r.get("load") for r in load if r.get("condition") == "load"), "?")
    md.append(f"## Threads under load ({main_w}×{main_h})\n")
    md.append(f"The same interleaved measurement (up to {config.get('load_reps', '?')} rounds), on the "
              "machine as it was (\"no added load\": see the CPU pressure above) and then with a "
              f"competing load of {kind} processes (one busy thread each, normal priority) started "
              "for it, i.e. two more runnable threads on two cores. Median ms (p90). "
              f"{policy_name(main_policy)}, as an element in a user's pipeline runs.\n")
    rs = [r for r in load if r.get("omp_wait_policy", "") == main_policy]
    md += load_table(rs)
    md.append("### Which thread count to default to\n")
    md.append("Regret of a thread count = its median time ÷ the best thread count's median time for "
              "the same model, backend and condition; geometric mean over models. The default is the "
              "thread count whose larger regret (without or with the added load) is smaller; the p90 "
              "columns use p90 times instead of medians.\n")
    table, choice = regret_table(rs)
    md += table
    if "onednn" in choice:
        md.append(f"By this rule `onednn::kDefaultThreads` = **{choice['onednn']}** "
                  f"(OpenCV DNN by the same rule: {choice.get('opencv', '–')}).\n")
    for p in policies:
        if p == main_policy:
            continue
        rs = [r for r in load if r.get("omp_wait_policy", "") == p]
        md.append(f"### The same with {policy_name(p)} (a separate process, same models)\n")
        md.append("libgomp reads the policy once, when it starts, so a library cannot set it for "
                  "its own threads; shown for what a user could set in the environment.\n")
        md += load_table(rs)
        table, c = regret_table(rs)
        md += table
        if "onednn" in c:
            md.append(f"With {policy_name(p)} the rule would choose {c['onednn']} thread(s) for "
                      "oneDNN.\n")

# ---- element -----------------------------------------------------------------------------------
def threads_txt(t):
    return (f"{t} thread(s)" if t else "the element's default threads (OpenCV DNN: OpenCV's own; "
            f"oneDNN: onednn::kDefaultThreads = {config.get('onednn_default_threads', '?')})")


if elements:
    e0 = elements[0]
    md.append(f"## The elements' overhead ({e0['w']}×{e0['h']}, {threads_txt(e0['threads'])})\n")
    md.append(f"`appsrc ! caedenoise|caeanomaly model=M backend=B threads={e0['threads']} "
              "[inference-interval=1] ! fakesink sync=false` in this process, "
              f"{e0['frames']} frame intervals timed (all frames queued in appsrc before PLAYING; the "
              "median interval between successive fakesink handoffs after the 5th frame, and the "
              "process's CPU time over those frames); the same pipeline with `identity` in "
              "place of the element is the baseline. Engine::run: the same model, backend and "
              "threads on the same frame's blob, back to back, median, on a thread of its own (as "
              "the element runs on its streaming thread). Each model and backend in a process of "
              "its own: libgomp's threads spin less when a process holds more OpenMP threads than "
              "CPUs, so leftovers of other measurements would change the oneDNN figures; and the "
              "pipeline runs first, so that its streaming thread starts with a cold malloc arena "
              "as in gst-launch-1.0 (the per-frame buffers' page faults are part of what the "
              "element costs). Frames: "
              "the model's texture where it is on this machine, else skimage camera / astronaut, "
              "scaled. Overhead = (element − baseline) ÷ Engine::run − 1, by wall time and by CPU "
              "time (the reading that survives a contended machine): caedenoise adds the frame ↔ "
              "blob conversion, caeanomaly the anomaly map, its smoothing, the score and the "
              "regions.\n")
    md.append("Element and Engine::run both at `precision=auto` (bf16 for the denoisers on this CPU, "
              "f32 for the anomaly models); \"in use\" is the element's backend and precision.\n")
    md.append("| model | element | backend (in use) | Engine::run ms | element ms/frame | overhead | "
              "Engine::run CPU ms | element CPU ms/frame | overhead by CPU time |")
    md.append("|---|---|---|---|---|---|---|---|---|")
    pc = lambda v: "–" if v is None or math.isnan(v) else f"{100 * (v - 1):+.1f} %"
    for e in elements:
        bad = e.get("error")
        md.append(f"| {e['model']} | {e['element']} | {e['backend']} ({e.get('in_use') or '?'}) | "
                  f"{e['engine_ms']:.2f} | {e['element_ms']:.2f} | " +
                  (f"error: {bad}" if bad else pc(e.get("ratio"))) + " | " +
                  f"{e.get('engine_cpu_ms', float('nan')):.2f} | {e.get('element_cpu_ms', float('nan')):.2f} | "
                  + pc(e.get("cpu_ratio")) + " |")
    md.append("")

# ---- layers ------------------------------------------------------------------------------------
def by_node(ls):
    """oneDNN runs a ConvTranspose as one convolution per output phase plus an interleave, and a
    Concat feeding a convolution as parts: one row per ONNX node (raw rows in the .jsonl)."""
    out = {}
    for r in ls:
        key = re.sub(r"( phase \d+,\d+|\(part \d+\))$", "", r["node"])
        a = out.setdefault(key, dict(node=key, ops=[], impls=[], ms=0.0, flops=0.0, flag=False, n=0))
        a["ms"] += r["ms"]
        a["flops"] += r["flops"]
        a["flag"] |= bool(r.get("flag"))
        a["n"] += 1
        for k, v in (("ops", r["op"]), ("impls", r["impl"])):
            if v and v not in a[k]:
                a[k].append(v)
    return list(out.values())


if layers:
    md.append(f"## Per layer at {main_w}×{main_h}, {top_t} threads\n")
    md.append("oneDNN: `Options::profile` (a barrier after every primitive; fused activations and "
              "sums appear in the convolution they were fused into, joined by +; a ConvTranspose is "
              "one stride-1 convolution per output phase plus an interleave, summed here into one row "
              "per ONNX node with the number of primitives; ⚠ marks a reference or gemm "
              "implementation). OpenCV DNN: `Net::getPerfProfile` (layers OpenCV fused into another "
              "show 0 ms) with OpenCV's own per-layer FLOP count. Medians over 7 forwards.\n")
    for m in models:
        for b in BACKENDS:
            ls = [r for r in layers if r["model"] == m and r["backend"] == b]
            if not ls:
                continue
            tot = sum(r["ms"] for r in ls)
            fwd = find(speed, model=m, w=main_w, h=main_h, backend=b, threads=top_t)
            md.append(f"### {m}, {NAME[b]} (layers sum to {tot:.2f} ms"
                      + (f"; forward median {fwd['median_ms']:.2f} ms)" if fwd else ")") + "\n")
            if b == "onednn":
                md.append("| node | primitives | ops | implementation | ms | GFLOP | GFLOP/s |")
                md.append("|---|---|---|---|---|---|---|")
                for a in by_node(ls):
                    gf = a["flops"] / (a["ms"] * 1e6) if a["ms"] > 0 else 0
                    md.append(f"| {a['node']} | {a['n']} | {', '.join(a['ops'])} | "
                              f"{', '.join(a['impls'])}{' ⚠' if a['flag'] else ''} | {a['ms']:.3f} | "
                              f"{a['flops'] / 1e9:.3f} | {gf:.0f} |")
            else:
                md.append("| # | layer | type | ms | GFLOP | GFLOP/s |")
                md.append("|---|---|---|---|---|---|")
                for r in ls:
                    md.append(f"| {r['index']} | {r['node']} | {r['op']} | {r['ms']:.3f} | "
                              f"{r['flops'] / 1e9:.3f} | {r['gflops']:.0f} |")
            md.append("")

md.append("![GFLOP/s per model; quiet and loaded times](backends.png)\n")
md.append("Reproduce: `bench/run_backend_bench.sh [builddir] [models...]` (raw: `backends.jsonl`).")
os.makedirs(outdir, exist_ok=True)
open(os.path.join(outdir, "backends.md"), "w", encoding="utf-8").write("\n".join(md) + "\n")

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(18, 4.8))
    ax = axes[0]
    cols = [(b, t) for b in BACKENDS for t in threads]
    width = 0.8 / max(1, len(cols))
    for i, (b, t) in enumerate(cols):
        v = [(find(speed, model=m, w=main_w, h=main_h, backend=b, threads=t) or {}).get("gflops", 0)
             for m in models]
        ax.bar([k + (i - (len(cols) - 1) / 2) * width for k in range(len(models))], v, width,
               label=f"{NAME[b]}, {t} thread{'s' if t > 1 else ''}")
    for t, ls in zip(threads, (":", "--", "-.")):
        if ceiling(t):
            ax.axhline(ceiling(t), color="k", ls=ls, lw=1)
            ax.text(-0.45, ceiling(t), f"sgemm 1024³, {t}T", ha="left", va="bottom", fontsize=8)
    ax.set_xticks(range(len(models)))
    ax.set_xticklabels(models, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("GFLOP/s (median time)")
    ax.set_title(f"Forward at {main_w}×{main_h}, median")
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(axis="y", alpha=0.3)
    # One thread, per CPU-second: the reading that other sessions' load does not move.
    ax = axes[1]
    for i, b in enumerate(BACKENDS):
        v = [est(find(speed, model=m, w=main_w, h=main_h, backend=b, threads=1))[1] or 0 for m in models]
        ax.bar([k + (i - 0.5) * 0.4 for k in range(len(models))], v, 0.4, label=f"{NAME[b]}, 1 thread")
    if ceiling_est(1):
        ax.axhline(ceiling_est(1), color="k", ls=":", lw=1)
        ax.text(-0.45, ceiling_est(1), "sgemm 1024³, 1T", ha="left", va="bottom", fontsize=8)
    ax.set_xticks(range(len(models)))
    ax.set_xticklabels(models, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("GFLOP per CPU-second")
    ax.set_title(f"Forward at {main_w}×{main_h}, 1 thread, by CPU time")
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(axis="y", alpha=0.3)
    ax = axes[2]
    if load:
        quiet = [r for r in load if r.get("condition") == "quiet" and r.get("omp_wait_policy", "") == main_policy]
        loaded = [r for r in load if r.get("condition") == "load" and r.get("omp_wait_policy", "") == main_policy]
        k = 0
        for b in BACKENDS:
            for t in threads:
                q = [(find(quiet, model=m, backend=b, threads=t) or {}).get("median_ms") for m in models]
                l = [(find(loaded, model=m, backend=b, threads=t) or {}).get("median_ms") for m in models]
                pts = [(a, c) for a, c in zip(q, l) if a and c]
                if pts:
                    ax.scatter(*zip(*pts), label=f"{NAME[b]}, {t}T", marker="os^v"[k % 4])
                k += 1
        lim = [min(ax.get_xlim()[0], ax.get_ylim()[0]), max(ax.get_xlim()[1], ax.get_ylim()[1])]
        ax.plot(lim, lim, color="0.7", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("median ms, no added load")
        ax.set_ylabel("median ms with 2 busy processes added")
        ax.set_title("Threads under load (one point per model)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "backends.png"), dpi=100)
except ImportError:
    print("matplotlib missing: no plot", file=sys.stderr)
print("\n".join(md))
