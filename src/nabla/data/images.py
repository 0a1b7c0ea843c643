"""Images for a convolutional network: (n, channels, height, width) float32, scaled to [0, 1].

The loaders flatten images into rows for an MLP; a CNN needs them whole, in PyTorch's NCHW
layout. :func:`images_nchw` is the one rule for an array of images: (n, h, w) gains one channel,
channels-last (n, h, w, c) is transposed to (n, c, h, w), and uint8 pixels are divided by 255
(the bundled digits, 0..16, by 16). :func:`image_names` names the flattened pixels in that order.
"""

from __future__ import annotations

import numpy as np

from nabla._typing import Array
from nabla.errors import DataError

__all__ = ["MAX_CHANNELS", "image_names", "images_nchw"]

#: most channels a channels-last image may have (gray, gray + alpha, RGB, RGBA)
MAX_CHANNELS = 4


def images_nchw(images: Array, *, source: str, scale: float | None = None) -> Array:
    """Images as float32 (n, c, h, w).

    Parameters
    ----------
    images : ndarray of shape (n, h, w), (n, h, w, c) or (n, c, h, w)
        A 4-D array is channels-last, as images are stored, unless its last axis is longer than
        :data:`MAX_CHANNELS` and its second is not (then it is NCHW already).
    source : str
        The file or data set, named in errors.
    scale : float, optional
        Divide the pixels by this; default 255 for uint8 images, else 1.

    Raises
    ------
    DataError
        For an array that is not 3-D or 4-D, or not numeric.

    Examples
    --------
    >>> images_nchw(np.full((2, 3, 4), 255, np.uint8), source="a").shape
    (2, 1, 3, 4)
    >>> x = images_nchw(np.zeros((2, 5, 6, 3), np.uint8), source="b")
    >>> x.shape, x.dtype
    ((2, 3, 5, 6), dtype('float32'))
    """
    if images.ndim not in (3, 4) or images.dtype.kind not in "biuf":
        raise DataError(
            f"{source}: a CNN takes images of shape (n, h, w) or (n, h, w, channels), got "
            f"shape {images.shape} and dtype {images.dtype}"
        )
    if scale is None:
        scale = 255.0 if images.dtype == np.uint8 else 1.0
    x = images[:, None] if images.ndim == 3 else images
    channels_first = images.ndim == 4 and x.shape[-1] > MAX_CHANNELS >= x.shape[1]
    if images.ndim == 4 and not channels_first:
        x = x.transpose(0, 3, 1, 2)
    out = np.ascontiguousarray(x, dtype=np.float32)
    if scale != 1.0:
        out /= np.float32(scale)
    return out


def image_names(shape: tuple[int, ...]) -> list[str]:
    """Names of the pixels of (c, h, w) images flattened in C order: ``px_<row>_<col>`` for one
    channel, ``px_<row>_<col>_<channel>`` for several.

    >>> image_names((1, 1, 2)), image_names((2, 1, 1))
    (['px_0_0', 'px_0_1'], ['px_0_0_0', 'px_0_0_1'])
    """
    channels, height, width = shape
    if channels == 1:
        return [f"px_{r}_{c}" for r in range(height) for c in range(width)]
    return [
        f"px_{r}_{c}_{k}" for k in range(channels) for r in range(height) for c in range(width)
    ]
