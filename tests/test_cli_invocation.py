"""The command line keeps no state between runs (each runs in its own Invocation) and is extended
by packages above the core only through CliExtension records of the ``fastlabel_formats.cli``
entry-point group; the core never imports them, and its modules import no one another in a loop."""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import subprocess
import sys
import threading
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from fastlabel_formats import cli, cli_commands, cli_extension
from fastlabel_formats.cli_extension import EXTENSION_GROUP, CliExtension, installed_extensions
from fastlabel_formats.cli_options import command
from fastlabel_formats.report import ConversionReport

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "sample_project"
CLI_MODULES = sorted(path.stem for path in (ROOT / "fastlabel_formats").glob("cli*.py"))


class ToyError(Exception):
    """An extension's own error type."""


def _probe_extension(barrier: threading.Barrier | None = None, seen: dict | None = None) -> CliExtension:
    """``probe NAME``: keeps a report named NAME, says it, records what its invocation was given
    and (with ``barrier``) waits until every other probe is inside its run too; ``--fail`` raises
    ToyError (exit 3)."""

    def run_probe(args: argparse.Namespace, invocation) -> int:
        if args.fail:
            raise ToyError(f"{args.tasks} failed")
        invocation.keep(ConversionReport(args.tasks))
        if seen is not None:
            seen[args.tasks] = (invocation.quiet, invocation.progress)
        if barrier is not None:
            barrier.wait(timeout=60)
        invocation.say(f"probe {args.tasks}")
        return 0

    def add_commands(commands: argparse._SubParsersAction) -> None:
        probe = command(commands, "probe", "a test command", "Keeps one report.", source="the report's name")
        probe.add_argument("--fail", action="store_true")
        probe.set_defaults(run=run_probe)

    return CliExtension("probe", add_commands, error_codes=((ToyError, 3),))


@pytest.fixture
def fresh_extensions():
    """installed_extensions() read again in the test and after it."""
    installed_extensions.cache_clear()
    yield
    installed_extensions.cache_clear()


def test_two_runs_in_one_process_keep_their_own_reports_and_output(tmp_path, capsys):
    first, third = tmp_path / "first.json", tmp_path / "third.json"
    assert cli.main(["export", str(SAMPLE / "tasks.json"), "--to", "coco", "-o", str(tmp_path / "a"), "--quiet",
                     "--report-json", str(first)]) == 0
    assert capsys.readouterr().out == ""
    assert cli.main(["export", str(SAMPLE / "tasks.json"), "--to", "yolo", "-o", str(tmp_path / "b")]) == 0
    loud = capsys.readouterr().out
    assert "yolo: " in loud and "coco: " not in loud
    assert cli.main(["validate", str(SAMPLE / "tasks.json"), "--report-json", str(third)]) == 0
    assert set(json.loads(first.read_text())["targets"]) == {"coco"}
    assert set(json.loads(third.read_text())["targets"]) == {"validate"}  # nothing of the two runs before


def test_runs_at_the_same_time_share_neither_quiet_nor_reports(tmp_path, capsys):
    barrier, seen = threading.Barrier(2), {}
    extension, codes = _probe_extension(barrier, seen), {}

    def run(name: str, *extra: str) -> None:
        codes[name] = cli.main(["probe", name, "--report-json", str(tmp_path / f"{name}.json"), *extra], [extension])

    threads = [threading.Thread(target=run, args=("quiet", "--quiet")), threading.Thread(target=run, args=("loud",))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert codes == {"quiet": 0, "loud": 0}
    assert seen == {"quiet": (True, False), "loud": (False, True)}
    for name in codes:
        assert set(json.loads((tmp_path / f"{name}.json").read_text())["targets"]) == {name}
    assert capsys.readouterr().out == "probe loud\n"


def test_an_extension_adds_its_commands_and_the_exit_codes_of_its_errors(tmp_path, capsys):
    report = tmp_path / "report.json"
    assert cli.main(["probe", "x", "--fail", "--report-json", str(report)], [_probe_extension()]) == 3
    assert capsys.readouterr().err == "fastlabel-formats: error: x failed\n"
    assert json.loads(report.read_text())["error"] == "x failed"
    with pytest.raises(SystemExit) as usage:
        cli.main(["probe", "x"], [])
    assert usage.value.code == 2 and "invalid choice: 'probe'" in capsys.readouterr().err


def test_installed_extensions_are_the_entry_points_of_the_group(tmp_path, monkeypatch, capsys, fresh_extensions):
    (tmp_path / "toy_cli_extension.py").write_text(
        "from fastlabel_formats.cli_extension import CliExtension\n"
        "EXTENSION = CliExtension('toy', lambda commands: commands.add_parser('toy'))\n"
        "NOT_ONE = 'a string'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    points = [EntryPoint(name, value, EXTENSION_GROUP) for name, value in
              (("toy", "toy_cli_extension:EXTENSION"), ("again", "toy_cli_extension:EXTENSION"),
               ("missing", "toy_cli_extension:MISSING"), ("wrong", "toy_cli_extension:NOT_ONE"),
               ("gone", "no_such_module_here:EXTENSION"))]
    monkeypatch.setattr(cli_extension, "entry_points", lambda group: [p for p in points if p.group == group])
    toy = importlib.import_module("toy_cli_extension").EXTENSION
    assert installed_extensions() == (toy,)
    warnings = capsys.readouterr().err
    for name in ("missing", "wrong", "gone"):
        assert f"extension {name} = " in warnings
    assert "toy" in cli.build_parser().format_help()


def test_the_api_layer_adds_pull_and_push_once_with_or_without_its_entry_point(monkeypatch, fresh_extensions):
    api_cli = importlib.import_module("fastlabel_formats_api.cli")
    for installed in ([], [EntryPoint("api", "fastlabel_formats_api.cli:CLI_EXTENSION", EXTENSION_GROUP)]):
        monkeypatch.setattr(cli_extension, "entry_points", lambda group, found=installed: found)
        installed_extensions.cache_clear()
        assert [extension.name for extension in api_cli.extensions()] == ["fastlabel_formats_api"]
        commands = next(a for a in api_cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
        assert list(commands.choices)[-2:] == ["pull", "push"]


def test_ctrl_c_in_a_command_prints_interrupted_and_exits_130(tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_commands, "export_targets", interrupted)
    assert cli.main(["export", str(SAMPLE / "tasks.json"), "-o", str(tmp_path)]) == 130
    assert capsys.readouterr().err.strip() == "fastlabel-formats: interrupted"


@pytest.mark.parametrize("module", [*CLI_MODULES, "fastlabel_formats_api.cli"])
def test_no_module_of_the_command_line_holds_mutable_state(module):
    loaded = importlib.import_module(module if "." in module else f"fastlabel_formats.{module}")
    mutable = {name: type(value).__name__ for name, value in vars(loaded).items()
               if not name.startswith("__") and isinstance(value, (list, dict, set, bytearray))}
    assert mutable == {}


def test_the_core_command_line_imports_no_api_layer_and_its_modules_no_loop():
    imports = {module: _cli_imports(ROOT / "fastlabel_formats" / f"{module}.py") for module in CLI_MODULES}
    assert not [module for module, names in imports.items() if any("fastlabel_formats_api" in n for n in names)]
    local = {module: {name for name in names if name in imports} for module, names in imports.items()}
    while local:  # peel off the modules that import no remaining one: a loop is what cannot be peeled
        leaves = {module for module, names in local.items() if not names & local.keys()}
        assert leaves, f"an import loop among {sorted(local)}"
        local = {module: names for module, names in local.items() if module not in leaves}
    loaded = subprocess.run([sys.executable, "-c", "import sys; import fastlabel_formats.cli; "
                             "print([m for m in sys.modules if m.startswith('fastlabel_formats_api')])"],
                            capture_output=True, text=True, cwd=ROOT, check=True)
    assert loaded.stdout.strip() == "[]"


def _cli_imports(path: Path) -> set[str]:
    """The modules ``path`` imports, relative ones by their last name (``.cli_support`` as
    ``cli_support``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            names.add(base if not node.level else base.rsplit(".", 1)[-1])
            names.update(alias.name for alias in node.names if not base and node.level)
    return names


def test_split_and_integrate_put_their_reports_into_report_json(tmp_path):
    tiles, merged = tmp_path / "tiles", tmp_path / "merged.json"
    split_report, integrate_report = tmp_path / "split.json", tmp_path / "integrate.json"
    assert cli.main(["split", str(SAMPLE / "tasks.json"), "--grid", "2x2", "-o", str(tiles), "--quiet",
                     "--report-json", str(split_report)]) == 0
    split_seen = json.loads(split_report.read_text())["targets"]
    assert split_seen["split"]["files"] == 1
    prefix = json.loads((tiles / "tasks.json").read_text())[0]["name"].rsplit("/", 1)[0]
    assert cli.main(["integrate", str(tiles / "tasks.json"), "--prefix", prefix, "--grid", "2x2", "-o", str(merged),
                     "--quiet", "--report-json", str(integrate_report)]) == 0
    assert json.loads(integrate_report.read_text())["targets"]["integrate"]["files"] == 1
