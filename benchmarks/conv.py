"""``python -m benchmarks.conv``: a LeNet-5 training step, nabla against PyTorch eager.

LeNet-5-sized networks on 28 × 28 single-channel images at batch 64: Conv(1→6, 5×5, padding 2)
→ pool 2 → Conv(6→16, 5×5) → pool 2 → Linear 400→120→84→10, in two forms:

- ``relu-maxpool``: ReLU and MaxPool2d, as LeNet-5 is written today;
- ``tanh-avgpool``: tanh and AvgPool2d, as it was published (1998).

One step is forward, cross-entropy, backward and SGD with momentum 0.9, in float32, on one fixed
batch (the compute, not data loading). Both libraries start from the same weights. Each
measurement is a fresh process running one library alone (its imports, its garbage collector,
its threads), ``--rounds`` rounds interleaved (the order alternates); each process warms up for
5 steps, then times ``--steps`` steps one by one and reports the median step. Results are the
medians over rounds of samples/s and the process's peak RSS (``VmHWM``: interpreter, imports,
model and the step's arrays), and the growth of the peak over the RSS after the warm-up steps'
imports and model build (the memory a step needs). The goal (issue 16) is nabla at ≥ 0.7×
PyTorch eager's samples/s, PyTorch with its default threads (one per core). PyTorch also runs
with one thread (``torch.set_num_threads(1)``): nabla's convolutions run on one core (their
per-sample BLAS products are below OpenBLAS's threading threshold), so that row compares the
two per core. A run with the default rounds writes ``benchmarks/results/conv.md``
and ``conv.json``; other settings write a temporary folder unless ``--out`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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
GOAL = 0.7
BATCH = 64
NETWORKS = ("relu-maxpool", "tanh-avgpool")
LIBRARIES = ("torch", "torch-1-thread", "nabla")
#: the ratios' reference: PyTorch eager with its default threads (one per core here)
REFERENCE = "torch"

CHILD = r"""
import gc, json, sys, time
import numpy as np
library, network, weights, steps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
if library.startswith("torch"):
    import torch as lib
    import torch.nn as nn
    lib.set_num_threads(1 if library == "torch-1-thread" else 2)
    tensor = lambda a: lib.from_numpy(a)
else:
    import nabla as lib
    import nabla.nn as nn
    tensor = lambda a: lib.tensor(a)


def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


act, pool = (nn.ReLU, nn.MaxPool2d) if network == "relu-maxpool" else (nn.Tanh, nn.AvgPool2d)
model = nn.Sequential(
    nn.Conv2d(1, 6, 5, padding=2), act(), pool(2),
    nn.Conv2d(6, 16, 5), act(), pool(2),
    nn.Flatten(), nn.Linear(400, 120), act(), nn.Linear(120, 84), act(), nn.Linear(84, 10),
)
stored = np.load(weights)
model.load_state_dict({k: tensor(stored[k]) for k in stored.files})
rng = np.random.default_rng(0)
x = tensor(rng.standard_normal((BATCH_SIZE, 1, 28, 28)).astype(np.float32))
y = rng.integers(0, 10, BATCH_SIZE)
y = lib.from_numpy(y) if library.startswith("torch") else y
optimizer = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
loss_fn = nn.CrossEntropyLoss()


def step():
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss


gc.freeze()
before = rss("VmRSS")
for _ in range(5):
    step()
times = []
for _ in range(steps):
    start = time.perf_counter()
    step()
    times.append(time.perf_counter() - start)
loss = float(step().item())
print(json.dumps({"step_s": sorted(times)[len(times) // 2], "peak_mb": rss("VmHWM"),
                  "step_mb": rss("VmHWM") - before, "loss": loss}))
""".replace("BATCH_SIZE", str(BATCH))


def initial_weights(folder: Path) -> Path:
    """The starting weights, PyTorch's default initialisation with seed 0, as .npz (both
    networks have the same parameter shapes)."""
    import torch

    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )  # fmt: skip
    path = folder / "lenet5_weights.npz"
    np.savez(path, **{k: v.detach().numpy() for k, v in model.state_dict().items()})
    return path


def measure(library: str, network: str, weights: Path, steps: int) -> dict[str, float]:
    """One fresh process training ``network`` with ``library``: its step time and memory."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH", "")) if p
    )
    done = subprocess.run(
        [sys.executable, "-c", CHILD, library, network, str(weights), str(steps)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{library} {network} failed:\n{done.stderr[-3000:]}")
    reply: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return reply


def run(rounds: int, steps: int, folder: Path) -> dict[str, Any]:
    """Both libraries on both networks, ``rounds`` times each, interleaved."""
    weights = initial_weights(folder)
    load_before = os.getloadavg()[0]
    samples: dict[str, dict[str, list[dict[str, float]]]] = {
        net: {lib: [] for lib in LIBRARIES} for net in NETWORKS
    }
    for r in range(rounds):
        for net in NETWORKS:
            for lib in LIBRARIES if r % 2 == 0 else LIBRARIES[::-1]:
                samples[net][lib].append(measure(lib, net, weights, steps))
        print(f"round {r + 1}/{rounds} done")
    networks: dict[str, Any] = {}
    for net, by_lib in samples.items():
        entry: dict[str, Any] = {}
        for lib, runs in by_lib.items():
            rates = [BATCH / s["step_s"] for s in runs]
            entry[lib] = {
                "samples_per_s": rates,
                "median_samples_per_s": statistics.median(rates),
                "median_peak_mb": statistics.median(s["peak_mb"] for s in runs),
                "median_step_mb": statistics.median(s["step_mb"] for s in runs),
                "final_loss": runs[-1]["loss"],
            }
        entry["ratio"] = (
            entry["nabla"]["median_samples_per_s"] / entry[REFERENCE]["median_samples_per_s"]
        )
        entry["round_ratios"] = [
            n["step_s"] and t["step_s"] / n["step_s"]
            for n, t in zip(by_lib["nabla"], by_lib[REFERENCE], strict=True)
        ]
        entry["ratio_one_thread"] = (
            entry["nabla"]["median_samples_per_s"]
            / entry["torch-1-thread"]["median_samples_per_s"]
        )
        networks[net] = entry
    return {
        "batch": BATCH,
        "rounds": rounds,
        "steps": steps,
        "goal": GOAL,
        "meets_goal": all(n["ratio"] >= GOAL for n in networks.values()),
        "machine": machine(),
        "load_average": [load_before, os.getloadavg()[0]],
        "networks": networks,
    }


def machine() -> dict[str, Any]:
    """The CPU, core count and versions behind the numbers."""
    import torch

    cpu = cpu_name()
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
    }


def markdown(results: dict[str, Any]) -> str:
    """The results as a Markdown table, one row per network and library."""
    info = results["machine"]
    lines = [
        "# Convolution: a LeNet-5 training step, nabla against PyTorch eager",
        "",
        (
            f"28 × 28 × 1 images, batch {results['batch']}, float32; forward, cross-entropy, "
            "backward and SGD (momentum 0.9) on one fixed batch, from the same weights. Each "
            f"measurement is a fresh process with one library; {results['rounds']} interleaved "
            f"rounds of {results['steps']} timed steps (median step per process), medians over "
            "rounds. Peak MB: the process's whole peak RSS (VmHWM); step MB: its growth over "
            "the RSS after imports and model build."
        ),
        "",
        (
            "| network | library | samples/s | × PyTorch | × 1-thread PyTorch | peak MB "
            "| step MB | samples/s, min-max |"
        ),
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for net, entry in results["networks"].items():
        for lib in LIBRARIES:
            r = entry[lib]
            rate = r["median_samples_per_s"]
            ratio = rate / entry[REFERENCE]["median_samples_per_s"]
            one = rate / entry["torch-1-thread"]["median_samples_per_s"]
            lines.append(
                f"| {net} | {lib} | {rate:,.0f} | {ratio:.2f} | {one:.2f} | "
                f"{r['median_peak_mb']:.0f} | {r['median_step_mb']:.1f} | "
                f"{min(r['samples_per_s']):,.0f}-{max(r['samples_per_s']):,.0f} |"
            )
    lines.append("")
    for net, entry in results["networks"].items():
        rounds = entry["round_ratios"]
        lines.append(
            f"- {net}: nabla ÷ PyTorch within each round (the two processes ran back to back): "
            f"median {statistics.median(rounds):.2f}, range {min(rounds):.2f}-{max(rounds):.2f}."
        )
    missed = [net for net, entry in results["networks"].items() if entry["ratio"] < GOAL]
    verdict = (
        f"nabla meets the goal of {GOAL}× PyTorch eager's samples/s on every network."
        if not missed
        else f"nabla misses the goal of {GOAL}× PyTorch eager's samples/s on: {', '.join(missed)}."
    )
    lines += [
        "",
        verdict,
        "",
        (
            f"Machine: {info['cpu']}, {info['cores']} cores (1-minute load average "
            f"{results['load_average'][0]:.1f} before, {results['load_average'][1]:.1f} after); "
            f"Python {info['python']}, NumPy {info['numpy']}, PyTorch {info['torch']}. "
            "Reproduce: `python -m benchmarks.conv`."
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.conv", description=__doc__)
    # PyTorch's two threads make its rate swing with the second core's load on a shared VM
    # (7,000-15,000 samples/s between rounds here): 15 interleaved rounds steady the medians
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument(
        "--out", help="output folder (default: benchmarks/results/ with the default settings)"
    )
    args = parser.parse_args(argv)
    if args.out:
        out = Path(args.out)
    elif (args.rounds, args.steps) == (15, 40):
        out = RESULTS
    else:
        out = Path(tempfile.mkdtemp(prefix="nabla-conv-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        results = run(args.rounds, args.steps, Path(scratch))
    (out / "conv.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "conv.md").write_text(markdown(results))
    print(markdown(results))
    print(f"wrote {out / 'conv.md'} and {out / 'conv.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
