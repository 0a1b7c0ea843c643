"""The optimizers a user can name, and the one builder that turns a name into an optimizer.

Every place that takes an optimizer by name (the CLI's ``--optimizer``, the scikit-learn
estimators' ``solver``) reads :data:`OPTIMIZERS` for its choices, default learning rates and
help, and builds through :func:`build_optimizer`, so adding an optimizer is one entry here
(as ``torch.optim`` names its optimizers in one place).

Examples
--------
>>> import numpy as np
>>> from types import SimpleNamespace
>>> w = SimpleNamespace(data=np.zeros(2), grad=None)
>>> opt = build_optimizer("adam", [w], weight_decay=0.01)
>>> type(opt).__name__, opt.param_groups[0]["lr"]
('Adam', 0.001)
>>> sorted(OPTIMIZERS)
['adadelta', 'adagrad', 'adam', 'adamw', 'rmsprop', 'sgd']
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, cast

from nabla.optim.adadelta import Adadelta
from nabla.optim.adagrad import Adagrad
from nabla.optim.adam import Adam, AdamW
from nabla.optim.optimizer import Optimizer, OptimizerError, ParamsArg
from nabla.optim.rmsprop import RMSprop
from nabla.optim.sgd import SGD


@dataclass(frozen=True)
class OptimizerEntry:
    """One optimizer a user can name.

    Attributes
    ----------
    cls : type of Optimizer
        The class :func:`build_optimizer` instantiates.
    lr : float
        The learning rate used when none is given (a good start for small MLPs, which may differ
        from the class's own default).
    help : str
        One line for ``--help`` texts and documentation.
    defaults : mapping
        Hyperparameters, beyond ``lr``, set when the caller does not give them (SGD's momentum).
    """

    cls: type[Optimizer]
    lr: float
    help: str
    defaults: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def hyperparameters(self) -> tuple[str, ...]:
        """The keyword arguments the class accepts besides ``params``, in signature order."""
        signature = inspect.signature(self.cls.__init__)
        return tuple(name for name in signature.parameters if name not in ("self", "params"))


#: name → optimizer, in the order ``--help`` lists them
OPTIMIZERS: Mapping[str, OptimizerEntry] = MappingProxyType(
    {
        "sgd": OptimizerEntry(
            SGD,
            lr=0.05,
            help="stochastic gradient descent with momentum (0.9 unless given)",
            defaults=MappingProxyType({"momentum": 0.9}),
        ),
        "adam": OptimizerEntry(Adam, lr=1e-3, help="Adam, L2 weight decay added to the gradient"),
        "adamw": OptimizerEntry(AdamW, lr=1e-3, help="Adam with decoupled weight decay"),
        "rmsprop": OptimizerEntry(RMSprop, lr=1e-3, help="RMSprop, optionally with momentum"),
        "adagrad": OptimizerEntry(Adagrad, lr=1e-2, help="Adagrad, per-coordinate step sizes"),
        "adadelta": OptimizerEntry(
            Adadelta, lr=1.0, help="Adadelta, step sizes from averaged squared steps"
        ),
    }
)


def build_optimizer(
    name: str, params: ParamsArg, lr: float | None = None, **hyperparameters: Any
) -> Optimizer:
    """Build the optimizer registered as ``name`` over ``params``.

    Parameters
    ----------
    name : str
        A key of :data:`OPTIMIZERS` (``"sgd"``, ``"adam"``, ``"adamw"``, ``"rmsprop"``,
        ``"adagrad"``).
    params : iterable of parameters, or iterable of dicts
        The parameters to optimize, or parameter groups (see :class:`Optimizer`).
    lr : float, optional
        The learning rate; None takes the entry's ``lr``.
    **hyperparameters
        Passed to the class; a value of None counts as not given (the entry's default, else the
        class's, applies).

    Returns
    -------
    Optimizer

    Raises
    ------
    OptimizerError
        If ``name`` is not registered, or a hyperparameter is not one the optimizer takes.
    """
    entry = OPTIMIZERS.get(name) if isinstance(name, str) else None
    if entry is None:
        raise OptimizerError(
            f"unknown optimizer {name!r}; known optimizers: {', '.join(OPTIMIZERS)}"
        )
    given = {key: value for key, value in hyperparameters.items() if value is not None}
    accepted = entry.hyperparameters()
    unknown = [key for key in given if key not in accepted]
    if unknown:
        raise OptimizerError(
            f"optimizer {name!r} takes no {unknown[0]!r}; it takes {', '.join(accepted)}"
        )
    kwargs = {**entry.defaults, **given}
    # each subclass takes its own keywords, checked above against its signature
    make = cast("Callable[..., Optimizer]", entry.cls)
    return make(params, lr=entry.lr if lr is None else lr, **kwargs)
