"""Help screens and messages (issue 12, item 5): no type names, every option explained,
an Examples block per command, ``-V``, one line per error."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from photoenhance import __version__
from photoenhance.cli import app
from photoenhance.config import OUTPUT_FORMATS

ROOT = typer.main.get_command(app)
COMMANDS = sorted(ROOT.commands)  # type: ignore[attr-defined]
#: what typer/click print for a parameter without a metavar: <bool>, <list[Path]>, TEXT...
TYPE_NAME = re.compile(
    r"<[^>\s]*>|\b(?:list|dict|tuple|Optional|NoneType)\[|\b(?:TEXT|INTEGER|FLOAT|BOOLEAN)\b"
)


def _help(*args: str) -> str:
    """``photoenhance ARGS --help`` on a wide terminal (no wrapped choice lists)."""
    r = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    return r.stdout


def _flat(text: str) -> str:
    """Help text with the box drawing and line wrapping removed."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def test_every_command_is_listed() -> None:
    assert {"run", "info", "train", "eval"} <= set(COMMANDS)


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_has_no_type_names_and_an_examples_block(command: str) -> None:
    text = _help(*([command] if command else []))
    assert not TYPE_NAME.search(text), TYPE_NAME.findall(text)
    lines = [ln.strip() for ln in text.splitlines()]
    assert "Examples" in lines, text
    examples = lines[lines.index("Examples") + 1 :]
    assert examples and examples[0].startswith("photoenhance "), text
    if command:
        assert any(ln.startswith(f"photoenhance {command} ") for ln in examples), text


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_every_option_and_argument_has_help_text(command: str) -> None:
    cmd = ROOT.commands[command] if command else ROOT  # type: ignore[attr-defined]
    missing = [p.name for p in cmd.params if not (getattr(p, "help", None) or "").strip()]
    assert not missing, f"{command or 'photoenhance'}: no help text for {missing}"


def test_choices_and_the_tile_rule_are_in_the_help() -> None:
    run = _flat(_help("run"))
    assert f"--format [{'|'.join(OUTPUT_FORMATS)}]" in run
    assert "1024 px" in run and "24 MP" in run  # --tile: the large-photo rule
    train = _flat(_help("train"))
    for choice in ("[teacher|pairs|auto]", "[paper|l1mse]", "[cpu|cuda|auto]"):
        assert choice in train


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version_short_and_long(cli: Any, flag: str) -> None:
    r = cli(flag)
    assert r.exit_code == 0
    assert r.stdout.strip() == f"photoenhance {__version__}"


def test_missing_input_is_one_line(cli: Any, tmp_path: Path) -> None:
    r = cli("run", tmp_path / "missing.jpg", "-o", tmp_path / "out")
    assert r.exit_code == 2
    assert r.stderr.splitlines() == [f"error: {tmp_path / 'missing.jpg'}: does not exist"]
    (tmp_path / "empty").mkdir()  # an input without a problem of its own is still named
    r = cli("run", tmp_path / "missing.jpg", tmp_path / "empty", "-o", tmp_path / "out")
    assert r.exit_code == 2
    assert r.stderr.splitlines() == [
        f"error: {tmp_path / 'missing.jpg'}: does not exist",
        f"error: no photos found in {tmp_path / 'empty'}",
    ]
    assert not (tmp_path / "out").exists()


def test_eval_photos_that_do_not_exist_is_one_line(cli: Any, tmp_path: Path) -> None:
    r = cli("eval", "--photos", tmp_path / "no\nsuch")
    assert r.exit_code == 2
    assert r.stderr.splitlines() == [f"error: {tmp_path}/no\\nsuch: does not exist"]
    assert r.stdout == ""  # no empty table


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_extras_in_help_survive_rich_markup(command: str) -> None:
    """``pip install 'photoenhance[ray]'`` in a help text: rich must not eat ``[ray]`` as
    markup (issue 21, item 3).  Every ``photoenhance[`` the source declares shows whole."""
    text = _flat(_help(*([command] if command else [])))
    assert "'photoenhance'" not in text, text
    cmd = ROOT.commands[command] if command else ROOT  # type: ignore[attr-defined]
    declared = " ".join((getattr(p, "help", None) or "") for p in cmd.params)
    for extra in re.findall(r"photoenhance\\?\[(\w+)\]", declared):
        assert f"photoenhance[{extra}]" in text, text
