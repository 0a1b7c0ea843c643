"""atomic_write_bytes: the old file or the new one, never a torn one, and no stray temp files."""

from __future__ import annotations

import os
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
