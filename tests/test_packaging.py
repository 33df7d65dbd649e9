"""The bundled model files live in the repository's top-level ``weights/`` (issue 12,
item 8) and reach ``bundled_model_path()`` both from a built wheel and from the source
tree (editable installs, ``PYTHONPATH=src``).  The ``--html`` page's ``page.css`` and
``page.js`` (package data of ``photoenhance.html_report``) are in the wheel too."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MODEL_FILES = (
    "MODEL_CARD.md",
    "photoenhance-int8.onnx",
    "photoenhance-fp32.onnx",
    "photoenhance.pt",
)
HTML_PACKAGE = REPO / "src" / "photoenhance" / "html_report"
HTML_FILES = ("page.css", "page.js")
WHERE = (
    "from photoenhance.infer.model_file import bundled_model_path; "
    "from photoenhance.bundled import weights_dir; "
    "print(bundled_model_path()); print(weights_dir())"
)


def _where(pythonpath: Path, cwd: Path) -> list[Path]:
    env = dict(os.environ, PYTHONPATH=str(pythonpath))
    r = subprocess.run(
        [sys.executable, "-c", WHERE], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    return [Path(line) for line in r.stdout.splitlines()]


def test_weights_are_at_the_top_level_only() -> None:
    for name in MODEL_FILES:
        assert (REPO / "weights" / name).is_file(), name
    assert not (REPO / "src" / "photoenhance" / "weights").exists()


def test_source_tree_finds_the_top_level_weights(tmp_path: Path) -> None:
    model, folder = _where(REPO / "src", cwd=tmp_path)
    assert folder == REPO / "weights"
    assert model == REPO / "weights" / "photoenhance-int8.onnx"


@pytest.mark.slow
def test_wheel_carries_the_weights(tmp_path: Path) -> None:
    """Build the wheel from a copy of the project (no build/ left in the repository),
    check the model files are inside as photoenhance/weights, then import the unpacked
    wheel (what pip installs for a pure-Python wheel) and find the INT8 model there."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(REPO / name, project / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(REPO / "src", project / "src", ignore=ignore)
    shutil.copytree(REPO / "weights", project / "weights")
    dist = tmp_path / "dist"
    r = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(project), "--no-deps",
         "--no-build-isolation", "--no-index", "-q", "-w", str(dist)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    (wheel,) = dist.glob("photoenhance-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        for name in MODEL_FILES:
            member = f"photoenhance/weights/{name}"
            assert member in names, sorted(names)
            assert z.read(member) == (REPO / "weights" / name).read_bytes()
        assert not any(n.startswith("weights/") for n in names)  # no top-level package
        for name in HTML_FILES:  # the --html page's CSS and JS, read with importlib.resources
            member = f"photoenhance/html_report/{name}"
            assert member in names, sorted(names)
            assert z.read(member) == (HTML_PACKAGE / name).read_bytes()
        site = tmp_path / "site"
        z.extractall(site)
    model, folder = _where(site, cwd=tmp_path)
    assert folder == site / "photoenhance" / "weights"
    assert model == site / "photoenhance" / "weights" / "photoenhance-int8.onnx"
    # the installed page generator finds them (a page without its CSS/JS would be blank)
    code = (
        "from photoenhance.html_report import page; import sys; "
        "sys.stdout.write(page._resource('page.css') + page._resource('page.js'))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(site)),
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout == "".join((HTML_PACKAGE / n).read_text(encoding="utf-8") for n in HTML_FILES)
