"""``nabla train``'s options are generated from TrainConfig: same flags as the README's, and a
new field becomes an option and part of the resume fingerprint with nothing else to edit."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

import nabla.cli.train
from nabla.cli import main
from nabla.cli.main import build_parser
from nabla.io import load_checkpoint
from nabla.nn.registry import ACTIVATIONS, get_activation
from nabla.optim import OPTIMIZERS
from nabla.training.config import TrainConfig, setting

pytest.importorskip("safetensors")

_SWITCH = "switch"
# the options `nabla train` had when they were written by hand (README, `nabla train --help`),
# and those of real tables (issue 15): flags, destination, type (or on/off switch), default,
# choices
OPTIONS_BEFORE: list[tuple[tuple[str, ...], str, Any, Any, set[str] | None]] = [
    (("--data",), "data", str, "digits", None),
    (("--target",), "target", str, None, None),
    (("--task",), "task", str, "auto", {"auto", "classification", "regression"}),
    (("--delimiter",), "delimiter", str, None, None),
    (("--encoding",), "encoding", str, "utf-8-sig", None),
    (("--decimal",), "decimal", str, None, {".", ","}),
    (("--features",), "features", str, "", None),
    (("--drop",), "drop", str, "", None),
    (("--id",), "id_column", str, None, None),
    (("--impute",), "impute", str, "median", {"median", "mean", "drop"}),
    (("--missing-indicators",), "missing_indicators", _SWITCH, False, None),
    (("--strict",), "strict", _SWITCH, False, None),
    (("--x-key",), "x_key", str, None, None),
    (("--y-key",), "y_key", str, None, None),
    (("--val-split",), "val_split", float, 0.1, None),
    (("--test-split",), "test_split", float, 0.2, None),
    (("--no-standardize",), "standardize", _SWITCH, True, None),
    (("--model",), "model", str, "mlp", {"mlp", "logistic", "cnn"}),
    (("--hidden",), "hidden", str, "128", None),
    (("--activation",), "activation", str, "tanh", {"identity", "tanh", "sigmoid", "relu", "leaky_relu", "gelu", "silu", "elu", "softplus", "mish", "hardtanh"}),
    (("--loss",), "loss", str, "auto", {"auto", "cross_entropy", "mse", "mae", "huber"}),
    (("--dropout",), "dropout", float, 0.0, None),
    (("--batch-norm",), "batch_norm", _SWITCH, False, None),
    (("--epochs",), "epochs", int, 60, None),
    (("--batch-size",), "batch_size", int, 32, None),
    (("--optimizer",), "optimizer", str, "auto", {"auto", "sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta"}),
    (("--lr",), "lr", float, None, None),
    (("--momentum",), "momentum", float, None, None),
    (("--weight-decay",), "weight_decay", float, 1e-3, None),
    (("--scheduler",), "scheduler", str, "cosine", {"cosine", "step", "exponential", "plateau", "none"}),
    (("--patience",), "patience", int, 0, None),
    (("--monitor",), "monitor", str, "val_loss", {"val_loss", "val_accuracy"}),
    (("--seed",), "seed", int, 1, None),
    (("--distributed",), "distributed", _SWITCH, False, None),  # issue 17
    (("--out",), "out", str, None, None),
    (("--overwrite",), "overwrite", _SWITCH, False, None),
    (("--checkpoint-every",), "checkpoint_every", int, 0, None),
    (("--resume",), "resume", _SWITCH, False, None),
    (("--no-progress",), "progress", _SWITCH, True, None),
    (("--no-plots",), "plots", _SWITCH, True, None),
    (("--report",), "report", _SWITCH, False, None),
    (("-v", "--verbose"), "verbose", _SWITCH, False, None),
]  # fmt: skip


def _train_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    train: argparse.ArgumentParser = sub.choices["train"]
    return train


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {a.dest: a for a in _train_parser(parser)._actions if a.dest != "help"}


def test_generated_options_match_the_hand_written_ones() -> None:
    options = _options(build_parser())
    assert list(options) == [dest for _, dest, *_ in OPTIONS_BEFORE]
    for flags, dest, kind, default, choices in OPTIONS_BEFORE:
        action = options[dest]
        assert tuple(action.option_strings) == flags, dest
        assert action.default == default, dest
        if kind is _SWITCH:
            assert action.nargs == 0 and action.const is (not default), dest
        else:
            assert action.type is kind, dest
        assert (None if action.choices is None else set(action.choices)) == choices, dest
        assert action.help, f"{dest} has no help text"


def test_optimizer_choices_come_from_the_registry() -> None:
    assert list(_options(build_parser())["optimizer"].choices or ()) == ["auto", *OPTIMIZERS]


def test_activation_choices_are_read_from_the_registry_when_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # registered after import: the options are generated from the registry as it is now
    tanh = get_activation("tanh")
    monkeypatch.setitem(ACTIVATIONS, "tanh_again", dataclasses.replace(tanh, name="tanh_again"))
    assert "tanh_again" in (_options(build_parser())["activation"].choices or ())
    assert TrainConfig(activation="tanh_again").activation == "tanh_again"
    flags = ["--data", "iris", "--epochs", "2", "--no-progress", "--no-plots", "--seed", "3"]
    assert main(["train", *flags, "--activation", "tanh_again", "--out", str(tmp_path / "a")]) == 0
    assert main(["train", *flags, "--out", str(tmp_path / "b")]) == 0
    a = json.loads((tmp_path / "a" / "metrics.json").read_text())["final"]
    b = json.loads((tmp_path / "b" / "metrics.json").read_text())["final"]
    assert a == b  # the same function under another name trains the same


def test_parsed_options_become_a_config() -> None:
    args = build_parser().parse_args(
        ["train", "--data", "iris", "--epochs", "5", "--lr", "0.5", "--no-standardize", "-v"]
    )
    config = nabla.cli.train.config_from_args(args)
    assert config == TrainConfig(data="iris", epochs=5, lr=0.5, standardize=False, verbose=True)
    assert build_parser().parse_args(["train"]).config_class is TrainConfig


def test_bad_value_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main(["train", "--epochs", "0", "--out", str(out)]) == 1
    assert capsys.readouterr().err == "nabla train: error: --epochs must be positive, got 0\n"
    assert main(["train", "--optimizer", "adam", "--momentum", "0.9", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err == "nabla train: error: --momentum applies to sgd and rmsprop, not adam\n"
    assert not out.exists()


# a setting the recipe does not know: it only has to reach the config, the CLI and the
# checkpoint, which is all a new field needs before the recipe reads it
Extended = dataclasses.make_dataclass(
    "Extended",
    [
        ("label_smoothing", float, setting(0.0, "label smoothing (0)", group="model")),
        ("note", str, setting("", "a free-form note", group="output", resume="free")),
    ],
    bases=(TrainConfig,),
    frozen=True,
)


def test_a_new_field_is_an_option_and_guards_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(nabla.cli.train, "CONFIG", Extended)
    action = _options(build_parser())["label_smoothing"]
    assert action.option_strings == ["--label-smoothing"] and action.type is float
    assert action.default == 0.0 and action.help == "label smoothing (0)"

    args = ["train", "--data", "iris", "--scheduler", "plateau", "--no-progress", "--no-plots"]
    args += ["--out", str(tmp_path), "--label-smoothing", "0.1"]
    assert main([*args, "--epochs", "2", "--note", "first"]) == 0
    saved = load_checkpoint(tmp_path / "checkpoint.safetensors")["fingerprint"]
    assert saved["label_smoothing"] == 0.1 and "note" not in saved
    settings = json.loads((tmp_path / "metrics.json").read_text())["settings"]
    assert settings["label_smoothing"] == 0.1
    capsys.readouterr()

    changed = [a if a != "0.1" else "0.2" for a in args]
    assert main([*changed, "--epochs", "3", "--resume"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "settings differ" in err
    assert "label_smoothing: 0.1 → 0.2" in err

    # the same value resumes; a free field (and the epochs, off the cosine schedule) may change
    assert main([*args, "--epochs", "3", "--resume", "--note", "second"]) == 0
    assert "resuming from" in capsys.readouterr().err
    history = json.loads((tmp_path / "metrics.json").read_text())["epochs"]
    assert [row["epoch"] for row in history] == [1, 2, 3]
