"""A JSON list written in parts: fragments of its items appended in order to a temporary spool, then
copied into the finished document (how COCO image and annotation records of many chunks, built in
any process, become one file)."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path
from typing import BinaryIO

import numpy as np
import orjson

from .files import atomic_output, dump_json, is_remote, make_folder, open_binary, remove


def json_fragment(items: list, indent: int | None) -> bytes:
    """The JSON of ``items`` without the list brackets: compact (orjson), or the items of a list
    at depth 2 of ``json.dumps(..., indent=indent)`` (the official SDK's bytes)."""
    if not items:
        return b""
    if indent is None:
        return dump_json(items)[1:-1]
    pad = " " * (2 * indent)
    return ",\n".join(pad + dump_json(item, indent).decode().replace("\n", "\n" + pad) for item in items).encode()


# the bytes a spool keeps in memory before it moves them to its temporary file
SPOOL_IN_MEMORY = 32 << 20


class JsonListSpool:
    """The items of one JSON list, appended fragment by fragment to a spool: in memory (the
    fragments themselves, written out once at the end) up to :data:`SPOOL_IN_MEMORY` bytes, then a
    temporary file beside ``path``."""

    def __init__(self, path: Path | str, key: str, indent: int | None) -> None:
        folder = None  # beside a local output, in the temporary folder for an fsspec one
        if not is_remote(path):
            make_folder(path.parent)
            folder = path.parent
        name = str(path).rsplit("/", 1)[-1]
        self._file_options = {"prefix": f".{name}.{key}.", "suffix": ".tmp", "dir": folder}
        self.file: BinaryIO | None = None  # once the items outgrow memory
        self.pieces: list[bytes] = []  # the items' bytes while they fit in memory
        self.held = 0
        self.separator = b"," if indent is None else b",\n"
        self.indent, self.empty = indent, True

    def append(self, fragment: bytes) -> None:
        if fragment:
            if not self.empty:
                self._write(self.separator)
            self._write(fragment)
            self.empty = False

    def add(self, piece: bytes | str | Path | None) -> None:
        """Append what a worker handed back for this list: a fragment, or the part file it spooled
        (see :func:`write_part`; None: nothing)."""
        if isinstance(piece, bytes):
            self.append(piece)
        elif piece is not None:
            self.append_part(piece)

    def append_part(self, part: str | Path) -> None:
        """Append the fragment a worker wrote to ``part`` (see :func:`write_part`), then remove it."""
        with open_binary(part) as stream:
            if not self.empty:
                self._write(self.separator)
            while chunk := stream.read(1 << 20):
                self._write(chunk)
        self.empty = False
        remove(part)

    def _write(self, data: bytes) -> None:
        if self.file is not None:
            self.file.write(data)
            return
        self.pieces.append(data)
        self.held += len(data)
        if self.held > SPOOL_IN_MEMORY:
            self.file = tempfile.TemporaryFile(**self._file_options)
            self.file.writelines(self.pieces)
            self.pieces = []

    def copy_items(self, stream: BinaryIO) -> None:
        """Write the items spooled (without the list's brackets) into ``stream``."""
        if self.file is None:
            stream.writelines(self.pieces)
            return
        self.file.seek(0)
        shutil.copyfileobj(self.file, stream, 1 << 20)

    def copy_into(self, stream: BinaryIO, key: str) -> None:
        """Write ``"key": [items]`` into ``stream`` as the compact or the indented writer would."""
        name = b'"' + key.encode() + b'"'
        if self.indent is None:
            head, tail = name + b":[", b"]"
        else:
            pad = b" " * self.indent
            head, tail = (pad + name + b": [", b"]") if self.empty else (pad + name + b": [\n", b"\n" + pad + b"]")
        stream.write(head)
        self.copy_items(stream)
        stream.write(tail)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
        self.pieces = []


def write_part(folder: str | Path, fragments: list[bytes], indent: int | None) -> str | None:
    """The non-empty ``fragments`` joined into one new file in ``folder`` (None when all are empty)."""
    body = (b"," if indent is None else b",\n").join(fragment for fragment in fragments if fragment)
    if not body:
        return None
    path = f"{str(folder).rstrip('/')}/{uuid.uuid4().hex}.part"
    with atomic_output(path if is_remote(path) else Path(path)) as stream:
        stream.write(body)
    return path


def number_texts(numbers: list) -> list[bytes]:
    """The JSON of each number of ``numbers`` as ``orjson`` writes it (dumped together, then split).

    >>> number_texts([1, 2.5, 1e16, -0.0])
    [b'1', b'2.5', b'1e16', b'-0.0']
    """
    return orjson.dumps(numbers)[1:-1].split(b",")


def array_texts(values: np.ndarray) -> list[bytes]:
    """:func:`number_texts` of ``integral_to_int(values)`` (a float array's integral values written as
    integers; an integer array as it is), dumped from the array itself rather than from Python numbers.

    >>> array_texts(np.array([1.0, 2.5, -0.0, 1e16]))
    [b'1', b'2.5', b'0', b'10000000000000000']
    """
    values = np.ravel(values)
    if values.dtype.kind in "iu" or not values.size:
        return _dumped_texts(values)
    integral = np.isfinite(values) & (values == np.trunc(values)) & (np.abs(values) < 2.0**63)
    if integral.all():
        return _dumped_texts(values.astype(np.int64))
    texts = _dumped_texts(values)
    positions = np.flatnonzero(integral)
    integers = _dumped_texts(values[positions].astype(np.int64))
    if len(positions) * 8 < len(values):  # a few: put in one by one
        for position, text in zip(positions.tolist(), integers):
            texts[position] = text
        return texts
    merged = np.array(texts, dtype=object)
    merged[positions] = integers
    return merged.tolist()


def _dumped_texts(values: np.ndarray) -> list[bytes]:
    """The JSON of each number of a flat array as orjson writes it (dumped together, then split)."""
    return orjson.dumps(values, option=orjson.OPT_SERIALIZE_NUMPY)[1:-1].split(b",") if values.size else []


def list_fragment(items: list, indent: int | None) -> bytes:
    """The JSON of ``items`` without the brackets of a top-level list: compact, or indented as
    ``json.dumps(items, indent=indent)`` lays them out."""
    if indent is None or not items:
        return json_fragment(items, None)
    pad = " " * indent
    return ",\n".join(pad + dump_json(item, indent).decode().replace("\n", "\n" + pad) for item in items).encode()


def write_list(stream, spool: JsonListSpool | None) -> None:
    """A JSON list of the items spooled (an empty list when nothing was)."""
    stream.write(b"[")
    if spool is not None and not spool.empty:
        if spool.indent is not None:
            stream.write(b"\n")
        spool.copy_items(stream)
        if spool.indent is not None:
            stream.write(b"\n")
    stream.write(b"]")
