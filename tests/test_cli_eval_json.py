"""``eval --json`` follows ``run --report``'s rules (issue 20, item 5), and a grey photo's
saturation change is ``n/a``, not ``+nan`` (issue 20, item 12)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image


def _photos(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    Image.fromarray(rng.integers(40, 200, (48, 64, 3), dtype=np.uint8)).save(folder / "1.jpg")
    Image.fromarray(np.full((48, 64, 3), 120, np.uint8)).save(folder / "grey.png")
    return folder


@pytest.mark.parametrize("case", ["photo", "other file", "run report", "folder", "no parent"])
def test_eval_json_is_refused_before_any_work(cli: Any, tmp_path: Path, case: str) -> None:
    photos = _photos(tmp_path / "P")
    target = {
        "photo": photos / "1.jpg",
        "other file": tmp_path / "notes.json",
        "run report": tmp_path / "report.json",
        "folder": tmp_path / "dir.json",
        "no parent": tmp_path / "missing" / "e.json",
    }[case]
    if case == "other file":
        target.write_text('{"mine": 1}')
    elif case == "run report":
        target.write_text('{\n  "photoenhance": "0.1.0"}')
    elif case == "folder":
        target.mkdir()
    before = target.read_bytes() if target.is_file() else None
    r = cli("eval", "--photos", photos, "--json", target)
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith(f"error: --json {target}: ") and len(r.stderr.splitlines()) == 1
    assert r.stdout == ""  # refused before anything was measured
    if before is not None:
        assert target.read_bytes() == before
    assert not (tmp_path / "missing").exists()


def test_eval_json_replaces_only_its_own_file(cli: Any, tmp_path: Path) -> None:
    photos = _photos(tmp_path / "P")
    out = tmp_path / "e.json"
    out.write_bytes(b"")  # an empty file (touch) holds nothing to lose
    assert cli("eval", "--photos", photos, "--json", out).exit_code == 0
    first = json.loads(out.read_text())
    assert first["photoenhance_eval"] and len(first["photos"]["rows"]) == 2
    assert cli("eval", "--photos", photos, "--json", out).exit_code == 0  # a rerun replaces it
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


def test_grey_photo_saturation_is_na_and_the_mean_stays_finite(cli: Any, tmp_path: Path) -> None:
    photos = _photos(tmp_path / "P")
    out = tmp_path / "e.json"
    r = cli("eval", "--photos", photos, "--json", out)
    assert r.exit_code == 0, r.output
    assert "nan" not in r.stdout.lower(), r.stdout
    # the grey row: saturation change and noise gain n/a (the mean row has numbers)
    assert r.stdout.count("n/a") == 2, r.stdout
    data = json.loads(out.read_text())["photos"]
    rows = {Path(row["path"]).name: row for row in data["rows"]}
    assert rows["grey.png"]["saturation_change"] is None
    assert isinstance(data["summary"]["saturation_change"], float)


def test_eval_photos_shows_progress_like_run(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 21, item 7: plain ``N/M photos`` lines when stderr is not a terminal, the bar
    on a (forced) terminal; the table stays on stdout."""
    photos = _photos(tmp_path / "P")
    r = cli("eval", "--photos", photos)
    assert r.exit_code == 0, r.output
    lines = [ln for ln in r.stderr.splitlines() if " photos, " in ln]
    assert lines and lines[-1].startswith("2/2 photos, ") and "MP/s" in lines[-1], r.stderr
    assert "photos, " not in r.stdout
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    r = cli("eval", "--photos", photos)
    assert r.exit_code == 0, r.output
    assert "Measuring" in r.stderr and "MP/s" in r.stderr, r.stderr
