"""The README's "Python API" examples run as written (from a folder holding a copy of
``examples/photos``)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _examples() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_readme_has_python_api_examples() -> None:
    blocks = _examples()
    assert len(blocks) >= 3
    joined = "\n".join(blocks)
    for name in ("photoenhance.enhance(", "photoenhance.enhance_file(", "photoenhance.Enhancer("):
        assert name in joined


@pytest.mark.parametrize("index", range(len(_examples())))
def test_readme_python_api_example_runs(index: int, tmp_path: Path, monkeypatch, capsys) -> None:
    shutil.copytree(REPO / "examples" / "photos", tmp_path / "examples" / "photos")
    monkeypatch.chdir(tmp_path)
    for block in _examples()[: index + 1]:  # later examples may use earlier outputs
        exec(compile(block, f"README.md (Python API example {index + 1})", "exec"), {})
    assert "Error" not in capsys.readouterr().err
