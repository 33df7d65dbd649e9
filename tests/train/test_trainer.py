"""``Trainer``: the run as steps (train_fp32 → calibrate → train_qat → export), taken one
by one, writes what ``train()`` writes, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from photoenhance.train.config import TrainConfig  # noqa: E402
from photoenhance.train.loop import train  # noqa: E402
from photoenhance.train.trainer import Trainer  # noqa: E402

FILES = ("model.onnx", "model-fp32.onnx", "checkpoint.pt", "last.pt", "curves.png")


def _config(pairs: Path, out: Path) -> TrainConfig:
    return TrainConfig(
        out=out, pairs=pairs, init="scratch", size="tiny", steps=6, qat_steps=4,
        batch_size=4, patch_size=32, eval_every=3, checkpoint_every=3, calib_batches=2,
        warmup=2, val_fraction=0.25, threads=1, lr=2e-3, qat_lr=2e-4,
    )


def test_steps_one_by_one_write_what_train_writes(pairs_dir: Path, tmp_path: Path) -> None:
    cfg = _config(pairs_dir, tmp_path / "run")  # the same folder (last.pt names it)
    whole = train(cfg)
    (tmp_path / "run").rename(tmp_path / "a")
    t = Trainer(cfg)
    assert t.train_fp32() and (t.step, t.phase) == (6, "fp32")
    assert "qat" not in t.best
    t.calibrate()
    assert t.phase == "qat" and [h["phase"] for h in t.history if "val_psnr" in h][-1] == "qat"
    assert t.train_qat() and t.step == 10
    stepped = t.export()
    (tmp_path / "run").rename(tmp_path / "b")
    assert stepped.finished and stepped.steps_done == whole.steps_done == 10
    assert (stepped.best_fp32, stepped.best_qat) == (whole.best_fp32, whole.best_qat)
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    reports = [json.loads((tmp_path / d / "report.json").read_text()) for d in "ab"]
    for r in reports:
        del r["seconds"]
    assert reports[0] == reports[1]
