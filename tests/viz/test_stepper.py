"""``nb.viz.stepper`` / ``nabla explore``: the step-through page's numbers, orders and branch
sums against PyTorch and closed forms, and the page itself driven in headless Chromium."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nabla as nb
from nabla.cli import main
from nabla.cli.explore import logistic_example, micrograd_example, mlp_example
from nabla.errors import GraphError

torch = pytest.importorskip("torch")

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
CHROMEDRIVER = shutil.which("chromedriver")
DATA = re.compile(r'<script type="application/json" id="stepper-data">(.*?)</script>', re.DOTALL)


def page_data(path: Path) -> dict[str, Any]:
    match = DATA.search(path.read_text(encoding="utf-8"))
    assert match is not None
    return json.loads(match.group(1))  # type: ignore[no-any-return]


def by_name(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["name"]: n for n in data["nodes"]}


def numbers(entry: dict[str, Any]) -> np.ndarray[Any, Any]:
    return np.asarray(entry["data"], dtype=np.float64).reshape(entry["shape"])


def torch_micrograd() -> dict[str, Any]:
    a, b, c = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (2.0, -3, 6.5))
    e = a * b
    d = e + c
    f = d * a
    loss = torch.tanh(f)
    for t in (e, d, f, loss):
        t.retain_grad()
    loss.backward()
    return {"a": a, "b": b, "c": c, "e": e, "d": d, "f": f, "L": loss}


def torch_logistic() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    X = torch.tensor(rng.standard_normal((4, 3)))
    y = torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=torch.float64)
    w = torch.tensor(rng.standard_normal(3) * 0.5, requires_grad=True)
    b = torch.tensor(0.1, dtype=torch.float64, requires_grad=True)
    z = X @ w + b
    p = torch.sigmoid(z)
    loss = torch.nn.functional.binary_cross_entropy(p, y)
    for t in (z, p, loss):
        t.retain_grad()
    loss.backward()
    return {"X": X, "w": w, "b": b, "z": z, "p": p, "loss": loss}


def torch_mlp() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    X = torch.tensor(rng.standard_normal((3, 4)))
    W1 = torch.tensor(rng.standard_normal((5, 4)) * 0.5, requires_grad=True)
    b1 = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    W2 = torch.tensor(rng.standard_normal((3, 5)) * 0.5, requires_grad=True)
    b2 = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    H = torch.tanh(X @ W1.T + b1)
    logits = H @ W2.T + b2
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor([0, 2, 1]))
    for t in (H, logits, loss):
        t.retain_grad()
    loss.backward()
    return {"X": X, "W1": W1, "b1": b1, "W2": W2, "b2": b2, "H": H, "Y~": logits, "loss": loss}


EXAMPLES = {
    "micrograd": (micrograd_example, torch_micrograd),
    "logistic": (logistic_example, torch_logistic),
    "mlp": (mlp_example, torch_mlp),
}


@pytest.fixture(scope="module", params=sorted(EXAMPLES))
def example(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    build, oracle = EXAMPLES[request.param]
    path = tmp_path_factory.mktemp("pages") / f"{request.param}.html"
    loss, names = build()
    nb.viz.stepper(loss, path, names=names)
    return request.param, path, loss, oracle()


def test_values_and_gradients_match_pytorch(example: Any) -> None:
    _, path, _, truth = example
    nodes = by_name(page_data(path))
    for name, t in truth.items():
        node = nodes[name]
        np.testing.assert_allclose(numbers(node["value"]), t.detach().numpy(), rtol=1e-6)
        if t.requires_grad:
            np.testing.assert_allclose(numbers(node["grad"]), t.grad.numpy(), rtol=1e-5)
        else:
            assert node["grad"] is None


def test_contributions_add_up_to_each_gradient(example: Any) -> None:
    """Every gradient a node receives, summed, is its total gradient (the branch rule), and
    each op step's g is the gradient of its node."""
    _, path, _, _ = example
    data = page_data(path)
    nodes = {n["id"]: n for n in data["nodes"]}
    sent: dict[str, list[np.ndarray[Any, Any]]] = {}
    for step in data["steps"]:
        if step["phase"] != "backward":
            continue
        node = nodes[step["node"]]
        if node["op"]:
            np.testing.assert_allclose(numbers(step["g"]), numbers(node["grad"]), rtol=1e-6)
        if step["received"]:  # everything sent to this node arrived before its turn
            assert len(step["received"]) == len(sent[step["node"]])
            np.testing.assert_allclose(
                numbers(step["received"][-1]["total"]), numbers(node["grad"]), rtol=1e-5
            )
        for term in step["terms"]:
            sent.setdefault(term["input"], []).append(numbers(term["contribution"]))
    for node_id, parts in sent.items():
        np.testing.assert_allclose(sum(parts), numbers(nodes[node_id]["grad"]), rtol=1e-5)


def test_forward_then_backward_in_order(example: Any) -> None:
    name, path, _, _ = example
    data = page_data(path)
    nodes = {n["id"]: n for n in data["nodes"]}
    phases = [s["phase"] for s in data["steps"]]
    n_forward = phases.count("forward")
    assert phases == ["forward"] * n_forward + ["backward"] * (len(phases) - n_forward)
    forward = [s["node"] for s in data["steps"][:n_forward]]
    backward = [s["node"] for s in data["steps"][n_forward:]]
    ops = [i for i, n in nodes.items() if n["op"]]
    assert sorted(forward) == sorted(ops)
    done: set[str] = set()
    for node_id in forward:  # each op after the ops that made its inputs
        assert all(i in done or not nodes[i]["op"] for i in nodes[node_id]["inputs"])
        done.add(node_id)
    assert forward[-1] == "n0" and backward[0] == "n0"  # the loss: made last, visited first
    for k, node_id in enumerate(backward):  # a node only after every op that uses it
        users = [i for i in ops if node_id in nodes[i]["inputs"]]
        assert all(u in backward[:k] for u in users)
    names = [nodes[i]["name"] for i in backward]
    if name == "micrograd":  # L = tanh(d·a), d = e + c, e = a·b; leaves as gradients arrive
        assert [nodes[i]["name"] for i in forward] == ["e", "d", "f", "L"]
        assert names == ["L", "f", "d", "e", "a", "c", "b"]


def test_branch_shows_the_sum(tmp_path: Path) -> None:
    """``a`` feeds f = d·a and e = a·b: two contributions, s·d and s·a·b where
    s = 1 − tanh²(1) (a = 2, b = −3, c = 6.5: d = 0.5, f = 1), whose sum is
    dL/da = s(2ab + c)."""
    loss, names = micrograd_example()
    data = page_data(nb.viz.stepper(loss, tmp_path / "p.html", names=names))
    step = next(s for s in data["steps"] if s["phase"] == "backward" and s["line"][:2] == "∇a")
    slope = 1 - np.tanh(1.0) ** 2
    received = step["received"]
    assert [r["from"] for r in received] == ["f", "e"]
    np.testing.assert_allclose(
        [r["add"]["data"] for r in received], [slope * 0.5, slope * 2.0 * -3.0], rtol=1e-5
    )
    np.testing.assert_allclose(received[1]["total"]["data"], slope * (2 * 2 * -3 + 6.5), rtol=1e-5)
    terms = [t for s in data["steps"] for t in s.get("terms", []) if t["input_name"] == "a"]
    assert [(t["count"], t["of"]) for t in terms] == [(1, 2), (2, 2)]
    assert loss.grad is None and all(t.grad is None for t in names.values())


def test_rule_numbers_are_substituted(tmp_path: Path) -> None:
    a = nb.tensor(2.0, requires_grad=True, name="a")
    b = nb.tensor(-3.0, requires_grad=True, name="b")
    data = page_data(nb.viz.stepper(a * b, tmp_path / "p.html"))
    step = next(s for s in data["steps"] if s["phase"] == "backward")
    contributions = {t["input_name"]: t["contribution"]["data"] for t in step["terms"]}
    assert contributions == {"a": -3.0, "b": 2.0}  # ∂(ab)/∂a = b, ∂(ab)/∂b = a
    for term in step["terms"]:  # "∇x = g ⊙ y" becomes "∇x = 1 ⊙ -3"
        assert "g" not in term["numbers"].split("=", 1)[1]
        assert "1" in term["numbers"]


def test_large_tensors_show_shape_and_summary(tmp_path: Path) -> None:
    w = nb.tensor(np.arange(30.0).reshape(5, 6), requires_grad=True, name="w")
    data = page_data(nb.viz.stepper((w * w).sum(), tmp_path / "p.html", max_elements=10))
    node = by_name(data)["w"]
    assert node["value"]["data"] is None and node["value"]["text"] == "5×6 array"
    assert "max 29" in node["value"]["summary"] and "max 58" in node["grad"]["summary"]


def test_page_is_offline_and_works_without_graphviz(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nabla.viz import dot as dot_module

    loss, names = mlp_example()
    page = nb.viz.stepper(loss, tmp_path / "g.html", names=names).read_text(encoding="utf-8")

    def missing(text: str, fmt: str = "svg") -> bytes:
        raise dot_module.GraphvizUnavailable("dot was not found")

    monkeypatch.setattr(dot_module, "render", missing)
    fallback = nb.viz.stepper(loss, tmp_path / "f.html", names=names).read_text("utf-8")
    n_nodes = len(page_data(tmp_path / "f.html")["nodes"])
    for text in (page, fallback):
        assert text.startswith("<!DOCTYPE html>")
        assert "http://" not in text and "https://" not in text
        assert not re.search(r"""(src|href)\s*=""", text)
        titles = set(re.findall(r"<title>(n\d+)</title>", text))
        assert titles == {f"n{i}" for i in range(n_nodes)}


def test_errors(tmp_path: Path) -> None:
    x = nb.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GraphError, match="scalar"):
        nb.viz.stepper(x * 2, tmp_path / "p.html")
    with pytest.raises(GraphError, match="no recorded graph"):
        nb.viz.stepper(x, tmp_path / "p.html")
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(GraphError, match="freed"):
        nb.viz.stepper(loss, tmp_path / "p.html")


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "steps.html"
    assert main(["explore", "--example", "logistic", "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert by_name(page_data(out))["loss"]["grad"]["data"] == 1.0
    assert main(["explore", "--max-elements", "-1", "--out", str(out)]) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "--max-elements" in error


def test_cli_saved_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A trained model's loss on the first 3 rows of its data: the page's parameter
    gradients are those nb.grad gives for the same model and rows."""
    pytest.importorskip("safetensors")
    pytest.importorskip("sklearn")
    from nabla.cli.evaluate import load_model_and_metadata

    run = tmp_path / "run"
    train = ["train", "--data", "iris", "--epochs", "2", "--hidden", "5", "--out", str(run)]
    assert main([*train, "--no-progress", "--no-plots"]) == 0
    out = tmp_path / "model.html"
    model_file = str(run / "model.safetensors")
    assert main(["explore", model_file, "--rows", "3", "--out", str(out)]) == 0
    assert "3 rows" in capsys.readouterr().out
    nodes = by_name(page_data(out))
    rows = numbers(nodes["X"]["value"])
    assert rows.shape == (3, 4)
    model, _ = load_model_and_metadata(model_file)
    model.eval()
    labels = numbers(nodes["y"]["value"]).astype(np.int64)
    loss = model.loss(model(nb.tensor(rows.astype(np.float32))), nb.tensor(labels))
    root = next(n for n in nodes.values() if n["id"] == "n0")
    np.testing.assert_allclose(root["value"]["data"], loss.item(), rtol=1e-5)
    params = dict(model.named_parameters())
    grads = nb.grad(loss, list(params.values()))
    for (name, _), g in zip(params.items(), grads):
        np.testing.assert_allclose(numbers(nodes[name]["grad"]), g.numpy(), rtol=1e-4, atol=1e-6)
    assert main(["explore", model_file, "--example", "mlp", "--out", str(out)]) == 1
    assert "not both" in capsys.readouterr().err


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Any:
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("Chromium and chromedriver are not installed (apt install chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_OFFLINE", "true")  # never let Selenium Manager download a driver
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        profile = tmp_path_factory.mktemp("profile")
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--no-first-run",
                     f"--user-data-dir={profile}", "--window-size=1400,900"):  # fmt: skip
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield browser
    browser.quit()


def _shown(entry: dict[str, Any]) -> str:
    return str(entry["text"])


def test_page_steps_in_headless_chromium(example: Any, driver: Any) -> None:
    """Every step, by the right arrow key: the highlighted node and the panel show the node
    nabla computed, its value and (backward) its gradient; the slider and buttons move."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    _, path, _, _ = example
    data = page_data(path)
    nodes = {n["id"]: n for n in data["nodes"]}
    driver.get(path.as_uri())
    assert driver.execute_script("return document.readyState") == "complete"
    body = driver.find_element(By.TAG_NAME, "body")

    def state() -> list[str]:
        return driver.execute_script(  # type: ignore[no-any-return]
            "const c = document.querySelectorAll('#graph g.node.current title');"
            "return [c.length === 1 ? c[0].textContent : String(c.length),"
            " document.getElementById('node-name').textContent,"
            " document.getElementById('panel').textContent,"
            " document.getElementById('slider').value]"
        )

    for k, step in enumerate(data["steps"]):
        if k:
            body.send_keys(Keys.ARROW_RIGHT)
        current, title, panel, slider = state()
        node = nodes[step["node"]]
        assert (current, slider) == (step["node"], str(k))
        assert title.startswith(node["name"])
        assert _shown(node["value"]) in panel
        if step["phase"] == "backward":
            assert f"{step['phase'].capitalize()} · step {k + 1}" in panel
            assert _shown(node["grad"]) in panel
            for term in step["terms"]:
                assert _shown(term["contribution"]) in panel
    body.send_keys(Keys.ARROW_RIGHT)  # past the end it stays on the last step
    assert state()[3] == str(len(data["steps"]) - 1)
    driver.execute_script(
        "const s = document.getElementById('slider'); s.value = '1';"
        "s.dispatchEvent(new Event('input'))"
    )
    assert state()[0] == data["steps"][1]["node"]
    driver.find_element(By.ID, "prev").click()
    assert state()[0] == data["steps"][0]["node"]
    driver.find_element(By.ID, "next").click()
    assert state()[3] == "1"
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert errors == []
    fetched = driver.execute_script("return performance.getEntriesByType('resource').length")
    assert fetched == 0  # nothing loaded from anywhere
    Image = pytest.importorskip("PIL.Image")
    with Image.open(io.BytesIO(driver.get_screenshot_as_png())) as shot:
        assert np.asarray(shot.convert("L"), dtype=np.float64).std() > 20
