"""Tests for seqmem.generate: exact knobs, exact feasibility, reproducible diversity."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from seqmem.generate import KnobTypeError, _fallback, feasible, generate

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


# -- an independent, definition-following checker ---------------------------------


def bf_depth(seq: str) -> int:
    """Smallest k such that equal k-contexts always predict the same next letter.

    Position i has read seq[0..i] and predicts seq[(i+1) % n]; its k-context is the
    last k letters, or the whole prefix (marked as a prefix) when fewer were read.
    """
    n = len(seq)
    for k in range(1, n + 1):
        successor: dict[tuple[str, str], str] = {}
        for i in range(n):
            context = ("prefix", seq[: i + 1]) if i + 1 < k else ("gram", seq[i + 1 - k : i + 1])
            if successor.setdefault(context, seq[(i + 1) % n]) != seq[(i + 1) % n]:
                break
        else:
            return k
    raise AssertionError("unreachable: k = n always works")


def bf_repeats(seq: str) -> int:
    return sum(1 for i, ch in enumerate(seq) if ch in seq[:i])


def canonical(seq: str) -> str:
    """Rename letters in order of first appearance: equal iff letter renamings."""
    names: dict[str, int] = {}
    for ch in seq:
        names.setdefault(ch, len(names))
    return "".join(LETTERS[names[ch]] for ch in seq)


def check(seq: str, n: int, r: int, d: int, a: int) -> None:
    assert isinstance(seq, str)
    assert len(seq) == n
    assert set(seq) <= set(LETTERS[:a]), (seq, a)
    assert bf_repeats(seq) == r, (seq, r)
    assert bf_depth(seq) == d, (seq, d)


def restricted_growth_strings(n: int):
    """Every sequence of length n up to renaming of letters (first appearances in order)."""

    def rec(prefix: list[int], top: int):
        if len(prefix) == n:
            yield "".join(LETTERS[c] for c in prefix)
            return
        for c in range(top + 1):
            yield from rec([*prefix, c], max(top, c + 1))

    yield from rec([0], 1)


# -- the checker itself -------------------------------------------------------------


def test_checker_on_known_examples():
    assert bf_depth("ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 1
    assert bf_depth("ABCDEFGHIJKLMNOPHRSTUVWXYZ") == 2
    assert bf_depth("AAAB") == 3
    assert bf_depth("ABAC") == 2
    assert bf_depth("ABAB") == 1
    assert bf_repeats("ABCDETFGCHIJKLDMNOPFQRSTUJVWXYZ") == 5
    assert canonical("QXQZ") == canonical("ABAC") == "ABAC"
    # Bell numbers: every sequence up to renaming, once.
    assert [sum(1 for _ in restricted_growth_strings(n)) for n in range(1, 9)] == [
        1,
        2,
        5,
        15,
        52,
        203,
        877,
        4140,
    ]


# -- exact knobs over the whole grid --------------------------------------------------


@st.composite
def feasible_knobs(draw):
    a = draw(st.integers(2, 26))
    n = draw(st.integers(2, 256))
    m = draw(st.integers(1, min(a, n)))
    r = n - m
    if m == 1 or r == 0:
        d = 1
    else:
        d = draw(st.one_of(st.integers(1, min(r + 1, 16)), st.integers(1, r + 1)))
        if d == 1:
            assume(n % m == 0)
    return n, r, d, a


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(knobs=feasible_knobs(), seed=st.integers(0, 2**32 - 1))
def test_generate_hits_every_knob_exactly(knobs, seed):
    n, r, d, a = knobs
    assert feasible(n, r, d, a) is None
    check(generate(n, r, d, a, rng=np.random.default_rng(seed)), n, r, d, a)


@pytest.mark.parametrize("n", [64, 256])
@pytest.mark.parametrize("d", range(1, 17))
def test_depths_up_to_16_with_26_letters(n, d):
    r = n - 16 if d == 1 else n - 26  # depth 1 needs the distinct count to divide n
    check(generate(n, r, d, 26, rng=np.random.default_rng(d)), n, r, d, 26)


@pytest.mark.parametrize(
    ("n", "r", "d", "a"),
    [
        (2, 0, 1, 2),
        (2, 1, 1, 2),
        (3, 1, 2, 2),
        (20, 18, 2, 2),
        (20, 18, 19, 2),
        (21, 19, 10, 2),
        (64, 62, 2, 2),
        (64, 62, 33, 2),
        (64, 62, 63, 2),
        (64, 62, 1, 2),
        (256, 254, 2, 2),
        (256, 254, 8, 2),
        (256, 254, 16, 2),
        (256, 254, 200, 2),
        (256, 254, 255, 2),
        (30, 27, 2, 3),
        (30, 27, 5, 3),
        (30, 27, 28, 3),
        (30, 27, 1, 3),
        (255, 252, 1, 3),
        (256, 253, 2, 3),
        (256, 253, 3, 3),
        (256, 253, 16, 3),
        (256, 253, 130, 3),
        (26, 0, 1, 26),
        (26, 1, 2, 26),
        (27, 2, 3, 26),
        (40, 15, 16, 26),
        (52, 26, 1, 26),
        (52, 26, 27, 26),
    ],
)
def test_small_alphabets_and_edges(n, r, d, a):
    for seed in range(3):
        check(generate(n, r, d, a, rng=np.random.default_rng(seed)), n, r, d, a)


# -- feasibility: exact against brute-force enumeration ------------------------------------


def achievable(max_n: int) -> dict[int, set[tuple[int, int]]]:
    """length -> {(distinct letters, depth)} over every sequence of that length."""
    return {
        n: {(len(set(s)), bf_depth(s)) for s in restricted_growth_strings(n)}
        for n in range(2, max_n + 1)
    }


@pytest.fixture(scope="module")
def small_world():
    return achievable(8)


def test_feasible_matches_enumeration(small_world):
    checked = 0
    for n, pairs in small_world.items():
        for a in [2, 3, 4, 5, 8, 26]:
            for r in range(-1, n + 1):
                for d in range(0, n + 2):
                    m = n - r
                    exists = m <= a and (m, d) in pairs
                    reason = feasible(n, r, d, a)
                    assert (reason is None) == exists, (n, r, d, a, reason)
                    assert reason is None or (isinstance(reason, str) and "\n" not in reason)
                    checked += 1
    assert checked > 1000


def test_generate_succeeds_for_every_small_feasible_combo(small_world):
    for n, pairs in small_world.items():
        for m, d in sorted(pairs):
            for a in sorted({max(m, 2), 4, 26} - set(range(m))):
                check(
                    generate(n, n - m, d, a, rng=np.random.default_rng(n * 100 + d)), n, n - m, d, a
                )


def test_fallback_construction_is_exact():
    """The proof-of-sufficiency construction (used when random attempts run out)."""
    rng = np.random.default_rng(0)
    for n in range(3, 17):
        for m in range(2, n):
            for d in range(2, n - m + 2):
                check(_fallback(n, m, d, 26, rng), n, n - m, d, 26)


# -- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        ((1, 0, 1, 26), ["length=1"]),
        ((10, 0, 1, 1), ["alphabet_size=1"]),
        ((10, 0, 1, 27), ["alphabet_size=27"]),
        ((10, -1, 1, 26), ["repeats=-1"]),
        ((10, 2, 0, 26), ["depth=0"]),
        ((10, 10, 1, 26), ["repeats=10", "length-1 = 9"]),
        ((30, 2, 3, 26), ["repeats=2", "repeats >= length-alphabet_size = 4"]),
        ((10, 6, 1, 26), ["depth=1", "repeats=6", "length=10"]),
        ((10, 9, 2, 26), ["depth=2", "distinct"]),
        ((12, 1, 3, 26), ["depth=3 needs repeats >= depth-1 = 2, got repeats=1"]),
        ((26, 0, 2, 26), ["depth=2", "repeats=0"]),
        ((64, 40, 42, 26), ["depth=42", "repeats=40"]),
    ],
)
def test_infeasible_combos_raise_value_error_naming_the_value(args, fragments):
    reason = feasible(*args)
    assert reason is not None
    for fragment in fragments:
        assert fragment in reason
    with pytest.raises(ValueError) as info:
        generate(*args, rng=np.random.default_rng(0))
    assert str(info.value) == reason


def test_errors_are_raised_before_any_work():
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    for args in [(12, 1, 3, 26), (10, 6, 1, 26), (1, 0, 1, 26), (10.0, 2, 2, 26)]:
        with pytest.raises(ValueError):
            generate(*args, rng=rng)
    assert rng.bit_generator.state == state


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"length": 10.0}, "length must be an int"),
        ({"repeats": "2"}, "repeats must be an int"),
        ({"depth": True}, "depth must be an int"),
        ({"alphabet_size": None}, "alphabet_size must be an int"),
        ({"rng": 0}, "rng must be a numpy.random.Generator"),
        ({"rng": np.random.RandomState(0)}, "rng must be a numpy.random.Generator"),
        ({"rng": random.Random(0)}, "rng must be a numpy.random.Generator"),
    ],
)
def test_type_errors(kwargs, fragment):
    call = {
        "length": 10,
        "repeats": 2,
        "depth": 2,
        "alphabet_size": 26,
        "rng": np.random.default_rng(0),
    } | kwargs
    with pytest.raises(KnobTypeError, match=fragment) as info:
        generate(**call)
    assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)
    if "rng" not in kwargs:
        knobs = {k: v for k, v in call.items() if k != "rng"}
        assert fragment in feasible(**knobs)


def test_numpy_integer_knobs_are_accepted():
    n, r, d = np.int64(30), np.int32(8), np.int16(4)
    assert feasible(n, r, d) is None
    check(generate(n, r, d, rng=np.random.default_rng(0)), 30, 8, 4, 26)


def test_generate_requires_rng_keyword():
    with pytest.raises(TypeError):
        generate(10, 2, 2, 26, np.random.default_rng(0))  # type: ignore[misc]


# -- randomness: reproducible, diverse, no global state ----------------------------------


DIVERSE_KNOBS = [
    (30, 5, 3, 26),
    (12, 3, 3, 26),
    (64, 40, 4, 26),
    (64, 40, 16, 26),
    (256, 230, 2, 26),
    (256, 230, 8, 26),
    (40, 37, 5, 3),
    (100, 98, 10, 2),
]


@pytest.mark.parametrize("knobs", DIVERSE_KNOBS)
def test_same_seed_same_sequence(knobs):
    first = generate(*knobs, rng=np.random.default_rng(12345))
    assert generate(*knobs, rng=np.random.default_rng(12345)) == first
    gen = np.random.default_rng(7)
    again = np.random.default_rng(7)
    assert [generate(*knobs, rng=gen) for _ in range(3)] == [
        generate(*knobs, rng=again) for _ in range(3)
    ]


@pytest.mark.parametrize("knobs", DIVERSE_KNOBS)
def test_different_seeds_give_different_structures(knobs):
    n, r, d, a = knobs
    seqs = [generate(*knobs, rng=np.random.default_rng(seed)) for seed in range(20)]
    for seq in seqs:
        check(seq, n, r, d, a)
    forms = {canonical(s) for s in seqs}
    assert len(forms) >= 15, forms  # not one template with letters renamed
    # The repeats fall at different places: positions of non-first occurrences vary.
    repeat_positions = {tuple(i for i, ch in enumerate(s) if ch in s[:i]) for s in seqs}
    assert len(repeat_positions) >= 10 or r > n - 4


def test_letter_choice_varies_too():
    seqs = {generate(26, 0, 1, 26, rng=np.random.default_rng(seed)) for seed in range(10)}
    assert len(seqs) == 10  # r == 0: all permutations share one canonical form
    seqs = {generate(20, 16, 1, 10, rng=np.random.default_rng(seed)) for seed in range(10)}
    assert len({frozenset(s) for s in seqs}) > 1


def test_no_global_random_state_is_used():
    np_state = np.random.get_state()  # noqa: NPY002 (checking the legacy global)
    py_state = random.getstate()
    for knobs in DIVERSE_KNOBS[:4]:
        generate(*knobs, rng=np.random.default_rng(0))
    after = np.random.get_state()  # noqa: NPY002
    assert np_state[0] == after[0] and np.array_equal(np_state[1], after[1])
    assert np_state[2:] == after[2:]
    assert random.getstate() == py_state


# -- seqmem.forks: depth and ambiguity as independent exact knobs ---------------------------

from seqmem.difficulty import ambiguous_transitions, context_bits, context_depth, repeat_count  # noqa: E402,E501
from seqmem.forks import feasible_forks, forks  # noqa: E402
from seqmem.sequences import ALPHABET  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.integers(2, 40), st.integers(1, 8), st.integers(0, 6), st.integers(2, 26),
       st.integers(0, 2**32 - 1))
def test_forks_has_exactly_its_knobs_or_says_why_not(n, d, f, a, seed):
    reason = feasible_forks(n, d, f, a)
    if reason is not None:
        with pytest.raises(ValueError) as err:
            forks(n, d, f, a, rng=np.random.default_rng(seed))
        assert str(err.value) == reason
        return
    s = forks(n, d, f, a, rng=np.random.default_rng(seed))
    assert len(s) == n and set(s) <= set(ALPHABET[:a])
    assert context_depth(s) == d
    assert ambiguous_transitions(s) == (0 if d == 1 else 2 + 2 * f)
    assert context_bits(s) == (0 if d == 1 else 2 + 2 * f)
    assert repeat_count(s) == d - 1 + f
    assert s == forks(n, d, f, a, rng=np.random.default_rng(seed))


def test_forks_feasibility_is_the_construction_rule():
    assert feasible_forks(24, 6, 3) is None and feasible_forks(23, 6, 3) is not None
    assert "alphabet_size=4" in feasible_forks(12, 2, 1, 4)
    assert "depth=1 has no fork" in feasible_forks(10, 1, 2)
    with pytest.raises(TypeError, match="forks must be an int"):
        forks(24, 3, 1.0, rng=np.random.default_rng(0))


def test_uniform_letters_are_iid_from_the_alphabet():
    from seqmem.generate import uniform

    s = uniform(4000, 4, rng=np.random.default_rng(1))
    counts = np.array([s.count(c) for c in "ABCD"])
    assert set(s) == set("ABCD") and abs(counts - 1000).max() < 150
    with pytest.raises(ValueError, match="length=1 must be >= 2"):
        uniform(1, 4, rng=np.random.default_rng(0))
