"""pytest plugin (registered through the ``pytest11`` entry point): the ``fake_fastlabel`` fixture."""

from __future__ import annotations

import pytest

from .server import FakeFastLabel


@pytest.fixture
def fake_fastlabel():
    """A running :class:`FakeFastLabel` (token ``"test-token"``); ``.url`` is its base URL."""
    with FakeFastLabel() as fake:
        yield fake
