"""Type aliases shared by the package."""

from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]
Shape = tuple[int, ...]
DTypeLike = npt.DTypeLike

__all__ = ["Array", "DTypeLike", "Shape", "np"]
