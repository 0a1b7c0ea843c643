"""The A/B mode of the benchmark suite (benchmarks/ab.py): an old commit in a temporary git
worktree against the working tree, interleaved round by round, each side loading its own nabla."""

from __future__ import annotations

import importlib
import json
import statistics
import subprocess
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from nabla.cli import main
from nabla.cli.bench import find_benchmarks

ROOT = find_benchmarks()
needs_git = pytest.mark.skipif(not (ROOT / ".git").exists(), reason="not a git checkout")


@pytest.fixture
def ab(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(ROOT))
    return importlib.import_module("benchmarks.ab")


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_each_round_times_old_and_new_of_a_mode_back_to_back(ab: ModuleType) -> None:
    live = [
        SimpleNamespace(name=mode, label=f"{mode} [{side}]")
        for mode in ("nabla eager", "nabla compiled")
        for side in ("old", "new")
    ]
    orders = [[w.label for w in ab.paired(r, live)] for r in range(4)]
    for order in orders:
        pairs = [order[i : i + 2] for i in range(0, len(order), 2)]
        # one mode per pair, one side each
        assert all({a.split(" [")[0]} == {b.split(" [")[0]} and a != b for a, b in pairs)
    firsts = [[pair[0].endswith("[old]") for pair in zip(o[::2], o[1::2])] for o in orders]
    assert firsts == [[True, True], [False, False], [True, True], [False, False]]
    assert [o[0].startswith("nabla eager") for o in orders] == [True, True, False, False]


def test_a_row_holds_the_ratio_of_medians_and_of_quiet_rounds(ab: ModuleType) -> None:
    old, new = "nabla eager [old]", "nabla eager [new]"
    config: dict[str, Any] = {
        "config": "c",
        "samples_per_s": {old: 100e3, new: 96e3},
        "rounds": {old: [100e3, 50e3, 120e3, 100e3], new: [110e3, 96e3, 60e3, 90e3]},
        # other processes' share of the cores in each run: round 2 had company on the new side
        "others_cpu": {old: [0.0, 0.01, 0.0, 0.02], new: [0.01, 0.0, 0.5, 0.0]},
        "products_only_samples_per_s": 200e3,
        # by CPU time (--clock cpu): the same steps, other numbers
        "cpu_samples_per_s": {old: 150e3, new: 165e3},
        "cpu_rounds": {old: [150e3, 160e3], new: [165e3, 144e3]},
        "products_only_cpu_samples_per_s": 300e3,
    }
    row = ab.summarize(config, "nabla eager")
    assert row["ratio"] == pytest.approx(0.96)  # 96k / 100k
    # per round: 1.1, 1.92, 0.5, 0.9 -> median (0.9 + 1.1) / 2
    assert row["paired_ratio"] == pytest.approx(1.0)
    assert row["paired_range"] == pytest.approx([0.5, 1.92])
    # quiet rounds (both runs under 5 % others): 1.1, 1.92, 0.9 -> 1.1
    assert (row["quiet_rounds"], row["quiet_ratio"]) == (3, pytest.approx(1.1))
    assert row["others_cpu"] == pytest.approx(statistics.median([0.01, 0.01, 0.5, 0.02]))
    # the ceiling fraction: products alone take 1/200 s a sample, the old step 1/100
    assert (row["ceiling_old"], row["ceiling_new"]) == (pytest.approx(0.5), pytest.approx(0.48))
    by_cpu = ab.summarize(config, "nabla eager", "cpu")
    assert by_cpu["ratio"] == pytest.approx(1.1)  # 165k / 150k
    assert by_cpu["paired_ratio"] == pytest.approx((1.1 + 0.9) / 2)  # 165/150, 144/160
    assert by_cpu["ceiling_new"] == pytest.approx(0.55)  # 165k / 300k
    text = ab.markdown(
        {
            "old": {"ref": "old", "commit": "a" * 40},
            "new": {"ref": "new", "commit": "b" * 40},
            "machine": {"cpu": "cpu", "cores": 2, "numpy": "2", "blas": "blas"},
            "threshold": 0.97,
            "date": "today",
            "rounds": 4,
            "seconds": 0.1,
            "configs": [{**config, "skipped": {}, "load_average": 1.0}],
            "summary": [row],
        }
    )
    assert "| c | eager | 100.0k | 96.0k | 0.960 | 1.000 (0.50–1.92) | 3: 1.100 |" in text
    assert "Below 0.97: c nabla eager." in text


@needs_git
def test_an_unknown_commit_is_one_line(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--ab", "no-such-commit-1234"]) == 2
    err = capfd.readouterr().err.strip()
    assert err.count("\n") == 0 and "'no-such-commit-1234' is not a commit" in err


def test_a_side_without_nb_compile_is_skipped_not_fatal(ab: ModuleType, tmp_path: Path) -> None:
    old = tmp_path / "src"  # a nabla from before nb.compile existed
    (old / "nabla" / "nn").mkdir(parents=True)
    for name in ("__init__.py", "nn/__init__.py", "nn/functional.py"):
        (old / "nabla" / name).write_text("")
    sides = {"old": {"src": str(old)}, "new": {"src": str(ROOT / "src")}}
    workers, skipped = ab.start(sides, ["nabla compiled"])
    try:
        assert [w.label for w in workers] == ["nabla compiled [new]"]
        assert Path(workers[0].nabla_file) == ROOT / "src" / "nabla" / "__init__.py"
        assert "no nb.compile" in skipped["nabla compiled [old]"]
    finally:
        for w in workers:
            w.close()


def test_a_side_that_loads_another_nabla_stops_the_run(ab: ModuleType, tmp_path: Path) -> None:
    # an empty folder first on PYTHONPATH: `import nabla` falls through to the installed one
    with pytest.raises(ab.BenchError, match=r"nabla eager \[old\] imported nabla from"):
        ab.start({"old": {"src": str(tmp_path)}}, ["nabla eager"])


@needs_git
def test_ab_run_measures_each_tree_and_removes_its_worktree(tmp_path: Path) -> None:
    out = tmp_path / "ab"
    head = _git("rev-parse", "HEAD")  # a hash: others may commit while this runs
    args = ["bench", "--ab", head, "--configs", "tiny", "--rounds", "2", "--seconds", "0.01"]
    assert main([*args, "--out", str(out)]) == 0
    results = json.loads((out / "ab.json").read_text())
    assert results["old"]["commit"] == head
    old_src = Path(results["old"]["src"])
    assert old_src != ROOT / "src" and results["new"]["src"] == str(ROOT / "src")
    for label, file in results["nabla_files"].items():
        src = old_src if label.endswith("[old]") else ROOT / "src"
        assert Path(file) == src / "nabla" / "__init__.py"
    assert not old_src.parent.exists()  # the worktree and its temporary folder are gone
    assert str(old_src.parent) not in _git("worktree", "list", "--porcelain")
    rows = results["summary"]
    assert [(r["config"], r["mode"]) for r in rows] == [
        ("tiny 4-16-3 relu b16", "nabla eager"),
        ("tiny 4-16-3 relu b16", "nabla compiled"),
    ]
    for r in rows:  # the ratio is of the medians over the interleaved rounds
        rounds = results["configs"][0]["rounds"]
        old = statistics.median(rounds[f"{r['mode']} [old]"])
        new = statistics.median(rounds[f"{r['mode']} [new]"])
        assert len(rounds[f"{r['mode']} [old]"]) == 2
        assert r["ratio"] == pytest.approx(new / old)
        cpu = results["configs"][0]["cpu_rounds"][f"{r['mode']} [new]"]
        assert len(cpu) == 2 and min(cpu) > 0
    text = (out / "ab.md").read_text()
    assert "| tiny 4-16-3 relu b16 | compiled |" in text and "Below 0.97:" in text
