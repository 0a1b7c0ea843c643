"""Measure every framework side by side: one worker process each, interleaved round by round."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.configs import Config

LR = 0.01
_CAN_STOP = hasattr(signal, "SIGSTOP")
#: untimed steps before each timed run, as a fraction of it (see worker.py)
WARMUP = 0.5
ROOT = Path(__file__).resolve().parent.parent


def cpu_name() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo), else what ``platform`` reports."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def make_problem(cfg: Config, seed: int = 0) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """He-uniform float32 weights of shape (out, in), a standard-normal batch, random labels."""
    rng = np.random.default_rng(seed)
    weights = []
    for n_in, n_out in zip(cfg.sizes[:-1], cfg.sizes[1:]):
        bound = np.sqrt(6.0 / n_in)
        W = rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32)
        b = rng.uniform(-0.1, 0.1, n_out).astype(np.float32)
        weights.append((W, b))
    X = rng.standard_normal((cfg.batch, cfg.sizes[0])).astype(np.float32)
    y = rng.integers(0, cfg.sizes[-1], cfg.batch).astype(np.int64)
    return weights, X, y


def gemm_rate(n: int = 1024, repeats: int = 7) -> float:
    """float32 n×n×n matrix product rate in FLOP/s (median)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2.0 * n**3 / statistics.median(times)


def freeze_gc() -> None:
    """Move everything imported so far out of the collector's reach (see BENCHMARKS.md)."""
    gc.collect()
    gc.freeze()


class Worker:
    """A ``benchmarks.worker`` process running one framework.

    ``label`` names its results (default: ``name``); ``src`` is a folder put first on the
    worker's PYTHONPATH, so ``import nabla`` there loads that source tree (the A/B mode runs
    an old commit's ``src/`` beside the current one, under the same harness).
    """

    def __init__(self, name: str, label: str | None = None, src: Path | None = None) -> None:
        self.name = name
        self.label = label or name
        env = None
        if src is not None:
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(src), os.environ.get("PYTHONPATH", "")) if p
            )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.worker", name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        hello = self._read()
        self.error = hello.get("error")
        self.rss_mb = hello.get("rss_mb")
        #: the ``nabla/__init__.py`` the worker imported (None for other frameworks)
        self.nabla_file: str | None = hello.get("nabla")

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            return {"error": f"worker exited with status {self.process.wait()}"}
        return json.loads(line)  # type: ignore[no-any-return]

    def ask(self, **request: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self._read()

    def pause(self) -> None:
        """Stop the process (SIGSTOP): an idle framework's threads (XLA's, OpenMP's spin-waits)
        must not compete for the 2 cores while another framework is timed."""
        if _CAN_STOP and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if _CAN_STOP and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)

    def close(self) -> None:
        self.resume()
        if self.process.poll() is None:
            with contextlib.suppress(BrokenPipeError, ValueError):
                self.ask(cmd="quit")
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()


@contextlib.contextmanager
def alone(worker: Worker | None, workers: Sequence[Worker]) -> Iterator[Worker | None]:
    """Run ``worker`` with every other worker stopped (measured on this VM: an idle JAX or
    PyTorch worker slowed the timed one by up to 1.4x)."""
    others = [w for w in workers if w is not worker]
    for w in others:
        w.pause()
    try:
        time.sleep(0.05)  # let the stopped workers' threads leave the cores
        yield worker
    finally:
        for w in others:
            w.resume()


def start_workers(frameworks: Sequence[str]) -> tuple[list[Worker], dict[str, str]]:
    workers, skipped = [], {}
    for name in frameworks:
        worker = Worker(name)
        if worker.error:
            skipped[name] = worker.error
            worker.close()
        else:
            workers.append(worker)
    return workers, skipped


def products_only_step(cfg: Config) -> Callable[[], None]:
    """The step's matrix products and nothing else, as the hand-written NumPy step calls them
    (X Wᵀ forward; Gᵀ H and G W backward, no G W into the input): the time a step cannot go
    below with these BLAS kernels, whatever its elementwise work costs."""
    weights, X, _ = make_problem(cfg)
    Ws = [w for w, _ in weights]
    outs = [np.ones((cfg.batch, w.shape[0]), np.float32) for w in Ws]
    inputs = [X] + outs[:-1]

    def step() -> None:
        for h, W in zip(inputs, Ws):
            h @ W.T
        for i in range(len(Ws) - 1, -1, -1):
            g = outs[i]
            g.T @ inputs[i]
            if i > 0:
                g @ Ws[i]

    return step


def time_products(cfg: Config, workers: Sequence[Worker], seconds: float) -> tuple[float, float]:
    """Samples/s of ``products_only_step`` in this process, with every worker stopped, after
    the same untimed warm-up as a worker's run (a fraction ``WARMUP`` of its time): by the
    wall clock and by this process's CPU time."""
    step = products_only_step(cfg)
    with alone(None, workers):  # no worker is the measured one: all of them stop
        start = time.perf_counter()
        while time.perf_counter() - start < WARMUP * seconds:
            step()
        count, elapsed = 0, 0.0
        start, cpu_start = time.perf_counter(), time.process_time()
        while elapsed < seconds:
            step()
            count += 1
            elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
    return cfg.batch * count / elapsed, cfg.batch * count / max(cpu, 1e-9)


def _cpu_ticks(pid: int) -> tuple[int, int] | None:
    """Busy clock ticks of the whole machine (every state but idle and iowait; steal counts:
    another VM had the core) and of process ``pid`` with its threads; None off Linux."""
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        # fields after "(comm)": state is field 3, utime and stime are fields 14 and 15
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, ValueError):
        return None
    return sum(ticks) - ticks[3] - ticks[4], int(fields[11]) + int(fields[12])


def timed_run(w: Worker) -> tuple[dict[str, Any], float]:
    """One ``run`` of ``w`` and the share of the machine's cores that other processes used
    meanwhile (0: it ran alone; 0.5 on 2 cores: something else kept one core busy)."""
    before, start = _cpu_ticks(w.process.pid), time.perf_counter()
    reply = w.ask(cmd="run", warmup=WARMUP)
    after, wall = _cpu_ticks(w.process.pid), time.perf_counter() - start
    if before is None or after is None:
        return reply, float("nan")
    others = (after[0] - before[0]) - (after[1] - before[1])
    capacity = wall * (os.cpu_count() or 1) * os.sysconf("SC_CLK_TCK")
    return reply, max(0.0, others / capacity)


def rotate(r: int, live: list[Worker]) -> list[Worker]:
    """Round ``r``'s order: who goes first moves along by one each round."""
    return live[r % len(live) :] + live[: r % len(live)] if live else []


def measure_config(
    cfg: Config,
    workers: Sequence[Worker],
    rounds: int,
    seconds: float,
    skipped: dict[str, str],
    order: Callable[[int, list[Worker]], list[Worker]] = rotate,
) -> dict[str, Any]:
    """Median samples/s per worker (by label) over ``rounds`` rounds, workers interleaved in
    ``order``, and of the step's matrix products alone (the NumPy ceiling of the step)."""
    live = []
    extra_skipped = dict(skipped)
    for w in workers:
        with alone(w, workers):
            reply = w.ask(cmd="build", config=cfg.name, seconds=seconds)
        if "error" in reply:
            extra_skipped[w.label] = reply["error"]
        else:
            live.append(w)
    rates: dict[str, list[float]] = {w.label: [] for w in live}
    cpu_rates: dict[str, list[float]] = {w.label: [] for w in live}
    faults: dict[str, list[float]] = {w.label: [] for w in live}
    others: dict[str, list[float]] = {w.label: [] for w in live}
    products: list[float] = []
    cpu_products: list[float] = []
    load = []
    for r in range(rounds):
        for w in order(r, live):
            with alone(w, live):
                reply, contention = timed_run(w)
            rates[w.label].append(cfg.batch * reply["count"] / reply["seconds"])
            cpu_rates[w.label].append(cfg.batch * reply["count"] / reply["cpu_seconds"])
            faults[w.label].append(reply.get("faults_per_step", float("nan")))
            others[w.label].append(contention)
        wall, cpu = time_products(cfg, live, seconds)
        products.append(wall)
        cpu_products.append(cpu)
        load.append(os.getloadavg()[0])
    return {
        "config": cfg.name,
        "batch": cfg.batch,
        "flops_per_step": cfg.flops,
        "samples_per_s": {name: statistics.median(v) for name, v in rates.items()},
        "products_only_samples_per_s": statistics.median(products) if products else None,
        "products_only_rounds": products,
        "rounds": rates,
        # the same by each process's CPU time (benchmarks/ab.py --clock cpu)
        "cpu_samples_per_s": {name: statistics.median(v) for name, v in cpu_rates.items()},
        "cpu_rounds": cpu_rates,
        "products_only_cpu_samples_per_s": statistics.median(cpu_products)
        if cpu_products
        else None,
        "products_only_cpu_rounds": cpu_products,
        "page_faults_per_step": {name: statistics.median(v) for name, v in faults.items()},
        #: per round, the share of the cores other processes used during each timed run
        "others_cpu": others,
        "skipped": extra_skipped,
        "load_average": max(load) if load else os.getloadavg()[0],
    }


def chain_overhead(name: str, n_ops: int = 1000, repeats: int = 15) -> float | None:
    """Microseconds per op, forward + backward, for a chain of ``n_ops`` scalar multiplies."""
    chain: Callable[[], Any] | None = None
    if name.startswith("nabla"):
        import nabla as nb

        x_nb = nb.tensor(np.float32(1.0), requires_grad=True)

        def chain() -> None:
            y = x_nb
            for _ in range(n_ops):
                y = y * 1.0001
            y.backward()
            x_nb.grad = None

    elif name == "PyTorch eager":
        import torch

        x_t = torch.tensor(1.0, requires_grad=True)

        def chain() -> None:
            y = x_t
            for _ in range(n_ops):
                y = y * 1.0001
            y.backward()
            x_t.grad = None

    elif name == "MyGrad":
        import mygrad as mg

        x_m = mg.tensor(np.float32(1.0))

        def chain() -> None:
            y = x_m
            for _ in range(n_ops):
                y = y * 1.0001
            y.backward()

    elif name == "HIPS autograd":
        from autograd import grad

        def f(x: Any) -> Any:
            for _ in range(n_ops):
                x = x * 1.0001
            return x

        df = grad(f)

        def chain() -> None:
            df(np.float32(1.0))

    elif name == "numpy (hand-written)":
        a = np.ones((), np.float32)

        def chain() -> None:  # no autodiff: the cost of the bare NumPy calls
            y = a
            for _ in range(n_ops):
                y = y * a

    if chain is None:
        return None
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        chain()
        times.append((time.perf_counter() - start) / n_ops * 1e6)
    return statistics.median(times[2:])


def micrograd_overhead(n_ops: int = 1000, repeats: int = 15) -> float | None:
    try:
        from micrograd.engine import Value
    except ImportError:
        return None
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * n_ops))  # its topo sort recurses
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        y = Value(1.0)
        for _ in range(n_ops):
            y = y * 1.0001
        y.backward()
        times.append((time.perf_counter() - start) / n_ops * 1e6)
    return statistics.median(times[2:])
