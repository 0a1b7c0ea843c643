"""``nabla train``: parse the options into a TrainConfig, run the recipe, print the summary.

The options are generated from :class:`~nabla.training.config.TrainConfig`'s fields (flags,
types, defaults, choices and help all come from the field and its metadata), and the run
itself is :func:`nabla.training.recipe.train`; this module only translates between them and
the terminal.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
from typing import Any

import numpy as np

from nabla.cli.output import display_names, table
from nabla.training.config import TrainConfig, choices_of, field_type, flags_of
from nabla.training.prepare import PreparedData
from nabla.training.recipe import TrainRun, train

__all__ = [
    "CONFIG",
    "add_config_arguments",
    "add_train_parser",
    "config_from_args",
    "describe_data",
    "print_plan",
    "print_summary",
    "resume_command",
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
    from nabla import distributed

    config = config_from_args(args, getattr(args, "config_class", CONFIG))
    run = train(config, announce=print_plan)
    if distributed.rank() == 0:  # under mpiexec, rank 0 alone prints
        print_summary(run)
    if run.interrupted is not None:  # every rank of a data-parallel run stopped together
        if distributed.rank() == 0:
            command = resume_command(run, getattr(args, "argv", None))
            print(f"continue with:\n  {command}", file=sys.stderr)
        return 130
    return 0


def resume_command(run: TrainRun, argv: list[str] | None = None) -> str:
    """The command line that continues ``run``: its own arguments (``argv``, without
    --overwrite) with --out and --resume."""
    args = [a for a in argv if a != "--overwrite"] if argv else ["train"]
    if "--out" not in args and not any(a.startswith("--out=") for a in args):
        args += ["--out", str(run.out)]
    if "--resume" not in args:
        args.append("--resume")
    return "nabla " + " ".join(shlex.quote(a) for a in args)


def print_plan(run: TrainRun) -> None:
    """The data and the model, printed before training starts."""
    config, data = run.config, run.data
    what = (
        f"regression of {data.target_name!r}"
        if data.is_regression
        else f"classification of {data.target_name!r} ({data.n_classes} classes)"
    )
    print(f"nabla train: {config.model} on {config.data}: {what}")
    for line in describe_data(data):
        print(f"  {line}")
    n_train, n_val, n_test = (len(y) for _, _, y in data.named())
    print(f"  split: {n_train} train, {n_val} validation, {n_test} test (seed {config.seed})")
    if run.ranks is not None:
        b = config.batch_size
        print(
            f"  data-parallel: {run.ranks} rank(s) × batch {b} = global batch "
            f"{run.ranks * b} rows per step"
        )
    is_logistic = config.model == "logistic"
    print(
        f"LogisticRegression({data.n_features} → {data.n_classes})" if is_logistic else run.model
    )
    print(f"output: {run.out}", flush=True)


def describe_data(data: PreparedData) -> list[str]:
    """Rows, features after encoding, target range or classes, encoded/imputed columns."""
    used = f"rows: {data.rows_read} read, {data.n_samples} used"
    if data.image_shape is not None:
        channels, height, width = data.image_shape
        shape = f"{channels}×{height}×{width}"
        lines = [f"{used}; images: {shape} (channels×height×width), pixels in [0, 1]"]
    else:
        lines = [f"{used}; features: {data.n_features} after encoding"]
    if data.is_regression:
        y = np.concatenate(list(data.raw_targets.values()))
        lines.append(
            f"target {data.target_name!r}: {y.min():.6g} to {y.max():.6g} (mean "
            f"{data.target_mean:.6g}, std {data.target_scale:.6g} in training)"
        )
    else:
        shown = ", ".join(display_names(data.class_names or [])[:10])
        more = f" and {data.n_classes - 10} more" if data.n_classes > 10 else ""
        lines.append(f"classes: {shown}{more}")
    described = data.preprocessing.describe()
    if data.image_shape is not None:
        return lines
    if described["numeric"]:
        lines.append(f"numeric: {_names(described['numeric'])}")
    if described["categorical"]:
        encoded = [f"{name} ({n})" for name, n in described["categorical"].items()]
        lines.append(f"text, one-hot (categories): {_names(encoded, quote=False)}")
    if described["imputed"]:
        filled = [
            f"{name} ({n} missing → {fill:.6g})" if fill is not None else f"{name} ({n} missing)"
            for name, (n, fill) in described["imputed"].items()
        ]
        lines.append(f"filled with the training {data.impute}: {_names(filled, quote=False)}")
    if described["missing_categorical"]:
        empty = [f"{name} ({n})" for name, n in described["missing_categorical"].items()]
        lines.append(f"missing text as all zeros: {_names(empty, quote=False)}")
    if described["indicators"]:
        lines.append(f"missing-value indicators: {_names(described['indicators'])}")
    left_out = [
        f"{name} ({why})" for name, why in data.excluded.items() if name != data.target_name
    ]
    if left_out:
        lines.append(f"left out: {_names(left_out, quote=False)}")
    return lines


def _names(names: list[str], quote: bool = True, limit: int = 8) -> str:
    shown = [repr(n) if quote else n for n in names[:limit]]
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(shown) + more


def print_summary(run: TrainRun) -> None:
    """The run's results table, time and files, as ``nabla train`` prints them after training."""
    data, trainer = run.data, run.trainer
    if data.is_regression:
        header = ["split", "rmse", "mae", "r2", "loss", "samples"]
        rows = [
            [n, r["rmse"], r["mae"], r["r2"], r["loss"], r["samples"]]
            for n, r in run.results.items()
        ]
    else:
        header = ["split", "accuracy", "loss", "samples"]
        rows = [[n, r["accuracy"], r["loss"], r["samples"]] for n, r in run.results.items()]
    print(table(header, rows))
    if trainer.stop_reason and (run.interrupted or trainer.early_stopping is not None):
        print(trainer.stop_reason)  # how early stopping or Ctrl-C ended the run
    print(
        f"time {run.wall_seconds:.2f} s ({trainer.train_seconds:.2f} s training), "
        f"{run.samples_per_second:,.0f} samples/s"
    )
    if "test" in run.results:
        if data.is_regression:
            result = run.results["test"]
            print(f"held-out test R²: {result['r2']:.4f} (RMSE {result['rmse']:.6g})")
        else:
            print(f"held-out test accuracy: {run.results['test']['accuracy']:.4f}")
    print(f"wrote {run.out}/{', '.join(run.files)}")
