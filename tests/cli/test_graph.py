"""``nabla graph``: the default model or a saved one, drawn for one batch."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from nabla.cli import main
from nabla.viz import dot as dot_module

pytest.importorskip("sklearn")

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is missing")


@needs_dot
def test_default_model_to_svg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "graph.svg"
    assert main(["graph", "--out", str(out), "--batch-size", "8", "--grads"]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    text = "".join(ET.parse(out).getroot().itertext())
    for name in ("0.weight", "0.bias", "2.weight", "2.bias", "linear", "tanh", "cross_entropy"):
        assert name in text
    assert "8×128 float32" in text and "‖∇‖=" in text


def test_dot_format_explain_and_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "graph.dot"
    args = ["graph", "--out", str(out), "--batch-size", "4", "--hidden", "16,8", "--explain"]
    assert main([*args, "--activation", "relu"]) == 0
    dot = out.read_text()
    assert dot.startswith("digraph nabla {")
    assert '"cluster_2"' in dot and "4×16 float32" in dot and "relu" in dot
    printed = capsys.readouterr().out
    assert "backward of cross_entropy" in printed
    assert "∇W = Gᵀ X" in printed and "(8×16) = (4×8)ᵀ·(4×16)" in printed
    assert main(["graph", "--out", str(out), "--no-clusters", "--max-nodes", "3"]) == 0
    dot = out.read_text()
    assert "subgraph" not in dot and "more nodes" in dot


def test_saved_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("safetensors")
    run = tmp_path / "run"
    train = ["train", "--data", "iris", "--epochs", "2", "--hidden", "6", "--out", str(run)]
    assert main([*train, "--no-progress", "--no-plots"]) == 0
    capsys.readouterr()
    out = tmp_path / "iris.dot"
    assert main(["graph", str(run / "model.safetensors"), "--out", str(out)]) == 0
    dot = out.read_text()
    assert "0.weight\\n6×4 float32" in dot  # the saved model: 4 features → 6 hidden units
    assert "8×3 float32" in dot  # 3 classes, 8 rows of iris (the model's training data)


def test_without_graphviz_writes_dot_and_says_how_to_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing(text: str, fmt: str = "svg") -> bytes:
        raise dot_module.GraphvizUnavailable(f"dot was not found; {dot_module.INSTALL_HINT}")

    monkeypatch.setattr(dot_module, "render", missing)
    assert main(["graph", "--out", str(tmp_path / "g.png")]) == 0
    assert (tmp_path / "g.dot").read_text().startswith("digraph")
    assert not (tmp_path / "g.png").exists()
    err = capsys.readouterr().err
    assert "apt-get install graphviz" in err and "dot -Tpng" in err


def test_bad_batch_size(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "--batch-size", "0"]) == 1
    assert "--batch-size must be positive" in capsys.readouterr().err


def test_collapse_values_dpi_and_latex_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--collapse draws one box per module, --no-values drops the data lines, --latex prints
    the trace's LaTeX table, --dpi sets a PNG's resolution; --collapse with --max-nodes is a
    one-line error."""
    full, boxed = tmp_path / "full.dot", tmp_path / "boxed.dot"
    assert main(["graph", "--hidden", "8,8", "--out", str(full)]) == 0
    assert main(["graph", "--hidden", "8,8", "--collapse", "--out", str(boxed)]) == 0
    assert boxed.read_text().count("[label=") < full.read_text().count("[label=")
    assert "data " in full.read_text()
    bare = tmp_path / "bare.dot"
    assert main(["graph", "--no-values", "--out", str(bare)]) == 0
    assert "data " not in bare.read_text()
    capsys.readouterr()
    assert main(["graph", "--explain", "--latex", "--out", str(tmp_path / "g.dot")]) == 0
    assert r"\nabla_W = G^\top X" in capsys.readouterr().out
    assert main(["graph", "--collapse", "--max-nodes", "3", "--out", str(bare)]) == 1
    assert capsys.readouterr().err.count("\n") == 1
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    sizes = []
    for dpi in ("72", "144"):
        png = tmp_path / f"g{dpi}.png"
        assert main(["graph", "--dpi", dpi, "--out", str(png)]) == 0
        header = png.read_bytes()[16:24]
        sizes.append(int.from_bytes(header[:4], "big"))
    assert sizes[1] > 1.8 * sizes[0]
