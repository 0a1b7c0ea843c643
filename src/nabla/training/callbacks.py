"""Trainer callbacks: hooks into the training loop, and a per-layer statistics recorder.

A callback overrides the hooks it needs; the :class:`~nabla.training.Trainer` calls them in
order. With no callbacks the loop does no extra work.
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from nabla.training.trainer import EpochMetrics, Trainer


class Callback:
    """Base class: every hook does nothing."""

    def on_fit_begin(self, trainer: Trainer) -> None:
        """Before the first epoch of :meth:`Trainer.fit` (also after a resume)."""

    def on_after_backward(self, trainer: Trainer) -> None:
        """After ``loss.backward()`` and before ``optimizer.step()``: ``.grad`` is this batch's."""

    def on_epoch_end(self, trainer: Trainer, metrics: EpochMetrics) -> None:
        """After an epoch's metrics are recorded (``trainer.history[-1] is metrics``)."""

    def on_fit_end(self, trainer: Trainer) -> None:
        """After the last epoch of :meth:`Trainer.fit`."""


class LayerMonitor(Callback):
    """Record, per layer, the gradient norm at every step and a sample of the weights per epoch.

    What a learner needs to see vanishing (or exploding) gradients: with sigmoid activations
    the first layer's gradient norm sits orders of magnitude below the last layer's.

    Parameters
    ----------
    weights_only : bool
        Watch only weight matrices (parameters with two or more dimensions), not biases.
    max_samples : int
        Keep at most this many values of each weight per epoch (a fixed random subset), so
        memory stays bounded for big layers.
    seed : int
        Seed of the subset (a private generator: nabla's global one is not touched).

    Attributes
    ----------
    names : list of str
        The watched parameters ("0.weight", "2.weight", ...).
    epochs : list of int
        The epochs recorded (a resumed run starts after the checkpoint's epoch).
    grad_norms : dict of str to list of ndarray
        For each name, one array per epoch of the ‖∇W‖₂ of every step.
    weights : dict of str to list of ndarray
        For each name, one array per epoch of (a sample of) the weight values at its end.
    """

    def __init__(self, weights_only: bool = True, max_samples: int = 4096, seed: int = 0) -> None:
        self.weights_only, self.max_samples, self.seed = weights_only, int(max_samples), seed
        self.names: list[str] = []
        self.epochs: list[int] = []
        self.grad_norms: dict[str, list[np.ndarray[Any, Any]]] = {}
        self.weights: dict[str, list[np.ndarray[Any, Any]]] = {}
        self._params: list[tuple[str, Any]] = []
        self._subsets: dict[str, np.ndarray[Any, Any] | None] = {}
        self._step_norms: dict[str, list[float]] = {}

    def on_fit_begin(self, trainer: Trainer) -> None:
        if self._params:
            return
        params = [(n, p) for n, p in trainer.model.named_parameters() if p.requires_grad]
        watched = [(n, p) for n, p in params if p.ndim >= 2] if self.weights_only else params
        self._params = watched or params
        rng = np.random.default_rng(self.seed)
        for name, p in self._params:
            self.names.append(name)
            self.grad_norms[name], self.weights[name] = [], []
            self._step_norms[name] = []
            self._subsets[name] = (
                np.sort(rng.choice(p.size, self.max_samples, replace=False))
                if p.size > self.max_samples
                else None
            )

    def on_after_backward(self, trainer: Trainer) -> None:
        for name, p in self._params:
            g = p.grad
            if g is not None:
                flat = g.ravel()
                self._step_norms[name].append(math.sqrt(float(np.dot(flat, flat))))

    def on_epoch_end(self, trainer: Trainer, metrics: EpochMetrics) -> None:
        self.epochs.append(metrics.epoch)
        for name, p in self._params:
            self.grad_norms[name].append(np.asarray(self._step_norms[name], dtype=np.float64))
            self._step_norms[name] = []
            subset = self._subsets[name]
            values = p.data.ravel()
            self.weights[name].append(np.array(values if subset is None else values[subset]))

    def median_grad_norms(self) -> dict[str, np.ndarray[Any, Any]]:
        """For each watched parameter, the median gradient norm of each recorded epoch."""
        return {
            name: np.array([np.median(n) if n.size else np.nan for n in norms])
            for name, norms in self.grad_norms.items()
        }


def progress_bar(enabled: bool, *, total: int, done: int) -> Any:
    """A tqdm bar over ``total`` optimizer steps starting at ``done`` (None when ``enabled`` is
    False or tqdm is not installed; tqdm itself stays off when stderr is not a terminal)."""
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(
        total=total,
        initial=done,
        unit="batch",
        file=sys.stderr,
        dynamic_ncols=True,
        disable=None,  # off when stderr is not a terminal
        leave=False,
    )
