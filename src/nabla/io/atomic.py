"""Atomic file writes: a reader sees the old file or the new one, never a torn mixture.

The bytes go to a temporary file in the target's directory (same filesystem, so the rename is
atomic), are flushed and fsynced, then ``os.replace`` swaps the file in and the directory is
fsynced so the rename itself survives a power cut. A crash or SIGKILL at any point leaves the
previous file intact (at worst a stray ``.<name>.*.tmp`` file remains).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from nabla.errors import ModelFileError

__all__ = ["atomic_write_bytes"]

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


def _create_temp(directory: Path, name: str) -> tuple[int, Path]:
    """Open a new hidden temporary file beside the target.

    ``os.open`` with mode 0o666 lets the umask decide the permissions, as for a plain ``open``
    (``mkstemp`` would force 0o600 onto the final file).
    """
    for _ in range(100):
        tmp = directory / f".{name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(tmp, _FLAGS, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file for {name} in {directory}")


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
