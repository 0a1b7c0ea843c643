"""``nb.cuda``: the few ``torch.cuda`` queries that portable scripts make.

nabla runs on the CPU only, so ``device = "cuda" if nb.cuda.is_available() else "cpu"`` picks
the CPU.
"""

from __future__ import annotations


def is_available() -> bool:
    """Whether a CUDA device can be used: never, in nabla."""
    return False


def device_count() -> int:
    """The number of CUDA devices nabla can use: 0."""
    return 0
