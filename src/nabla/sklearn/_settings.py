"""The hyperparameters the training loop reads, and their validation.

Activations and optimizers are read from nabla's registries: ``activation`` is a name of
:data:`nabla.nn.ACTIVATIONS` or scikit-learn's spelling of one (its entry's ``sklearn_name``:
"logistic" is "sigmoid"); ``solver`` is scikit-learn's "sgd", "adam" or "lbfgs" (scikit-learn's
own update rules), or another name of :data:`nabla.optim.OPTIMIZERS` (nabla's rule, built with
``lr=learning_rate_init``: the estimator's learning rate, not the registry's default).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nabla.nn.module import Module
from nabla.nn.registry import ACTIVATIONS, Activation, ActivationError
from nabla.optim import OPTIMIZERS

#: scikit-learn's solvers, run with its own update rules (see ``_optim.py``)
SOLVERS = ("sgd", "adam", "lbfgs")
SCHEDULES = ("constant", "invscaling", "adaptive")


def activation_names() -> tuple[str, ...]:
    """The accepted ``activation`` values: the registry's names and scikit-learn's spellings."""
    spellings = [e.sklearn_name for e in ACTIVATIONS.values() if e.sklearn_name is not None]
    return tuple(dict.fromkeys([*spellings, *ACTIVATIONS]))


def resolve_activation(name: Any) -> Activation:
    """The registry entry of an ``activation`` value (a name or scikit-learn's spelling)."""
    for entry in ACTIVATIONS.values():
        if name in (entry.name, entry.sklearn_name):
            return entry
    raise ActivationError(f"activation must be one of {activation_names()}, got {name!r}")


def solver_names() -> tuple[str, ...]:
    """The accepted ``solver`` names: scikit-learn's, then nabla's other optimizers."""
    return tuple(dict.fromkeys([*SOLVERS, *OPTIMIZERS]))


@dataclass
class Settings:
    """The hyperparameters the training loop reads (each estimator maps its own onto these)."""

    hidden_layer_sizes: tuple[int, ...]
    activation: str
    solver: Any
    alpha: float
    batch_size: Any
    learning_rate: str
    learning_rate_init: float
    power_t: float
    max_iter: int
    shuffle: bool
    tol: float
    verbose: Any
    momentum: float
    nesterovs_momentum: bool
    early_stopping: bool
    validation_fraction: float
    beta_1: float
    beta_2: float
    epsilon: float
    n_iter_no_change: float
    max_fun: int
    dropout: float
    batch_norm: bool
    negative_slope: float
    dtype: Any
    parity: bool
    #: L-BFGS's relative-decrease stop (scipy's default for the MLPs, as scikit-learn's MLP)
    lbfgs_ftol: float | None = None
    #: the user's network (a Module, or a callable returning one) in place of the built-in MLP
    module: Any = None


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def validate_settings(s: Settings, class_weight: Any = None) -> np.dtype[Any]:
    """Raise ValueError naming the parameter for any invalid value; return the float dtype."""
    sizes = s.hidden_layer_sizes
    _check(
        all(isinstance(h, (int, np.integer)) and h > 0 for h in sizes),
        f"hidden_layer_sizes must be positive integers, got {sizes!r}",
    )
    activation = resolve_activation(s.activation)
    solver_ok = (isinstance(s.solver, str) and s.solver in solver_names()) or (
        callable(s.solver) and not isinstance(s.solver, str)
    )
    _check(
        solver_ok,
        f"solver must be one of {solver_names()}, a nabla Optimizer class or a callable "
        f"params -> Optimizer, got {s.solver!r}",
    )
    _check(s.alpha >= 0, f"alpha must be >= 0, got {s.alpha!r}")
    _check(
        s.batch_size == "auto"
        or bool(isinstance(s.batch_size, (int, np.integer)) and s.batch_size >= 1),
        f"batch_size must be 'auto' or a positive integer, got {s.batch_size!r}",
    )
    _check(
        s.learning_rate in SCHEDULES,
        f"learning_rate must be one of {SCHEDULES}, got {s.learning_rate!r}",
    )
    _check(
        s.learning_rate_init > 0, f"learning_rate_init must be > 0, got {s.learning_rate_init!r}"
    )
    _check(s.power_t >= 0, f"power_t must be >= 0, got {s.power_t!r}")
    _check(
        isinstance(s.max_iter, (int, np.integer)) and s.max_iter >= 1,
        f"max_iter must be a positive integer, got {s.max_iter!r}",
    )
    _check(s.tol >= 0, f"tol must be >= 0, got {s.tol!r}")
    _check(0 <= s.momentum <= 1, f"momentum must be in [0, 1], got {s.momentum!r}")
    _check(
        0 <= s.validation_fraction < 1,
        f"validation_fraction must be in [0, 1), got {s.validation_fraction!r}",
    )
    _check(0 <= s.beta_1 < 1, f"beta_1 must be in [0, 1), got {s.beta_1!r}")
    _check(0 <= s.beta_2 < 1, f"beta_2 must be in [0, 1), got {s.beta_2!r}")
    _check(s.epsilon > 0, f"epsilon must be > 0, got {s.epsilon!r}")
    _check(s.n_iter_no_change >= 1, f"n_iter_no_change must be >= 1, got {s.n_iter_no_change!r}")
    _check(s.max_fun >= 1, f"max_fun must be >= 1, got {s.max_fun!r}")
    _check(0 <= s.dropout < 1, f"dropout must be in [0, 1), got {s.dropout!r}")
    _check(
        not (s.solver == "lbfgs" and s.dropout),
        "solver='lbfgs' needs a deterministic loss: use dropout=0 or a stochastic solver",
    )
    if s.module is not None:
        _check(
            isinstance(s.module, Module) or callable(s.module),
            "module must be a nabla.nn.Module or a callable returning one, got "
            f"{type(s.module).__name__}",
        )
        _check(
            s.solver != "lbfgs",
            "solver='lbfgs' trains the built-in MLP only; with module= use a stochastic solver",
        )
    if s.parity:
        extras = {
            "activation": activation.sklearn_name is None,
            "solver": not (isinstance(s.solver, str) and s.solver in SOLVERS),
            "dropout": s.dropout != 0,
            "batch_norm": bool(s.batch_norm),
            "class_weight": class_weight is not None,
            "module": s.module is not None,
        }
        bad = [name for name, used in extras.items() if used]
        _check(
            not bad,
            f"parity=True reproduces scikit-learn's MLP, which has no {', '.join(bad)} option; "
            "set parity=False to use it",
        )
        return np.dtype(np.float64)
    dtype: np.dtype[Any] | None
    try:
        dtype = np.dtype(s.dtype)
    except TypeError:
        dtype = None
    _check(
        dtype in (np.dtype(np.float32), np.dtype(np.float64)),
        f"dtype must be float32 or float64, got {s.dtype!r}",
    )
    assert dtype is not None
    return dtype


def check_sample_weight(sample_weight: Any, n_samples: int, dtype: Any) -> np.ndarray[Any, Any]:
    if np.isscalar(sample_weight):
        return np.full(n_samples, sample_weight, dtype=dtype)
    sw = np.asarray(sample_weight, dtype=dtype)
    if sw.shape != (n_samples,):
        raise ValueError(f"sample_weight.shape == {sw.shape}, expected {(n_samples,)}!")
    if not np.isfinite(sw).all():
        raise ValueError("sample_weight contains NaN or infinity")
    if (sw < 0).any():
        raise ValueError("sample_weight must be non-negative")
    if not sw.any():
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return sw
