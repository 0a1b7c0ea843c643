"""Where a ``nabla train`` run writes: a fresh numbered folder, or one the user names.

Without ``--out`` a run gets the first free folder of ``runs/train``, ``runs/train-2``,
``runs/train-3``, ... A named ``--out`` that already holds files is refused with one line,
unless ``--resume`` (continue the run there) or ``--overwrite`` (the old run's files are
removed first, so no stale report or plot of another run stays beside the new ones).
"""

from __future__ import annotations

from pathlib import Path

from nabla.training.config import ConfigError

__all__ = ["DEFAULT_RUN", "RUN_FILES", "choose_out", "prepare_out"]

#: the first numbered run folder
DEFAULT_RUN = Path("runs") / "train"
#: every file a run writes into its folder (``--overwrite`` removes these)
RUN_FILES = (
    "model.safetensors",
    "checkpoint.safetensors",
    "metrics.csv",
    "metrics.json",
    "curves.png",
    "report.html",
)


def _is_taken(folder: Path) -> bool:
    return folder.exists() and (not folder.is_dir() or any(folder.iterdir()))


def choose_out(out: str | None, resume: bool) -> Path:
    """The run's folder: ``out``, else the first free numbered folder under ``runs/``."""
    if out is not None:
        return Path(out)
    if resume:
        raise ConfigError(
            f"--resume: pass --out with the folder of the run to continue (e.g. --out "
            f"{DEFAULT_RUN})"
        )
    folder, number = DEFAULT_RUN, 1
    while _is_taken(folder):
        number += 1
        folder = DEFAULT_RUN.with_name(f"{DEFAULT_RUN.name}-{number}")
    return folder


def prepare_out(folder: Path, *, resume: bool, overwrite: bool) -> list[str]:
    """Check ``folder`` may receive the run (removing an old run's files with ``overwrite``).

    Returns the names of the files removed. Nothing is removed when the check fails.
    """
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"--out {folder}: is a file, not a folder")
    if resume and overwrite:
        raise ConfigError("--resume continues the run in --out; --overwrite would delete it")
    if resume or not _is_taken(folder):
        return []
    if not overwrite:
        raise ConfigError(
            f"--out {folder} already holds files: pass --overwrite to replace that run, "
            "--resume to continue it, or another --out"
        )
    removed = []
    for name in RUN_FILES:
        path = folder / name
        if path.is_file():
            path.unlink()
            removed.append(name)
    return removed
