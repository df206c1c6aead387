"""Inference at the level of sequences (issue 18): exact sign-flip tests for the width x lr
doublings, the depth effect per width, the design factors' aliases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.design import aliases
from analysis.widthlr import sign_flip_p, step_verdict


def test_sign_flip_p_is_exact():
    # six sequences all lower: only the all-negative and all-positive patterns are as extreme
    assert sign_flip_p(np.array([-0.1, -0.2, -0.3, -0.1, -0.2, -0.4])) == pytest.approx(2 / 64)
    # one sequence against the rest: a larger p
    p = sign_flip_p(np.array([-0.1, -0.2, -0.3, -0.1, -0.2, 0.4]))
    assert p > 0.05
    assert sign_flip_p(np.zeros(4)) == 1.0


def test_step_verdict_follows_the_exact_test_not_the_bootstrap():
    assert step_verdict(-0.19, 2 / 64) == "worse"
    assert step_verdict(0.2, 0.03) == "better"
    assert step_verdict(-0.19, 0.09) == ""


def test_aliases_list_every_metric_that_moves_with_a_design_factor():
    corr = pd.DataFrame([[1.0, 0.1, 0.85, -0.9], [0.1, 1.0, 0.2, 0.99],
                         [0.85, 0.2, 1.0, 0.0], [-0.9, 0.99, 0.0, 1.0]],
                        index=["context_depth", "ambiguous_transitions", "memory_bits", "h1"],
                        columns=["context_depth", "ambiguous_transitions", "memory_bits", "h1"])
    a = aliases(corr)
    got = {(r.factor, r.alias) for r in a.itertuples()}
    assert got == {("context_depth", "memory_bits"), ("context_depth", "h1"),
                   ("ambiguous_transitions", "h1")}
