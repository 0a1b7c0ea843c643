"""Differentiable primitives: one ``Function`` subclass per primitive, plus its public function."""
