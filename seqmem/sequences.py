"""The notebook's alphabet and preset sequences, validation and encoding.

A sequence is a string of upper-case letters from an alphabet (default A-Z) of
length at least 2. Lower-case letters are rejected, not folded: "abc" and "ABC"
would otherwise silently become the same run.
"""

from __future__ import annotations

import numpy as np

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

PRESETS: dict[str, str] = {
    "alphabet": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    # H appears twice (at 7 and 16) and Q is missing.
    "repeatone": "ABCDEFGHIJKLMNOPHRSTUVWXYZ",
    # The notebook says "Seq len 30"; the string has 31 letters (C, D, F, J, T repeat).
    "repeatfive": "ABCDETFGCHIJKLDMNOPFQRSTUJVWXYZ",
    # "30 randomly selected characters", with replacement.
    "random30": "VNMVWKTFFLOZKUNSDYGOEFOBTZTTVU",
}


def validate(seq: str, alphabet: str = ALPHABET) -> str:
    """Return `seq` unchanged if it is a valid sequence over `alphabet`, else raise ValueError.

    >>> validate("ABCA")
    'ABCA'
    """
    if not isinstance(seq, str):
        raise ValueError(f"sequence must be a string, got {seq!r}")
    if len(seq) < 2:
        raise ValueError(f"sequence must have at least 2 letters, got {seq!r}")
    bad = sorted({ch for ch in seq if ch not in alphabet})
    if bad:
        hint = " (lower-case is not folded)" if any(ch.upper() in alphabet for ch in bad) else ""
        raise ValueError(f"sequence {seq!r} has letters outside the alphabet: {''.join(bad)!r}{hint}")
    return seq


def resolve(name_or_letters: str, alphabet: str = ALPHABET) -> str:
    """A preset name (`"random30"`) or an explicit string of letters -> validated letters.

    >>> resolve("repeatone")
    'ABCDEFGHIJKLMNOPHRSTUVWXYZ'
    """
    if isinstance(name_or_letters, str) and name_or_letters in PRESETS:
        return validate(PRESETS[name_or_letters], alphabet)
    return validate(name_or_letters, alphabet)


def encode(seq: str, alphabet: str = ALPHABET) -> np.ndarray:
    """Letters -> int64 indices into `alphabet`.

    >>> encode("BAD").tolist()
    [1, 0, 3]
    """
    validate(seq, alphabet)
    index = {ch: i for i, ch in enumerate(alphabet)}
    return np.array([index[ch] for ch in seq], dtype=np.int64)


def decode(indices, alphabet: str = ALPHABET) -> str:
    """Int indices -> letters (inverse of `encode`)."""
    return "".join(alphabet[int(i)] for i in indices)
