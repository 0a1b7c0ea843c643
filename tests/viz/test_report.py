"""``nabla train --report``: one self-contained page, rendered in headless Chromium."""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from nabla.cli import main

pytest.importorskip("sklearn")
pytest.importorskip("safetensors")
pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
CHROMEDRIVER = shutil.which("chromedriver")
BROWSER_FLAGS = [
    "--headless=new",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    args = ["train", "--report", "--epochs", "4", "--hidden", "32,16", "--out", str(out)]
    assert main([*args, "--no-progress", "--no-plots"]) == 0
    return out / "report.html"


def test_report_is_self_contained(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    # no network: no scripts, stylesheets, frames or remote URLs of any kind
    assert not re.search(r"<(script|link|iframe|object|embed)\b", page, re.IGNORECASE)
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:|#)""", page, re.IGNORECASE)
    assert "url(" not in page and "@import" not in page
    images = re.findall(r'<img id="([\w-]+)"[^>]*src="data:image/png;base64,([^"]+)"', page)
    assert [name for name, _ in images] == [
        "curves",
        "grad-norms",
        "grad-hist",
        "weight-hist",
        "study",
    ]
    for _, data in images:
        with Image.open(io.BytesIO(base64.b64decode(data))) as image:
            assert image.format == "PNG" and image.width > 300
    graph = page[page.index('<div id="graph">') :]
    assert graph.startswith('<div id="graph"><svg')  # inline SVG, no XML prolog
    for name in ("0.weight", "2.weight", "4.weight", "cross_entropy"):
        assert name in graph
    assert "→ 0.weight.grad" in page  # the backward trace
    for setting in ("activation", "tanh", "batch_size", "weight_decay", "epochs"):
        assert f"<td>{setting}</td>" in page


def _nonblank(png: bytes) -> float:
    with Image.open(io.BytesIO(png)) as image:
        return float(np.asarray(image.convert("L"), dtype=np.float64).std())


@pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"
)
def test_report_renders_in_headless_chromium_cli(report: Path, tmp_path: Path) -> None:
    """Chromium's own command line: console messages go to stderr, the screenshot to a file."""
    shot = tmp_path / "shot.png"
    done = subprocess.run(
        [
            str(CHROMIUM),
            *BROWSER_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1200,2400",
            f"--screenshot={shot}",
            report.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []  # the page has no script: any console message is an error
    assert "ERR_" not in done.stderr  # no failed (network) loads
    assert _nonblank(shot.read_bytes()) > 20


@pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)",
)
def test_report_renders_in_headless_chromium(
    report: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through WebDriver: the browser's console log, what loaded, and where things are drawn."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # never let Selenium Manager download a driver
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in [*BROWSER_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]:
        options.add_argument(flag)
    options.add_argument("--window-size=1200,900")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        driver.set_page_load_timeout(60)
        driver.get(report.as_uri())
        assert driver.execute_script("return document.readyState") == "complete"
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
        assert errors == []
        fetched = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
        )
        assert all(url.startswith("data:") for url in fetched), fetched  # nothing from outside
        images = driver.execute_script(
            "return [...document.images].map(i => [i.id, i.complete, i.naturalWidth,"
            " i.getBoundingClientRect().width])"
        )
        assert {name for name, *_ in images} == {
            "curves",
            "grad-norms",
            "grad-hist",
            "weight-hist",
            "study",
        }
        for name, complete, natural, shown in images:
            assert complete and natural > 300 and shown > 300, name
        graph = driver.execute_script(
            "const s = document.querySelector('#graph svg'); const r = s.getBoundingClientRect();"
            "return [r.width, r.height, s.textContent]"
        )
        assert graph[0] > 200 and graph[1] > 200 and "0.weight" in graph[2]
        # the whole page, then the curves and the graph: each drawn, none blank
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1200, min(int(height) + 200, 8000))
        shot = driver.get_screenshot_as_png()
        assert _nonblank(shot) > 20
        with Image.open(io.BytesIO(shot)) as page:
            for selector in ("#curves", "#graph svg"):
                box = driver.execute_script(
                    "const r = document.querySelector(arguments[0]).getBoundingClientRect();"
                    "return [r.left, r.top + window.scrollY, r.right, r.bottom + window.scrollY]",
                    selector,
                )
                region = page.crop(tuple(int(v) for v in box)).convert("L")
                assert np.asarray(region, dtype=np.float64).std() > 20, selector
    finally:
        driver.quit()
    assert os.path.getsize(report) < 2_000_000


def test_report_without_graphviz_embeds_the_dot_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nabla as nb
    from nabla.viz import dot as dot_module
    from nabla.viz.report import write_training_report

    def missing(text: str, fmt: str = "svg") -> bytes:
        raise dot_module.GraphvizUnavailable("dot was not found")

    monkeypatch.setattr(dot_module, "render", missing)
    model = nb.nn.MLP([4, 5, 3], dropout=0.5)  # dropout draws from the global generator
    X = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    history = [
        {
            "epoch": 1,
            "train_loss": 1.0,
            "train_accuracy": 0.5,
            "val_loss": None,
            "val_accuracy": None,
        },
    ]
    state = nb.get_rng_state()
    path = write_training_report(
        tmp_path / "report.html",
        model=model,
        loss_fn=model.loss,
        batch=(X, np.arange(6) % 3),
        history=history,
        results={"test": {"accuracy": 0.5, "loss": 1.0, "samples": 6}},
        settings={"epochs": 1},
    )
    page = path.read_text(encoding="utf-8")
    assert '<pre id="graph">digraph nabla {' in page
    assert "apt-get install graphviz" in page
    assert "0.weight\\n5×4 float32" in page
    assert "grad-norms" not in page  # no LayerMonitor, no gradient charts
    assert nb.get_rng_state() == state


def test_the_gradient_note_states_what_this_run_showed() -> None:
    """The report's gradient note quotes this run's first-layer / last-layer gradient ratio,
    computed from the recorded norms, instead of claiming an effect the run may not show."""
    from nabla.training.callbacks import LayerMonitor
    from nabla.viz.report import _first_over_last

    monitor = LayerMonitor()
    monitor.names = ["0.weight", "2.weight", "4.weight"]
    monitor.epochs = [1]
    monitor.grad_norms = {
        "0.weight": [np.array([1e-3, 2e-3, 3e-3])],
        "2.weight": [np.array([0.1])],
        "4.weight": [np.array([0.5, 0.4, np.nan])],
    }
    note = _first_over_last(monitor)
    assert f"{np.median([1e-3, 2e-3, 3e-3]) / np.median([0.5, 0.4]):.2g}×" in note
    assert "0.weight against 4.weight" in note
