"""``python -m fastlabel_formats_api``: the ``fastlabel-formats`` command line (with pull and push)."""

import sys

from .cli import main

sys.exit(main())
