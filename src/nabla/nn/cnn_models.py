"""``SmallCNN``: the default convolutional classifier of ``nabla train --model cnn``.

A ``Sequential`` subclass, like :class:`~nabla.nn.models.MLP`, so its state dict uses PyTorch's
layout ("0.weight", "1.running_mean", ...) and ``nb.save``/``nb.load`` rebuild it from
:meth:`SmallCNN.get_config`. Its input is NCHW images, (n_samples, channels, height, width).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nabla.nn.activation import ReLU
from nabla.nn.container import Sequential
from nabla.nn.conv import Conv2d
from nabla.nn.layers import BatchNorm2d, Dropout, Flatten, Linear
from nabla.nn.models import ClassifierMixin
from nabla.nn.module import Module
from nabla.nn.pooling import MaxPool2d

__all__ = ["SmallCNN"]

#: largest image side and channel count accepted (a model file cannot ask for more)
MAX_IMAGE_SIDE = 4096
MAX_CHANNELS = 4096


def _positive(name: str, value: Any, limit: int) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or not 0 < value <= limit
    ):
        raise ValueError(f"SmallCNN: {name} must be an integer in 1..{limit}, got {value!r}")
    return int(value)


class SmallCNN(ClassifierMixin, Sequential):
    """Two convolution blocks and a two-layer head, sized from the image size.

    Block k is Conv2d(3×3, padding "same") → BatchNorm2d → ReLU → MaxPool2d(2); the pooling is
    left out of a block whose input is smaller than 2×2, so 8×8 digits (8 → 4 → 2) and 28×28
    MNIST images (28 → 14 → 7) both work. Then Flatten → Linear(hidden) → ReLU (→ Dropout) →
    Linear(num_classes), giving logits.

    Parameters
    ----------
    in_channels : int
        Channels of the input images (1 for gray).
    num_classes : int
        Width of the output (one logit per class; 1 for a regression).
    image_size : int or (int, int)
        Height and width of the input images.
    channels : sequence of int, default (24, 48)
        Output channels of the convolution blocks, one block each.
    hidden : int, default 128
        Width of the hidden Linear layer of the head.
    dropout : float, default 0.0
        Dropout probability before the last Linear.
    dtype : dtype, default float32

    Examples
    --------
    >>> import numpy as np, nabla as nb
    >>> model = SmallCNN(1, 10, 8)
    >>> model(nb.tensor(np.zeros((2, 1, 8, 8), np.float32))).shape
    (2, 10)
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        image_size: int | Sequence[int] = 28,
        channels: Sequence[int] = (24, 48),
        hidden: int = 128,
        dropout: float = 0.0,
        dtype: Any = np.float32,
    ) -> None:
        size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        if len(size) != 2:
            raise ValueError(f"SmallCNN: image_size must be an int or (height, width), got {size}")
        height, width = (_positive("image_size", s, MAX_IMAGE_SIDE) for s in size)
        in_channels = _positive("in_channels", in_channels, MAX_CHANNELS)
        num_classes = _positive("num_classes", num_classes, 1 << 20)
        widths = [_positive("channels", c, MAX_CHANNELS) for c in channels]
        hidden = _positive("hidden", hidden, 1 << 16)
        if not widths:
            raise ValueError("SmallCNN: channels must list at least one block width")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"SmallCNN: dropout must be in [0, 1), got {dropout}")
        layers: list[Module] = []
        n_in, h, w = in_channels, height, width
        for n_out in widths:
            layers += [
                Conv2d(n_in, n_out, 3, padding="same", dtype=dtype),
                BatchNorm2d(n_out, dtype=dtype),
                ReLU(),
            ]
            if min(h, w) >= 2:
                layers.append(MaxPool2d(2))
                h, w = h // 2, w // 2
            n_in = n_out
        layers += [Flatten(), Linear(n_in * h * w, hidden, dtype=dtype), ReLU()]
        if dropout:
            layers.append(Dropout(float(dropout)))
        layers.append(Linear(hidden, num_classes, dtype=dtype))
        super().__init__(*layers)
        self.in_channels, self.num_classes = in_channels, num_classes
        self.image_size = (height, width)
        self.channels, self.hidden, self.dropout = widths, hidden, float(dropout)

    def get_config(self) -> dict[str, Any]:
        return {
            "in_channels": self.in_channels,
            "num_classes": self.num_classes,
            "image_size": list(self.image_size),
            "channels": list(self.channels),
            "hidden": self.hidden,
            "dropout": self.dropout,
            "dtype": str(self.dtype),  # current dtype, after any .to()
        }

    @property
    def n_classes(self) -> int:
        return 2 if self.num_classes == 1 else self.num_classes
