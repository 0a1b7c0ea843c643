"""``python -m benchmarks.loader``: the CSV loader against ``pandas.read_csv``, time and memory.

Writes a CSV of ``--rows`` rows (default 200,000) by 21 columns (20 floats of 6 to 8
significant digits and a text class label, about 44 MB) to a temporary folder, then measures
in a fresh process each time, interleaved round by round (the order rotates), ``--rounds``
rounds (default 5), reporting medians:

- ``pandas.read_csv(path)``, the reference;
- ``nabla.data.read_table(path)`` with the default engine (pandas, when installed);
- ``read_table(path, engine="numpy")``, the NumPy-only fallback (``csv`` module);
- ``nabla.data.load_csv(path)``, the numeric-only loader of the Python API, built on
  ``read_table``;
- ``nabla train``'s whole data path (``prepare_data``: read, choose and encode the columns,
  fit the standardisation), which does more than load;
- two baselines that only import (``pandas``; ``nabla.data``).

Seconds are the wall time of the call alone (the imports before it, pandas included where the
call uses it, are not timed; a baseline's seconds are its import). Peak memory is the child's whole peak RSS (``VmHWM`` of
``/proc/self/status`` at its end: interpreter, imports and data, nothing subtracted; not
``ru_maxrss``, which Linux carries over ``exec`` from the parent). The goal (issue 15) is
``read_table`` within 1.5x of ``pandas.read_csv`` on both. A run with the default size writes
``benchmarks/results/loader.md`` and ``loader.json``; another size writes a temporary folder
unless ``--out`` is given.
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
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness import cpu_name

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results"
ROWS = 200_000
FEATURES = 20
GOAL = 1.5
REFERENCE = "pandas.read_csv"

#: what each child process runs: (setup, not timed; the timed call; the rows it read)
READERS: dict[str, tuple[str, str, str]] = {
    REFERENCE: ("import pandas", "frame = pandas.read_csv(path)", "len(frame)"),
    "nabla read_table (pandas engine)": (
        "import pandas\nfrom nabla.data import read_table",
        "table = read_table(path)",
        "table.n_rows",
    ),
    "nabla read_table (numpy engine)": (
        "from nabla.data import read_table",
        "table = read_table(path, engine='numpy')",
        "table.n_rows",
    ),
    "nabla load_csv (on read_table)": (
        "import pandas\nfrom nabla.data import load_csv",
        "data = load_csv(path)",
        "data.n_samples",
    ),
    "nabla train's data path (read, split, encode)": (
        "import pandas\nfrom nabla.training.config import TrainConfig\nfrom "
        + "nabla.training.prepare import prepare_data",
        "data = prepare_data(TrainConfig(data=path, val_split=0.0, test_split=0.0))",
        "data.n_samples",
    ),
    "import pandas (baseline)": ("", "import pandas", "0"),
    "import nabla.data (baseline)": ("", "import nabla.data", "0"),
}
MAIN_READER = "nabla read_table (pandas engine)"

CHILD = """
import json, sys, time
from pathlib import Path
{setup}
path = sys.argv[1]
start = time.perf_counter()
{call}
seconds = time.perf_counter() - start
status = Path("/proc/self/status").read_text().splitlines()
peak = next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:"))
print(json.dumps({{"seconds": seconds, "peak_mb": peak, "rows": {rows}}}))
"""


def write_csv(path: Path, rows: int, seed: int = 0) -> None:
    """20 float columns (6, 7 or 8 significant digits, varied scales) and a text label."""
    rng = np.random.default_rng(seed)
    scales = 10.0 ** rng.integers(-3, 4, FEATURES)
    digits = [6 + j % 3 for j in range(FEATURES)]
    labels = np.array(["setosa", "versicolor", "virginica"])
    header = ",".join([f"f{j}" for j in range(FEATURES)] + ["species"])
    with path.open("w", encoding="utf-8", newline="") as stream:
        stream.write(header + "\n")
        for start in range(0, rows, 10_000):
            n = min(10_000, rows - start)
            values = rng.standard_normal((n, FEATURES)) * scales
            target = labels[rng.integers(0, 3, n)]
            columns = [[f"{v:.{d}g}" for v in values[:, j]] for j, d in enumerate(digits)]
            columns.append(target.tolist())
            stream.writelines(",".join(cells) + "\n" for cells in zip(*columns))


def measure(name: str, path: Path) -> dict[str, float]:
    """One fresh child process running reader `name` on `path`: its seconds, peak MB, rows."""
    setup, call, rows = READERS[name]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH", "")) if p
    )
    result = subprocess.run(
        [sys.executable, "-c", CHILD.format(setup=setup, call=call, rows=rows), str(path)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{result.stderr}")
    reply: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return reply


def run(rows: int, rounds: int, folder: Path) -> dict[str, Any]:
    """Every reader, `rounds` times each, interleaved (round r starts at reader r)."""
    path = folder / f"table_{rows}x{FEATURES + 1}.csv"
    start = time.perf_counter()
    write_csv(path, rows)
    print(
        f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - start:.1f} s"
    )
    names = list(READERS)
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    load_before = os.getloadavg()[0]
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            reply = measure(name, path)
            expected = 0 if name.endswith("(baseline)") else rows
            if reply["rows"] != expected:
                raise RuntimeError(f"{name} read {reply['rows']} rows, expected {expected}")
            samples[name].append(reply)
        print(f"round {r + 1}/{rounds} done")
    readers = {
        name: {
            "seconds": [s["seconds"] for s in runs],
            "peak_mb": [s["peak_mb"] for s in runs],
            "median_seconds": statistics.median(s["seconds"] for s in runs),
            "median_peak_mb": statistics.median(s["peak_mb"] for s in runs),
        }
        for name, runs in samples.items()
    }
    reference = readers[REFERENCE]
    for result in readers.values():
        result["time_ratio"] = result["median_seconds"] / reference["median_seconds"]
        result["memory_ratio"] = result["median_peak_mb"] / reference["median_peak_mb"]
    main = readers[MAIN_READER]
    return {
        "rows": rows,
        "columns": FEATURES + 1,
        "file_mb": path.stat().st_size / 1e6,
        "rounds": rounds,
        "goal": GOAL,
        "meets_goal": main["time_ratio"] <= GOAL and main["memory_ratio"] <= GOAL,
        "machine": machine(),
        "load_average": [load_before, os.getloadavg()[0]],  # 1-minute, before and after
        "readers": readers,
    }


def machine() -> dict[str, Any]:
    """The CPU, core count and versions behind the numbers."""
    cpu = cpu_name()
    try:
        import pandas

        pandas_version = pandas.__version__
    except ImportError:
        pandas_version = "not installed"
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pandas_version,
    }


def markdown(results: dict[str, Any]) -> str:
    """The results as a Markdown table, one row per reader."""
    info = results["machine"]
    main = results["readers"][MAIN_READER]
    verdict = "meets" if results["meets_goal"] else "misses"
    lines = [
        "# CSV loader: nabla.data.read_table against pandas.read_csv",
        "",
        (
            f"A {results['rows']:,} x {results['columns']} CSV ({results['file_mb']:.1f} MB: "
            f"{FEATURES} float columns of 6-8 significant digits and a text label), each reader "
            f"in a fresh process, {results['rounds']} interleaved rounds, medians. Seconds: the "
            "call alone (a baseline's: its import). Peak MB: the process's whole peak RSS "
            "(VmHWM), interpreter and imports included."
        ),
        "",
        "| reader | median s | x pandas | peak MB | x pandas | s, min-max |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in results["readers"].items():
        lines.append(
            f"| {name} | {r['median_seconds']:.3f} | {r['time_ratio']:.2f} | "
            f"{r['median_peak_mb']:.0f} | {r['memory_ratio']:.2f} | "
            f"{min(r['seconds']):.3f}-{max(r['seconds']):.3f} |"
        )
    lines += [
        "",
        (
            f"read_table {verdict} the goal of {GOAL}x pandas.read_csv: "
            f"{main['time_ratio']:.2f}x the time, {main['memory_ratio']:.2f}x the peak memory."
        ),
        "",
        (
            f"Machine: {info['cpu']}, {info['cores']} cores (1-minute load average "
            f"{results['load_average'][0]:.1f} before, {results['load_average'][1]:.1f} after); "
            f"Python {info['python']}, NumPy {info['numpy']}, pandas {info['pandas']}. "
            "Reproduce: `python -m benchmarks.loader`."
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loader", description=__doc__)
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--out",
        help="output folder (default: benchmarks/results/ at the default size and rounds, "
        "else a new temporary folder)",
    )
    args = parser.parse_args(argv)
    if args.out:
        out = Path(args.out)
    elif args.rows == ROWS and args.rounds >= 5:
        out = RESULTS
    else:
        out = Path(tempfile.mkdtemp(prefix="nabla-loader-"))
    with tempfile.TemporaryDirectory(prefix="nabla-loader-data-") as folder:
        results = run(args.rows, args.rounds, Path(folder))
    out.mkdir(parents=True, exist_ok=True)
    (out / "loader.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "loader.md").write_text(markdown(results))
    print(markdown(results))
    print(f"wrote {out / 'loader.md'} and {out / 'loader.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
