"""``python -m fastlabel_formats`` = the ``fastlabel-formats`` command."""

import sys

from .cli import main

sys.exit(main())
