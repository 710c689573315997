"""Numbers printed as Python prints them, a whole array at once, into one byte buffer.

A token is a number and the byte that follows it (a space, a newline). A fractional token holds
``k``, a whole number of ``10**-decimals`` units, and prints as ``str(k / 10**decimals + 0.0)``
(what ``str`` gives for a value truncated or rounded to ``decimals`` places); an integer token
prints as ``str(int(k))``. Tokens in the common range are laid out by table look-ups on 4-digit
chunks; the rest (tiny, huge, NaN, infinite) go through ``str`` one by one.

Why the digits of ``k`` are what ``str`` prints: ``k / 10**d`` is the double nearest the decimal
``k·10**-d``; with at most 15 significant digits (``|k| < 10**(8 + d)``) no other decimal of as
few digits rounds to the same double, so the shortest round-trip text ``repr`` picks has exactly
``k``'s digits (trailing zeros dropped), written fixed-point for values from 1e-4 up to 1e16.
"""

from __future__ import annotations

import functools

import numpy as np

MAX_DECIMALS = 7  # the frame below holds 7 fractional digits
INTEGER_DIGITS = 8  # and 8 integer digits (a value below 1e8)
_CHUNK = 10_000
_WIDTH = 24  # bytes per laid-out token: 4 spare (sign), 8 integer digits, '.', 7 fractional digits, separator
_POINT = 12  # the column of the decimal point; integer digits end just before it
_INTEGER_LIMIT = 10.0**INTEGER_DIGITS
_BATCH = 1 << 18  # tokens laid out at once (about 130 bytes of work arrays each)


def _chunk_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Of every number below 10,000: its 4 ASCII digits as one uint32, the same with the first
    digit replaced by ``'.'``, its trailing zeros (4 for 0) and its digit count (1 for 0)."""
    numbers = np.arange(_CHUNK)
    digits = np.stack([(numbers // 10**power) % 10 for power in (3, 2, 1, 0)], 1).astype(np.uint8) + ord("0")
    dotted = digits.copy()
    dotted[:, 0] = ord(".")
    zeros = np.zeros(_CHUNK, np.int64)
    for power in (10, 100, 1000, 10_000):
        zeros += numbers % power == 0
    counts = np.searchsorted([10, 100, 1000], numbers, side="right") + 1
    return digits.view(np.uint32).ravel(), dotted.view(np.uint32).ravel(), zeros, counts


_DIGITS, _DOTTED, _TRAILING_ZEROS, _DIGIT_COUNTS = _chunk_tables()


def render_tokens(units: np.ndarray, fractional: np.ndarray | bool, separators: np.ndarray | int,
                  decimals: int) -> tuple[np.ndarray, np.ndarray]:
    """``(text, ends)``: the bytes (uint8) of every token of the flat float64 array ``units``
    followed by its separator byte, concatenated, and the offset just past each token's separator.

    ``fractional`` (per token, or one flag for all) says which tokens are fractional; integer
    tokens must hold whole numbers. ``decimals`` is 1 to 7.
    """
    if not 0 < decimals <= MAX_DECIMALS:
        raise ValueError(f"decimals must be 1..{MAX_DECIMALS}, got {decimals}")
    units = np.asarray(units, np.float64).ravel()
    fractional = np.broadcast_to(np.asarray(fractional, bool), units.shape)
    separators = np.broadcast_to(np.asarray(separators, np.uint8), units.shape)
    if len(units) <= _BATCH:
        return _rendered(units, fractional, separators, decimals)
    parts = [_rendered(units[at:at + _BATCH], fractional[at:at + _BATCH], separators[at:at + _BATCH], decimals)
             for at in range(0, len(units), _BATCH)]
    starts = np.cumsum([0] + [len(text) for text, _ in parts[:-1]])
    return (np.concatenate([text for text, _ in parts]),
            np.concatenate([ends + start for (_, ends), start in zip(parts, starts.tolist())]))


def _rendered(units: np.ndarray, fractional: np.ndarray, separators: np.ndarray,
              decimals: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`render_tokens` of one batch."""
    magnitude = np.abs(units)
    fast = _in_fixed_range(magnitude, fractional, decimals)
    whole = np.where(fast, magnitude, 0.0).astype(np.int64)
    quotient, remainder = np.divmod(whole, 10**decimals)
    integer = np.divmod(np.where(fractional, quotient, whole), _CHUNK)
    fraction = np.divmod(np.where(fractional, remainder * 10 ** (MAX_DECIMALS - decimals), 0), _CHUNK)
    start, end = _spans(integer, fraction, fractional, fast & (units < 0))
    slow = np.flatnonzero(~fast)
    texts = [_python_text(value, is_fraction, decimals).encode() for value, is_fraction
             in zip(units[slow].tolist(), fractional[slow].tolist())]
    chars = _laid_out(integer, fraction, max([_WIDTH, *(len(text) + 1 for text in texts)]))
    start[slow], end[slow] = 0, [len(text) for text in texts]
    for row, text in zip(slow.tolist(), texts):
        chars[row, :len(text)] = np.frombuffer(text, np.uint8)
    width = chars.shape[1]
    flat = chars.reshape(-1)
    row_starts = np.arange(0, len(units) * width, width)
    negative = np.flatnonzero(fast & (units < 0))
    flat[row_starts[negative] + start[negative]] = ord("-")
    flat[row_starts + end] = separators
    return chars[np.take(_kept_columns(width), start * width + end, axis=0)], np.cumsum(end - start + 1)


def _in_fixed_range(magnitude: np.ndarray, fractional: np.ndarray, decimals: int) -> np.ndarray:
    """Tokens whose ``str`` is the fixed-point frame: below 1e8, and a fractional one either 0 or
    at least 1e-4 (``str`` writes smaller values with an exponent)."""
    smallest = 10.0 ** max(decimals - 4, 0)
    below = magnitude < np.where(fractional, _INTEGER_LIMIT * 10**decimals, _INTEGER_LIMIT)
    return below & (~fractional | (magnitude == 0) | (magnitude >= smallest))


def _spans(integer: tuple[np.ndarray, np.ndarray], fraction: tuple[np.ndarray, np.ndarray],
           fractional: np.ndarray, negative: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per token the first column of its text (its sign included) and the column of its separator,
    from its integer part and its 7 fractional digits, each as (high, low) 4-digit chunks."""
    (high, low), (fraction_high, fraction_low) = integer, fraction
    digits = np.where(high > 0, 4 + _DIGIT_COUNTS[high], _DIGIT_COUNTS[low])
    zeros = np.where(fraction_low > 0, _TRAILING_ZEROS[fraction_low], 4 + _TRAILING_ZEROS[fraction_high])
    fraction_end = np.where(zeros == 8, _POINT + 2, _POINT + 1 + MAX_DECIMALS - zeros)
    return _POINT - digits - negative, np.where(fractional, fraction_end, _POINT)


def _laid_out(integer: tuple[np.ndarray, np.ndarray], fraction: tuple[np.ndarray, np.ndarray],
              width: int) -> np.ndarray:
    """``(tokens, width)`` uint8 (width rounded up to whole words): 8 integer digits from column 4,
    the point, 7 fractional digits."""
    words = np.zeros((len(integer[0]), -(-width // 4)), np.uint32)
    words[:, 1] = _DIGITS[integer[0]]
    words[:, 2] = _DIGITS[integer[1]]
    words[:, 3] = _DOTTED[fraction[0]]
    words[:, 4] = _DIGITS[fraction[1]]
    return words.view(np.uint8)


@functools.cache
def _kept_columns(width: int) -> np.ndarray:
    """Row ``start * width + end``: the columns ``start..end`` of a laid-out token (its text and separator)."""
    columns = np.arange(width)
    bounds = np.arange(width)
    return ((columns >= bounds[:, None, None]) & (columns <= bounds[None, :, None])).reshape(-1, width)


def _python_text(value: float, fractional: bool, decimals: int) -> str:
    """The text ``str`` gives a token outside the fixed-point frame."""
    return str(value / float(10**decimals) + 0.0) if fractional else str(int(value))
