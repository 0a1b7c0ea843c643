"""Write the results: JSON (everything), Markdown (tables), PNG (cost against batch size)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

REFERENCE = "numpy (hand-written)"


def _k(rate: float) -> str:
    return f"{rate / 1e3:.1f}k" if rate < 1e6 else f"{rate / 1e6:.2f}M"


def _table(
    title: str,
    configs: list[dict[str, Any]],
    row_names: list[str],
    cell: Callable[[str, dict[str, Any]], str],
    first_column: str = "framework",
) -> list[str]:
    """A titled table with one row per name and one column per config (``cell(name, c)``)."""
    lines = ["", title, ""]
    lines.append(f"| {first_column} | " + " | ".join(c["config"] for c in configs) + " |")
    lines.append("|---|" + "---:|" * len(configs))
    for name in row_names:
        lines.append(f"| {name} | " + " | ".join(cell(name, c) for c in configs) + " |")
    return lines


def _median_cell(name: str, c: dict[str, Any]) -> str:
    rate, ref = c["samples_per_s"].get(name), c["samples_per_s"].get(REFERENCE)
    if rate is None:
        return "–"
    return f"{_k(rate)} ({rate / ref:.2f}x)" if ref else _k(rate)


def _best_round_cell(name: str, c: dict[str, Any]) -> str:
    rounds = c.get("rounds", {})
    best, ref = max(rounds.get(name) or [0]), max(rounds.get(REFERENCE) or [0])
    if not best:
        return "–"
    return f"{_k(best)} ({best / ref:.2f}x)" if ref else _k(best)


def _faults_cell(name: str, c: dict[str, Any]) -> str:
    value = c.get("page_faults_per_step", {}).get(name)
    return "–" if value is None or math.isnan(value) else f"{value:.1f}"


def ceiling_fraction(rate: float | None, c: dict[str, Any]) -> float | None:
    """The step's matrix products alone, time over the whole step's time (rates invert)."""
    ceiling = c.get("products_only_samples_per_s")
    return rate / ceiling if rate and ceiling else None


def _ceiling_cell(name: str, c: dict[str, Any]) -> str:
    fraction = ceiling_fraction(c["samples_per_s"].get(name), c)
    return "–" if fraction is None else f"{fraction:.2f}"


def _products_cell(c: dict[str, Any], gemm_gflops: float) -> str:
    """The ceiling's own rate, in samples/s and GFLOP/s (its share of the 1024³ GEMM rate)."""
    rate = c.get("products_only_samples_per_s")
    if not rate:
        return "–"
    gflops = c["flops_per_step"] * rate / c["batch"] / 1e9
    return f"{_k(rate)}, {gflops:.0f} ({gflops / gemm_gflops:.2f} of 1024³)"


def _overhead_lines(results: dict[str, Any]) -> list[str]:
    if not results.get("overhead_us"):
        return []
    lines = [
        "",
        "Per-op autodiff overhead, chain of 1,000 scalar multiplies, forward + backward (µs/op):",
        "",
        "| framework | µs/op |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {us:.2f} |" for name, us in results["overhead_us"].items()]
    return lines


def _memory_lines(results: dict[str, Any]) -> list[str]:
    if not results.get("memory"):
        return []
    config = results["memory"][0].get("config", "")
    lines = [
        "",
        f"Peak RSS of 30 training steps, one process per framework ({config}):",
        "",
        "| framework | peak RSS (MB) | after setup (MB) |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {m['framework']} | {m['peak_rss_mb']:.0f} | {m['after_setup_mb']:.0f} |"
        for m in results["memory"]
        if "peak_rss_mb" in m
    ]
    return lines


def _relative_lines(ours: str, configs: list[dict[str, Any]], frameworks: list[str]) -> list[str]:
    """``ours`` over each peer, config by config (nothing when ``ours`` was not measured)."""
    if not any(ours in c["samples_per_s"] for c in configs):
        return []

    def ratio(peer: str, c: dict[str, Any]) -> str:
        a, b = c["samples_per_s"].get(ours), c["samples_per_s"].get(peer)
        return f"{a / b:.2f}x" if a and b else "–"

    peers = [peer for peer in frameworks if peer != ours]
    return _table(
        f"{ours} relative to each peer (>1: {ours} is faster):",
        configs,
        peers,
        ratio,
        first_column="peer",
    )


def markdown(results: dict[str, Any]) -> str:
    machine = results["machine"]
    lines = [
        "# nabla benchmark results",
        "",
        (
            f"Machine: {machine['cpu']} ({machine['cores']} cores), NumPy {machine['numpy']}, "
            f"BLAS {machine['blas']}, float32 GEMM {machine['gemm_gflops']:.0f} GFLOP/s "
            f"(1024³). {results['date']}; {results['rounds']} interleaved rounds, medians; "
            f"gc.freeze() after imports."
        ),
    ]
    configs = results["configs"]
    frameworks: list[str] = []
    for c in configs:
        for name in c["samples_per_s"]:
            if name not in frameworks:
                frameworks.append(name)
    lines += _table(
        "SGD training step (forward + backward + update), median samples/s and ratio to the "
        "hand-written NumPy step:",
        configs,
        frameworks,
        _median_cell,
    )
    if any(len(c.get("rounds", {}).get(REFERENCE, ())) > 1 for c in configs):
        lines += _table(
            "Best round per framework (the least disturbed measurement: this VM has slow "
            "phases that pull some medians down more than others), samples/s and ratio to "
            "the hand-written NumPy step's best round:",
            configs,
            frameworks,
            _best_round_cell,
        )
    for ours in ("nabla eager", "nabla compiled"):
        lines += _relative_lines(ours, configs, frameworks)
    if any(c.get("products_only_samples_per_s") for c in configs):
        lines += _table(
            "Fraction of the NumPy ceiling: the step's matrix products alone (the same shapes "
            "and dtype, plain NumPy `@`, timed in the same rounds) over the whole step, time "
            "against time (1.00: the step costs no more than its matrix products):",
            configs,
            frameworks,
            _ceiling_cell,
        )
        cells = [_products_cell(c, machine["gemm_gflops"]) for c in configs]
        lines.append(
            "| *the matrix products alone: samples/s, GFLOP/s* | " + " | ".join(cells) + " |"
        )
    if any(c.get("page_faults_per_step") for c in configs):
        lines += _table(
            "Page faults per training step, median over the rounds (memory the process gave "
            "back to the OS and touched again: glibc hands freed heap back once its top "
            "exceeds a threshold; `import nabla` primes that threshold, see nabla._heap):",
            configs,
            frameworks,
            _faults_cell,
        )
    lines += _overhead_lines(results) + _memory_lines(results)
    skipped = {n: why for c in configs for n, why in c["skipped"].items()}
    if skipped:
        lines += ["", "Skipped: " + "; ".join(f"{n}: {w}" for n, w in skipped.items())]
    loads = [c["load_average"] for c in configs]
    lines += [
        "",
        (
            f"1-minute load average during the runs: {min(loads):.2f}–{max(loads):.2f} "
            f"(the measured worker itself keeps {machine['cores']} cores busy; well above that, "
            "another process competed for them)."
        ),
    ]
    return "\n".join(lines) + "\n"


def plot_sweep(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweep = results.get("sweep") or []
    if not sweep:
        return
    fig, (ax_rate, ax_time) = plt.subplots(1, 2, figsize=(11, 4))
    names = sorted({n for c in sweep for n in c["samples_per_s"]})
    for name in names:
        points = [
            (c["batch"], c["samples_per_s"][name]) for c in sweep if name in c["samples_per_s"]
        ]
        batches, rates = zip(*points)
        ax_rate.plot(batches, rates, marker="o", label=name)
        ax_time.plot(batches, [b / r * 1e3 for b, r in points], marker="o", label=name)
    for ax in (ax_rate, ax_time):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch size")
        ax.grid(alpha=0.3, which="both")
    ax_rate.set_ylabel("samples / s")
    ax_rate.set_title("784-256-128-10 ReLU: throughput")
    ax_time.set_ylabel("ms per step")
    ax_time.set_title("cost of one step")
    ax_rate.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(results: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "results.md").write_text(markdown(results))
    plot_sweep(results, out / "batch_sweep.png")
