"""A/B mode, ``python -m benchmarks --ab REF``: nabla at REF against the working tree (or against
``--ab-new REF2``), eager and compiled, interleaved round by round in one run.

Timings on a shared 2-core VM drift by 20-50 % from one run to the next, so only a same-run
comparison counts: every config builds one worker per side and mode, and each round times the
old and the new step of a mode back to back (who goes first alternates), then the step's matrix
products alone with plain NumPy ``@`` (the ceiling of a NumPy step). A commit is checked out
with ``git worktree`` into a temporary folder, removed afterwards; its workers load it through
PYTHONPATH=<worktree>/src and run this checkout's harness and step builders, so both sides are
timed by the same code. Each worker reports which ``nabla/__init__.py`` it imported, and a
side that loaded the wrong one stops the run.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from benchmarks.configs import Config
from benchmarks.harness import ROOT, Worker, measure_config

#: a new/old ratio of median samples/s below this is flagged (issue 13: none may be)
THRESHOLD = 0.97
MODES = ("nabla eager", "nabla compiled")
SIDES = ("old", "new")
#: a timed run during which other processes used less than this share of the cores is quiet
QUIET = 0.05
#: which of measure_config's results each clock reads: medians, rounds, the ceiling's median
CLOCKS = {
    "wall": ("samples_per_s", "rounds", "products_only_samples_per_s"),
    "cpu": ("cpu_samples_per_s", "cpu_rounds", "products_only_cpu_samples_per_s"),
}


class BenchError(RuntimeError):
    """A problem with the A/B setup (unknown commit, a worktree git refuses), in one line."""


def _git(*args: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False
    )
    if proc.returncode:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise BenchError(f"git {' '.join(args)}: {detail[-1] if detail else proc.returncode}")
    return proc.stdout.strip()


def resolve(ref: str) -> str:
    """The full commit hash of ``ref``, or a one-line error naming it."""
    try:
        return _git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except BenchError:
        raise BenchError(f"--ab: {ref!r} is not a commit of {ROOT}") from None


@contextlib.contextmanager
def checkout(ref: str | None) -> Iterator[dict[str, str]]:
    """The source tree to measure: ``ref`` in a temporary ``git worktree`` (removed on exit),
    or the working tree itself (uncommitted changes included) when ``ref`` is None."""
    if ref is None:
        head = _git("rev-parse", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=all", "--", "src")
        name = "working tree" + (" (uncommitted changes in src/)" if dirty else "")
        yield {"ref": name, "commit": head, "src": str(ROOT / "src")}
        return
    commit = resolve(ref)
    folder = Path(tempfile.mkdtemp(prefix="nabla-ab-"))
    path = folder / commit[:12]
    try:
        _git("worktree", "add", "--detach", str(path), commit)
        yield {"ref": ref, "commit": commit, "src": str(path / "src")}
    finally:
        if path.exists():
            removed = subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
                capture_output=True,
                check=False,
            )
            if removed.returncode:  # drop git's record of it once the folder is gone
                shutil.rmtree(path, ignore_errors=True)
                subprocess.run(
                    ["git", "-C", str(ROOT), "worktree", "prune"], capture_output=True, check=False
                )
        shutil.rmtree(folder, ignore_errors=True)


def label(mode: str, side: str) -> str:
    return f"{mode} [{side}]"


def paired(r: int, live: list[Worker]) -> list[Worker]:
    """Round ``r``'s order: old and new of each mode back to back, who goes first alternating
    every round and which mode goes first every other round."""
    by_mode: dict[str, list[Worker]] = {}
    for w in live:
        by_mode.setdefault(w.name, []).append(w)
    pairs = [ws[::-1] if r % 2 else ws for ws in by_mode.values()]
    if (r // 2) % 2:
        pairs.reverse()
    return [w for pair in pairs for w in pair]


def start(
    sides: dict[str, dict[str, str]], modes: Sequence[str]
) -> tuple[list[Worker], dict[str, str]]:
    """One worker per mode and side; refuses a worker whose ``import nabla`` found another tree."""
    workers: list[Worker] = []
    skipped: dict[str, str] = {}
    for mode in modes:
        for side, source in sides.items():
            w = Worker(mode, label=label(mode, side), src=Path(source["src"]))
            if w.error:
                skipped[w.label] = w.error
                w.close()
                continue
            workers.append(w)
            src = Path(source["src"]).resolve()
            if not w.nabla_file or src not in Path(w.nabla_file).resolve().parents:
                for other in workers:
                    other.close()
                raise BenchError(f"{w.label} imported nabla from {w.nabla_file}, not from {src}")
    return workers, skipped


def summarize(c: dict[str, Any], mode: str, clock: str = "wall") -> dict[str, Any] | None:
    """One table row: medians, their ratio, the median of each round's own ratio, and each
    side's fraction of the NumPy ceiling (matrix products alone, time over step time), all
    by ``clock``."""
    medians, rounds, ceiling_key = CLOCKS[clock]
    rates = {side: c[medians].get(label(mode, side)) for side in SIDES}
    if not all(rates.values()):
        return None
    rounds = c[rounds]
    per_round = [n / o for o, n in zip(rounds[label(mode, "old")], rounds[label(mode, "new")])]
    others = c.get("others_cpu", {})
    busy = [
        max(o, n)
        for o, n in zip(others.get(label(mode, "old"), []), others.get(label(mode, "new"), []))
    ]
    # a round whose two runs both had the cores to themselves (NaN off Linux: not quiet)
    quiet = [ratio for ratio, b in zip(per_round, busy) if b < QUIET]
    ceiling = c.get(ceiling_key)
    return {
        "config": c["config"],
        "mode": mode,
        "old": rates["old"],
        "new": rates["new"],
        "ratio": rates["new"] / rates["old"],
        "paired_ratio": statistics.median(per_round),
        "paired_range": [min(per_round), max(per_round)],
        "quiet_rounds": len(quiet),
        "quiet_ratio": statistics.median(quiet) if quiet else None,
        "others_cpu": statistics.median(busy) if busy else None,
        "ceiling_old": rates["old"] / ceiling if ceiling else None,
        "ceiling_new": rates["new"] / ceiling if ceiling else None,
    }


def run(
    old_ref: str,
    new_ref: str | None,
    configs: Sequence[Config],
    modes: Sequence[str],
    rounds: int,
    seconds: float,
    machine: dict[str, Any],
    clock: str = "wall",
) -> dict[str, Any]:
    """Measure ``modes`` of every config for both sides, interleaved; the results as a dict,
    its summary rows by ``clock`` ("wall", or "cpu": each process's own CPU time)."""
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "rounds": rounds,
        "seconds": seconds,
        "clock": clock,
        "threshold": THRESHOLD,
        "machine": machine,
        "configs": [],
    }
    with checkout(old_ref) as old, checkout(new_ref) as new:
        results["old"], results["new"] = old, new
        workers, skipped = start({"old": old, "new": new}, modes)
        results["nabla_files"] = {w.label: w.nabla_file for w in workers}
        try:
            for cfg in configs:
                print(f"A/B {cfg.name} ...", file=sys.stderr, flush=True)
                results["configs"].append(
                    measure_config(cfg, workers, rounds, seconds, skipped, order=paired)
                )
        finally:
            for w in workers:
                w.close()
    rows = [summarize(c, mode, clock) for c in results["configs"] for mode in modes]
    results["summary"] = [row for row in rows if row]
    return results


def _k(rate: float) -> str:
    return f"{rate / 1e3:.1f}k" if rate < 1e6 else f"{rate / 1e6:.2f}M"


def _fraction(value: float | None, digits: int = 2) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _row(row: dict[str, Any], threshold: float) -> str:
    low, high = row["paired_range"]
    quiet = f"{row['quiet_rounds']}: {_fraction(row['quiet_ratio'], 3)}"
    flag = f"**below {threshold}**" if row["ratio"] < threshold else ""
    return (
        f"| {row['config']} | {row['mode'].removeprefix('nabla ')} | {_k(row['old'])} | "
        f"{_k(row['new'])} | {row['ratio']:.3f} | {row['paired_ratio']:.3f} "
        f"({low:.2f}–{high:.2f}) | {quiet} | {_fraction(row['others_cpu'])} | "
        f"{_fraction(row['ceiling_old'])} → {_fraction(row['ceiling_new'])} | {flag} |"
    )


def markdown(results: dict[str, Any]) -> str:
    old, new, machine = results["old"], results["new"], results["machine"]
    threshold = results["threshold"]
    title = (
        f"# nabla A/B: {new['ref']} ({new['commit'][:7]}) against {old['ref']} "
        f"({old['commit'][:7]})"
    )
    setting = (
        f"Machine: {machine['cpu']} ({machine['cores']} cores), NumPy {machine['numpy']}, "
        f"BLAS {machine['blas']}. {results['date']}; {results['rounds']} rounds of "
        f"{results['seconds']} s per measurement, old and new of each mode back to back in "
        "every round (one run: timings on this kind of VM drift between runs), medians."
    )
    clock = (
        "by each process's own CPU time (all its threads: meaningful with one BLAS thread, "
        "OPENBLAS_NUM_THREADS=1, as a waiting BLAS thread spins; other processes on the cores "
        "then barely change it)"
        if results.get("clock") == "cpu"
        else "by the wall clock"
    )
    legend = (
        f"SGD training step, samples/s {clock}. new/old: the ratio of the medians (the goal: none below "
        f"{threshold}); per round: the median of each round's own new/old, and its range. "
        "Ceiling: the step's matrix products alone with plain NumPy `@` (same shapes and dtype, "
        "timed in the same rounds), time over the whole step's time, old → new. Others' CPU: "
        "the share of the cores other processes took during a mode's timed runs (median over "
        f"rounds of the busier side); quiet rounds: how many had under {QUIET:.0%} on both "
        "sides, and the median of their new/old."
    )
    lines = [
        title,
        "",
        setting,
        "",
        legend,
        "",
        (
            "| config | mode | old | new | new/old | per round (range) | quiet rounds | "
            "others' CPU | ceiling old → new | |"
        ),
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    lines += [_row(row, threshold) for row in results["summary"]]
    below = [f"{r['config']} {r['mode']}" for r in results["summary"] if r["ratio"] < threshold]
    lines += [
        "",
        f"Below {threshold}: " + ("; ".join(below) if below else "none") + ".",
    ]
    skipped = {n: why for c in results["configs"] for n, why in c["skipped"].items()}
    if skipped:
        lines.append("Skipped: " + "; ".join(f"{n}: {w}" for n, w in skipped.items()) + ".")
    loads = [c["load_average"] for c in results["configs"]]
    if loads:
        lines.append(
            f"1-minute load average during the runs: {min(loads):.2f}–{max(loads):.2f} "
            f"(the timed worker keeps {machine['cores']} cores busy; well above that, another "
            "process competed for them)."
        )
    return "\n".join(lines) + "\n"


def write(results: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "ab.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "ab.md").write_text(markdown(results))
