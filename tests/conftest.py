"""Shared fixtures: a seeded generator and a guard against leaked global modes."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

import nabla as nb
from nabla.autograd.mode import MODE


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261122)


@pytest.fixture(autouse=True)
def _no_leaked_modes() -> Iterator[None]:
    nb.manual_seed(0)
    yield
    leaked = (MODE.state.grad_enabled, MODE.state.anomaly)
    MODE.state.grad_enabled, MODE.state.anomaly = True, False
    assert leaked == (True, False), "a test leaked no_grad or detect_anomaly"


@pytest.fixture
def numpy_only_python(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``python -S ARGS`` in tmp_path where NumPy is the only importable package.

    ``-S`` skips site-packages (and the editable install of nabla); PYTHONPATH holds links to
    NumPy alone. The child checks that nabla, scikit-learn and safetensors are unimportable.
    """
    import numpy

    site = tmp_path / "numpy-only"
    site.mkdir()
    package = Path(numpy.__file__).parent
    for name in (package.name, f"{package.name}.libs"):  # .libs: the wheel's bundled BLAS
        if (package.parent / name).exists():
            (site / name).symlink_to(package.parent / name)
    guard = (
        "import importlib.util as u, sys\n"
        "assert not any(u.find_spec(m) for m in ('nabla', 'sklearn', 'safetensors', 'scipy'))\n"
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(site)}
        subprocess.run([sys.executable, "-S", "-c", guard], env=env, cwd=tmp_path, check=True)
        return subprocess.run(
            [sys.executable, "-S", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        )

    return run


class PeakMemory:
    """The largest amount of Python-allocated memory (NumPy arrays included) seen in a block."""

    bytes: int = 0


@pytest.fixture
def peak_memory() -> Callable[[], contextlib.AbstractContextManager[PeakMemory]]:
    """``with peak_memory() as peak: ...`` then ``peak.bytes``; the peak is read even when the
    block raises (a hostile file must be refused without allocating much first)."""

    @contextlib.contextmanager
    def measure() -> Iterator[PeakMemory]:
        peak = PeakMemory()
        tracemalloc.start()
        try:
            yield peak
        finally:
            peak.bytes = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()

    return measure
