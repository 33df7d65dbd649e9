"""Every skip says why, and run-level warnings belong to the run (issue 20 item 10)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def test_a_skipped_photo_says_why_and_the_folder_warning_belongs_to_the_run(
    cli: Any, tmp_path: Path, make_photo: Any
) -> None:
    """``run in -o Pictures`` where the user's Pictures/a.jpg exists: in/a.jpg is skipped
    with a line saying why; "not marked: holds photos of yours" is the run's, in the
    summary and the report, not lost with the (skipped) photo it rode on."""
    src = make_photo(tmp_path / "in" / "a.jpg", seed=1)
    pictures = tmp_path / "Pictures"
    mine = make_photo(pictures / "a.jpg", seed=2)
    before = mine.read_bytes()
    report = tmp_path / "report.json"
    r = cli("run", src.parent, "-o", pictures, "--report", report)
    assert r.exit_code == 0, r.output
    assert mine.read_bytes() == before
    lines = r.stderr.splitlines()
    skip = [ln for ln in lines if ln.startswith(f"note: {src}: ")]
    assert len(skip) == 1 and "exists" in skip[0] and "--overwrite" in skip[0], lines
    warned = [ln for ln in lines if ln.startswith("warning: ") and "photos of yours" in ln]
    assert len(warned) == 1 and str(pictures) in warned[0], lines
    data = json.loads(report.read_text())
    assert [f["status"] for f in data["files"]] == ["skipped"]
    assert "exists" in data["files"][0]["reason"] and not data["files"][0]["warnings"]
    assert len(data["warnings"]) == 1 and "photos of yours" in data["warnings"][0]


def test_a_rerun_says_why_each_photo_is_skipped(cli: Any, tmp_path: Path, make_photo: Any) -> None:
    src = make_photo(tmp_path / "in" / "a.jpg")
    out = tmp_path / "out"
    assert cli("run", src.parent, "-o", out).exit_code == 0
    r = cli("run", src.parent, "-o", out)
    assert r.exit_code == 0, r.output
    notes = [ln for ln in r.stderr.splitlines() if ln.startswith("note: ")]
    assert notes == [
        f"note: {src}: output {out / 'a.jpg'} exists; not replaced without --overwrite"
    ]
    assert "1 skipped" in r.stderr
    r = cli("run", src.parent, "-o", out, "-q")  # -q: errors only
    assert r.exit_code == 0 and r.stderr == ""
