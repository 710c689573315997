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
