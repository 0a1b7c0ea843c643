"""The files a training run writes into its output folder, and the PNG figures they use.

``model.safetensors`` (the model, with the run's data description in its metadata so that
``nabla evaluate``/``predict``/``export`` can read new data the same way), ``metrics.csv`` and
``metrics.json`` (per-epoch history, final results, settings), ``curves.png`` and
``report.html`` when asked for. Every file is written atomically.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nabla.errors import NablaError
from nabla.io.atomic import atomic_write_bytes, write_csv, write_json

if TYPE_CHECKING:
    from nabla.training.recipe import TrainRun

__all__ = ["model_metadata", "plot_curves", "pyplot", "save_figure", "write_run_files"]


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, or a one-line error naming the missing package."""
    try:
        import matplotlib
    except ImportError as exc:
        raise NablaError(
            "plots need matplotlib: pip install 'nabla[plot]' (or pass --no-plots)"
        ) from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path) -> None:
    """Write ``fig`` as a PNG atomically, and close it."""
    plt = pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


def plot_curves(history: Sequence[dict[str, Any]], path: Path) -> None:
    """Loss and accuracy per epoch, training and validation, side by side (loss alone for a
    regression, whose history has no accuracy)."""
    plt = pyplot()
    epochs = [h["epoch"] for h in history]
    keys = [("loss", "loss")]
    if any(h.get("train_accuracy") is not None for h in history):
        keys.append(("accuracy", "accuracy"))
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 4), squeeze=False)
    for ax, (key, title) in zip(axes[0], keys):
        train = [h[f"train_{key}"] for h in history]
        ax.plot(epochs, [np.nan if v is None else v for v in train], label="train")
        val = [h[f"val_{key}"] for h in history]
        if any(v is not None for v in val):
            ax.plot(epochs, [np.nan if v is None else v for v in val], label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    save_figure(fig, path)


def model_metadata(run: TrainRun) -> dict[str, Any]:
    """What the model file records about its run: data, columns and their encoding, target,
    classes, split and results, so that new rows are read the way training read them."""
    config, data = run.config, run.data
    trainer = run.trainer
    return {
        "created_by": "nabla train",
        "data": config.data,
        # where the data is whatever folder a later command runs in (None for built-in sets)
        "data_path": str(Path(config.data).resolve()) if Path(config.data).exists() else None,
        "source": str(data.source),
        "task": data.task,
        "target_name": data.target_name,
        "target": data.target_metadata(),
        "feature_names": data.feature_names,
        "preprocessing": data.preprocessing.to_dict(),
        "class_names": None if data.class_names is None else [str(c) for c in data.class_names],
        "id_column": data.id_column,
        "csv": data.csv,
        "seed": config.seed,
        "val_split": config.val_split,
        "test_split": config.test_split,
        "impute": config.impute,
        # a CNN's input: new data is read as images of this (channels, height, width)
        "image_shape": None if data.image_shape is None else list(data.image_shape),
        "epochs_trained": trainer.epoch,
        "best_epoch": getattr(trainer, "best_epoch", None),
        "interrupted": run.interrupted is not None,
        "results": run.results,
    }


def write_run_files(run: TrainRun) -> list[str]:
    """Write the run's files into ``run.out``; returns the names of every file the run left
    there (the checkpoint the trainer wrote included)."""
    from nabla.io import save
    from nabla.training.recipe import CHECKPOINT

    out, history, trainer = run.out, run.history, run.trainer
    save(run.model, out / "model.safetensors", metadata=model_metadata(run))
    files = ["model.safetensors"]
    if history:
        write_csv(out / "metrics.csv", list(history[0]), [list(h.values()) for h in history])
        files.append("metrics.csv")
    settings = settings_used(run)
    write_json(
        out / "metrics.json",
        {
            "epochs": history,
            "final": run.results,
            "train_seconds": trainer.train_seconds,
            "samples_per_second": run.samples_per_second,
            "best_epoch": getattr(trainer, "best_epoch", None),
            "stopped_early": bool(getattr(trainer, "stopped_early", False)),
            "interrupted": run.interrupted is not None,
            # data-parallel runs (issue 17): settings' batch_size is each rank's
            "ranks": run.ranks,
            "global_batch_size": run.config.batch_size * (run.ranks or 1),
            "settings": settings,
        },
    )
    files.append("metrics.json")
    if run.config.plots and history:
        plot_curves(history, out / "curves.png")
        files.append("curves.png")
    if run.monitor is not None and history and run.interrupted is None:
        _write_report(run, settings)
        files.append("report.html")
    if (out / CHECKPOINT).is_file():
        files.append(CHECKPOINT)
    return files


def _report_split(run: TrainRun) -> tuple[str, Any, Any] | None:
    """The split the report scores: test, else validation, else training (name, X, y)."""
    named = {name: (X, y) for name, X, y in run.splits.named() if len(X)}
    split = next((s for s in ("test", "val", "train") if s in named), None)
    return None if split is None else (split, *named[split])


def _classification(run: TrainRun) -> tuple[str, Any] | None:
    """Per-class metrics and the confusion matrix of the trained model on the test split (the
    validation split when there is no test split), for the report."""
    from nabla.training.evaluation import predict_classes
    from nabla.training.metrics import classification_report

    shown = _report_split(run)
    if run.data.is_regression or shown is None:
        return None
    split, X, y = shown
    names = run.data.class_names or [str(k) for k in range(run.n_classes)]
    return split, classification_report(y, predict_classes(run.model, X), list(names))


def _regression(run: TrainRun) -> tuple[str, Any, Any] | None:
    """Predicted against true values (the target's units) on the test split (else validation,
    else training), for the report."""
    from nabla.training.evaluation import predict_values

    shown = _report_split(run)
    if not run.data.is_regression or shown is None:
        return None
    split, X, _ = shown
    predicted = predict_values(run.model, X).reshape(-1)
    return split, run.data.true_values(split), run.data.unscale(predicted)


def _studies(run: TrainRun) -> Any:
    """The vanishing-gradient study of the report (an MLP run only)."""
    if run.config.model != "mlp" or run.data.is_regression:
        return None
    from nabla.training.activation_study import study_activations

    return study_activations(run.config, run.splits, run.data.n_features, run.n_classes)


def settings_used(run: TrainRun) -> dict[str, Any]:
    """The run's settings with the values used where the config left a default to the
    optimizer (``lr``, ``momentum``: None in the config, the optimizer's defaults in the run)."""
    settings = dict(run.config.fingerprint())
    settings["optimizer"] = run.config.optimizer_for(run.data.task)
    defaults = run.trainer.optimizer.defaults
    for key, value in settings.items():
        if value is None and key in defaults:
            settings[key] = defaults[key]
    return settings


def _write_report(run: TrainRun, settings: dict[str, Any]) -> None:
    from nabla.viz.report import write_training_report

    config, data, splits = run.config, run.data, run.splits
    assert run.monitor is not None
    what = (
        f"regression of {data.target_name!r} (loss on the standardised target)"
        if data.is_regression
        else f"{run.n_classes} classes"
    )
    write_training_report(
        run.out / "report.html",
        model=run.start_model if run.start_model is not None else run.model,
        loss_fn=run.trainer.loss_fn,
        batch=(splits.X_train[: config.batch_size], splits.y_train[: config.batch_size]),
        history=run.history,
        results=run.results,
        settings={**settings, "epochs": config.epochs, "out": str(run.out)},
        monitor=run.monitor,
        classification=_classification(run),
        regression=_regression(run),
        studies=_studies(run),
        title=f"nabla train: {config.model} on {config.data}",
        subtitle=f"{data.n_samples} samples, {data.n_features} features, {what}; "
        f"{run.trainer.train_seconds:.2f} s training",
    )
