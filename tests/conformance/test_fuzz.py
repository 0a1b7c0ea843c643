"""Seeded differential fuzzing: random programs over every differentiable op of nabla, checked
against PyTorch (values, dtypes, gradients and Hessian-vector products, float64 and float32,
through ``backward()``, per-output ``backward(u)`` and ``nb.grad(create_graph=True)``).

NABLA_FUZZ_EXAMPLES sets how many programs the main test checks (default 10,000);
NABLA_FUZZ_PROFILE=dev draws new programs on every run instead of the fixed ``ci`` ones.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from typing import Any

import pytest

pytest.importorskip("torch", reason="PyTorch is the conformance oracle (a test-only dependency)")

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .checker import OPS, Mismatch, check, generate
from .conftest import PROFILE
from .defects import DEFECTS
from .programs import Defect, Program

N_PROGRAMS = int(os.environ.get("NABLA_FUZZ_EXAMPLES", "10000"))
BATCH = 25  # programs per hypothesis example: hypothesis draws the seed and the leaf shapes


def run_batch(
    seeds: list[int], shapes: list[tuple[int, ...]], stats: dict[str, Any], **kwargs: Any
) -> list[Mismatch]:
    """Generate and check one program per seed (every other one starting from ``shapes``)."""
    found = []
    for k, seed in enumerate(seeds):
        prog = generate(seed, shapes=shapes if k % 2 == 0 else (), **kwargs)
        mismatches = check(prog)
        stats["programs"] += 1
        stats["checks"] += 4 + 2 * (len(prog.outputs) == 1)
        stats["nodes"] += len(prog.nodes)
        stats["ops"].update(n.op for n in prog.nodes)
        stats["mismatches"] += len(mismatches)
        found += mismatches
    return found


def report(mismatches: list[Mismatch], limit: int = 12) -> str:
    """The mismatches grouped by kind and op, with the smallest program of each group."""
    groups: dict[tuple[str, ...], list[Mismatch]] = defaultdict(list)
    for m in mismatches:
        groups[(m.kind, m.where.split(" ")[-1], m.detail.split(":")[0][:40])].append(m)
    parts = [f"{len(mismatches)} mismatches in {len(groups)} groups"]
    for key, ms in sorted(groups.items(), key=lambda kv: -len(kv[1]))[:limit]:
        best = min(ms, key=lambda m: (len(m.program.steps), m.program.seed or 0))
        parts.append(f"--- {len(ms)} x {key}\n{best}")
    return "\n".join(parts)


def test_random_programs_match_pytorch(fuzz_stats: dict[str, Any]) -> None:
    """N random DAG programs (reused values, broadcasting with 0-d, size-0 and size-1 axes, leaves
    in every memory layout) agree with PyTorch; known defects are left out (see the next test),
    and every op of the table must have been drawn at least once."""
    mismatches: list[Mismatch] = []
    drawn_before = sum(fuzz_stats["ops"].values())

    @settings(settings.get_profile(PROFILE), max_examples=max(1, math.ceil(N_PROGRAMS / BATCH)))
    @given(
        seed=st.integers(0, 2**40),
        shapes=hnp.mutually_broadcastable_shapes(
            num_shapes=2, min_dims=0, max_dims=3, min_side=0, max_side=4
        ),
    )
    def batch(seed: int, shapes: Any) -> None:
        seeds = [seed * BATCH + k for k in range(BATCH)]
        mismatches.extend(run_batch(seeds, list(shapes.input_shapes), fuzz_stats, avoid=DEFECTS))

    batch()
    assert not mismatches, report(mismatches)
    if sum(fuzz_stats["ops"].values()) - drawn_before >= 1000:
        assert not set(OPS) - set(fuzz_stats["ops"]), "ops never drawn"


def forced(defect: Defect, n: int, start: int = 0) -> list[Program]:
    """``n`` programs that each contain a node matching ``defect`` (and no other defect)."""
    others = [d for d in DEFECTS if d is not defect]
    progs = [generate(seed, shapes=shapes, avoid=others) for seed, shapes in defect.examples]
    seed = start
    while len(progs) < n and seed < start + 3000:
        prog = generate(
            seed, avoid=others, watch=[defect], n_ops=3, focus=defect.op, zero_sides=defect.zero
        )
        seed += 1
        if defect.name in prog.hits:
            progs.append(prog)
    return progs


@pytest.mark.parametrize(
    "defect",
    [
        pytest.param(d, marks=pytest.mark.xfail(strict=True, reason=d.reason), id=d.name)
        for d in DEFECTS
    ],
)
def test_known_defect_still_fails(defect: Defect) -> None:
    """Programs containing a known defect's nodes agree with PyTorch (an xfail while the defect
    stands; remove the defect from ``defects.DEFECTS`` when this passes)."""
    progs = forced(defect, 20)
    mismatches = [m for p in progs for m in check(p)]
    assert not mismatches, report(mismatches, limit=3)


@pytest.mark.parametrize("defect", DEFECTS, ids=lambda d: d.name)
def test_known_defects_are_drawn(defect: Defect) -> None:
    """Each known defect's predicate matches programs the generator draws (else the xfail
    above would pass or fail for nothing)."""
    assert forced(defect, 1), f"no program hits {defect.name}: its predicate is stale"
