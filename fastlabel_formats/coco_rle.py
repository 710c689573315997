"""COCO RLE masks read safely: the size and the run lengths of a mask are checked against its image
before pycocotools decodes it (a mask whose runs do not cover exactly its size is skipped, never
decoded past its end), and why a record is skipped travels as :class:`SkippedRecord`."""

from __future__ import annotations

from .errors import FormatError


class SkippedRecord(Exception):
    """Why one annotation record is skipped (``kind``, a finding), with a ``detail`` for its place."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(kind)
        self.kind, self.detail = kind, detail


def brief(value: object) -> str:
    """``repr(value)`` cut short, without walking a list or an object (which may be nested deep)."""
    if isinstance(value, (list, dict)):
        return f"a {type(value).__name__} of {len(value)}"
    return f"{value!r:.40}"


def whole_number(value: object) -> int | None:
    """``value`` as an int when it is a whole number (``64`` or ``64.0``), else None."""
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    return None


def rle_segmentation(rle: dict, size: tuple[int, int]) -> tuple[str, list] | None:
    """The segmentation of an RLE mask (None when it is empty); SkippedRecord when its size is not
    its image's (``size``: width, height; 0 when unknown) or its counts do not cover that size."""
    from pycocotools import mask as coco_mask

    from .masks import mask_to_segmentation
    from .raster import check_image_size

    height, width = rle_size(rle)
    if all(size) and (width, height) != size:
        raise SkippedRecord("RLE mask of another size than its image, skipped",
                            f"mask {width}×{height}, image {size[0]}×{size[1]}")
    try:
        check_image_size(width, height, "COCO RLE")  # beyond it: skipped before decoding
    except FormatError as error:
        raise SkippedRecord("RLE mask too large to decode, skipped", str(error)) from None
    counts = rle.get("counts")
    runs = counts if type(counts) is list else string_counts(counts) if type(counts) is str else None
    if runs is None or not all(type(run) is int and run >= 0 for run in runs) or sum(runs) != width * height:
        covered = "unreadable" if runs is None else f"{sum(r for r in runs if type(r) is int):,} pixels"
        raise SkippedRecord("RLE mask whose counts do not cover its size, skipped",
                            f"counts: {covered}, size: {width * height:,}")
    if type(counts) is list:
        rle = coco_mask.frPyObjects({"size": [height, width], "counts": counts}, height, width)
    else:
        rle = {"size": [height, width], "counts": counts.encode("ascii")}
    points = mask_to_segmentation(coco_mask.decode(rle))
    return ("segmentation", points) if points else None


def rle_size(rle: dict) -> tuple[int, int]:
    """``(height, width)`` of an RLE mask, whole numbers ≥ 0; else SkippedRecord."""
    size = rle.get("size")
    if type(size) is list and len(size) == 2:
        height, width = whole_number(size[0]), whole_number(size[1])
        if height is not None and width is not None and height >= 0 and width >= 0:
            return height, width
    raise SkippedRecord("RLE mask without a [height, width] size, skipped", f"size {brief(size)}")


def string_counts(text: str) -> list[int] | None:
    """The run lengths of a compressed COCO RLE string (pycocotools' ``rleFrString``: 6-bit groups
    from ``'0'``, 5 value bits and a continuation bit, the sign in the last group; from the 3rd run
    on, each is a difference to the run two before); None when the text is not such a string."""
    runs: list[int] = []
    value = shift = 0
    for character in text:
        group = ord(character) - 48
        if not 0 <= group < 64:
            return None
        value |= (group & 0x1F) << shift
        shift += 5
        if group & 0x20:
            continue
        if group & 0x10:
            value -= 1 << shift
        runs.append(value + runs[-2] if len(runs) > 2 else value)
        value = shift = 0
    return runs if shift == 0 else None
