"""``python -m benchmarks``: run the peer suite and write benchmarks/results/.

Options: --quick (fewer rounds, shorter timings, no sweep), --frameworks a,b,... ,
--configs substring filter, --no-sweep, --no-memory, --out DIR.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import report
from benchmarks.configs import MAIN, SWEEP
from benchmarks.harness import (
    Worker,
    alone,
    gemm_rate,
    measure_config,
    micrograd_overhead,
    start_workers,
)
from benchmarks.peers import PEERS


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--seconds", type=float, help="time per measurement (default 0.25)")
    parser.add_argument("--frameworks", help="comma-separated subset of: " + ", ".join(PEERS))
    parser.add_argument("--configs", help="only configs whose name contains this text")
    parser.add_argument("--no-sweep", action="store_true")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)
    frameworks = (
        list(PEERS) if not args.frameworks else [f.strip() for f in args.frameworks.split(",")]
    )
    unknown = [f for f in frameworks if f not in PEERS]
    if unknown:
        parser.error(f"unknown framework(s) {unknown}; choose from {list(PEERS)}")
    rounds = args.rounds or (3 if args.quick else 7)
    seconds = args.seconds or (0.1 if args.quick else 0.25)
    configs = [c for c in MAIN if not args.configs or args.configs in c.name]

    forced = os.environ.get("OPENBLAS_CORETYPE")
    if forced:
        print(
            f"note: OPENBLAS_CORETYPE={forced} is set, so every NumPy-based framework runs "
            "those OpenBLAS kernels (JAX and PyTorch bring their own). To let OpenBLAS choose "
            "for this CPU, run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks",
            file=sys.stderr,
            flush=True,
        )
    gflops = gemm_rate() / 1e9
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "rounds": rounds,
        "machine": {
            "cpu": _cpu(),
            "cores": len(os.sched_getaffinity(0)),
            "numpy": np.__version__,
            "blas": _blas(),
            "gemm_gflops": gflops,
            "python": platform.python_version(),
        },
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
        # interleaved rounds, medians: one ~0.1 s measurement can land in a slow phase
        samples: dict[str, list[float]] = {}
        for _ in range(rounds):
            for w in workers:
                with alone(w, workers):
                    us = w.ask(cmd="overhead").get("us_per_op")
                if us is not None:
                    numpy = w.name.startswith("numpy")
                    label = "a bare NumPy call (no autodiff)" if numpy else w.name
                    samples.setdefault(label, []).append(us)
        overhead = {label: statistics.median(v) for label, v in samples.items()}
        micro = micrograd_overhead()
        if micro is not None:
            overhead["micrograd (Python floats)"] = micro
        results["overhead_us"] = overhead
    finally:
        for w in workers:
            w.close()
    results["gemm_gflops_after"] = gemm_rate() / 1e9
    # the reference is the best rate seen: a slow moment at the start must not inflate fractions
    results["machine"]["gemm_gflops_before"] = gflops
    results["machine"]["gemm_gflops"] = max(gflops, results["gemm_gflops_after"])
    if not args.no_memory:  # fresh workers: peak RSS of the b1024 run alone
        memory = []
        cfg = MAIN[2]
        for name in frameworks:
            worker = Worker(name)
            if not worker.error:
                worker.ask(cmd="build", config=cfg.name, seconds=0.5)
                worker.ask(cmd="run")
                reply = worker.ask(cmd="memory")
                memory.append(
                    {
                        "framework": name,
                        "config": cfg.name,
                        "peak_rss_mb": reply["peak_rss_mb"],
                        "after_setup_mb": reply["baseline_mb"],
                    }
                )
            worker.close()
        results["memory"] = memory
    report.write(results, Path(args.out))
    print(report.markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
