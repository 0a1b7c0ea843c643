"""nabla's global random generator: ``nb.manual_seed`` and the state saved in checkpoints.

It sits below every other module (it imports only NumPy), so whatever draws random numbers
(``nb.randn``, dropout's forward, weight initialisation, the data loader's shuffling) reads
it directly.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class _RNG:
    generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed nabla's global generator (initialisation, dropout, ``randn``); returns it."""
    _RNG.generator = np.random.default_rng(seed)
    return _RNG.generator


def default_generator() -> np.random.Generator:
    """The global generator used when no ``generator=`` is passed."""
    return _RNG.generator


def get_rng_state() -> dict[str, Any]:
    """The global generator's state (JSON-serialisable), for checkpoints."""
    return dict(_RNG.generator.bit_generator.state)


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore a state returned by :func:`get_rng_state`."""
    gen = np.random.default_rng()
    gen.bit_generator.state = state
    _RNG.generator = gen
