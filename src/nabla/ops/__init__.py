"""Differentiable primitives: one ``Function`` subclass per primitive, plus its public function.

Importing the package registers the fast kernels of the hot ops (:mod:`nabla.ops.kernels`)
with the kernel registry that the engine and the compiler read.
"""

from nabla.ops import kernels as kernels
