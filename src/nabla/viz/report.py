"""``nabla train --report``: one self-contained HTML page about a training run.

Everything is inline (PNG charts as data URIs, the model graph as SVG, CSS in a ``<style>``),
with no script and no network access, so the file can be mailed or opened offline. Charts are
drawn with matplotlib's object-oriented API (no pyplot, so a notebook's backend is untouched).
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nabla.errors import NablaError
from nabla.training.callbacks import LayerMonitor
from nabla.viz.report_charts import (
    activation_study_chart,
    curves_chart,
    grad_norm_chart,
    has_accuracy,
    histogram_chart,
)

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0 auto;
       max-width: 1100px; padding: 1.5em; color: #222; background: #fff; line-height: 1.45; }
h1 { margin-bottom: 0.1em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em;
       margin-top: 1.6em; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5em 0; }
td, th { border: 1px solid #ddd; padding: 0.25em 0.7em; text-align: left; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
img.chart { max-width: 100%; height: auto; display: block; margin: 0.5em 0; }
#graph svg { max-width: 100%; height: auto; }
pre { background: #f7f7f7; border: 1px solid #e3e3e3; padding: 0.7em; overflow-x: auto;
      font-size: 0.85em; }
.note { color: #555; font-size: 0.95em; }
"""


def require_matplotlib() -> None:
    """Raise a one-line error when matplotlib (needed for the charts) is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise NablaError("the report's charts need matplotlib: pip install 'nabla[plot]'") from exc


def _table(rows: Sequence[Sequence[Any]], header: Sequence[str] | None = None) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f'<td class="num">{value:.4f}</td>'
        if isinstance(value, int) and not isinstance(value, bool):
            return f'<td class="num">{value}</td>'
        return f"<td>{html.escape('-' if value is None else str(value))}</td>"

    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
    out += ["<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows]
    out.append("</table>")
    return "\n".join(out)


def _inline_svg(svg: str) -> str:
    """Graphviz SVG without its XML prolog, DOCTYPE and comments, ready to inline in HTML."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def _img(element_id: str, alt: str, src: str) -> str:
    return f'<img id="{element_id}" class="chart" alt="{html.escape(alt)}" src="{src}">'


def _note(text: str) -> str:
    return f'<p class="note">{text}</p>'


GRAPH_NOTE = (
    "Drawn at the start of training (initialisation, or the checkpoint a resumed run started "
    "from), where the gradients are those the first steps saw. Forward direction, top to "
    "bottom: blue boxes are parameters, yellow ones ops, the red one the loss; each node shows "
    "its output shape and the gradient of the loss with respect to it (shape and norm)."
)
GRADIENT_NOTE = (
    "Each backward step multiplies the gradient by the activation's derivative once per "
    "layer: σ′ ≤ ¼ for sigmoid, tanh′ ≤ 1, ReLU′ ∈ {0, 1}. With sigmoid and several hidden "
    "layers the first layers' gradients start orders of magnitude below the last layer's "
    "(vanishing gradients: docs/tutorials/07_vanishing_gradients.py) and those layers learn "
    "slowly; with one hidden layer the factor is at most ¼, and with tanh or ReLU the layers' "
    "gradients stay comparable."
)
NO_GRAPHVIZ_NOTE = (
    "Graphviz's <code>dot</code> was not found, so the graph is given as DOT text (install "
    "Graphviz, e.g. <code>apt-get install graphviz</code>, and train again, or paste it into "
    "any Graphviz viewer)."
)


def _first_over_last(monitor: LayerMonitor) -> str:
    """What this run showed: the first layer's median gradient norm over the last layer's, in
    the first epoch recorded."""
    names = monitor.names
    if len(names) < 2 or not monitor.epochs:
        return ""
    first, last = (monitor.grad_norms[n][0] for n in (names[0], names[-1]))
    first, last = first[np.isfinite(first)], last[np.isfinite(last)]
    if not first.size or not last.size or np.median(last) == 0:
        return ""
    ratio = float(np.median(first) / np.median(last))
    return (
        f" In this run's epoch {monitor.epochs[0]}, the first layer's median gradient norm was "
        f"{ratio:.2g}× the last layer's ({names[0]} against {names[-1]})."
    )


def _study_parts(studies: Sequence[Any] | None) -> list[str]:
    """The vanishing-gradient study: the chart and one line per activation."""
    if not studies:
        return []
    widths = "-".join(str(w) for w in studies[0].widths)
    rows = [
        [s.activation, s.grad_norms[0][0] / s.grad_norms[0][-1], max(s.saturated[-1]), s.accuracy]
        for s in studies
    ]
    return [
        '<h2 id="study-title">Vanishing gradients: the same network with each activation</h2>',
        _note(
            f"Hidden layers {widths}, {len(studies[0].grad_norms) - 1} epochs from one seed for "
            "each activation. Each layer multiplies the gradient on its way down by f′(Z) "
            "(σ′ ≤ ¼): with sigmoid the first layer's gradient starts far below the last's."
        ),
        _img(
            "study",
            "per-layer gradient norms and saturated units",
            activation_study_chart(studies),
        ),
        _table(
            rows, ["activation", "first / last ‖∇W‖ at init", "most saturated layer", "accuracy"]
        ),
    ]


def _classification_parts(classification: tuple[str, Any] | None) -> list[str]:
    """Per-class precision, recall, F1 and support, and the confusion matrix, as tables."""
    if classification is None:
        return []
    split, report = classification
    names = report.class_names
    per_class = [
        [name, report.precision[i], report.recall[i], report.f1[i], int(report.support[i])]
        for i, name in enumerate(names)
    ]
    confusion = [[name, *(int(v) for v in report.confusion[i])] for i, name in enumerate(names)]
    return [
        f'<h2 id="classes-title">Per class ({html.escape(split)} split)</h2>',
        _table(per_class, ["class", "precision", "recall", "F1", "support"]),
        _note("Confusion matrix: rows are the true class, columns the predicted one."),
        _table(confusion, ["true \\ predicted", *names]),
    ]


def _regression_parts(regression: tuple[str, Any, Any] | None) -> list[str]:
    """RMSE, MAE and R² of the trained model, predicted against true values, and residuals."""
    if regression is None:
        return []
    from nabla.training.metrics import regression_report
    from nabla.viz.report_regression import pred_vs_true_chart, residuals_chart

    split, y_true, y_pred = regression
    report = regression_report(y_true, y_pred)
    rows = [["RMSE", report.rmse], ["MAE", report.mae], ["R²", report.r2]]
    return [
        f'<h2 id="regression-title">Predictions ({html.escape(split)} split)</h2>',
        _table([*rows, ["samples", report.samples]], ["metric", "value"]),
        _note(
            "The first chart shows each sample's prediction against its true value: on the "
            "red line y = x the prediction is exact. The second shows the residuals (true − "
            "predicted) against the prediction, where a trend or a funnel shows what the model "
            "misses, and their histogram."
        ),
        _img("pred-vs-true", "predicted against true values", pred_vs_true_chart(y_true, y_pred)),
        _img("residuals", "residuals against predictions", residuals_chart(y_true, y_pred)),
    ]


def _results_table(results: dict[str, dict[str, Any]], regression: bool) -> str:
    """One row per split: accuracy (classification) or RMSE, MAE, R² (regression), loss and
    samples."""
    metrics = ["rmse", "mae", "r2"] if regression else ["accuracy"]
    header = {"accuracy": "accuracy", "rmse": "RMSE", "mae": "MAE", "r2": "R²"}
    columns = [*metrics, "loss", "samples"]
    rows = [[name, *(r.get(key) for key in columns)] for name, r in results.items()]
    return _table(rows, ["split", *(header.get(key, key) for key in columns)])


def training_report_html(
    *,
    title: str,
    subtitle: str,
    history: Sequence[dict[str, Any]],
    results: dict[str, dict[str, Any]],
    settings: dict[str, Any],
    monitor: LayerMonitor | None = None,
    graph_svg: str | None = None,
    graph_dot: str | None = None,
    explanation: str | None = None,
    model_text: str | None = None,
    classification: tuple[str, Any] | None = None,
    regression: tuple[str, Any, Any] | None = None,
    studies: Sequence[Any] | None = None,
) -> str:
    """The report page as one HTML string (see :func:`write_training_report`)."""
    require_matplotlib()
    esc = html.escape
    curves_title = "Loss and accuracy" if has_accuracy(history) else "Loss"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        f'<h1>{esc(title)}</h1><p class="sub">{esc(subtitle)}</p>',
        '<h2 id="results">Results</h2>',
        _results_table(results, regression is not None),
        *_classification_parts(classification),
        *_regression_parts(regression),
        f'<h2 id="curves-title">{curves_title}</h2>',
        _img("curves", f"{curves_title.lower()} curves", curves_chart(history)),
        '<h2 id="graph-title">The model graph at initialisation (one training batch)</h2>',
        _note(GRAPH_NOTE),
    ]
    if graph_svg is not None:
        parts.append(f'<div id="graph">{_inline_svg(graph_svg)}</div>')
    else:
        parts += [_note(NO_GRAPHVIZ_NOTE), f'<pre id="graph">{esc(graph_dot or "")}</pre>']
    if explanation:
        parts += [
            '<h2 id="explain-title">The backward pass of that batch</h2>',
            f'<pre id="explain">{esc(explanation)}</pre>',
        ]
    if monitor is not None and monitor.epochs:
        epochs = monitor.epochs
        grad_hist = histogram_chart(
            monitor.grad_norms,
            epochs,
            log=True,
            ylabel="log₁₀ ‖∇W‖",
            title="distribution of the per-step gradient norm, per epoch (shared scale)",
        )
        weight_hist = histogram_chart(
            monitor.weights,
            epochs,
            log=False,
            ylabel="weight value",
            title="distribution of the weights at the end of each epoch",
        )
        parts += [
            '<h2 id="gradients-title">Gradients per layer</h2>',
            _note(GRADIENT_NOTE + _first_over_last(monitor)),
            _img("grad-norms", "gradient norm per layer", grad_norm_chart(monitor)),
            _img("grad-hist", "gradient-norm histograms per layer", grad_hist),
            '<h2 id="weights-title">Weights per layer</h2>',
            _img("weight-hist", "weight histograms per layer", weight_hist),
        ]
        if epochs[0] != 1:
            parts.append(
                _note(
                    f"Layer statistics cover epochs {epochs[0]}–{epochs[-1]} (this run resumed "
                    "from a checkpoint)."
                )
            )
    parts += _study_parts(studies)
    parts += [
        '<h2 id="settings-title">Settings</h2>',
        _table([[k, v] for k, v in settings.items()], ["setting", "value"]),
    ]
    if model_text:
        parts += ['<h2 id="model-title">Model</h2>', f"<pre>{esc(model_text)}</pre>"]
    parts.append(_note("Written by nabla train --report.") + "</body></html>")
    return "\n".join(parts) + "\n"


def write_training_report(
    path: str | os.PathLike[str],
    *,
    model: Any,
    loss_fn: Callable[[Any, Any], Any],
    batch: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]],
    history: Sequence[dict[str, Any]],
    results: dict[str, dict[str, Any]],
    settings: dict[str, Any],
    monitor: LayerMonitor | None = None,
    title: str = "nabla training report",
    subtitle: str = "",
    classification: tuple[str, Any] | None = None,
    regression: tuple[str, Any, Any] | None = None,
    studies: Sequence[Any] | None = None,
) -> Path:
    """Write the report of a finished run to ``path`` (atomically); returns the path.

    ``model`` is the one the graph is drawn from (``nabla train`` passes the model as it was
    before training); ``classification``: (split name, ``ClassificationReport``) of the trained
    model, shown as per-class metrics and a confusion matrix. ``regression``: (split name,
    true values, predicted values) of a regression model, each of shape (n_samples,) or
    (n_samples, n_outputs), shown as RMSE, MAE and R², predicted against true values and the
    residuals; the results table then lists ``rmse``, ``mae`` and ``r2`` from ``results``
    instead of ``accuracy``, and the curves show the loss alone when ``history`` has no
    accuracy.

    The model graph and the backward trace are drawn from one forward pass on ``batch``;
    nabla's global generator is restored afterwards, so dropout masks drawn here change
    nothing that follows.
    """
    from nabla import creation
    from nabla.io.atomic import atomic_write_bytes
    from nabla.tensor import Tensor
    from nabla.viz.dot import GraphvizUnavailable, render, to_dot
    from nabla.viz.explain import explain

    require_matplotlib()
    rng_state = creation.get_rng_state()
    try:
        loss = loss_fn(model(Tensor(batch[0], name="X")), Tensor(batch[1], name="y"))
        dot_text = to_dot(loss, grads=True)
        explanation = explain(loss, show=False).to_text()
    finally:
        creation.set_rng_state(rng_state)
    try:
        svg: str | None = render(dot_text, "svg").decode("utf-8")
    except GraphvizUnavailable:
        svg = None
    page = training_report_html(
        title=title,
        subtitle=subtitle,
        history=history,
        results=results,
        settings=settings,
        monitor=monitor,
        classification=classification,
        regression=regression,
        studies=studies,
        graph_svg=svg,
        graph_dot=dot_text,
        explanation=explanation,
        model_text=repr(model),
    )
    path = Path(path)
    atomic_write_bytes(path, page.encode("utf-8"))
    return path
