"""fastlabel_formats: fast, offline, exact converters for FastLabel task JSON."""

from .coco import export_coco, to_coco
from .errors import FormatError
from .report import ConversionReport

__all__ = ["ConversionReport", "FormatError", "export_coco", "to_coco"]
__version__ = "0.1.0"
