"""Label Studio's brush RLE (label-studio-converter ``brush.py``, after thi-ng/umbrella's rle-pack): the
RGBA bytes of a mask image as runs, decoded and encoded on whole arrays where the format allows."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...errors import FormatError

MAX_RLE_VALUES = 4 * 89_478_485  # the RGBA values of the largest image rendered (raster.MAX_IMAGE_PIXELS)

# The layout:
# 32 bits value count, 5 bits word size - 1, four 4-bit run-length field sizes - 1, then runs:
# 1 bit repeated?, 2 bits which field size, the run length - 1 in that many bits, then one word
# (repeated) or run-length words (literal). The values are the RGBA bytes of the mask image.


class _Bits:
    """A big-endian bit reader over bytes."""

    def __init__(self, data: np.ndarray) -> None:
        self.bits = (np.unpackbits(data) + 48).tobytes().decode("ascii")
        self.position = 0

    def read(self, size: int) -> int:
        end = self.position + size
        if end > len(self.bits):
            raise FormatError("brush RLE ends early")
        value = int(self.bits[self.position:end] or "0", 2)
        self.position = end
        return value


def brush_decode(rle: Sequence[int]) -> np.ndarray:
    """The values (RGBA bytes of the mask image) of a Label Studio brush RLE; FormatError when it
    is not one."""
    try:
        data = np.asarray(rle, dtype=np.int64)
    except (TypeError, ValueError, OverflowError):
        raise FormatError("brush RLE is not a list of byte values") from None
    if data.ndim != 1 or ((data < 0) | (data > 255)).any():
        raise FormatError("brush RLE is not a list of byte values")
    bits = _Bits(data.astype(np.uint8))
    count, word = bits.read(32), bits.read(5) + 1
    sizes = [bits.read(4) + 1 for _ in range(4)]
    if count > MAX_RLE_VALUES:
        raise FormatError(f"brush RLE of {count:,} values is larger than the largest image rendered")
    out = np.zeros(count, np.uint8 if word <= 8 else np.uint32)
    start = 0
    while start < count:
        repeated = bits.read(1)
        end = start + 1 + bits.read(sizes[bits.read(2)])
        if end > count:
            raise FormatError("brush RLE run goes past its value count")
        out[start:end] = bits.read(word) if repeated else [bits.read(word) for _ in range(end - start)]
        start = end
    return out


RUN_LIMITS = (8, 16, 256)  # the longest run of run-length fields 0, 1, 2 (3, 4, 8 bits); longer: field 3
RUN_FIELD_BITS = np.array([3, 4, 8, 16])
LONG_RUN = 1 << 16


def brush_encode(mask: np.ndarray) -> list[int]:
    """The Label Studio brush RLE of a 2-D boolean mask: every pixel's R, G, B and A 255 where it
    is painted, 0 elsewhere; byte for byte what label-studio-converter's ``mask2rle`` writes."""
    flat = np.asarray(mask, bool).ravel()
    lengths, values = _value_runs(flat)
    tokens, widths = _run_tokens(lengths, values)
    header = f"{len(flat) * 4:032b}{8 - 1:05b}" + "".join(f"{size - 1:04b}" for size in (3, 4, 8, 16))
    bits = np.concatenate([np.frombuffer(header.encode(), np.uint8) - 48, _token_bits(tokens, widths)])
    bits = np.concatenate([bits, np.zeros(8 - len(bits) % 8, np.uint8)])  # always padded, as LS does
    return np.packbits(bits).tolist()


def _value_runs(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run lengths of the RGBA values of a flat mask (pixel runs × 4) and their values (255 or 0);
    a run over 256 cut into pieces of 2^16 and the rest, each flagged as long (field 3)."""
    if not len(flat):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    ends = np.append(np.flatnonzero(flat[1:] != flat[:-1]), len(flat) - 1)
    lengths = np.diff(np.append(-1, ends)) * 4
    values = np.where(flat[ends], 255, 0)
    pieces = np.where(lengths > 256, (lengths - 1) // LONG_RUN + 1, 1)
    piece = np.arange(pieces.sum()) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    run_lengths = np.repeat(lengths, pieces)
    long = np.repeat(lengths > 256, pieces)
    piece_lengths = np.where(piece < np.repeat(pieces, pieces) - 1, LONG_RUN, run_lengths - piece * LONG_RUN)
    return np.where(long, -piece_lengths, piece_lengths), np.repeat(values, pieces)


def _run_tokens(lengths: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each run as one token (repeated flag, field selector, length - 1, value) and its bit width;
    a negative length is a piece of a long run (field 3 whatever its length)."""
    long, lengths = lengths < 0, np.abs(lengths)
    selector = np.where(long, 3, np.select([lengths <= limit for limit in RUN_LIMITS], [0, 1, 2], 3))
    field = RUN_FIELD_BITS[selector].astype(np.uint64)
    as_bits = np.uint64
    tokens = (lengths > 1).astype(as_bits) << (field + as_bits(10))
    tokens |= selector.astype(as_bits) << (field + as_bits(8))
    tokens |= ((lengths - 1).astype(as_bits) << as_bits(8)) | values.astype(as_bits)
    return tokens, (field + as_bits(11)).astype(np.int64)


def _token_bits(tokens: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """The bits of every token, each its ``widths`` lowest bits, most significant first, in order."""
    aligned = (tokens << (32 - widths).astype(np.uint64)).astype(">u4")  # widths <= 27 bits
    bits = np.unpackbits(aligned.view(np.uint8)).reshape(-1, 32)
    return bits[np.arange(32)[None, :] < widths[:, None]]


def brush_mask(rle: Sequence[int], width: int, height: int) -> tuple[np.ndarray, bool]:
    """The painted pixels (alpha not 0) of a brush RLE of a ``width`` × ``height`` image, and
    whether some are only partly opaque."""
    values = brush_decode(rle)
    if len(values) != width * height * 4:
        raise FormatError(f"brush RLE holds {len(values):,} values, not the {width * height * 4:,} of a "
                          f"{width} × {height} RGBA image")
    alpha = values.reshape(height, width, 4)[:, :, 3]
    return alpha != 0, bool(((alpha != 0) & (alpha != 255)).any())
