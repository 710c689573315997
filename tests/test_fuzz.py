"""The hostile-input suite (``tests/hostile.py``): every public function of the core, fed valid
projects with parts replaced by wrong types, NaN/inf/huge numbers, missing keys, wrong nesting,
empty regions and absurd sizes, and importer files cut short or not UTF-8, raises nothing but
FormatError, leaves the caller's data as it was, and stays under a memory cap (``RLIMIT_AS``, in a
subprocess of its own) and a time cap per case."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
EXAMPLES = 300 if os.environ.get("CI") else 100


def test_every_public_function_raises_only_format_error_on_hostile_input():
    result = subprocess.run([sys.executable, str(HERE / "hostile.py"), "--examples", str(EXAMPLES)],
                            capture_output=True, text=True, timeout=1200, cwd=HERE)
    failures = "\n".join(line for line in result.stdout.splitlines() if not line.startswith("ok "))
    assert result.returncode == 0, failures[-6000:] + result.stderr[-3000:]
    assert "every target raised only FormatError" in result.stdout
    assert result.stdout.count("\nok ") + result.stdout.startswith("ok ") >= 30  # every target ran


def test_the_fuzzer_catches_a_bare_exception(tmp_path):
    """The harness itself: a target raising KeyError fails the run and is named."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(HERE)!r})\n"
        "import hostile\n"
        "hostile.TASK_TARGETS = {'broken': lambda tasks, folder: {}['missing']}\n"
        "sys.exit(hostile.main(['--examples', '3', 'broken']))\n")
    result = subprocess.run([sys.executable, str(probe)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "FAIL broken: KeyError" in result.stdout


CLI_EXAMPLES = 200 if os.environ.get("CI") else 60


def test_the_command_line_ends_in_a_message_and_harms_nothing_on_hostile_arguments():
    """``tests/hostile_cli.py``: command lines with 5-20 mutations each end with exit 0, 1 or 2 and
    no traceback, and leave the inputs, a device node and a FIFO as they were."""
    result = subprocess.run([sys.executable, str(HERE / "hostile_cli.py"), "--examples", str(CLI_EXAMPLES)],
                            capture_output=True, text=True, timeout=1200, cwd=HERE)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert f"{CLI_EXAMPLES} command lines: no traceback, nothing harmed" in result.stdout
