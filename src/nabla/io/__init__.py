"""Saving and loading: model files, state dicts and training checkpoints (safetensors, no pickle).

Needs the optional ``safetensors`` package (``pip install 'nabla[io]'``); it is imported on first
use, so ``import nabla`` works without it.
"""

from nabla.io.atomic import atomic_write_bytes
from nabla.io.checkpoint import load_checkpoint, save_checkpoint
from nabla.io.interop import load_pytorch_weights, mlp_from_pytorch, save_pytorch_weights
from nabla.io.model_file import load_metadata, load_state_dict, save_state_dict
from nabla.io.torch_style import load, save

__all__ = [
    "atomic_write_bytes",
    "load",
    "load_checkpoint",
    "load_metadata",
    "load_pytorch_weights",
    "load_state_dict",
    "mlp_from_pytorch",
    "save",
    "save_checkpoint",
    "save_pytorch_weights",
    "save_state_dict",
]
