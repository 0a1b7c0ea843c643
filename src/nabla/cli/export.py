"""``nabla export``: a saved model as an ONNX file and/or a NumPy-only Python predictor.

Both take raw rows: the training run's preprocessing (stored in the model file: columns by name,
text columns one-hot, missing values filled, standardisation) is built in, and both output class
probabilities unless ``--logits`` (a regression: values in the target's units).

A CNN (a model file with ``image_shape``) exports for images of that shape: the ONNX graph takes
(batch, channels, height, width) images (its pixel "preprocessing" is the identity, so it is left
out unless it does something); the predictor takes such images, or reads a CSV of the pixel
columns by name (``px_0_0``...).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from nabla.cli.main import CLIError


def add_export_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "export",
        help="write a saved model as ONNX and/or a self-contained NumPy-only predictor",
        description="Export a model file for deployment. Both outputs take raw feature rows "
        "(the model's training standardisation is built in) and give class probabilities.",
    )
    p.add_argument("model", help="a model file written by nabla train (model.safetensors)")
    p.add_argument("--onnx", metavar="OUT.onnx", help="write an ONNX model (needs 'onnx')")
    p.add_argument(
        "--python",
        metavar="OUT.py",
        help="write one Python file that needs only NumPy, with the weights embedded",
    )
    p.add_argument(
        "--npz",
        action="store_true",
        help="with --python: keep the weights in OUT.npz beside the file instead of inside it",
    )
    p.add_argument(
        "--logits", action="store_true", help="output the logits instead of probabilities"
    )
    p.add_argument(
        "--no-standardize",
        dest="standardize",
        action="store_false",
        help="leave out the model's preprocessing and standardisation (inputs must be the "
        "encoded, standardised features already)",
    )
    p.set_defaults(command_fn="export")


def run_export(args: argparse.Namespace) -> int:
    from nabla.deploy import ExportError

    try:
        return _export(args)
    except ExportError as exc:
        raise ExportError(f"{args.model}: {exc}") from None


def _export(args: argparse.Namespace) -> int:
    if not args.onnx and not args.python:
        raise CLIError("nothing to do: pass --onnx OUT.onnx and/or --python OUT.py")
    if args.npz and not args.python:
        raise CLIError("--npz applies to --python")
    from nabla.cli.evaluate import load_model_and_metadata
    from nabla.cli.model_data import model_image_shape
    from nabla.cli.output import check_destinations

    npz = Path(args.python).with_suffix(".npz") if args.python and args.npz else None
    check_destinations(args.onnx, args.python, npz)

    model, metadata = load_model_and_metadata(args.model)
    preprocessing = _preprocessing(metadata) if args.standardize else None
    image_shape = model_image_shape(metadata)
    example = None if image_shape is None else np.zeros((1, *image_shape), np.float32)
    onnx_preprocessing = preprocessing
    if image_shape is not None and _identity(metadata.get("preprocessing")):
        onnx_preprocessing = None  # the graph takes the images themselves
    target = metadata.get("target")
    regression = isinstance(target, dict) and target.get("task") == "regression"
    class_names = metadata.get("class_names")
    feature_names = metadata.get("feature_names") or None
    probabilities = not args.logits and not regression
    if args.logits:
        target = None  # the network's raw outputs
    if args.onnx:
        from nabla.onnx import export

        export(
            model,
            args.onnx,
            example,
            probabilities=probabilities,
            preprocessing=onnx_preprocessing,
            target=target,
            metadata={
                "source": Path(args.model).name,
                "class_names": class_names if probabilities else None,
                "feature_names": feature_names,
                "standardized_inside": onnx_preprocessing is not None,
                "image_shape": None if image_shape is None else list(image_shape),
                "target": target,
                "id_column": metadata.get("id_column"),
            },
        )
        print(f"wrote {args.onnx}")
    if args.python:
        from nabla.predictor import write_predictor

        write_predictor(
            model,
            args.python,
            preprocessing=preprocessing,
            target=target,
            id_column=metadata.get("id_column"),
            encoding=(metadata.get("csv") or {}).get("encoding"),
            class_names=class_names if probabilities else None,
            feature_names=feature_names,
            probabilities=probabilities,
            example_input=example,
            embed=not args.npz,
            source=Path(args.model).name,
        )
        extra = f" and {Path(args.python).with_suffix('.npz')}" if args.npz else ""
        print(f"wrote {args.python}{extra}")
    return 0


def _preprocessing(metadata: dict[str, Any]) -> Any:
    """The model file's preprocessing; for older files, numeric columns and their scaler."""
    from nabla.data.columns import Preprocessing

    document = metadata.get("preprocessing")
    if document is not None:
        return Preprocessing.from_dict(document)
    names = metadata.get("feature_names") or []
    if not names and not metadata.get("scaler"):
        return None  # no names, no scaler: the network's input as it is
    return Preprocessing.from_legacy(list(names), metadata.get("scaler"))


def _identity(document: Any) -> bool:
    """Whether a preprocessing document leaves numeric columns as they are (a CNN's pixels:
    no fill, no indicator, mean 0 and scale 1)."""
    if not isinstance(document, dict):
        return document is None
    columns = document.get("columns") or []
    plain = all(
        c.get("kind") == "numeric" and c.get("fill") is None and not c.get("indicator")
        for c in columns
    )
    mean, scale = document.get("mean") or [], document.get("scale") or []
    return plain and all(m == 0 for m in mean) and all(s == 1 for s in scale)
