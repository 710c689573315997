"""What a conversion could not carry over, counted with the first few places."""

from __future__ import annotations

import os
from array import array
from collections.abc import Iterable, Iterator, MutableSequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import FormatError

EXAMPLES_KEPT = 5
SHOWN = 10  # entries a FileList's repr shows
LOCAL_PATH = type(Path())  # what Path() makes here (PosixPath or WindowsPath)


class FileList(MutableSequence):
    """The files a conversion wrote, in order, kept compactly: each folder once and the names in
    one buffer (about 30 bytes a file instead of a ``Path`` object's 500). Reading an entry gives
    it back as it was added: a ``Path`` for a local file, a ``str`` for a URL."""

    def __init__(self, paths: Iterable[Path | str] = ()) -> None:
        self._folders: list[tuple[type, str]] = []  # (type of the entries, folder with its trailing separator)
        self._folder_numbers: dict[tuple[type, str], int] = {}
        self._folder_of = array("I")  # per entry: its folder's number
        self._ends = array("Q")  # per entry: where its name ends in _names
        self._names = bytearray()
        self._odd: dict[int, object] = {}  # entries that are neither str nor a Path, kept as they are
        self.extend(paths)

    def append(self, path: Path | str) -> None:
        """Add ``path`` (a ``Path`` or a ``str``) at the end."""
        kind = type(path)
        if not (kind is str or isinstance(path, Path)):
            self._odd[len(self._ends)] = path
            self._add(kind, "")
        else:
            self._add(kind, str(path))

    def extend_written(self, texts: Iterable[str]) -> None:
        """Add the files named by ``texts`` as a run reports them: a URL is read back as a ``str``,
        a local path as a ``Path`` (made only when it is read)."""
        for text in texts:
            self._add(str if "://" in text else LOCAL_PATH, text)

    def _add(self, kind: type, text: str) -> None:
        cut = _folder_end(text)
        key = (kind, text[:cut])
        number = self._folder_numbers.get(key)
        if number is None:
            number = self._folder_numbers[key] = len(self._folders)
            self._folders.append(key)
        self._folder_of.append(number)
        self._names += text[cut:].encode("utf-8", "surrogatepass")
        self._ends.append(len(self._names))

    def extend(self, paths: Iterable[Path | str]) -> None:
        """Add every path of ``paths`` at the end."""
        for path in paths:
            self.append(path)

    def rebase(self, old: str | os.PathLike[str], new: str | os.PathLike[str]) -> None:
        """Every local entry inside folder ``old`` named inside folder ``new`` instead (a staged
        output once it is published in its folder's place)."""
        old_text, new_text = os.path.join(os.fspath(old), ""), os.path.join(os.fspath(new), "")
        for number, (kind, folder) in enumerate(self._folders):
            if kind is not str and folder.startswith(old_text):
                del self._folder_numbers[kind, folder]
                self._folders[number] = key = (kind, new_text + folder[len(old_text):])
                self._folder_numbers.setdefault(key, number)

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._entry(number) for number in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("FileList index out of range")
        return self._entry(index)

    def _entry(self, index: int) -> Path | str:
        if index in self._odd:
            return self._odd[index]
        kind, folder = self._folders[self._folder_of[index]]
        start = self._ends[index - 1] if index else 0
        return kind(folder + self._names[start:self._ends[index]].decode("utf-8", "surrogatepass"))

    def __iter__(self) -> Iterator[Path | str]:
        return (self._entry(index) for index in range(len(self)))

    def _replace_all(self, entries: list) -> None:
        self.__init__(entries)

    def __setitem__(self, index, value) -> None:
        entries = list(self)
        entries[index] = value
        self._replace_all(entries)

    def __delitem__(self, index) -> None:
        entries = list(self)
        del entries[index]
        self._replace_all(entries)

    def insert(self, index: int, value: Path | str) -> None:
        """Add ``value`` before position ``index``."""
        entries = list(self)
        entries.insert(index, value)
        self._replace_all(entries)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (FileList, list)):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None

    def __repr__(self) -> str:
        if len(self) <= SHOWN:
            return f"FileList({list(self)!r})"
        return f"FileList({len(self):,} files: {self[:3]!r} …)"


def _folder_end(text: str) -> int:
    """Where the folder part of the path ``text`` ends (after its last separator; 0: none)."""
    if os.sep == "\\":
        return max(text.rfind("/"), text.rfind("\\")) + 1
    return text.rfind("/") + 1


@dataclass
class Finding:
    """One kind of loss: how often it happened and the first few places."""

    kind: str
    count: int = 0
    examples: list[str] = field(default_factory=list)


@dataclass
class ConversionReport:
    """Losses and written files of one conversion target (``coco``, ``yolo``, ...).

    With ``strict=True`` the first loss raises :class:`FormatError` instead of being counted.
    """

    target: str
    strict: bool = False
    findings: dict[str, Finding] = field(default_factory=dict)
    files: FileList = field(default_factory=FileList)

    def __post_init__(self) -> None:
        if not isinstance(self.files, FileList):
            self.files = FileList(self.files)

    def note(self, kind: str, place: str) -> None:
        """Record that something at ``place`` could not be carried (or raise when strict)."""
        self.add(kind, 1, [place])

    def add(self, kind: str, count: int, first_places: list[str]) -> None:
        """Record ``count`` losses of one kind, of which ``first_places`` are the first few."""
        if count <= 0:
            return
        if self.strict:
            raise FormatError(f"{first_places[0]}: {kind} (strict mode)")
        finding = self.findings.setdefault(kind, Finding(kind))
        finding.count += count
        finding.examples.extend(first_places[: EXAMPLES_KEPT - len(finding.examples)])

    @property
    def ok(self) -> bool:
        """True when nothing was dropped."""
        return not self.findings

    def summary(self) -> str:
        """A few human-readable lines for the command line."""
        head = f"{self.target}: {len(self.files)} file(s) written"
        if self.ok:
            return head + ", nothing dropped"
        total = sum(finding.count for finding in self.findings.values())
        lines = [head + f"; {total:,} thing(s) not carried over as they were (skipped or changed), by kind:"]
        for finding in self.findings.values():
            lines.append(f"  {finding.count} × {finding.kind}")
            lines.extend(f"      e.g. {place}" for place in finding.examples[:3])
        return "\n".join(lines)
