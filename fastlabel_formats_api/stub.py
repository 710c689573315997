"""``python -m fastlabel_formats_api.stub``: rewrite ``client.pyi`` from the tables."""

from __future__ import annotations

import sys
from pathlib import Path

from .client import Client
from .methods import stub

if __name__ == "__main__":
    text = stub(Client)
    target = Path(__file__).with_name("client.pyi")
    target.write_text(text, encoding="utf-8")
    print(f"{target}: {text.count(chr(10) + '    def ')} methods", file=sys.stderr)
