"""Messages a newcomer meets first (issue 21, item 9): ``-o`` equal to the input folder,
folders counted apart from photos, one error style for ``run`` and ``watch``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from photoenhance.io import MARKER_REASON


def test_output_folder_equal_to_the_input_folder_says_so(
    cli: Any, tmp_path: Path, make_photo: Any
) -> None:
    make_photo(tmp_path / "few" / "a.jpg", w=32, h=24)
    r = cli("run", str(tmp_path / "few"), "-o", str(tmp_path / "few"))
    assert r.exit_code == 2
    assert f"error: {tmp_path / 'few'}: the output folder is the input folder" in r.stderr
    assert "inside the output folder" not in r.stderr
    # a folder that really is inside the output folder keeps its message
    r = cli("run", str(tmp_path / "few"), "-o", str(tmp_path))
    assert r.exit_code == 2
    assert "is inside the output folder" in r.stderr


def test_a_skipped_output_folder_is_not_counted_as_a_photo(
    cli: Any, tmp_path: Path, make_photo: Any
) -> None:
    """``run in -o in/enhanced`` then ``run in -o other``: 2 photos, 2 progress steps, 0
    photos skipped, and the output folder counted as a folder (summary and report)."""
    for name in ("a.jpg", "b.jpg"):
        make_photo(tmp_path / "in" / name, w=32, h=24)
    assert cli("run", str(tmp_path / "in"), "-o", str(tmp_path / "in" / "enhanced")).exit_code == 0
    report = tmp_path / "r.json"
    r = cli("run", str(tmp_path / "in"), "-o", str(tmp_path / "other"), "--report", str(report))
    assert r.exit_code == 0, r.stderr
    assert "2/2 photos" in r.stderr and "/3 photos" not in r.stderr, r.stderr
    done = next(ln for ln in r.stderr.splitlines() if ln.startswith("Done:"))
    assert done.startswith("Done: 2 enhanced, 0 skipped, 0 failed;"), done
    assert f"1 folder not walked ({MARKER_REASON})" in done, done
    summary = json.loads(report.read_text())["summary"]
    assert (summary["ok"], summary["skipped"], summary["skipped_folders"]) == (2, 0, 1)
    r = cli("run", str(tmp_path / "in"), "-o", str(tmp_path / "other"), "--dry-run")
    dry = next(ln for ln in r.stderr.splitlines() if ln.startswith("Dry run:"))
    assert dry.startswith("Dry run: 0 to enhance, 2 skipped, 0 failed"), dry
    assert "1 folder not walked" in dry, dry


def test_run_and_watch_print_errors_in_one_style(cli: Any, tmp_path: Path) -> None:
    for command in ("run", "watch"):
        r = cli(command, str(tmp_path / "nowhere"), "-o", str(tmp_path / "out"))
        assert r.exit_code == 2, (command, r.stderr)
        assert r.stderr.startswith(f"error: {tmp_path / 'nowhere'}: "), (command, r.stderr)
        assert "Error:" not in r.stderr
