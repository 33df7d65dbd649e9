"""Evaluation and data loading must work without torch installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import photoenhance


def test_metrics_and_data_do_not_import_torch() -> None:
    src = str(Path(photoenhance.__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    code = (
        "import sys; import photoenhance.metrics, photoenhance.data; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'scipy')); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)
