import itertools
import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqmem import (
    PRESETS,
    ambiguous_transitions,
    context_bits,
    context_depth,
    metrics,
    repeat_count,
)

ANCHORS = {  # preset -> (context_depth, ambiguous_transitions)
    "alphabet": (1, 0),
    "repeatone": (2, 2),
    "repeatfive": (2, 10),
    "random30": (2, 21),
}


# Brute force, straight from the definitions: position i has read s[0..i] and predicts s[(i+1) % n].
def _read(s, i):
    return s[: i + 1]


def _ctx(s, i, k):
    r = _read(s, i)
    return ("prefix", r) if len(r) < k else ("gram", r[-k:])


def brute_depth(s):
    n = len(s)
    for k in range(1, n + 1):
        if all(_ctx(s, i, k) != _ctx(s, j, k) or s[(i + 1) % n] == s[(j + 1) % n]
               for i in range(n) for j in range(n)):
            return k
    raise AssertionError("unreachable")


def brute_ambiguous(s):
    n = len(s)
    return sum(any(s[i] == s[j] and s[(i + 1) % n] != s[(j + 1) % n] for j in range(n)) for i in range(n))


def brute_bits(s, k):
    n = len(s)
    ctxs = [_ctx(s, i, k) for i in range(n)]
    total = 0.0
    for i in range(n):
        same = [j for j in range(n) if ctxs[j] == ctxs[i]]
        p = sum(s[(j + 1) % n] == s[(i + 1) % n] for j in same) / len(same)
        total -= math.log2(p)
    return total


@pytest.mark.parametrize("name", sorted(ANCHORS))
def test_notebook_anchors(name):
    s = PRESETS[name]
    assert (context_depth(s), ambiguous_transitions(s)) == ANCHORS[name]


def test_preset_strings_are_the_notebooks():
    assert PRESETS["repeatfive"] == "ABCDETFGCHIJKLDMNOPFQRSTUJVWXYZ" and len(PRESETS["repeatfive"]) == 31
    assert repeat_count(PRESETS["repeatfive"]) == 5 and repeat_count(PRESETS["repeatone"]) == 1
    assert PRESETS["random30"] == "VNMVWKTFFLOZKUNSDYGOEFOBTZTTVU"


words = st.text(alphabet="ABCD", min_size=2, max_size=14)


@settings(max_examples=300, deadline=None)
@given(words)
def test_metrics_agree_with_brute_force(s):
    assert context_depth(s) == brute_depth(s)
    assert ambiguous_transitions(s) == brute_ambiguous(s)
    assert repeat_count(s) == len(s) - len(Counter(s))
    for k in (1, 2, 3):
        assert context_bits(s, k) == pytest.approx(brute_bits(s, k), abs=1e-9)


def test_every_short_binary_word_agrees_with_brute_force():
    for n in range(2, 10):
        for letters in itertools.product("AB", repeat=n):
            s = "".join(letters)
            assert context_depth(s) == brute_depth(s), s


def test_context_bits_vanish_exactly_at_the_depth():
    rng = np.random.default_rng(0)
    for _ in range(50):
        s = "".join(rng.choice(list("ABC"), size=12))
        d = context_depth(s)
        assert context_bits(s, d) == 0
        if d > 1:
            assert context_bits(s, d - 1) > 0


def test_prefix_contexts_never_equal_later_grams():
    # "AAAB": at k=3, position 1 read "AA" (a prefix) and position 2 read "AAA".
    assert context_depth("AAAB") == 3
    assert context_depth("AB") == 1


def test_metrics_row():
    row = metrics("ABAC")
    assert row == {"length": 4, "distinct": 3, "repeat_count": 1, "context_depth": 2,
                   "ambiguous_transitions": 2, "context_bits": 2.0, "cond_entropy_1": 0.5,
                   "cond_entropy_2": 0.0, "cond_entropy_3": 0.0, "memory_bits": 2.0}


def brute_memory_bits(s):
    return sum(brute_bits(s, k) for k in range(1, brute_depth(s)))


@settings(max_examples=200, deadline=None)
@given(words)
def test_per_letter_metrics_agree_with_brute_force(s):
    m = metrics(s)
    for k in (1, 2, 3):
        assert m[f"cond_entropy_{k}"] == pytest.approx(brute_bits(s, k) / len(s), abs=1e-12)
    assert m["memory_bits"] == pytest.approx(brute_memory_bits(s), abs=1e-9)
    # More context never adds uncertainty, and depth is where it ends.
    assert m["cond_entropy_1"] >= m["cond_entropy_2"] - 1e-12 >= m["cond_entropy_3"] - 2e-12
    assert (m["memory_bits"] == 0) == (m["context_depth"] == 1)


@pytest.mark.parametrize("bad, fragment", [
    ("", "at least 2 letters"),
    ("A", "at least 2 letters"),
    ("abc", "lower-case is not folded"),
    ("AB1", "'1'"),
    ("AB C", "' '"),
    (None, "must be a string"),
])
@pytest.mark.parametrize("fn", [context_depth, repeat_count, ambiguous_transitions, context_bits, metrics])
def test_bad_input_is_rejected_naming_the_value(fn, bad, fragment):
    with pytest.raises(ValueError, match=".*") as err:
        fn(bad)
    assert fragment in str(err.value) and "\n" not in str(err.value)
