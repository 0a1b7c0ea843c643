"""Optimizers survive pickle and deepcopy with their per-parameter state."""

from __future__ import annotations

import copy
import pickle

import numpy as np

import nabla as nb


def test_state_follows_the_parameters_through_pickle_and_deepcopy() -> None:
    model = nb.nn.Linear(3, 2)
    opt = nb.optim.Adam(model.parameters(), lr=0.1)
    model(nb.randn(4, 3)).sum().backward()
    opt.step()
    for clone_model, clone_opt in (
        pickle.loads(pickle.dumps((model, opt))),
        copy.deepcopy((model, opt)),
    ):
        params = clone_opt.param_groups[0]["params"]
        assert params[0] is clone_model.weight
        # the state is found by the new parameters (it is keyed by their identity)
        for old, new in zip(opt.param_groups[0]["params"], params):
            np.testing.assert_array_equal(
                clone_opt.state[new]["exp_avg"], opt.state[old]["exp_avg"]
            )
            assert clone_opt.state[new]["step"] == 1
