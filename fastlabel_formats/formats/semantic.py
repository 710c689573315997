"""Index-colour semantic segmentation PNGs (written only)."""

from __future__ import annotations

from ..render import MaskTarget
from ..targets import TargetOptions
from . import Format


def semantic_target(output_dir, options: TargetOptions) -> MaskTarget:
    """One palette PNG per image, each pixel its class's index."""
    return MaskTarget(output_dir, semantic=True, palette=options.palette, classes=options.classes,
                      start_index=options.start_index, dtype=options.dtype, annotations=options.annotations,
                      raster=options.raster)


FORMAT = Format(name="semantic", summary="index-colour semantic masks (PNG)", target=semantic_target)
