"""``TensorRandom``: the in-place random fills of Tensor (PyTorch's normal_, uniform_, bernoulli_,
random_, exponential_, geometric_, log_normal_, cauchy_) (a mixin :class:`~nabla.tensor.Tensor`
inherits).

Each draws from nabla's global generator (``nb.manual_seed``) or ``generator=``, casts to the
tensor's dtype and writes into the same array as ``zero_`` does: a leaf that requires grad is
refused while recording (use ``with nb.no_grad():``), and the version counter moves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from nabla.autograd.hooks import note_unreplayable
from nabla.errors import DTypeError
from nabla.generator import default_generator
from nabla.tensor_base import TensorBase

if TYPE_CHECKING:
    from typing_extensions import Self


class TensorRandom(TensorBase):
    """The random methods of ``Tensor`` (see the module docstring)."""

    __slots__ = ()

    def _draw_into(self, op: str, draws: Any) -> Self:
        """Write ``draws`` (cast to this dtype) into this tensor in place, as ``zero_``."""
        self._check_in_place(op)  # type: ignore[attr-defined]
        self.data[...] = np.asarray(draws).astype(self.dtype, copy=False)
        self._bump_version()  # type: ignore[attr-defined]
        return self

    def _rng_for(
        self, op: str, generator: np.random.Generator | None, floating: bool = False
    ) -> np.random.Generator:
        if floating and self.dtype.kind not in "fc":
            raise DTypeError(f"{op}: needs a floating tensor, got dtype {self.dtype}")
        note_unreplayable(f"Tensor.{op} inside a compiled step")
        return generator or default_generator()

    def normal_(
        self, mean: float = 0.0, std: float = 1.0, *, generator: np.random.Generator | None = None
    ) -> Self:
        """Fill with samples of N(mean, std²) in place (``Tensor.normal_``)."""
        gen = self._rng_for("normal_", generator, floating=True)
        if std < 0:
            raise ValueError(f"normal_: expects std >= 0.0, but found std {std}")
        return self._draw_into("normal_", mean + std * gen.standard_normal(self.shape))

    def uniform_(
        self, a: float = 0.0, b: float = 1.0, *, generator: np.random.Generator | None = None
    ) -> Self:
        """Fill with samples of the uniform distribution on [a, b) in place."""
        gen = self._rng_for("uniform_", generator, floating=True)
        if a > b:
            raise ValueError(f"uniform_: expects a [from, to) range, but found from={a} > to={b}")
        return self._draw_into("uniform_", a + (b - a) * gen.random(self.shape))

    def bernoulli_(self, p: Any = 0.5, *, generator: np.random.Generator | None = None) -> Self:
        """Fill with 1 with probability ``p`` (a float or a tensor broadcast to this shape),
        else 0, in place (any dtype)."""
        gen = self._rng_for("bernoulli_", generator)
        probs = np.asarray(getattr(p, "data", p), dtype=np.float64)
        if np.any(~((probs >= 0) & (probs <= 1))):
            raise ValueError(f"bernoulli_: expects p to be in [0, 1], but got p={p}")
        return self._draw_into("bernoulli_", gen.random(self.shape) < probs)

    def random_(
        self,
        from_: int | None = None,
        to: int | None = None,
        *,
        generator: np.random.Generator | None = None,
        **kwargs: Any,
    ) -> Self:
        """Fill with integers in [from, to) in place. ``random_(to)`` draws from [0, to);
        ``random_()`` from [0, 2**mantissa] for floats and [0, max] for integer dtypes
        (PyTorch's ``Tensor.random_``; ``from`` may be passed as ``from_`` or ``from=``)."""
        from_keyword = kwargs.pop("from", None)
        if kwargs:
            raise TypeError(f"random_: unexpected arguments {sorted(kwargs)}")
        gen = self._rng_for("random_", generator)
        if from_keyword is None and from_ is not None and to is None:
            low, high = 0, from_  # random_(to)
        else:
            low = from_keyword if from_keyword is not None else (from_ or 0)
            high = self._random_top() + 1 if to is None else to
        if low >= high:
            raise ValueError(
                f"random_: expects 'from' to be less than 'to', but got from={low} >= to={high}"
            )
        return self._draw_into("random_", gen.integers(low, high, size=self.shape))

    def _random_top(self) -> int:
        kind = self.dtype.kind
        if kind == "b":
            return 1
        if kind in "iu":
            return int(np.iinfo(self.dtype).max)
        return 1 << (int(np.finfo(self.dtype).nmant) + 1)

    def exponential_(
        self, lambd: float = 1.0, *, generator: np.random.Generator | None = None
    ) -> Self:
        """Fill with samples of the exponential distribution of rate ``lambd`` in place."""
        gen = self._rng_for("exponential_", generator, floating=True)
        if not lambd > 0:
            raise ValueError(f"exponential_: expects lambda > 0.0, but found lambda={lambd}")
        return self._draw_into("exponential_", gen.exponential(1.0 / lambd, self.shape))

    def geometric_(self, p: float, *, generator: np.random.Generator | None = None) -> Self:
        """Fill with the number of Bernoulli(p) trials up to the first success (1, 2, …)."""
        gen = self._rng_for("geometric_", generator)
        if not 0 < p < 1:
            raise ValueError(f"geometric_: expects p to be in (0, 1), but got p={p}")
        return self._draw_into("geometric_", gen.geometric(p, self.shape))

    def log_normal_(
        self, mean: float = 1.0, std: float = 2.0, *, generator: np.random.Generator | None = None
    ) -> Self:
        """Fill with exp of N(mean, std²) samples in place."""
        gen = self._rng_for("log_normal_", generator, floating=True)
        if not std > 0:
            raise ValueError(f"log_normal_: expects std > 0.0, but found std={std}")
        return self._draw_into("log_normal_", gen.lognormal(mean, std, self.shape))

    def cauchy_(
        self,
        median: float = 0.0,
        sigma: float = 1.0,
        *,
        generator: np.random.Generator | None = None,
    ) -> Self:
        """Fill with Cauchy(median, sigma) samples in place."""
        gen = self._rng_for("cauchy_", generator, floating=True)
        if not sigma > 0:
            raise ValueError(f"cauchy_: expects sigma > 0.0, but found sigma={sigma}")
        return self._draw_into("cauchy_", median + sigma * gen.standard_cauchy(self.shape))
