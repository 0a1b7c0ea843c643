"""Conformance suite settings: the hypothesis profiles, and the fuzzer's counts (how many random
programs were checked, how many mismatched) printed in the terminal summary and written to
``conformance-fuzz.json`` in pytest's base temporary directory.

This file imports neither PyTorch nor the harness, so the suite is skipped (by each module's
``importorskip``) rather than broken where PyTorch is missing.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings

# ci: derandomized (the same programs every run), no example database, no shrinking (a batch
# reports its own minimal reproducers); dev: fresh random draws on every run
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("dev", settings.get_profile("ci"), derandomize=False)

#: the profile the fuzz tests run under (NABLA_FUZZ_PROFILE=dev for new random programs)
PROFILE = os.environ.get("NABLA_FUZZ_PROFILE", "ci")

FUZZ_STATS = pytest.StashKey[dict[str, Any]]()


def new_stats() -> dict[str, Any]:
    return {"programs": 0, "checks": 0, "nodes": 0, "mismatches": 0, "ops": Counter()}


@pytest.fixture(scope="session")
def fuzz_stats(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """Counts shared by the fuzz tests of the session; written to JSON at the end."""
    stats = request.config.stash.setdefault(FUZZ_STATS, new_stats())
    yield stats
    path = tmp_path_factory.getbasetemp() / "conformance-fuzz.json"
    path.write_text(json.dumps({**stats, "ops": dict(stats["ops"])}, indent=1, sort_keys=True))
    stats["json"] = str(path)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    stats = config.stash.get(FUZZ_STATS, None)
    if not stats or not stats["programs"]:
        return
    terminalreporter.write_sep("-", "nabla conformance fuzzer")
    terminalreporter.write_line(
        f"{stats['programs']} random programs ({stats['nodes']} ops, {len(stats['ops'])} kinds) "
        f"checked against PyTorch in {stats['checks']} dtype x path runs: "
        f"{stats['mismatches']} mismatches"
    )
    if "json" in stats:
        terminalreporter.write_line(f"counts: {stats['json']}")
