"""The model of scaling in the report of ``benchmarks/scaling.py``, fitted to its measurements.

The model: a data-parallel step on N ranks is the compute of the per-rank batch b followed by
one allreduce of the S bytes of gradients (``DistributedDataParallel`` starts it after the
backward pass, so nothing overlaps it):

    step(b, N) ≈ compute(b) + allreduce(S, N),   compute(b) ≈ c0 + c·b
    ring allreduce(S, N) ≈ 2(N−1)/N · S / bandwidth + 2(N−1) · latency

c0 and c are fitted to the measured compute of one rank with one BLAS thread; latency and
bandwidth are fitted to the measured allreduce curve between 2 ranks of this machine (shared
memory; for N=2 the ring costs S/bandwidth + 2·latency), or assumed for a network.
"""

from __future__ import annotations

import itertools
import math
import statistics
from typing import Any

import numpy as np

#: assumed networks: (name, bandwidth in bytes/s, latency in s)
NETWORKS = (
    ("assumed: 10 Gb/s Ethernet, 50 µs", 10e9 / 8, 50e-6),
    ("assumed: 100 Gb/s (InfiniBand/RoCE class), 10 µs", 100e9 / 8, 10e-6),
)
#: (ranks N, machines M) of the network rows
LAYOUTS = ((2, 2), (8, 4), (64, 16))
#: allreduce time as a share of compute time
SHARES = (0.10, 1.00)
SINGLE, PAIR, REFERENCE = "N=1, 1 thread", "N=2, 1 thread each", "N=1, 2 threads"


def fit_link(sizes: list[int], seconds: list[float]) -> tuple[float, float]:
    """(latency s, bandwidth B/s) of the 2-rank ring model t(S) = 2·latency + S/bandwidth:
    the intercept from the sizes up to 1 KiB (median), the slope by least squares over the
    sizes from 256 KiB."""
    small = [t for s, t in zip(sizes, seconds) if s <= 1024]
    large = [(s, t) for s, t in zip(sizes, seconds) if s >= 256 * 1024]
    intercept = statistics.median(small)
    slope = float(np.polyfit([s for s, _ in large], [t for _, t in large], 1)[0])
    if not slope > 0:  # a flat or falling tail: the largest size alone
        slope = (large[-1][1] - intercept) / large[-1][0]
    return intercept / 2, 1 / slope


def ring_allreduce(nbytes: float, ranks: int, latency: float, bandwidth: float) -> float:
    """Seconds of a ring allreduce of ``nbytes`` over ``ranks`` ranks."""
    if ranks <= 1:
        return 0.0
    return 2 * (ranks - 1) / ranks * nbytes / bandwidth + 2 * (ranks - 1) * latency


def fit_compute(rows: list[dict[str, Any]], model: str) -> tuple[float, float]:
    """(c0 s, c s/sample): compute(b) ≈ c0 + c·b of one rank with one thread, fitted to the
    ``N=1, 1 thread`` rows of ``model``; with one batch size, or a negative c0, c0 = 0."""
    points = sorted(
        (r["per_rank_batch"], r["median_compute_s"])
        for r in rows
        if r["model"] == model and r["setting"] == SINGLE
    )
    if len(points) >= 2:
        c, c0 = (float(v) for v in np.polyfit(*zip(*points), 1))
        if c0 >= 0 and c > 0:
            return c0, c
    b, t = points[-1]
    return 0.0, t / b


def flops_per_sample(model: str) -> float:
    """FLOP of the matrix products of one sample's step through the MLP named by its widths:
    2 per weight forward, 2 for its gradient, 2 for the gradient of the layer's input (not at
    the first layer, whose input needs none)."""
    widths = [int(w) for w in model.split("-")]
    pairs = list(itertools.pairwise(widths))
    return float(sum(2 * a * b * (2 if i == 0 else 3) for i, (a, b) in enumerate(pairs)))


def min_batch(allreduce_s: float, share: float, c0: float, c: float) -> int:
    """The smallest per-rank batch b with allreduce ≤ share · compute(b)."""
    return max(1, math.ceil((allreduce_s / share - c0) / c))


def interpolate(sizes: list[int], seconds: list[float], nbytes: float) -> float:
    """The measured allreduce time at ``nbytes`` (log-log interpolation; beyond the largest
    size, linear in bytes from it)."""
    if nbytes >= sizes[-1]:
        return seconds[-1] * nbytes / sizes[-1]
    return float(np.exp(np.interp(np.log(nbytes), np.log(sizes), np.log(seconds))))


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


def model_section(results: dict[str, Any]) -> list[str]:
    """The scaling model, its fitted and assumed numbers, and what follows from them."""
    rows, curve = results["rows"], results["allreduce_curve"]
    sizes = curve["bytes"]
    links = {name: fit_link(sizes, curve["seconds"][name]) for name in ("nabla", "mpi4py")}
    models = list(dict.fromkeys(r["model"] for r in rows))
    params = {r["model"]: r["n_params"] for r in rows}
    computes = {m: fit_compute(rows, m) for m in models}
    lines = [
        "## A model of scaling to N ranks on M machines",
        "",
        (
            "One step on each of N ranks is the compute of its batch b, then one allreduce of the "
            "S = 4 × (parameters + 1) bytes of gradients (DistributedDataParallel starts it after "
            "backward: nothing overlaps it):"
        ),
        "",
        "    step(b, N) ≈ compute(b) + allreduce(S, N),      compute(b) ≈ c0 + c·b",
        "    ring allreduce(S, N) ≈ 2(N−1)/N · S / bandwidth + 2(N−1) · latency",
        "",
        (
            "N·b / step(b, N) samples/s. *Communication is hidden* here means allreduce ≤ X % of "
            "compute (parallel efficiency ≥ 1/(1 + X)); with bucketed allreduce overlapping "
            "backward (as PyTorch DDP does, nabla does not yet) up to about the backward's share "
            "of compute (≈ 2/3) would be hidden instead."
        ),
        "",
        "**Measured here** (fits to the tables above):",
        "",
    ]
    for name, (latency, bandwidth) in links.items():
        lines.append(
            f"- link, {name} allreduce, 2 ranks, shared memory: latency {latency * 1e6:.1f} µs, "
            f"bandwidth {bandwidth / 1e9:.2f} GB/s (t(S) = 2·latency + S/bandwidth: "
            "intercept from sizes ≤ 1 KiB, slope from sizes ≥ 256 KiB)"
        )
    for m in models:
        c0, c = computes[m]
        flops = flops_per_sample(m)
        lines.append(
            f"- compute of {m}, one rank, one BLAS thread: c0 = {ms(c0)} ms per step + "
            f"c = {c * 1e6:.1f} µs per sample: the matrix products' {flops / 1e6:.2f} MFLOP "
            f"per sample at {flops / c / 1e9:.0f} GFLOP/s; c0, the fit's intercept, is the work "
            "that does not grow with the batch (SGD, packing the gradients, zero_grad...)"
        )
    lines += ["", "Check, N=2 on this machine (model with the measured curve and compute):", ""]
    lines += ["| model | b | predicted step ms | measured step ms |", "|---|---:|---:|---:|"]
    for r in rows:
        if r["setting"] != PAIR:
            continue
        single = next(
            x
            for x in rows
            if x["model"] == r["model"]
            and x["per_rank_batch"] == r["per_rank_batch"]
            and x["setting"] == SINGLE
        )
        predicted = single["median_compute_s"] + interpolate(
            sizes, curve["seconds"]["nabla"], 4 * (r["n_params"] + 1)
        )
        lines.append(
            f"| {r['model']} | {r['per_rank_batch']} | {ms(predicted)} | "
            f"{ms(r['median_step_s'])} |"
        )
    lines += ["", *check_explained(rows, curve)]
    latency, bandwidth = links["nabla"]
    scenarios = [("measured: this machine, shared memory (nabla's fit)", bandwidth, latency)]
    scenarios += list(NETWORKS)
    head = " | ".join(
        f"{m}: allreduce ms, b for ≤ {', '.join(f'{s:.0%}' for s in SHARES)}" for m in models
    )
    lines += [
        "",
        (
            "**Per-rank batch b at which allreduce ≤ 10 % and ≤ 100 % of compute** (compute "
            "measured: one rank = one core of this machine; link measured or assumed, as "
            "labelled). N ranks on M machines in one flat ring: every ring step waits on the "
            "slowest link, the network as soon as M ≥ 2. b ≥ 1: the per-step compute c0 "
            "(parameter-sized work: SGD, packing, weight gradients) alone already exceeds it."
        ),
        "",
        f"| link | N | M | {head} |",
        "|---|---:|---:|" + "---:|" * len(models),
    ]
    for label, bw, lat in scenarios:
        layouts = ((2, 1),) if label.startswith("measured") else LAYOUTS
        for n, machines in layouts:
            cells = []
            for m in models:
                a = ring_allreduce(4 * (params[m] + 1), n, lat, bw)
                need = ", ".join(f"{min_batch(a, s, *computes[m]):,}" for s in SHARES)
                cells.append(f"{ms(a)} ms; b ≥ {need}")
            lines.append(f"| {label} | {n} | {machines} | " + " | ".join(cells) + " |")
    lines += ["", *conclusions(models, params, computes, links, curve)]
    return lines


def check_explained(rows: list[dict[str, Any]], curve: dict[str, Any]) -> list[str]:
    """Why the N=2 prediction misses, in measured ratios."""
    compute, wire = [], []
    for r in rows:
        if r["setting"] != PAIR:
            continue
        single = next(
            x
            for x in rows
            if (x["model"], x["per_rank_batch"], x["setting"])
            == (r["model"], r["per_rank_batch"], SINGLE)
        )
        compute.append(r["median_compute_s"] / single["median_compute_s"])
        at_size = interpolate(curve["bytes"], curve["seconds"]["nabla"], 4 * (r["n_params"] + 1))
        wire.append(r["median_allreduce_s"] / at_size)
    return [
        (
            f"Each rank's compute at N=2 took {min(compute):.1f}–{max(compute):.1f}× its N=1 "
            f"time, and the allreduce inside training {min(wire):.1f}–{max(wire):.1f}× the "
            "curve's time for the same size (in training it also waits for the other rank); the "
            "model takes 1× for both, which can hold only on cores nothing else uses."
        )
    ]


def conclusions(
    models: list[str],
    params: dict[str, int],
    computes: dict[str, tuple[float, float]],
    links: dict[str, tuple[float, float]],
    curve: dict[str, Any],
) -> list[str]:
    """What the model says, in words, with its numbers."""
    c_per_param = {m: computes[m][1] / params[m] for m in models}
    _, bw10, _ = NETWORKS[0]
    # bandwidth term alone, large N: 2·4P/bw ≤ X·c·b  →  b ≥ 8P/(bw·X·c) = 8/(bw·X·(c/P))
    bandwidth_only = {m: 8 / (bw10 * 0.10 * c_per_param[m]) for m in models}
    latency, bandwidth = links["nabla"]
    slow_down = statistics.median(
        a / b
        for s, a, b in zip(curve["bytes"], curve["seconds"]["nabla"], curve["seconds"]["mpi4py"])
        if s >= 2**20
    )
    widest = LAYOUTS[-1][0]
    latency_widest = 2 * (widest - 1) * NETWORKS[0][2]
    pb_needed = latency_widest / (0.10 * statistics.mean(c_per_param.values()))
    lines = [
        (
            "What follows (measured numbers for compute and this machine's link, assumed ones for "
            "the networks):"
        ),
        "",
        "- *Bytes and compute grow together.* An MLP moves 4 bytes per parameter per step and "
        "computes 4 to 6 FLOP per parameter per sample, so in the model the bandwidth term "
        "over compute, 2(N−1)/N · 4P / bandwidth ÷ (c·b), does not depend on the width as long "
        "as the compute per parameter and sample is the same. Measured, it is "
        + ", ".join(f"{c_per_param[m] * 1e12:.0f} ps for {m}" for m in models)
        + ", and at 10 Gb/s and large N allreduce "
        "≤ 10 % of compute needs b ≥ "
        + ", ".join(f"{bandwidth_only[m]:,.0f} ({m})" for m in models)
        + " from the bandwidth term alone; only the per-rank batch hides it. The latency term "
        "2(N−1)·latency is what model size hides: it is ≤ 10 % of compute when P·b ≥ "
        f"2(N−1)·latency / (0.1·c/P), at {widest} ranks and 50 µs P·b ≥ {pb_needed:.2g} "
        "parameter-samples (the mean c/P of the two models; "
        + ", ".join(f"{m}: b ≥ {pb_needed / params[m]:,.0f}" for m in models)
        + ").",
        (
            "- *N barely changes the bandwidth term* (2(N−1)/N ≤ 2) but the latency term grows "
            f"with N: at {widest} ranks and 50 µs it is {latency_widest * 1e3:.1f} ms per step, "
            f"the compute of {latency_widest / computes[models[0]][1]:,.0f} samples of {models[0]} "
            "on one "
            "core. A tree or "
            "hierarchical allreduce (reduce inside each machine over shared memory, ring across "
            "the M machines: 2(M−1)/M · S / bandwidth + 2(M−1) · latency) cuts it to M−1 network "
            "hops."
        ),
        (
            "- *One core per rank is the slow case for hiding:* a rank with k cores computes about "
            "k times faster, so it needs about k times the per-rank batch for the same share."
        ),
        (
            f"- *On this machine* the measured link ({latency * 1e6:.1f} µs, "
            f"{bandwidth / 1e9:.2f} GB/s through nabla's allreduce) is shared memory between two "
            "processes on the two cores that also do the compute. From 1 MiB up, nabla's "
            "nonblocking allreduce polled under the watchdog (what training pays) took "
            f"{slow_down:.1f}× the time of a blocking `MPI_Allreduce` (median ratio over those "
            "sizes). Its fitted bandwidth is "
            f"{bandwidth / bw10:.2f}× the assumed 10 Gb/s network's."
        ),
    ]
    return lines
