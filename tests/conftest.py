"""Shared fixtures and the hypothesis profiles (CI runs a fixed, derandomised profile)."""

from __future__ import annotations

import copy
import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=150, derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def task(name: str, width: int, height: int, *annotations: dict) -> dict:
    """A FastLabel task dict."""
    return {"name": name, "width": width, "height": height, "annotations": list(annotations)}


def ann(kind: str, value: str, points=None, **extra) -> dict:
    """A FastLabel annotation dict."""
    out = {"type": kind, "value": value, **extra}
    if points is not None:
        out["points"] = points
    return out


@pytest.fixture
def frozen():
    """Deep-copies inputs and, at the end of the test, asserts they were not mutated."""
    watched = []

    def watch(obj):
        watched.append((obj, copy.deepcopy(obj)))
        return obj

    yield watch
    for obj, before in watched:
        assert obj == before, "input was mutated"


def consumer(module: str, install: str = "the consumers extra: pip install -e '.[consumers]'"):
    """``module`` imported; a missing one fails in CI (``.ci/run`` installs them) and skips elsewhere."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        if os.environ.get("CI"):  # labelme imports PyQt5's QtGui: it needs the system's libGL.so.1 and libglib-2.0
            pytest.fail(f"{module} cannot be imported ({error}); .ci/run installs it: {install}")
        pytest.skip(f"{module} is not installed: {install}")


def datumaro_python() -> str:
    """A Python that has datumaro: ``FASTLABEL_DATUMARO_PYTHON`` (``.ci/run`` makes that virtual
    environment: datumaro pins versions of our dependencies), else this one when it has datumaro;
    a test without either fails in CI and skips elsewhere."""
    import sys

    named = os.environ.get("FASTLABEL_DATUMARO_PYTHON")
    if named:
        return named
    consumer("datumaro", "a virtual environment with datumaro, named by FASTLABEL_DATUMARO_PYTHON")
    return sys.executable
