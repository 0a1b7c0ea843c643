"""``nabla bench``: run the peer benchmark suite of a source checkout (``python -m benchmarks``)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

from nabla.errors import NablaError


def add_bench_parser(sub: Any) -> None:
    p = sub.add_parser(
        "bench",
        help="benchmark nabla against PyTorch, JAX, scikit-learn... (source checkout)",
        description="Run benchmarks/ (python -m benchmarks); options are passed through, e.g. "
        "nabla bench --quick --frameworks 'nabla eager,PyTorch eager'. A full run writes "
        "benchmarks/results/; --quick, --ab REF (nabla at commit REF against this checkout, "
        "interleaved) and partial runs write a new temporary folder, named at the end.",
    )
    p.add_argument("args", nargs=argparse.REMAINDER, help="options for python -m benchmarks")
    p.set_defaults(command_fn="bench")


def find_benchmarks() -> Path:
    """The repository root holding ``benchmarks/`` (the suite is not part of the wheel)."""
    here = Path(__file__).resolve()
    for parent in [Path.cwd(), *here.parents]:
        if (parent / "benchmarks" / "__main__.py").exists():
            return parent
    raise NablaError(
        "the benchmark suite lives in nabla's source repository (benchmarks/), which this "
        "installation does not include: clone the repository and run `python -m benchmarks`"
    )


def run_bench(args: argparse.Namespace) -> int:
    root = find_benchmarks()
    extra = [a for a in args.args if a != "--"]
    return subprocess.call([sys.executable, "-m", "benchmarks", *extra], cwd=root)
