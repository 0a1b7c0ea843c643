"""``nabla train``: parse the options into a TrainConfig, run the recipe, print the summary.

The options are generated from :class:`~nabla.training.config.TrainConfig`'s fields (flags,
types, defaults, choices and help all come from the field and its metadata), and the run
itself is :func:`nabla.training.recipe.train`; this module only translates between them and
the terminal.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from nabla.cli.output import table
from nabla.training.config import TrainConfig, choices_of, field_type, flags_of, parse_hidden
from nabla.training.recipe import TrainRun, load_classification_data, train

# load_classification_data and parse_hidden are re-exported for `nabla graph`
__all__ = [
    "CONFIG",
    "add_config_arguments",
    "add_train_parser",
    "config_from_args",
    "load_classification_data",
    "parse_hidden",
    "print_summary",
    "run_train",
]

#: the settings class whose fields become ``nabla train``'s options
CONFIG: type[TrainConfig] = TrainConfig


def add_train_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    config_class: type[TrainConfig] | None = None,
) -> None:
    """Add ``nabla train`` with one option per field of ``config_class`` (default CONFIG)."""
    cls = config_class or CONFIG
    p = sub.add_parser(
        "train",
        help="train a classifier (default: the notes' tanh + softmax network on digits)",
        description="Train a classifier and write the model, metrics and curves to --out.",
    )
    add_config_arguments(p, cls)
    p.set_defaults(command_fn="train", config_class=cls)


def add_config_arguments(parser: argparse.ArgumentParser, cls: type[TrainConfig]) -> None:
    """One option per dataclass field of ``cls``, in ``--help`` groups named by the metadata."""
    groups: dict[str | None, Any] = {None: parser}
    for field in dataclasses.fields(cls):
        group = field.metadata.get("group")
        if group not in groups:
            groups[group] = parser.add_argument_group(group)
        groups[group].add_argument(*flags_of(field, cls), dest=field.name, **_option(cls, field))


def _option(cls: type[TrainConfig], field: dataclasses.Field[Any]) -> dict[str, Any]:
    """argparse keywords for ``field``: a switch for a bool, else a typed value."""
    text = field.metadata.get("help")
    help_text = None if text is None else text.replace("%", "%%")  # argparse formats help
    kind = field_type(cls, field.name)
    if kind is bool:
        return {"action": "store_false" if field.default else "store_true", "help": help_text}
    option: dict[str, Any] = {"type": kind, "help": help_text}
    if field.default is dataclasses.MISSING:
        option["required"] = True
    else:
        option["default"] = field.default
    choices = choices_of(field)  # read now: a registry may have grown since import
    if choices is not None:
        option["choices"] = list(choices)
    return option


def config_from_args(args: argparse.Namespace, cls: type[TrainConfig] = TrainConfig) -> Any:
    """The ``cls`` instance the parsed options describe (validated by its constructor)."""
    return cls(**{field.name: getattr(args, field.name) for field in dataclasses.fields(cls)})


def run_train(args: argparse.Namespace) -> int:
    config = config_from_args(args, getattr(args, "config_class", CONFIG))
    print_summary(train(config))
    return 0


def print_summary(run: TrainRun) -> None:
    """The run's model, results table, speed and files, as ``nabla train`` prints them."""
    config, data, trainer = run.config, run.data, run.trainer
    print(
        f"nabla train: {config.model} on {config.data} ({data.n_samples} samples, "
        f"{data.n_features} features, {run.n_classes} classes)"
    )
    is_mlp = config.model == "mlp"
    print(run.model if is_mlp else f"LogisticRegression({data.n_features} → {run.n_classes})")
    rows = [[name, r["accuracy"], r["loss"], r["samples"]] for name, r in run.results.items()]
    print(table(["split", "accuracy", "loss", "samples"], rows))
    print(
        f"time {trainer.train_seconds:.2f} s training ({run.wall_seconds:.2f} s this run), "
        f"{run.samples_per_second:,.0f} samples/s"
    )
    if "test" in run.results:
        print(f"held-out test accuracy: {run.results['test']['accuracy']:.4f}")
    print(f"wrote {run.out}/{', '.join(run.files)}")
