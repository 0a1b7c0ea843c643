"""The generated NumPy-only predictor, run in a Python that can import NumPy and nothing else."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.data import StandardScaler
from nabla.predictor import write_predictor

TOL = 1e-6

# load the predictor from its path and write its outputs to out.npy
DRIVER = """
import importlib.util, sys
import numpy as np
spec = importlib.util.spec_from_file_location("predictor", sys.argv[1])
predictor = importlib.util.module_from_spec(spec)
spec.loader.exec_module(predictor)
X = np.load("X.npy")
out = predictor.predict_proba(X) if predictor.PROBABILITIES else predictor.forward(X)
np.save("out.npy", out)
print(predictor.predict(X[:3]))
"""


def _models(rng: np.random.Generator) -> dict[str, tuple[nb.nn.Module, tuple[int, ...]]]:
    nb.manual_seed(0)
    bn = nb.nn.MLP([5, 12, 3], activation="leaky_relu", batch_norm=True, dropout=0.4)
    bn.train()
    with nb.no_grad():
        for _ in range(4):
            bn(nb.tensor(rng.normal(1.0, 2.0, size=(16, 5)).astype(np.float32)))
    return {
        "mlp-batchnorm-dropout": (bn, (5,)),
        "logistic-binary": (nb.nn.LogisticRegression(5, 2), (5,)),
        "mlp-float64": (nb.nn.MLP([5, 8, 4], activation="sigmoid").double(), (5,)),
        "flatten-relu-logsoftmax": (
            nb.nn.Sequential(
                nb.nn.Flatten(),
                nb.nn.Linear(6, 4),
                nb.nn.ReLU(),
                nb.nn.Linear(4, 3),
                nb.nn.LogSoftmax(dim=1),
            ),
            (2, 3),
        ),
    }


@pytest.mark.parametrize("embed", [True, False], ids=["embedded", "sibling-npz"])
@pytest.mark.parametrize("name", ["mlp-batchnorm-dropout", "logistic-binary", "mlp-float64"])
def test_predictor_matches_predict_proba_with_only_numpy(
    tmp_path: Path,
    rng: np.random.Generator,
    numpy_only_python: Callable[..., Any],
    name: str,
    embed: bool,
) -> None:
    model, shape = _models(rng)[name]
    raw = rng.normal(3.0, 2.0, size=(40, *shape))
    scaler = StandardScaler().fit(raw)
    path = write_predictor(model, tmp_path / "predictor.py", scaler=scaler, embed=embed)
    assert (tmp_path / "predictor.npz").exists() != embed
    np.save(tmp_path / "X.npy", raw)
    result = numpy_only_python("-c", DRIVER, str(path))
    expected = model.predict_proba(scaler.transform(raw).astype(model.dtype))
    got = np.load(tmp_path / "out.npy")
    assert got.dtype == model.dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)
    assert result.stdout.count("'") == 6  # three class names, quoted


def test_raw_outputs_and_other_input_shapes(
    tmp_path: Path, rng: np.random.Generator, numpy_only_python: Callable[..., Any]
) -> None:
    model, shape = _models(rng)["flatten-relu-logsoftmax"]
    x = rng.normal(size=(7, *shape)).astype(np.float32)
    path = write_predictor(model, tmp_path / "p.py", probabilities=False, example_input=x)
    np.save(tmp_path / "X.npy", x)
    numpy_only_python("-c", DRIVER, str(path))
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), model(nb.tensor(x)).data, atol=TOL)
    # as a command: a CSV row holds one input, flattened (nabla predict reads such a model's
    # first Linear's width of unnamed columns), reshaped to (2, 3) before the network
    rows = "\n".join(",".join(repr(float(v)) for v in row) for row in x.reshape(len(x), -1))
    (tmp_path / "rows.csv").write_text(rows + "\n")
    out = numpy_only_python(str(path), "rows.csv").stdout.splitlines()
    assert out[0] == "row,output0,output1,output2"
    printed = np.array([[float(v) for v in line.split(",")[1:]] for line in out[1:]])
    np.testing.assert_allclose(printed, model(nb.tensor(x)).data, rtol=1e-6, atol=1e-7)


def test_command_line_reads_csv_by_feature_name(
    tmp_path: Path, rng: np.random.Generator, numpy_only_python: Callable[..., Any]
) -> None:
    model = nb.nn.MLP([3, 6, 2])
    names = ["a", "b", "c"]
    path = write_predictor(
        model, tmp_path / "p.py", class_names=["no", "yes"], feature_names=names
    )
    x = rng.normal(size=(4, 3)).astype(np.float32)
    # columns in another order, plus one the model does not use
    rows = ["c,extra,a,b"] + [f"{r[2]},9,{r[0]},{r[1]}" for r in x.tolist()]
    (tmp_path / "rows.csv").write_text("\n".join(rows) + "\n")
    out = numpy_only_python(str(path), "rows.csv").stdout.splitlines()
    assert out[0] == "row,predicted,p_no,p_yes"
    proba = np.array([[float(v) for v in line.split(",")[2:]] for line in out[1:]])
    np.testing.assert_allclose(proba, model.predict_proba(x), atol=1e-5)  # printed with 6 digits
    assert [line.split(",")[1] for line in out[1:]] == [["no", "yes"][i] for i in model.predict(x)]


@pytest.mark.parametrize(
    ("layers", "to_proba"),
    [
        ([nb.nn.Linear(8, 3), nb.nn.Softmax(-1)], lambda out: out),
        ([nb.nn.Linear(8, 3), nb.nn.LogSoftmax(dim=1)], np.exp),
        ([nb.nn.Linear(8, 1), nb.nn.Sigmoid()], lambda p: np.concatenate([1 - p, p], axis=1)),
    ],
    ids=["softmax", "log-softmax", "sigmoid"],
)
def test_a_model_that_ends_in_probabilities_is_not_squashed_twice(
    tmp_path: Path,
    rng: np.random.Generator,
    numpy_only_python: Callable[..., Any],
    layers: list[nb.nn.Module],
    to_proba: Callable[[np.ndarray], np.ndarray],
) -> None:
    nb.manual_seed(0)
    model = nb.nn.Sequential(nb.nn.Linear(4, 8), nb.nn.Tanh(), *layers)
    path = write_predictor(model, tmp_path / "predictor.py")
    x = rng.normal(size=(6, 4)).astype(np.float32)
    np.save(tmp_path / "X.npy", x)
    numpy_only_python("-c", DRIVER, str(path))
    expected = to_proba(model(nb.tensor(x)).data)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, rtol=0, atol=TOL)


# run the predictor's command line on each CSV named after it, in one process
CHECK = """
import contextlib, importlib.util, io, json, sys
spec = importlib.util.spec_from_file_location("predictor", sys.argv[1])
predictor = importlib.util.module_from_spec(spec)
spec.loader.exec_module(predictor)
results = []
for path in sys.argv[2:]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = predictor.main([path])
    results.append([status, out.getvalue(), err.getvalue()])
print(json.dumps(results))
"""

# nabla predict's messages (tests/test_predictor_agrees.py compares the two on every file)
BAD_CSVS = {
    # another data set's file: more columns than the model has, none of its names
    "other-data": ("w1,w2,w3,w4,w5\n1,2,3,4,5\n", ["missing column(s) 'a', 'b', 'c'", "unknown"]),
    "renamed": ("a,b,z\n1,2,3\n", ["missing column(s) 'c'; unknown column(s) 'z'"]),
    "too-wide": ("1,2,3,4,5\n", ["has 5 features, but the model was trained on 3"]),
    "nan": ("a,b,c\n1,2,3\n4,nan,6\n", ["row 3, column 'b'", "this model refuses missing"]),
    "inf": ("a,b,c\n1,2,-inf\n", ["row 2, column 'c'", "value '-inf' is infinite"]),
    "empty-cell": ("a,b,c\n1,,3\n", ["row 2, column 'b'", "missing value"]),
    "text": ("a,b,c\n1,two,3\n", ["row 2, column 'b'", "non-numeric value 'two'"]),
    "ragged": ("a,b,c\n1,2\n", ["row 2 has 2 cells, but row 1 has 3"]),
    "header-only": ("a,b,c\n", ["has a header row but no data rows"]),
    "empty-file": ("", ["file is empty"]),
    "absent": (None, ["file not found"]),
    # no warning printed before the error (NumPy's overflow in cast)
    "overflow": ("a,b,c\n1e39,1,2\n", ["row 2, column 'a'", "'1e39' is beyond float32's"]),
    # headerless, an empty first-row cell: data, as nabla predict reads it, not a header (the
    # file's col0..col2 taken in order, named as the model's columns)
    "headerless-empty": ("1,,3\n4,5,6\n", ["row 1, column 'b'", "missing value"]),
}


def test_command_line_validates_like_nabla_predict(
    tmp_path: Path, numpy_only_python: Callable[..., Any]
) -> None:
    path = write_predictor(nb.nn.MLP([3, 4, 2]), tmp_path / "p.py", feature_names=["a", "b", "c"])
    for name, (text, _) in BAD_CSVS.items():
        if text is not None:
            (tmp_path / f"{name}.csv").write_text(text)
    files = [f"{name}.csv" for name in BAD_CSVS]
    results = json.loads(numpy_only_python("-c", CHECK, str(path), *files).stdout)
    for (name, (_, fragments)), (status, out, err) in zip(BAD_CSVS.items(), results):
        assert status == 1 and out == "", name
        assert err.startswith(f"p.py: error: {name}.csv: ") and len(err.splitlines()) == 1, err
        for fragment in fragments:
            assert fragment in err, err


def test_command_line_exits_1_without_traceback(
    tmp_path: Path, numpy_only_python: Callable[..., Any]
) -> None:
    path = write_predictor(nb.nn.MLP([3, 2]), tmp_path / "p.py", feature_names=["a", "b", "c"])
    (tmp_path / "wine.csv").write_text("alcohol,malic_acid,ash,magnesium\n13.2,1.8,2.1,100\n")
    with pytest.raises(subprocess.CalledProcessError) as info:  # the harness checks the status
        numpy_only_python(str(path), "wine.csv")
    assert info.value.returncode == 1 and info.value.stdout == ""
    assert info.value.stderr.startswith("p.py: error: wine.csv: its columns do not match")
    assert "Traceback" not in info.value.stderr


def test_forward_refuses_non_finite_rows(tmp_path: Path) -> None:
    import runpy

    predictor = runpy.run_path(str(write_predictor(nb.nn.MLP([3, 2]), tmp_path / "p.py")))
    rows = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, np.nan]])
    with pytest.raises(ValueError, match=r"X\[1, 2\] = nan is not finite"):
        predictor["forward"](rows)
    # raw rows go through the model's preprocessing first: a model file without one refuses
    # missing values, as nabla predict does (Preprocessing.from_legacy)
    with pytest.raises(ValueError, match=r"row 2, column 'col2': missing value"):
        predictor["predict_proba"](rows)


def test_header_rule_is_nabla_predicts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import runpy

    from nabla.cli import main

    model = nb.nn.MLP([3, 2])
    nb.save(model, tmp_path / "m.safetensors")
    predictor = runpy.run_path(str(write_predictor(model, tmp_path / "p.py")))
    for text in ["1,,3\n4,5,6\n", "x,y,z\n4,5,6\n", "1,2,3\n", "col0,col1,col2\n1,2,3\n"]:
        (tmp_path / "rows.csv").write_text(text)
        ours = main(["predict", str(tmp_path / "m.safetensors"), str(tmp_path / "rows.csv")])
        cli = capsys.readouterr()
        theirs = predictor["main"]([str(tmp_path / "rows.csv")])
        exported = capsys.readouterr()
        assert ours == theirs, text
        assert cli.out == exported.out, text
        if ours:
            assert cli.err.split(": error: ")[1] == exported.err.split(": error: ")[1], text


def test_command_line_survives_a_closed_pipe(tmp_path: Path) -> None:
    import sys

    path = write_predictor(nb.nn.MLP([3, 2]), tmp_path / "p.py")
    (tmp_path / "rows.csv").write_text("1,2,3\n" * 20_000)  # more than a pipe buffer holds
    child = subprocess.Popen(
        [sys.executable, str(path), "rows.csv"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    assert child.stdout.readline().startswith(b"row,predicted")
    child.stdout.close()  # `| head -1`
    with child.stderr:
        err = child.stderr.read()
    assert child.wait(timeout=60) == 0, err
    assert err == b""


def test_the_reader_is_nablas_own_code(tmp_path: Path) -> None:
    """One implementation: nabla predict's reading functions appear in the file verbatim."""
    import inspect

    from nabla.data import column_encode, csv_loader, table, table_numpy, table_reader, tabular

    text = write_predictor(nb.nn.MLP([3, 2]), tmp_path / "p.py").read_text()
    functions = [
        table.read_table,
        table_reader.read_parts,
        table_reader.sniff_delimiter,
        table_numpy.has_header_row,
        csv_loader._detect_header,
        table_numpy.iter_rows,
        table_numpy.read_columns,
        tabular.match_features,
        column_encode.encode_columns,
    ]
    for function in functions:
        assert inspect.getsource(function) in text, function.__name__
    assert "def _read_rows(" not in text and "def _read_csv(" not in text  # no second reader
