"""``TrainConfig``: torch-free, its checks, and the ``--epochs`` → ``--steps`` rule."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

import photoenhance
from photoenhance.train.config import LOSSES, TrainConfig
from photoenhance.train.errors import TrainError


def test_config_and_errors_import_without_torch() -> None:
    src = str(Path(photoenhance.__file__).resolve().parents[1])
    code = (
        "import sys; import photoenhance.train.config, photoenhance.train.errors; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'torch'); assert not bad, bad"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)


def test_epochs_set_steps_from_the_pairs_found(pairs_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pairs = pairs_factory(tmp_path / "pairs", n=10)
    cfg = TrainConfig(out=tmp_path / "o", pairs=pairs, batch_size=4, val_fraction=0.2)
    # 3 epochs × 10 pairs × (1 − 0.2) / 4 per batch = 6 steps
    assert cfg.with_epochs(3).steps == 6
    assert cfg.with_epochs(0.01).steps == 1  # never fewer than one step
    assert cfg.with_epochs(3) == replace(cfg, steps=6)  # nothing else changes
    assert TrainConfig(out=tmp_path / "o", synthetic=tmp_path).with_epochs(5).steps == 1  # no pairs


def test_epochs_over_unreadable_pairs_is_a_train_error(tmp_path: Path) -> None:
    cfg = TrainConfig(out=tmp_path / "o", pairs=tmp_path / "missing")
    with pytest.raises(TrainError, match="missing"):
        cfg.with_epochs(1)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"steps": 0, "qat_steps": 0}, "--steps and --qat-steps"),
        ({"steps": -1}, "--steps and --qat-steps"),
        ({"qat_target": "x"}, "--qat-target"),
        ({"select": "x"}, "--select"),
        ({"loss": "x"}, "--loss must be one of " + ", ".join(LOSSES)),
        ({"batch_size": 0}, "--batch-size"),
        ({"patch_size": 8}, "--patch-size"),
        ({"workers": -1}, "--workers"),
    ],
)
def test_check_names_the_bad_option(tmp_path: Path, change: dict, message: str) -> None:
    cfg = replace(TrainConfig(out=tmp_path), **change)
    with pytest.raises(TrainError, match=message.replace("-", r"\-")):
        cfg.check()


def test_phase_rules(tmp_path: Path) -> None:
    cfg = TrainConfig(out=tmp_path, steps=10, qat_steps=4)
    assert cfg.total_steps == 14 and cfg.uses_teacher
    assert not replace(cfg, steps=0).uses_teacher  # auto: a teacher only after an FP32 phase
    assert not replace(cfg, qat_target="pairs").uses_teacher
    assert replace(cfg, steps=0, qat_target="teacher").uses_teacher
