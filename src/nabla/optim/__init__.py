"""Optimizers and learning-rate schedulers with the update rules of ``torch.optim``.

They update any object with ``data`` (a floating-point ndarray, changed in place) and ``grad``
(an ndarray, or None to skip it), such as the parameters of a ``nabla.nn`` module::

    opt = nabla.optim.Adam(model.parameters(), lr=1e-3)
    scheduler = nabla.optim.StepLR(opt, step_size=10, gamma=0.5)
    for epoch in range(n_epochs):
        for x, y in batches:
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
        scheduler.step()
"""

from nabla.optim import lr_scheduler
from nabla.optim.adadelta import Adadelta
from nabla.optim.adagrad import Adagrad
from nabla.optim.adam import Adam, AdamW
from nabla.optim.lr_scheduler import (
    CosineAnnealingLR,
    CyclicLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    LRScheduler,
    MultiplicativeLR,
    MultiStepLR,
    OneCycleLR,
    ReduceLROnPlateau,
    SequentialLR,
    StepLR,
)
from nabla.optim.optimizer import Optimizer, OptimizerError
from nabla.optim.registry import OPTIMIZERS, OptimizerEntry, build_optimizer
from nabla.optim.rmsprop import RMSprop
from nabla.optim.sgd import SGD

__all__ = [
    "OPTIMIZERS",
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "CyclicLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "Optimizer",
    "OptimizerEntry",
    "OptimizerError",
    "RMSprop",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
    "build_optimizer",
    "lr_scheduler",
]
