"""TrainConfig: validation, the resume fingerprint derived from its fields, JSON round trips."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pytest

from nabla.optim import OPTIMIZERS
from nabla.training.config import ConfigError, TrainConfig, setting

# the settings `nabla train --resume` refused to change before TrainConfig existed (the
# hand-kept list in cli/train.py); checkpoints written then hold exactly these keys, plus
# "epochs" under the cosine schedule, whose length is the number of epochs
FINGERPRINT_BEFORE = {
    "data",
    "target",
    "val_split",
    "test_split",
    "standardize",
    "model",
    "hidden",
    "activation",
    "dropout",
    "batch_norm",
    "batch_size",
    "optimizer",
    "lr",
    "momentum",
    "weight_decay",
    "scheduler",
    "seed",
}


# the data and model settings of real tables (issue 15); a checkpoint written before them lacks
# these keys, and resuming it compares them with their defaults
FINGERPRINT_TABLES = {
    "task",
    "delimiter",
    "encoding",
    "decimal",
    "features",
    "drop",
    "id_column",
    "impute",
    "missing_indicators",
    "strict",
    "x_key",
    "y_key",
    "loss",
    "patience",
    "monitor",
}


def test_fingerprint_keeps_the_settings_resume_checked_before() -> None:
    # --epochs may change on resume: a larger number extends a finished run
    for scheduler in ("cosine", "step", "exponential", "plateau", "none"):
        fingerprint = set(TrainConfig(scheduler=scheduler).fingerprint())
        assert fingerprint == FINGERPRINT_BEFORE | FINGERPRINT_TABLES


def test_fingerprint_values_are_the_fields() -> None:
    config = TrainConfig(data="iris", hidden="16,8", lr=0.5, epochs=7, out="elsewhere")
    fingerprint = config.fingerprint()
    assert fingerprint["data"] == "iris" and fingerprint["hidden"] == "16,8"
    assert fingerprint["lr"] == 0.5 and "epochs" not in fingerprint
    # output place, verbosity and the number of epochs may change on resume
    assert (
        TrainConfig(out="a", verbose=True, epochs=3).fingerprint()
        == TrainConfig(out="b", overwrite=True).fingerprint()
    )


def test_a_new_field_joins_the_fingerprint_unless_marked_free() -> None:
    extended = dataclasses.make_dataclass(
        "Extended",
        [
            ("label_smoothing", float, setting(0.0, "label smoothing")),
            ("log_every", int, setting(1, "log every N epochs", resume="free")),
        ],
        bases=(TrainConfig,),
        frozen=True,
    )
    fingerprint = extended(label_smoothing=0.1, log_every=5).fingerprint()
    assert fingerprint["label_smoothing"] == 0.1
    assert "log_every" not in fingerprint
    # a field made without setting() (no metadata at all) is fingerprinted too
    plain = dataclasses.make_dataclass(
        "Plain", [("warmup", int, dataclasses.field(default=0))], bases=(TrainConfig,), frozen=True
    )
    assert plain(warmup=3).fingerprint()["warmup"] == 3


def test_every_field_has_help_text() -> None:
    for field in dataclasses.fields(TrainConfig):
        assert field.metadata.get("help"), field.name


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"epochs": 0}, "--epochs must be positive, got 0"),
        ({"batch_size": -1}, "--batch-size must be positive, got -1"),
        ({"val_split": 1.0}, "--val-split must be in [0, 1), got 1.0"),
        ({"test_split": -0.1}, "--test-split must be in [0, 1), got -0.1"),
        ({"val_split": 0.5, "test_split": 0.5}, "--val-split and --test-split leave no training"),
        ({"lr": 0.0}, "--lr must be positive, got 0.0"),
        ({"dropout": 1}, "--dropout must be in [0, 1), got 1.0"),
        ({"checkpoint_every": -1}, "--checkpoint-every must be >= 0, got -1"),
        ({"hidden": "12,x"}, "--hidden: expected comma-separated widths such as 128,64"),
        ({"hidden": "0,4"}, "--hidden: widths must be positive, got '0,4'"),
        (
            {"activation": "swish"},
            "TrainConfig.activation: invalid choice 'swish' (choose from elu, gelu, hardtanh, identity,",
        ),
        ({"optimizer": "lbfgs"}, "TrainConfig.optimizer: invalid choice 'lbfgs'"),
        ({"scheduler": "linear"}, "TrainConfig.scheduler: invalid choice 'linear'"),
        (
            {"momentum": 0.5, "optimizer": "adam"},
            "--momentum applies to sgd and rmsprop, not adam",
        ),
        ({"epochs": "5"}, "TrainConfig.epochs must be int, got '5'"),
        ({"epochs": True}, "TrainConfig.epochs must be int, got True"),
        ({"lr": "fast"}, "TrainConfig.lr must be float, got 'fast'"),
        ({"data": None}, "TrainConfig.data must be str, got None"),
        ({"standardize": 1}, "TrainConfig.standardize must be bool, got 1"),
    ],
)
def test_bad_settings_are_one_line_errors(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        TrainConfig(**settings)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_numbers_are_coerced_to_the_field_type() -> None:
    config = TrainConfig(epochs=np.int64(3), lr=1, dropout=np.float32(0.25))
    assert type(config.epochs) is int and config.epochs == 3
    assert type(config.lr) is float and config.lr == 1.0
    assert type(config.dropout) is float and config.dropout == 0.25


def test_learning_rate_defaults_to_the_optimizer_registry() -> None:
    for name, entry in OPTIMIZERS.items():
        assert TrainConfig(optimizer=name).learning_rate() == entry.lr
    assert TrainConfig(optimizer="adam", lr=0.3).learning_rate() == 0.3
    assert TrainConfig().learning_rate() == 0.05  # the notes' SGD step
    assert TrainConfig(hidden="64,32").hidden_sizes() == [64, 32]
    assert TrainConfig(hidden="none").hidden_sizes() == []


def test_json_round_trip() -> None:
    config = TrainConfig(data="wine", target="3", lr=0.02, momentum=0.8, batch_norm=True)
    restored = TrainConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert restored == config
    assert TrainConfig.from_dict({"epochs": 4}) == TrainConfig(epochs=4)  # others: defaults
    assert set(config.to_dict()) == {f.name for f in dataclasses.fields(TrainConfig)}


def test_from_dict_refuses_unknown_settings() -> None:
    with pytest.raises(ConfigError, match="unknown setting 'epoch'"):
        TrainConfig.from_dict({"epoch": 4})


def test_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        TrainConfig().epochs = 3  # type: ignore[misc]


def test_setting_refuses_an_unknown_resume_rule() -> None:
    with pytest.raises(ValueError, match="resume must be"):
        setting(0, "x", resume="sometimes")
