"""The MOT Challenge layout: its files, its classes and what a FastLabel task keeps of it."""

from __future__ import annotations

from ...selection import Policy

MOT_CLASSES = ("pedestrian", "person on vehicle", "car", "bicycle", "motorbike", "non motorized vehicle",
               "static person", "distractor", "occluder", "occluder on the ground", "occluder full", "reflection")
NO_CLASS = "-1"
TRACK_KEY = "track_id"
SEQINFO = "seqinfo.ini"
GT = "gt/gt.txt"
LABELS = "gt/labels.txt"
LABELS_KEY = "labels"  # the task metadata holding a sequence's gt/labels.txt, one class a line
FRAME_FIELDS = ("conf", "visibility")  # MOT's per-frame numbers, kept beside each frame's box
SEQINFO_KEYS = {"name": "name", "framerate": "fps", "seqlength": "frameCount", "imwidth": "width",
                "imheight": "height"}  # seqinfo.ini key (lower case) -> task key ("name" only checked)
MOT_POLICY = Policy(("bbox",), skip_degenerate=False, rotation="bbox rotation dropped (MOT boxes are axis-aligned)")
DECIMALS = 9  # written widths and heights: x2 - x1 without float noise
