"""One framework per process: ``python -m benchmarks.worker NAME`` answers JSON commands.

Running each framework in its own process keeps their thread pools (OpenBLAS, OpenMP, XLA) and
garbage collectors from disturbing each other; the parent interleaves them round by round.
Commands, one JSON object per line on stdin: {"cmd": "build", "config": NAME, "seconds": s},
{"cmd": "run", "warmup": w} (first w times a run's steps untimed), {"cmd": "overhead"},
{"cmd": "memory"}, {"cmd": "quit"}.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.configs import MAIN, SWEEP, Config
from benchmarks.harness import LR, chain_overhead, freeze_gc, make_problem
from benchmarks.peers import PEERS


def status_mb(field: str) -> float:
    """A field of /proc/self/status in MB (VmHWM is this process's peak RSS; ru_maxrss is not
    used because Linux carries it over exec from the parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def build(builder: Callable[..., Any], cfg: Config, seconds: float) -> tuple[Any, int]:
    """The config's step, warmed up, and how many steps take about ``seconds``."""
    step = builder(cfg, *make_problem(cfg), LR)
    for _ in range(3):  # warm-up: JIT compilation, traces, caches
        step()
    elapsed, count = 0.0, 1
    while elapsed < seconds / 4:
        count *= 2
        start = time.perf_counter()
        for _ in range(count):
            step()
        elapsed = time.perf_counter() - start
    return step, max(1, int(count * seconds / max(elapsed, 1e-9)))


def main() -> None:
    name = sys.argv[1]
    configs = {c.name: c for c in MAIN + SWEEP}
    builder = PEERS[name]
    try:  # import the framework (and build once) before freezing the collector
        builder(MAIN[4], *make_problem(MAIN[4]), LR)
    except ImportError as exc:
        print(json.dumps({"error": f"not installed ({exc})"}), flush=True)
        return
    except Exception as exc:  # noqa: BLE001 - e.g. an old nabla (A/B) lacks an API: report it
        print(json.dumps({"error": f"cannot build: {type(exc).__name__}: {exc}"}), flush=True)
        return
    freeze_gc()
    baseline = status_mb("VmRSS")
    step: Callable[[], Any] | None = None
    count = 1
    hello: dict[str, Any] = {"ready": True, "rss_mb": baseline}
    if "nabla" in sys.modules:  # which source tree answered `import nabla` (A/B mode)
        hello["nabla"] = sys.modules["nabla"].__file__
    print(json.dumps(hello), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        cmd = request["cmd"]
        if cmd == "quit":
            break
        if cmd == "build":
            try:
                step, count = build(builder, configs[request["config"]], request["seconds"])
                reply: dict[str, Any] = {"count": count}
            except Exception as exc:  # noqa: BLE001 - the harness skips this config, says why
                step, reply = None, {"error": f"cannot build: {type(exc).__name__}: {exc}"}
        elif cmd == "run":
            assert step is not None
            # warm-up, untimed: after the harness's pause the vCPU starts cold (on this VM the
            # first ~0.1-0.5 s after an idle pause run up to 1.5x slower); time a busy CPU,
            # as in a training run
            for _ in range(int(count * request.get("warmup", 0.0))):
                step()
            faults_before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            start, cpu_start = time.perf_counter(), time.process_time()
            for _ in range(count):
                step()
            seconds = time.perf_counter() - start
            # CPU time of this process (all its threads): what other processes cannot inflate
            # by taking the cores, when BLAS runs one thread (a waiting BLAS thread spins)
            cpu_seconds = time.process_time() - cpu_start
            # page faults per step: memory the step's allocator handed back and touched again
            faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before
            reply = {
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "count": count,
                "faults_per_step": faults / count,
            }
        elif cmd == "overhead":
            reply = {"us_per_op": chain_overhead(name)}
        elif cmd == "memory":
            reply = {"peak_rss_mb": status_mb("VmHWM"), "baseline_mb": baseline}
        else:
            reply = {"error": f"unknown command {cmd!r}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
