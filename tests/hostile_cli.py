"""The command line itself as a fuzz target (issue #20): valid command lines of every core command
with 5-20 mutations each (arguments dropped, duplicated, swapped between commands, replaced by
hostile values: huge, negative and non-finite numbers, NUL bytes, other commands' options, device
nodes, FIFOs, folders where files go and files where folders go).

Every case runs ``fastlabel_formats.cli.main`` in a sandbox folder and must end with an exit code
(0, 1 or 2; argparse's usage errors are 2) and never a traceback; afterwards the sandbox's inputs,
its device node and its FIFO are as they were, and nothing appeared outside the sandbox.

    python tests/hostile_cli.py [--examples N] [--census]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import resource
import shutil
import signal
import stat
import sys
import tempfile
import traceback
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CASE_SECONDS = 30.0
MEMORY_CAP = 3 << 30

TASKS = [{"name": "img/a.jpg", "width": 64, "height": 48, "annotations": [
    {"type": "bbox", "value": "cat", "points": [1, 2, 30, 40]},
    {"type": "polygon", "value": "dog", "points": [5, 5, 20, 5, 20, 20, 5, 20]},
    {"type": "segmentation", "value": "dog", "points": [[[1, 1, 30, 1, 30, 30, 1, 30, 1, 1]]]}]},
    {"name": "b.png", "width": 32, "height": 32, "annotations": []}]

VALID = [
    "export tasks.json --to coco,yolo,voc,labelme,semantic,instance -o out",
    "export tasks.json --to yolo --layout ultralytics --images images --split train=0.5,val=0.5 -o out --overwrite",
    "export tasks.json --to coco --holes rle --annotations defs.json --jobs 2 -o out",
    "render tasks.json --semantic -o masks --classes cat,dog --start-index 0",
    "render tasks.json --instance -o masks --raster exact --overwrite",
    "draw tasks.json --images images -o drawn",
    "convert tasks.json --from fastlabel --to coco -o converted",
    "convert out/coco/annotations.json --to yolo -o converted --overwrite",
    "validate tasks.json --classes cat,dog",
    "validate tasks.json --fix -o fixed.json",
    "stats tasks.json --json",
    "split tasks.json --grid 2x2 -o tiles",
    "integrate tiles/tasks.json --prefix img/a --grid 2x2 -o merged.json",
]
HOSTILE = ["", "-", ".", "..", "./", "0", "-1", "2", "99999999999999999999", "1e400", "nan", "inf", "-inf", "x\x00y",
           "é", "a" * 300, "tcp://", "tcp:/x", "node", "fifo", "images", "tasks.json",
           "defs.json", "out", "out/coco", "out/coco/annotations.json", "tasks.json/x", "node/x", "masks", "tiles",
           "tiles/tasks.json", "fixed.json", "merged.json", "auto", "yolo", "coco", "voc", "labelme", "fastlabel",
           "semantic", "1000x1000", "0x3", "3x", "2x2", "train=2", "train=nan", "train=0.5,val=0.5", "img/a",
           "cat,dog", "rle", "exact", "ultralytics", "image_segmentation", "video_bbox", "bbox", "obb", "--help"]


def _commands() -> dict[str, list[tuple[str, bool, list[str]]]]:
    """Per command of the core parser: its options, whether each takes a value, and its choices."""
    from fastlabel_formats.cli import build_parser

    parser = build_parser()
    subparsers = next(action for action in parser._actions if action.choices and isinstance(action.choices, dict))
    return {name: [(action.option_strings[-1], action.nargs != 0, [str(c) for c in action.choices or ()])
                   for action in command._actions
                   if action.option_strings and action.option_strings[-1] not in ("--help", "--version")]
            for name, command in subparsers.choices.items()}


def _values(option: str) -> list[str]:
    """The values the valid lines give ``option``."""
    found = []
    for line in VALID:
        words = line.split()
        found += [words[i + 1] for i, word in enumerate(words[:-1]) if word == option]
    return found


@st.composite
def command_lines(draw) -> list[str]:
    """A valid command line with 5-20 mutations: mostly of option values (half of them values the
    option takes) and of which options are given, so that most lines reach the command; some of
    the raw words."""
    line = draw(st.sampled_from(VALID)).split()
    command, source, pairs = line[0], line[1], _pairs(line[2:])
    options = {option: choices + _values(option) for option, _, choices in _commands()[command]}
    takes_value = {option: takes for option, takes, _ in _commands()[command]}

    def value(option: str) -> str:
        own = options.get(option) or []
        return draw(st.sampled_from(own)) if own and draw(st.booleans()) else draw(st.sampled_from(HOSTILE))

    raw: list[tuple[int, str]] = []
    for _ in range(draw(st.integers(5, 20))):
        action = draw(st.sampled_from(["value"] * 4 + ["add"] * 3 + ["drop", "source", "raw"]))
        if action == "value" and pairs:
            index = draw(st.integers(0, len(pairs) - 1))
            if pairs[index][1] is not None:
                pairs[index] = (pairs[index][0], value(pairs[index][0]))
        elif action == "add":
            option = draw(st.sampled_from(sorted(options)))
            pairs.append((option, value(option) if takes_value[option] else None))
        elif action == "drop" and pairs:
            del pairs[draw(st.integers(0, len(pairs) - 1))]
        elif action == "source":
            source = draw(st.sampled_from(HOSTILE))
        elif action == "raw" and draw(st.integers(0, 3)) == 0:
            raw.append((draw(st.integers(0, 30)), draw(st.sampled_from(HOSTILE))))
    words = [command, source] + [f"{option}={given}" if given is not None else option for option, given in pairs]
    for position, word in raw[:2]:
        words.insert(min(position, len(words)), word)
    return words


def _pairs(words: list[str]) -> list[tuple[str, str | None]]:
    """``[(option, value or None)]`` of a valid line's options."""
    pairs: list[tuple[str, str | None]] = []
    for word in words:
        if word.startswith("-") and not word.lstrip("-").isdigit():
            pairs.append((word, None))
        else:
            pairs[-1] = (pairs[-1][0], word)
    return pairs


def make_sandbox(root: Path) -> Path:
    """``root/sandbox/work`` with the inputs every valid line names, a device node and a FIFO."""
    work = root / "sandbox" / "work"
    (work / "images" / "img").mkdir(parents=True)
    (work / "tasks.json").write_text(json.dumps(TASKS))
    (work / "defs.json").write_text(json.dumps([{"type": "bbox", "value": "cat", "title": "cat"}]))
    from PIL import Image

    Image.new("RGB", (64, 48)).save(work / "images" / "img" / "a.jpg")
    Image.new("RGB", (32, 32)).save(work / "images" / "b.png")
    import fastlabel_formats as ff

    ff.export_coco(TASKS, work / "out" / "coco")
    (work / "tiles").mkdir()
    tiles = [tile for task in TASKS[:1] for tile in ff.split_image_task(task, 2, 2)]
    (work / "tiles" / "tasks.json").write_text(json.dumps(tiles))
    with contextlib.suppress(OSError):
        os.mknod(work / "node", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.mkfifo(work / "fifo")
    return work


def fingerprint(work: Path) -> dict[str, str]:
    """What must not change: the inputs' bytes and the special files' kinds."""
    prints = {}
    for name in ("tasks.json", "defs.json", "images/img/a.jpg", "images/b.png"):
        path = work / name
        prints[name] = hashlib.sha1(path.read_bytes()).hexdigest() if path.is_file() else "missing"
    for name, test in (("node", stat.S_ISCHR), ("fifo", stat.S_ISFIFO)):
        path = work / name
        prints[name] = str(test(os.lstat(path).st_mode)) if os.path.lexists(path) else "missing"
    return prints


def _copy_special(source: str, target: str) -> None:
    """Copy a file, or make a FIFO or device node like ``source``."""
    mode = os.lstat(source).st_mode
    if stat.S_ISFIFO(mode):
        os.mkfifo(target)
    elif stat.S_ISCHR(mode):
        os.mknod(target, mode, os.lstat(source).st_rdev)
    else:
        shutil.copy2(source, target)


OUTPUT_OPTIONS = ("-o", "--output", "--report-json")


def outputs_named(words: list[str]) -> set[str]:
    """The paths a command line names as its outputs (``-o X``, ``-o=X``, ``--report-json X``)."""
    named = set()
    for index, word in enumerate(words):
        option, equals, value = word.partition("=")
        if option in OUTPUT_OPTIONS:
            named.add(value if equals else (words[index + 1] if index + 1 < len(words) else ""))
    return {os.path.normpath(name) for name in named if name and "\x00" not in name}


class CaseTimeout(Exception):
    """One case ran longer than CASE_SECONDS."""


def _alarm(signum, frame):
    raise CaseTimeout(f"a case ran longer than {CASE_SECONDS} s")


def run_case(words: list[str], root: Path) -> str | None:
    """What went wrong with one command line (None: it ended as a user would want)."""
    from fastlabel_formats.cli import main

    work = root / "sandbox" / "work"
    before, outside = fingerprint(work), sorted(os.listdir(root.parent))
    stderr = io.StringIO()
    signal.setitimer(signal.ITIMER_REAL, CASE_SECONDS)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr):
            code = main(words)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 2
    except BaseException as error:  # noqa: BLE001 - the point of the fuzzer
        return f"{type(error).__name__}: {str(error)[:200]}\n{traceback.format_exc(limit=-4)}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    if code not in (0, 1, 2) or ("Traceback" in stderr.getvalue() and "--debug" not in words):
        return f"exit {code}: {stderr.getvalue()[-500:]}"
    named = outputs_named(words)  # what the line itself asks to be written may change
    after = fingerprint(work)
    if any(before[name] != after[name] for name in before if name not in named):
        return f"an input or special file changed: {before} -> {after}"
    if sorted(os.listdir(root.parent)) != outside:
        return "something was written outside the sandbox"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--census", action="store_true", help="run every case and count the failures")
    args = parser.parse_args(argv)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, resource.getrlimit(resource.RLIMIT_AS)[1]))
    signal.signal(signal.SIGALRM, _alarm)
    found: Counter = Counter()
    examples: dict[str, list[str]] = {}

    template = Path(tempfile.mkdtemp()) / "fuzz"
    make_sandbox(template)  # copied for every case (the FIFO and the device node too)

    @settings(max_examples=args.examples, derandomize=True, deadline=None, database=None, print_blob=False,
              suppress_health_check=list(HealthCheck))
    @given(command_lines())
    def case(words: list[str]) -> None:
        with tempfile.TemporaryDirectory() as outer:
            root = Path(outer) / "fuzz"
            shutil.copytree(template, root, symlinks=True, copy_function=_copy_special)
            work = root / "sandbox" / "work"
            previous = os.getcwd()
            os.chdir(work)
            try:
                problem = run_case(words, root)
            finally:
                os.chdir(previous)
        if problem is not None:
            key = problem.splitlines()[0][:120]
            found[key] += 1
            examples.setdefault(key, words)
            assert args.census, f"{words}: {problem}"

    try:
        case()
    except AssertionError as error:
        shutil.rmtree(template.parent, ignore_errors=True)
        print(f"FAIL {str(error)[:3000]}", flush=True)
        return 1
    shutil.rmtree(template.parent, ignore_errors=True)
    for key, count in found.most_common():
        print(f"{count:5d} {key}\n      e.g. {examples[key]}")
    print(f"{args.examples} command lines: " + ("no traceback, nothing harmed" if not found else
                                                f"{sum(found.values())} failed"))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
