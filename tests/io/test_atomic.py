"""atomic_write_bytes: the old file or the new one, never a torn one, and no stray temp files."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nabla.errors import ModelFileError
from nabla.io import atomic_write_bytes


def test_writes_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    atomic_write_bytes(target, b"first")
    atomic_write_bytes(str(target), b"second, longer")
    assert target.read_bytes() == b"second, longer"
    assert os.listdir(tmp_path) == ["f.bin"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_permissions_follow_the_umask(tmp_path: Path) -> None:
    # a temp file from mkstemp would be 0o600; a saved model should be readable like any file
    umask = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "f.bin", b"x")
    finally:
        os.umask(umask)
    assert (tmp_path / "f.bin").stat().st_mode & 0o777 == 0o644


def test_missing_directory_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such"
    with pytest.raises(ModelFileError, match=r"directory .*such does not exist"):
        atomic_write_bytes(missing / "f.bin", b"x")
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_failure_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")

    def boom(*args: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, failing, boom)
    with pytest.raises(OSError, match="disk on fire"):
        atomic_write_bytes(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f.bin"]


def test_interrupt_removes_the_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(tmp_path / "f.bin", b"new")
    assert os.listdir(tmp_path) == []


def test_target_that_is_a_directory_fails_cleanly(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(OSError):
        atomic_write_bytes(tmp_path / "d", b"x")
    assert os.listdir(tmp_path) == ["d"]


def _leftover(path: Path, age: float) -> Path:
    """A temporary file as a killed save leaves it, last modified `age` seconds ago."""
    path.write_bytes(b"half a model")
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))
    return path


def _dead_pid() -> int:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(child.stdout)


@pytest.mark.skipif(os.name != "posix", reason="process ids are checked on POSIX")
def test_a_successful_save_removes_stale_leftovers_of_its_folder(tmp_path: Path) -> None:
    dead = _dead_pid()
    stale = [
        _leftover(tmp_path / ".m.bin.0123456789ab.tmp", 120),  # older nabla: no process id
        _leftover(tmp_path / f".m.bin.{dead}.0123456789ab.tmp", 120),  # its writer is gone
        _leftover(tmp_path / f".m.bin.{dead}.abcdef012345.tmp", 0),  # gone, even if just now
        _leftover(tmp_path / f".other.npz.{dead}.abcdef012345.tmp", 0),  # another target's
    ]
    kept = [
        _leftover(tmp_path / f".m.bin.{os.getpid()}.0123456789ab.tmp", 120),  # writer alive
        _leftover(tmp_path / f".other.npz.{os.getppid()}.0123456789ab.tmp", 120),  # alive
        _leftover(tmp_path / ".m.bin.abcdef012345.tmp", 5),  # no pid, written seconds ago
        _leftover(tmp_path / ".m.bin2.0123456789ab.tmp", 120),  # no pid, another target's
        _leftover(tmp_path / ".m.bin.notes.tmp", 120),  # not a name nabla writes
    ]
    atomic_write_bytes(tmp_path / "m.bin", b"model")
    assert [path.name for path in stale if path.exists()] == []
    assert all(path.exists() for path in kept)
    assert (tmp_path / "m.bin").read_bytes() == b"model"


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_a_killed_save_leaves_a_file_the_next_save_removes(tmp_path: Path) -> None:
    # the save is SIGKILLed between writing its temporary file and renaming it
    code = (
        "import os, sys\n"
        "from nabla.io import atomic\n"
        "os.replace = lambda *args: os.kill(os.getpid(), 9)\n"
        "atomic.atomic_write_bytes(sys.argv[1], b'new model')\n"
    )
    target = tmp_path / "model.safetensors"
    subprocess.run([sys.executable, "-c", code, str(target)], check=False, timeout=60)
    (leftover,) = tmp_path.iterdir()
    assert leftover.name.startswith(".model.safetensors.")
    atomic_write_bytes(target, b"model")  # at once: the writer's pid is dead
    assert os.listdir(tmp_path) == ["model.safetensors"]
