"""``python -m benchmarks``: run the peer suite; a full run writes benchmarks/results/.

Options: --quick (fewer rounds, shorter timings, no sweep), --frameworks a,b,... ,
--configs substring filter, --no-sweep, --no-memory, --out DIR; --ab REF [--ab-new REF2]
times nabla at commit REF against the working tree (or REF2), eager and compiled, interleaved
in one run (benchmarks/ab.py). Only a full run writes the committed benchmarks/results/ by
default; --quick, --ab and partial runs write a new temporary folder, named at the end.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import ab, report
from benchmarks.configs import MAIN, SWEEP, Config
from benchmarks.harness import (
    Worker,
    alone,
    cpu_name,
    gemm_rate,
    measure_config,
    micrograd_overhead,
    start_workers,
)
from benchmarks.peers import PEERS


def _blas() -> str:
    try:
        from threadpoolctl import threadpool_info

        info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if info:
            lib = info[0]
            text = (
                f"{lib.get('internal_api')} {lib.get('version')}, "
                f"{lib.get('architecture')} kernels ({lib.get('num_threads')} threads)"
            )
            # a forced core type (some machines set one for old OpenBLAS builds) is reported:
            # it changes the GEMM rate of every NumPy-based framework, not JAX's or PyTorch's
            forced = os.environ.get("OPENBLAS_CORETYPE")
            return text + (f", OPENBLAS_CORETYPE={forced} set" if forced else "")
    except ImportError:
        pass
    return "unknown"


RESULTS = Path(__file__).parent / "results"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--seconds", type=float, help="time per measurement (default 0.25)")
    parser.add_argument("--frameworks", help="comma-separated subset of: " + ", ".join(PEERS))
    parser.add_argument("--configs", help="only configs whose name contains this text")
    parser.add_argument("--no-sweep", action="store_true")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument(
        "--ab",
        metavar="REF",
        help="A/B mode: nabla at commit REF against the working tree, eager and compiled, "
        "interleaved round by round (REF is checked out in a temporary git worktree)",
    )
    parser.add_argument(
        "--ab-new", metavar="REF", help="with --ab: measure commit REF instead of the working tree"
    )
    parser.add_argument(
        "--clock",
        choices=list(ab.CLOCKS),
        default="wall",
        help="with --ab: rates by the wall clock (default) or by each process's CPU time "
        "(steadier on a shared machine; set OPENBLAS_NUM_THREADS=1 with it)",
    )
    parser.add_argument(
        "--out",
        help="output folder (default: benchmarks/results/ for a full run; a new temporary "
        "folder for --quick, --ab or a partial run, printed at the end)",
    )
    return parser


def is_full(args: argparse.Namespace) -> bool:
    """Whether this run measures everything a committed results/ holds."""
    partial = args.configs or args.frameworks or args.no_sweep or args.no_memory
    return not (args.quick or args.ab or partial)


def output_dir(args: argparse.Namespace) -> Path:
    """Where results go: --out if given; the committed results/ only for a full run; else a
    new scratch folder (a quick or partial run must never overwrite the committed tables)."""
    if args.out:
        return Path(args.out)
    if is_full(args):
        return RESULTS
    return Path(tempfile.mkdtemp(prefix="nabla-bench-"))


def machine_info(gflops: float) -> dict[str, Any]:
    return {
        "cpu": cpu_name(),
        "cores": len(os.sched_getaffinity(0)),
        "numpy": np.__version__,
        "blas": _blas(),
        "gemm_gflops": gflops,
        "python": platform.python_version(),
    }


def selection(args: argparse.Namespace) -> tuple[list[str], list[Config]]:
    """The frameworks (for --ab: nabla's modes) and configs to measure; ValueError if none."""
    frameworks = (
        list(PEERS) if not args.frameworks else [f.strip() for f in args.frameworks.split(",")]
    )
    unknown = [f for f in frameworks if f not in PEERS]
    if unknown:
        raise ValueError(f"unknown framework(s) {unknown}; choose from {list(PEERS)}")
    configs = [c for c in MAIN if not args.configs or args.configs in c.name]
    if not configs:
        raise ValueError(f"--configs {args.configs!r} matches none of {[c.name for c in MAIN]}")
    if args.ab_new and not args.ab:
        raise ValueError("--ab-new needs --ab OLD_REF")
    if args.ab:
        frameworks = [f for f in frameworks if f in ab.MODES] if args.frameworks else [*ab.MODES]
        if not frameworks:
            raise ValueError(f"--ab measures nabla only: --frameworks must name {list(ab.MODES)}")
    return frameworks, configs


def note_coretype() -> None:
    forced = os.environ.get("OPENBLAS_CORETYPE")
    if forced:
        print(
            f"note: OPENBLAS_CORETYPE={forced} is set, so every NumPy-based framework runs "
            "those OpenBLAS kernels (JAX and PyTorch bring their own). To let OpenBLAS choose "
            "for this CPU, run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks",
            file=sys.stderr,
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        frameworks, configs = selection(args)
    except ValueError as exc:
        parser.error(str(exc))
    note_coretype()
    if args.ab:
        rounds = args.rounds or (5 if args.quick else 15)
        seconds = args.seconds or (0.1 if args.quick else 0.25)
        machine = machine_info(gemm_rate() / 1e9)
        try:
            results = ab.run(
                args.ab, args.ab_new, configs, frameworks, rounds, seconds, machine, args.clock
            )
        except ab.BenchError as exc:
            print(f"python -m benchmarks: error: {exc}", file=sys.stderr)
            return 2
        out = output_dir(args)
        ab.write(results, out)
        print(ab.markdown(results))
    else:
        results = run_suite(args, frameworks, configs)
        out = output_dir(args)
        report.write(results, out)
        print(report.markdown(results))
    print(f"results written to {out}/")
    return 0


def run_suite(
    args: argparse.Namespace, frameworks: list[str], configs: list[Config]
) -> dict[str, Any]:
    """The peer suite: every framework on every config, interleaved; overhead; memory."""
    rounds = args.rounds or (3 if args.quick else 7)
    seconds = args.seconds or (0.1 if args.quick else 0.25)
    gflops = gemm_rate() / 1e9
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "rounds": rounds,
        "machine": machine_info(gflops),
        "configs": [],
        "sweep": [],
    }
    workers, skipped = start_workers(frameworks)
    try:
        for cfg in configs:
            print(f"measuring {cfg.name} ...", file=sys.stderr, flush=True)
            results["configs"].append(measure_config(cfg, workers, rounds, seconds, skipped))
        if not (args.quick or args.no_sweep or args.configs):
            for cfg in SWEEP:
                print(f"sweep {cfg.name} ...", file=sys.stderr, flush=True)
                results["sweep"].append(
                    measure_config(cfg, workers, max(3, rounds // 2), seconds, skipped)
                )
        print("per-op overhead ...", file=sys.stderr, flush=True)
        results["overhead_us"] = overhead(workers, rounds)
    finally:
        for w in workers:
            w.close()
    results["gemm_gflops_after"] = gemm_rate() / 1e9
    # the reference is the best rate seen: a slow moment at the start must not inflate fractions
    results["machine"]["gemm_gflops_before"] = gflops
    results["machine"]["gemm_gflops"] = max(gflops, results["gemm_gflops_after"])
    if not args.no_memory:
        results["memory"] = memory(frameworks, MAIN[2])
    return results


def overhead(workers: list[Worker], rounds: int) -> dict[str, float]:
    """Per-op autodiff overhead: interleaved rounds, medians (one ~0.1 s measurement can land
    in a slow phase)."""
    samples: dict[str, list[float]] = {}
    for _ in range(rounds):
        for w in workers:
            with alone(w, workers):
                us = w.ask(cmd="overhead").get("us_per_op")
            if us is not None:
                numpy = w.name.startswith("numpy")
                label = "a bare NumPy call (no autodiff)" if numpy else w.name
                samples.setdefault(label, []).append(us)
    result = {label: statistics.median(v) for label, v in samples.items()}
    micro = micrograd_overhead()
    if micro is not None:
        result["micrograd (Python floats)"] = micro
    return result


def memory(frameworks: list[str], cfg: Config) -> list[dict[str, Any]]:
    """Peak RSS of a run of ``cfg``, in fresh workers (one framework each)."""
    rows = []
    for name in frameworks:
        worker = Worker(name)
        if not worker.error:
            worker.ask(cmd="build", config=cfg.name, seconds=0.5)
            worker.ask(cmd="run")
            reply = worker.ask(cmd="memory")
            rows.append(
                {
                    "framework": name,
                    "config": cfg.name,
                    "peak_rss_mb": reply["peak_rss_mb"],
                    "after_setup_mb": reply["baseline_mb"],
                }
            )
        worker.close()
    return rows


if __name__ == "__main__":
    sys.exit(main())
