"""``nabla train``: load data, split, standardise, build, train, evaluate, write the run."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import nabla as nb
from nabla.cli.main import CLIError
from nabla.cli.output import plot_curves, table, write_csv, write_json
from nabla.data import (
    DataLoader,
    StandardScaler,
    TabularData,
    TensorDataset,
    check_classification_target,
    load_data,
    split_dataset,
)
from nabla.data.csv_loader import TargetNameError
from nabla.errors import DataError
from nabla.training import LayerMonitor, Trainer, evaluate_loss_accuracy

DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-3, "adagrad": 0.01}
#: most distinct values of an integer target read as class labels, unless they are 0..K-1
MAX_INTEGER_CLASSES = 50


def parse_hidden(text: str) -> list[int]:
    """'128,64' → [128, 64]; '' or 'none' → no hidden layer."""
    if text.strip().lower() in ("", "none", "0"):
        return []
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise CLIError(
            f"--hidden: expected comma-separated widths such as 128,64, got {text!r}"
        ) from None
    if any(s <= 0 for s in sizes):
        raise CLIError(f"--hidden: widths must be positive, got {text!r}")
    return sizes


def validate(args: argparse.Namespace) -> None:
    if args.epochs <= 0:
        raise CLIError(f"--epochs must be positive, got {args.epochs}")
    if args.batch_size <= 0:
        raise CLIError(f"--batch-size must be positive, got {args.batch_size}")
    for name in ("val_split", "test_split"):
        value = getattr(args, name)
        if not 0 <= value < 1:
            raise CLIError(f"--{name.replace('_', '-')} must be in [0, 1), got {value}")
    if args.val_split + args.test_split >= 1:
        raise CLIError("--val-split and --test-split leave no training data")
    if args.lr is not None and args.lr <= 0:
        raise CLIError(f"--lr must be positive, got {args.lr}")
    if not 0 <= args.dropout < 1:
        raise CLIError(f"--dropout must be in [0, 1), got {args.dropout}")
    if args.checkpoint_every < 0:
        raise CLIError(f"--checkpoint-every must be >= 0, got {args.checkpoint_every}")


def load_classification_data(spec: str, target: str | None, by_name: bool = False) -> TabularData:
    """Load `spec` and require class labels; a `target` of digits is an index unless `by_name`."""
    target_arg: str | int | None = target
    if target is not None and target.lstrip("-").isdigit() and not by_name:
        target_arg = int(target)
    try:
        data = load_data(spec, target_arg)
    except TargetNameError as exc:  # the command line names the target with --target
        last = exc.n_columns - 1
        raise TargetNameError(
            exc.path,
            exc.target,
            exc.n_columns,
            f"pass --target with a column index in 0..{last} (e.g. --target {last})",
        ) from None
    if not data.is_classification:
        raise DataError(
            f"{data.source}: target {data.target_name!r} holds continuous values; nabla train "
            "trains classifiers (class labels: text or integers)"
        )
    check_classification_target(data.y, source=str(data.source))
    return data


def check_class_labels(data: TabularData) -> None:
    """Refuse an integer target that looks like a regression target, before training on it.

    An integer-valued target is read as class labels, so a count or a score (a regression
    target) would train as a classifier with a class per value. It is refused when it has more
    than :data:`MAX_INTEGER_CLASSES` distinct values that are not the class ids 0..K-1, or
    more than 10 distinct values that number over half the rows (most classes would have one
    row). Text labels are always classes.
    """
    names = data.class_names or []
    if not all(name.lstrip("-").isdigit() for name in names):
        return
    n_classes = len(names)
    n_rows = data.n_samples + (0 if data.X_test is None else len(data.X_test))
    class_ids = sorted(int(name) for name in names) == list(range(n_classes))
    if (n_classes > MAX_INTEGER_CLASSES and not class_ids) or (
        n_classes > 10 and n_classes > n_rows / 2
    ):
        raise DataError(
            f"{data.source}: target {data.target_name!r} has {n_classes} distinct integer "
            f"values in {n_rows} rows, which looks like a regression target; nabla train "
            f"trains classifiers: use a classification target (class labels as text, at most "
            f"{MAX_INTEGER_CLASSES} integer values or the ids 0..K-1, and fewer than half as "
            "many as rows)"
        )


def build_model(args: argparse.Namespace, n_features: int, n_classes: int) -> nb.nn.Module:
    if args.model == "logistic":
        return nb.nn.LogisticRegression(n_features, n_classes)
    sizes = [n_features, *parse_hidden(args.hidden), n_classes]
    return nb.nn.MLP(
        sizes, activation=args.activation, dropout=args.dropout, batch_norm=args.batch_norm
    )


def build_optimizer(args: argparse.Namespace, model: nb.nn.Module) -> Any:
    from nabla import optim

    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    params, wd = list(model.parameters()), args.weight_decay
    if args.optimizer == "sgd":
        momentum = 0.9 if args.momentum is None else args.momentum
        return optim.SGD(params, lr=lr, momentum=momentum, weight_decay=wd)
    if args.momentum is not None and args.optimizer != "rmsprop":
        raise CLIError(f"--momentum applies to sgd and rmsprop, not {args.optimizer}")
    if args.optimizer == "adam":
        return optim.Adam(params, lr=lr, weight_decay=wd)
    if args.optimizer == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=wd)
    if args.optimizer == "rmsprop":
        return optim.RMSprop(params, lr=lr, weight_decay=wd, momentum=args.momentum or 0.0)
    return optim.Adagrad(params, lr=lr, weight_decay=wd)


def build_scheduler(args: argparse.Namespace, optimizer: Any) -> Any:
    from nabla.optim import lr_scheduler

    if args.scheduler == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    if args.scheduler == "step":
        return lr_scheduler.StepLR(optimizer, step_size=max(args.epochs // 3, 1), gamma=0.1)
    if args.scheduler == "exponential":
        return lr_scheduler.ExponentialLR(optimizer, gamma=0.95)
    if args.scheduler == "plateau":
        return lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=5)
    return None


def run_train(args: argparse.Namespace) -> int:
    validate(args)
    if getattr(args, "report", False):
        from nabla.viz.report import require_matplotlib

        require_matplotlib()  # fail before training, not after
    out = Path(args.out)
    checkpoint = out / "checkpoint.safetensors"
    if args.resume and not checkpoint.exists():
        raise CLIError(f"--resume: no checkpoint at {checkpoint} (train with --out {out} first)")
    data = load_classification_data(args.data, args.target)
    check_class_labels(data)
    if data.X_test is not None and data.y_test is not None:  # an MNIST folder has its own test
        split = split_dataset(
            data.X, data.y, val_split=args.val_split, test_split=0.0, seed=args.seed
        )
        X_train, y_train, X_val, y_val = split.X_train, split.y_train, split.X_val, split.y_val
        X_test, y_test = data.X_test, data.y_test
    else:
        split = split_dataset(
            data.X, data.y, val_split=args.val_split, test_split=args.test_split, seed=args.seed
        )
        X_train, y_train, X_val, y_val = split.X_train, split.y_train, split.X_val, split.y_val
        X_test, y_test = split.X_test, split.y_test
    scaler = StandardScaler().fit(X_train) if args.standardize else None
    if scaler is not None:
        X_train, X_val, X_test = (scaler.transform(X) for X in (X_train, X_val, X_test))
    n_classes = int(data.n_classes)
    nb.manual_seed(args.seed)
    model = build_model(args, data.n_features, n_classes)
    optimizer = build_optimizer(args, model)
    scheduler = build_scheduler(args, optimizer)
    loader = DataLoader(
        TensorDataset(X_train, y_train), batch_size=args.batch_size, shuffle=True, seed=args.seed
    )
    fingerprint = {
        key: getattr(args, key)
        for key in (
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
        )
    }
    if args.scheduler == "cosine":
        fingerprint["epochs"] = args.epochs  # the schedule's length depends on it
    out.mkdir(parents=True, exist_ok=True)
    log = (lambda line: print(line, file=sys.stderr)) if args.verbose else None
    monitor = LayerMonitor() if getattr(args, "report", False) else None
    trainer = Trainer(
        model,
        optimizer,
        loader,
        scheduler=scheduler,
        val_data=(X_val, y_val) if len(X_val) else None,
        checkpoint_path=checkpoint,
        checkpoint_every=args.checkpoint_every,
        fingerprint=fingerprint,
        progress=args.progress,
        log=log,
        callbacks=[monitor] if monitor is not None else [],
    )
    if args.resume:
        trainer.load_checkpoint()
        print(f"resuming from {checkpoint} after epoch {trainer.epoch}", file=sys.stderr)
    started = time.perf_counter()
    trainer.fit(args.epochs)
    wall = time.perf_counter() - started

    results = {}
    for name, X, y in (
        ("train", X_train, y_train),
        ("val", X_val, y_val),
        ("test", X_test, y_test),
    ):
        if len(X):
            loss, acc = evaluate_loss_accuracy(model, X, y, trainer.loss_fn)
            results[name] = {"loss": loss, "accuracy": acc, "samples": len(X)}
    metadata = {
        "created_by": "nabla train",
        "data": args.data,
        # where the data is whatever folder a later command runs in (None for built-in sets)
        "data_path": str(Path(args.data).resolve()) if Path(args.data).exists() else None,
        "source": str(data.source),
        "target_name": data.target_name,
        "feature_names": list(data.feature_names),
        "class_names": [str(c) for c in (data.class_names or range(n_classes))],
        "scaler": None if scaler is None else scaler.to_dict(),
        "seed": args.seed,
        "val_split": args.val_split,
        "test_split": args.test_split,
        "results": results,
    }
    nb.save(model, out / "model.safetensors", metadata=metadata)
    history = [asdict(m) for m in trainer.history]
    write_csv(out / "metrics.csv", list(history[0]), [list(h.values()) for h in history])
    samples_per_s = trainer.samples_seen / max(trainer.train_seconds, 1e-9)
    write_json(
        out / "metrics.json",
        {
            "epochs": history,
            "final": results,
            "train_seconds": trainer.train_seconds,
            "samples_per_second": samples_per_s,
            "settings": fingerprint,
        },
    )
    if monitor is not None:
        from nabla.viz.report import write_training_report

        write_training_report(
            out / "report.html",
            model=model,
            loss_fn=trainer.loss_fn,
            batch=(X_train[: args.batch_size], y_train[: args.batch_size]),
            history=history,
            results=results,
            settings={**fingerprint, "epochs": args.epochs, "out": str(out)},
            monitor=monitor,
            title=f"nabla train: {args.model} on {args.data}",
            subtitle=f"{data.n_samples} samples, {data.n_features} features, {n_classes} "
            f"classes; {trainer.train_seconds:.2f} s training",
        )
    if args.plots:
        plot_curves(history, out / "curves.png")

    print(
        f"nabla train: {args.model} on {args.data} ({data.n_samples} samples, "
        f"{data.n_features} features, {n_classes} classes)"
    )
    print(model if args.model == "mlp" else f"LogisticRegression({data.n_features} → {n_classes})")
    rows = [[name, r["accuracy"], r["loss"], r["samples"]] for name, r in results.items()]
    print(table(["split", "accuracy", "loss", "samples"], rows))
    print(
        f"time {trainer.train_seconds:.2f} s training ({wall:.2f} s this run), "
        f"{samples_per_s:,.0f} samples/s"
    )
    if "test" in results:
        print(f"held-out test accuracy: {results['test']['accuracy']:.4f}")
    print(
        f"wrote {out}/model.safetensors, metrics.csv, metrics.json"
        + (", curves.png" if args.plots else "")
        + (", report.html" if monitor is not None else "")
    )
    return 0
