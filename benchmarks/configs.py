"""The benchmarked networks: layer sizes, activation, batch size."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Config:
    name: str
    sizes: tuple[int, ...]
    activation: str
    batch: int

    @property
    def flops(self) -> float:
        """Floating-point operations of one SGD step's matrix products.

        Forward: 2·B·in·out per layer; backward: the same for ∇W, and again for ∇X in every
        layer but the first (its input needs no gradient).
        """
        pairs = list(zip(self.sizes[:-1], self.sizes[1:]))
        per_layer = [2.0 * self.batch * n_in * n_out for n_in, n_out in pairs]
        return 2 * sum(per_layer) + sum(per_layer[1:])


MAIN = [
    Config("784-256-128-10 relu b32", (784, 256, 128, 10), "relu", 32),
    Config("784-256-128-10 relu b128", (784, 256, 128, 10), "relu", 128),
    Config("784-256-128-10 relu b1024", (784, 256, 128, 10), "relu", 1024),
    Config("notes 784-100-10 tanh b64", (784, 100, 10), "tanh", 64),
    Config("tiny 4-16-3 relu b16", (4, 16, 3), "relu", 16),
    Config("784-256-128-10 sigmoid b128", (784, 256, 128, 10), "sigmoid", 128),
    Config("deep 10×64 relu b128", (64,) * 11 + (10,), "relu", 128),
]

SWEEP = [
    Config(f"784-256-128-10 relu b{b}", (784, 256, 128, 10), "relu", b)
    for b in (1, 4, 16, 64, 256, 1024, 4096)
]
