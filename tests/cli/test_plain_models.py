"""Models saved from a plain Sequential: predict/evaluate read them as the exporters do."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nabla as nb
from nabla.cli import main
from nabla.deploy import class_probabilities

pytest.importorskip("safetensors")


def _one_line_error(capsys: pytest.CaptureFixture[str], *fragments: str) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err
    return err


def _rows(tmp_path: Path, n_features: int = 4) -> tuple[Path, np.ndarray]:
    X = np.random.default_rng(0).standard_normal((5, n_features))
    path = tmp_path / "x.csv"
    np.savetxt(path, X, delimiter=",")
    return path, X


def _predicted(out: str) -> np.ndarray:
    lines = out.strip().splitlines()
    return np.array([[float(v) for v in line.split(",")[2:]] for line in lines[1:]])


@pytest.mark.parametrize(
    "last", [nb.nn.Softmax(-1), nb.nn.LogSoftmax(1), None], ids=["softmax", "logsoftmax", "none"]
)
def test_predict_plain_sequential(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], last: nb.nn.Module | None
) -> None:
    nb.manual_seed(0)
    layers = [nb.nn.Linear(4, 3)] + ([last] if last is not None else [])
    model = nb.nn.Sequential(*layers)
    nb.save(model, tmp_path / "m.safetensors")
    rows, X = _rows(tmp_path)
    assert main(["predict", str(tmp_path / "m.safetensors"), str(rows)]) == 0
    proba = _predicted(capsys.readouterr().out)
    logits = X.astype(np.float32) @ model[0].weight.data.T + model[0].bias.data
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(proba, e / e.sum(axis=1, keepdims=True), atol=1e-5)


def test_predict_one_logit_is_binary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nb.save(nb.nn.Sequential(nb.nn.Linear(4, 1), nb.nn.Sigmoid()), tmp_path / "m.safetensors")
    rows, _ = _rows(tmp_path)
    assert main(["predict", str(tmp_path / "m.safetensors"), str(rows)]) == 0
    proba = _predicted(capsys.readouterr().out)
    assert proba.shape == (5, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)


def test_same_rule_as_exported_predictor(tmp_path: Path) -> None:
    import importlib.util

    from nabla.predictor import write_predictor

    model = nb.nn.Sequential(nb.nn.Linear(4, 3), nb.nn.LogSoftmax(-1))
    x = np.random.default_rng(1).standard_normal((6, 4)).astype(np.float32)
    path = write_predictor(model, tmp_path / "exported.py")
    spec = importlib.util.spec_from_file_location("exported", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    exported = module.predict_proba(x)
    np.testing.assert_allclose(class_probabilities(model, nb.tensor(x)), exported, atol=1e-6)


def test_evaluate_plain_sequential(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nb.save(nb.nn.Sequential(nb.nn.Linear(2, 2), nb.nn.Softmax(-1)), tmp_path / "m.safetensors")
    data = tmp_path / "d.csv"
    data.write_text("a,b,y\n" + "".join(f"{i},{-i},{i % 2}\n" for i in range(8)))
    assert main(["evaluate", str(tmp_path / "m.safetensors"), "--data", str(data)]) == 0
    assert "accuracy" in capsys.readouterr().out


def test_softmax_over_batch_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nb.save(nb.nn.Sequential(nb.nn.Linear(4, 3), nb.nn.Softmax(0)), tmp_path / "m.safetensors")
    rows, _ = _rows(tmp_path)
    assert main(["predict", str(tmp_path / "m.safetensors"), str(rows)]) == 1
    _one_line_error(capsys, "axis 0", "classifier")
    out = tmp_path / "p.py"
    assert main(["export", str(tmp_path / "m.safetensors"), "--python", str(out)]) == 1
    _one_line_error(capsys, "axis 0")
    assert not out.exists()


def test_model_without_parameters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nb.save(nb.nn.Sequential(nb.nn.Softmax(-1)), tmp_path / "m.safetensors")
    rows, _ = _rows(tmp_path)
    assert main(["predict", str(tmp_path / "m.safetensors"), str(rows)]) == 1
    _one_line_error(capsys, "how many features")


def test_bad_config_value_refused_at_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nb.save(nb.nn.Sequential(nb.nn.Softmax(dim="abc")), tmp_path / "m.safetensors")  # type: ignore[arg-type]
    assert main(["graph", str(tmp_path / "m.safetensors")]) == 1
    _one_line_error(capsys, "Softmax: dim must be an integer", "'abc'")


def test_long_config_is_shortened(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from nabla.io.model_file import MODEL, write_container

    spec = {"type": "ReLU", "config": {"x": list(range(20_000))}}
    write_container(tmp_path / "m.safetensors", {}, {"architecture": json.dumps(spec)}, MODEL)
    assert main(["graph", str(tmp_path / "m.safetensors")]) == 1
    err = _one_line_error(capsys, "cannot rebuild ReLU")
    assert len(err) < 1000


def test_unexpected_exception_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import nabla.cli.predict

    def boom(args: object) -> int:
        raise AttributeError("something\nbroke")

    monkeypatch.setattr(nabla.cli.predict, "run_predict", boom)
    assert main(["predict", "m", "x"]) == 1
    _one_line_error(capsys, "internal error: AttributeError", "NABLA_DEBUG")
    monkeypatch.setenv("NABLA_DEBUG", "1")
    with pytest.raises(AttributeError):
        main(["predict", "m", "x"])


def test_export_bad_second_destination_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("onnx")
    nb.save(nb.nn.Sequential(nb.nn.Linear(4, 3)), tmp_path / "m.safetensors")
    onnx_file = tmp_path / "a.onnx"
    args = ["export", str(tmp_path / "m.safetensors"), "--onnx", str(onnx_file)]
    assert main([*args, "--python", str(tmp_path / "nodir" / "p.py")]) == 1
    _one_line_error(capsys, "nodir", "does not exist")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]


def test_evaluate_bad_second_destination_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nb.save(nb.nn.Sequential(nb.nn.Linear(2, 2)), tmp_path / "m.safetensors")
    data = tmp_path / "d.csv"
    data.write_text("a,b,y\n" + "".join(f"{i},{-i},{i % 2}\n" for i in range(8)))
    plot = tmp_path / "e.png"
    args = ["evaluate", str(tmp_path / "m.safetensors"), "--data", str(data), "--plot", str(plot)]
    assert main([*args, "--json", str(tmp_path / "nodir" / "e.json")]) == 1
    _one_line_error(capsys, "nodir", "does not exist")
    assert not plot.exists()
    assert main([*args, "--json", str(plot)]) == 1
    _one_line_error(capsys, "two outputs")


def test_headerless_data_points_to_the_target_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = "".join(f"{i % 3 + 0.1 * i},{i % 2},{'ab'[i % 2]}\n" for i in range(30))
    (tmp_path / "named.csv").write_text("f1,f2,label\n" + rows)
    (tmp_path / "bare.csv").write_text(rows)
    out = tmp_path / "run"
    train = ["train", "--data", str(tmp_path / "named.csv"), "--out", str(out)]
    assert main([*train, "--epochs", "1", "--no-progress", "--no-plots"]) == 0
    capsys.readouterr()
    model = str(out / "model.safetensors")
    assert main(["evaluate", model, "--data", str(tmp_path / "bare.csv")]) == 1
    err = _one_line_error(capsys, "'label' is a column name", "--target 2")
    assert "header=True" not in err
    assert main(["evaluate", model, "--data", str(tmp_path / "bare.csv"), "--target", "2"]) == 0


def test_long_class_name_is_shortened_in_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nabla.cli.evaluate import display_names

    shown = display_names(["a", "z" * 130_000, "z" * 130_000])
    assert shown[0] == "a"
    assert all(len(name) < 60 and "130000 chars" in name for name in shown[1:])
    assert len(set(shown)) == 3
