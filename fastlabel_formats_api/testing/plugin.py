"""pytest plugin (registered through the ``pytest11`` entry point): the ``fake_fastlabel`` fixture.

The fake is imported only when a test asks for the fixture, so other test suites pay nothing.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def fake_fastlabel():
    """A running ``FakeFastLabel`` (token ``"test-token"``); ``.url`` is its base URL."""
    from .server import FakeFastLabel

    with FakeFastLabel() as fake:
        yield fake
