"""Index-colour instance segmentation PNGs (written only)."""

from __future__ import annotations

from ..render import MaskTarget
from ..targets import TargetOptions
from . import Format


def instance_target(output_dir, options: TargetOptions) -> MaskTarget:
    """One palette PNG per image, each pixel its annotation's number."""
    return MaskTarget(output_dir, semantic=False, palette=options.palette, start_index=options.start_index,
                      dtype=options.dtype, raster=options.raster)


FORMAT = Format(name="instance", summary="index-colour instance masks (PNG)", target=instance_target)
