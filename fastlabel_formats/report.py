"""What a conversion could not carry over, counted with the first few places."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import FormatError

EXAMPLES_KEPT = 5


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
    files: list[Path] = field(default_factory=list)

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
