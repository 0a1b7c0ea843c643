"""nabla's peer benchmark suite: ``python -m benchmarks`` (or ``nabla bench``).

PyTorch, JAX, scikit-learn, MyGrad and HIPS autograd appear only here, as optional peers.
"""
