"""Index-colour semantic segmentation PNGs (written only)."""

from __future__ import annotations

from . import Format


def semantic_target(output_dir, options):
    from ..targets import TARGETS

    return TARGETS["semantic"](output_dir, options)


FORMAT = Format(name="semantic", summary="index-colour semantic masks (PNG)", target=semantic_target)
