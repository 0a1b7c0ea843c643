"""The training recipe from Python: the same run as ``nabla train``, results that hold up."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.cli import main
from nabla.optim import OPTIMIZERS
from nabla.training.config import ConfigError, TrainConfig
from nabla.training.recipe import train

pytest.importorskip("safetensors")


def _weights(path: Path) -> dict[str, np.ndarray]:
    return dict(nb.load(path).state_dict())


def test_recipe_equals_the_cli_bitwise(tmp_path: Path) -> None:
    flags = ["--data", "iris", "--epochs", "4", "--optimizer", "adam", "--dropout", "0.1"]
    assert main(["train", *flags, "--out", str(tmp_path / "cli"), "--no-progress"]) == 0
    config = TrainConfig(
        data="iris",
        epochs=4,
        optimizer="adam",
        dropout=0.1,
        out=str(tmp_path / "py"),
        progress=False,
    )
    run = train(config, log=lambda line: None)
    assert run.files == [
        "model.safetensors",
        "metrics.csv",
        "metrics.json",
        "curves.png",
        "checkpoint.safetensors",
    ]
    for name in run.files:
        assert (tmp_path / "py" / name).stat().st_size > 0
    a, b = (
        _weights(tmp_path / "cli" / "model.safetensors"),
        _weights(run.out / "model.safetensors"),
    )
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_results_are_the_saved_models_scores(tmp_path: Path) -> None:
    run = train(
        TrainConfig(data="wine", epochs=10, out=str(tmp_path), plots=False, progress=False)
    )
    model = nb.load(tmp_path / "model.safetensors").eval()
    for name, X, y in run.splits.named():
        with nb.no_grad():
            predicted = model(nb.tensor(X)).data.argmax(axis=1)
        assert run.results[name]["accuracy"] == pytest.approx(np.mean(predicted == y)), name
        assert run.results[name]["samples"] == len(y)
    # 178 rows: 10 % validation, 20 % test, as the config says (stratified: per-class rounding)
    n_train, n_val, n_test = (len(y) for _, _, y in run.splits.named())
    assert n_train + n_val + n_test == 178
    assert abs(n_val - 17.8) <= 2 and abs(n_test - 35.6) <= 2
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["final"] == run.results
    # the settings as fingerprinted, with the values used where the config left the default
    # (the optimizer's registered defaults: nabla train's sgd has lr 0.05 and momentum 0.9)
    fingerprint = run.config.fingerprint()
    assert fingerprint["lr"] is None and fingerprint["momentum"] is None
    assert run.config.optimizer == "auto"  # sgd for a classifier
    entry = OPTIMIZERS["sgd"]
    expected = {**fingerprint, "optimizer": "sgd", "lr": entry.lr}
    expected["momentum"] = entry.defaults["momentum"]
    assert metrics["settings"] == expected
    assert len(metrics["epochs"]) == 10 == len(run.history)


def test_log_receives_epochs_and_the_resume_note(tmp_path: Path) -> None:
    lines: list[str] = []
    config = TrainConfig(
        data="iris", epochs=2, scheduler="none", out=str(tmp_path), plots=False, progress=False
    )
    train(TrainConfig.from_dict({**config.to_dict(), "verbose": True}), log=lines.append)
    assert [line.split()[:2] for line in lines] == [["epoch", "1/2"], ["epoch", "2/2"]]
    lines.clear()
    train(
        TrainConfig.from_dict({**config.to_dict(), "epochs": 3, "resume": True}), log=lines.append
    )
    assert lines == [
        f"resuming from {tmp_path / 'checkpoint.safetensors'} after epoch 2",
        "extending the run from 2 to 3 epochs",
    ]


def test_resume_without_checkpoint_is_refused_before_reading_data(tmp_path: Path) -> None:
    config = TrainConfig(data=str(tmp_path / "missing.csv"), resume=True, out=str(tmp_path / "o"))
    with pytest.raises(ConfigError, match="--resume: no checkpoint at"):
        train(config)
    assert not (tmp_path / "o").exists()


def test_the_report_settings_show_the_values_used(tmp_path: Path) -> None:
    """The report's settings table shows the learning rate and momentum the optimizer used
    (the registry's defaults here), not the config's "default" placeholder."""
    pytest.importorskip("matplotlib")
    config = TrainConfig(
        data="iris", epochs=1, report=True, out=str(tmp_path), plots=False, progress=False
    )
    train(config)
    html = (tmp_path / "report.html").read_text()
    entry = OPTIMIZERS["sgd"]
    for key, value in (("lr", entry.lr), ("momentum", entry.defaults["momentum"])):
        cell = re.search(rf"<td>{key}</td><td[^>]*>([^<]*)</td>", html)
        assert cell is not None and float(cell.group(1)) == pytest.approx(value), key


def test_the_report_draws_the_initial_model_and_shows_per_class_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report's graph comes from the model as it was before training (the weights a fresh
    build with the run's seed has), and its per-class table and confusion matrix agree with
    scikit-learn's on the trained model's test predictions."""
    pytest.importorskip("matplotlib")
    metrics = pytest.importorskip("sklearn.metrics")
    import nabla.viz.report as report_module
    from nabla.training.evaluation import predict_classes
    from nabla.training.recipe import build_model

    seen: dict[str, Any] = {}
    original = report_module.write_training_report

    def spy(path: Any, **kwargs: Any) -> Any:
        seen.update(kwargs)
        return original(path, **kwargs)

    monkeypatch.setattr(report_module, "write_training_report", spy)
    config = TrainConfig(
        data="iris", epochs=3, report=True, out=str(tmp_path), plots=False, progress=False
    )
    run = train(config)
    nb.manual_seed(config.seed)
    fresh = build_model(config, run.data.n_features, run.n_classes)
    drawn = dict(seen["model"].state_dict())
    for name, value in fresh.state_dict().items():
        np.testing.assert_array_equal(drawn[name], value)  # the initial weights
    assert any(
        not np.array_equal(value, drawn[name]) for name, value in run.model.state_dict().items()
    )  # training moved them
    split, report = seen["classification"]
    X, y = next((X, y) for name, X, y in run.splits.named() if name == split)
    predicted = predict_classes(run.model, X)
    np.testing.assert_array_equal(report.confusion, metrics.confusion_matrix(y, predicted))
    assert report.accuracy == pytest.approx(run.results[split]["accuracy"])
    np.testing.assert_allclose(report.f1, metrics.f1_score(y, predicted, average=None))
    html = (tmp_path / "report.html").read_text()
    assert f"Per class ({split} split)" in html and "Confusion matrix" in html


def test_the_report_compares_sigmoid_tanh_and_relu_on_the_runs_data(tmp_path: Path) -> None:
    """--report trains the same 3-hidden-layer network with each activation and shows the
    vanishing gradients: at initialisation the sigmoid net's first-layer gradient is a small
    fraction of its last layer's (σ′ ≤ ¼ per layer), far below tanh's and ReLU's; the recorded
    norms equal nb.grad's on a freshly seeded copy of the network."""
    pytest.importorskip("matplotlib")
    from nabla.nn.layers import Linear
    from nabla.nn.models import MLP
    from nabla.training.activation_study import study_activations, study_widths

    config = TrainConfig(
        data="digits", epochs=1, report=True, out=str(tmp_path), plots=False, progress=False
    )
    run = train(config)
    html = (tmp_path / "report.html").read_text()
    assert "Vanishing gradients: the same network with each activation" in html
    studies = study_activations(config, run.splits, run.data.n_features, run.n_classes, epochs=2)
    ratio = {s.activation: s.grad_norms[0][0] / s.grad_norms[0][-1] for s in studies}
    assert ratio["sigmoid"] < 0.1 < min(ratio["tanh"], ratio["relu"])
    assert all(len(s.grad_norms) == 3 and len(s.saturated[0]) == 3 for s in studies)
    assert study_widths([128]) == [64, 64, 64] and study_widths([8, 8, 8, 8]) == [8, 8, 8, 8]
    nb.manual_seed(config.seed)  # the study's initial sigmoid net, rebuilt independently
    net = MLP([run.data.n_features, 64, 64, 64, run.n_classes], activation="sigmoid")
    X, y = run.splits.X_train[:256], run.splits.y_train[:256]
    weights = [m.weight for m in net if isinstance(m, Linear)]
    grads = nb.grad(net.loss(net(nb.tensor(X)), y), weights)
    expected = [float(np.linalg.norm(g.data)) for g in grads]
    np.testing.assert_allclose(studies[0].grad_norms[0], expected, rtol=1e-6)


def test_a_checkpoint_from_before_a_setting_resumes_with_its_default(tmp_path: Path) -> None:
    from nabla.io import load_checkpoint, save_checkpoint

    config = TrainConfig(data="iris", epochs=2, out=str(tmp_path), plots=False, progress=False)
    train(config, log=lambda line: None)
    state = load_checkpoint(tmp_path / "checkpoint.safetensors")
    for key in ("task", "impute", "patience", "monitor", "loss", "delimiter"):  # issue 15's
        del state["fingerprint"][key]
    save_checkpoint(tmp_path / "checkpoint.safetensors", state)
    resumed = TrainConfig.from_dict({**config.to_dict(), "resume": True, "epochs": 3})
    assert len(train(resumed, log=lambda line: None).history) == 3
    changed = TrainConfig.from_dict({**resumed.to_dict(), "patience": 2, "epochs": 4})
    with pytest.raises(nb.errors.NablaError, match="patience: 0 → 2"):
        train(changed, log=lambda line: None)
    lr = TrainConfig.from_dict({**resumed.to_dict(), "lr": 0.5})
    with pytest.raises(nb.errors.NablaError, match=r"lr: the default → 0\.5"):
        train(lr, log=lambda line: None)
