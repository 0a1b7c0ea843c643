"""nabla._heap: importing nabla stops glibc from handing a step's freed arrays back to the OS."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from nabla import _heap

# a step's worth of arrays (32 × 32 KiB) allocated and freed, as an eager graph is: page faults
# per cycle, counted by the kernel (ru_minflt) once the cycles repeat
CYCLES = """
import json, resource, sys
import numpy as np
if sys.argv[1] == "nabla":
    import nabla
def cycle():
    arrays = [np.ones(8192, np.float32) for _ in range(32)]
    del arrays
for _ in range(5):
    cycle()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(50):
    cycle()
print(json.dumps((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 50))
"""

glibc_only = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not _heap._glibc(), reason="glibc's heap only"
)


def _faults_per_cycle(mode: str, **env: str) -> float:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    environ.update(env)
    done = subprocess.run(
        [sys.executable, "-c", CYCLES, mode],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
        check=True,
    )
    return float(json.loads(done.stdout))


@glibc_only
def test_import_keeps_freed_step_arrays_in_the_process() -> None:
    control = _faults_per_cycle("numpy")
    if control < 32:
        pytest.skip(f"this heap does not hand the arrays back ({control} faults a cycle)")
    assert _faults_per_cycle("nabla") < 1
    # the switch turns it off: the faults come back
    assert _faults_per_cycle("nabla", NABLA_PRIME_HEAP="0") >= 32


@glibc_only
def test_prime_runs_on_glibc_and_obeys_the_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _heap.prime() is True
    monkeypatch.setenv("NABLA_PRIME_HEAP", "0")
    assert _heap.prime() is False


def test_prime_is_a_no_op_off_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_heap, "_glibc", lambda: False)
    assert _heap.prime() is False
