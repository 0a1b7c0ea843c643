"""Atomic file writes: a reader sees the old file or the new one, never a torn mixture.

The bytes go to a temporary file in the target's directory (same filesystem, so the rename is
atomic), are flushed and fsynced, then ``os.replace`` swaps the file in and the directory is
fsynced so the rename itself survives a power cut. A crash or SIGKILL at any point leaves the
previous file intact (at worst a stray ``.<name>.<pid>.<hex>.tmp`` file remains); the next
successful save in that folder removes such leftovers once their writer is gone (see
:func:`remove_stale_temporaries`).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nabla.errors import ModelFileError

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "remove_stale_temporaries",
    "write_csv",
    "write_json",
]

#: a leftover temporary file of an older version (no writer pid in its name) untouched for this
#: many seconds may be removed (a live save keeps writing to its file, so it stays recent)
STALE_SECONDS = 60.0

# O_EXCL: never reuse an existing file; O_BINARY: no newline translation on Windows
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, replacing any existing file.

    Parameters
    ----------
    path : str or path-like
        The target file. Its directory must exist.
    data : bytes
        The complete new contents.

    Raises
    ------
    ModelFileError
        If the directory of ``path`` does not exist.
    OSError
        If writing or renaming fails; the temporary file is removed and any existing file at
        ``path`` is left untouched.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "hello.bin"
    >>> atomic_write_bytes(target, b"hello")
    >>> target.read_bytes()
    b'hello'
    """
    target = Path(path)
    directory = target.parent
    if not directory.is_dir():
        raise ModelFileError(f"cannot write {target}: directory {directory} does not exist")
    fd, tmp = _create_temp(directory, target.name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:  # KeyboardInterrupt too: never leave the temporary file behind
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)
    remove_stale_temporaries(directory, target.name)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically, as UTF-8 (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def write_csv(
    path: str | os.PathLike[str], header: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Write a header row and ``rows`` as CSV (``\\n`` line ends), atomically."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def _create_temp(directory: Path, name: str) -> tuple[int, Path]:
    """Open a new hidden temporary file beside the target.

    ``os.open`` with mode 0o666 lets the umask decide the permissions, as for a plain ``open``
    (``mkstemp`` would force 0o600 onto the final file).
    """
    for _ in range(100):  # the writer's process id, so a later save can tell whether it is alive
        tmp = directory / f".{name}.{os.getpid()}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, _FLAGS, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file for {name} in {directory}")


def remove_stale_temporaries(
    directory: str | os.PathLike[str], name: str, older_than: float = STALE_SECONDS
) -> list[Path]:
    """Remove the temporary files that killed saves left behind in ``directory``.

    Only names :func:`atomic_write_bytes` writes are considered. A ``.<any name>.<pid>.<12 hex
    digits>.tmp`` file, of this target or another one in the folder, is removed at once when
    process ``pid`` is gone (POSIX); this process's own files and a live process's are kept,
    so a save still writing keeps its file. A ``.<name>.<12 hex>.tmp`` file of this target
    (older versions, which did not record the writer) is removed once it has not been modified
    for ``older_than`` seconds. Where process ids cannot be checked (Windows, which cannot
    delete a file another process holds open), the age rule applies to every file of this
    target. Failures are ignored: cleaning up must never fail a save that succeeded.

    Returns
    -------
    list of Path
        The files removed.
    """
    own = re.compile(rf"\.{re.escape(name)}\.(?:([0-9]+)\.)?[0-9a-f]{{12}}\.tmp")
    other = re.compile(r"\..+\.([0-9]+)\.[0-9a-f]{12}\.tmp")
    posix = os.name == "posix"
    now, removed = time.time(), []
    with contextlib.suppress(OSError), os.scandir(directory) as entries:
        for entry in entries:
            match = own.fullmatch(entry.name)
            mine = match is not None
            match = match or (other.fullmatch(entry.name) if posix else None)
            if match is None:
                continue
            pid = match.group(1)
            with contextlib.suppress(OSError):
                if not entry.is_file(follow_symlinks=False):
                    continue
                if pid is not None and posix:
                    if _alive(int(pid)):
                        continue
                elif not mine or now - entry.stat(follow_symlinks=False).st_mtime < older_than:
                    continue
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (POSIX; elsewhere see the caller)."""
    if os.name != "posix":
        return False  # Windows refuses to delete a file that a live save holds open
    if pid == os.getpid():
        return True  # another thread of this process may be saving the same target
    try:
        os.kill(pid, 0)  # signal 0: an existence check that delivers nothing
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # PermissionError: it exists, and belongs to another user
        return True
    return True


def _fsync_directory(directory: Path) -> None:
    """Persist the rename (POSIX; directories cannot be opened for fsync on Windows).

    Best effort: the new file is already in place, and some filesystems refuse to fsync a
    directory (EINVAL), which must not turn a successful save into an error.
    """
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
