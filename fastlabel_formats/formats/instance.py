"""Index-colour instance segmentation PNGs (written only)."""

from __future__ import annotations

from . import Format


def instance_target(output_dir, options):
    from ..targets import TARGETS

    return TARGETS["instance"](output_dir, options)


FORMAT = Format(name="instance", summary="index-colour instance masks (PNG)", target=instance_target)
