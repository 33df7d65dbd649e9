"""End-to-end training on tiny pairs: export, resume, errors."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from photoenhance.infer.enhancer import Enhancer  # noqa: E402
from photoenhance.infer.inference_config import InferenceConfig  # noqa: E402
from photoenhance.infer.ort_session import read_model_info  # noqa: E402
from photoenhance.train.checkpoint import load_checkpoint  # noqa: E402
from photoenhance.train.loop import TrainConfig, TrainError, train  # noqa: E402


def _config(pairs: Path, out: Path, **kw) -> TrainConfig:  # type: ignore[no-untyped-def]
    base = TrainConfig(
        out=out, pairs=pairs, init="scratch", size="tiny", steps=12, qat_steps=8,
        batch_size=4, patch_size=32, eval_every=5, checkpoint_every=5, calib_batches=2,
        warmup=2, val_fraction=0.25, threads=1, lr=2e-3, qat_lr=2e-4,
    )
    return replace(base, **kw)


def test_twenty_step_run_exports_a_runnable_int8_model(pairs_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    events = []
    result = train(_config(pairs_dir, out), on_event=events.append)
    assert result.finished and result.steps_done == 20
    assert [e.step for e in events] == list(range(1, 21))
    assert {e.phase for e in events} == {"fp32", "qat"}
    for name in ("model.onnx", "model-fp32.onnx", "checkpoint.pt", "report.json", "curves.png"):
        assert (out / name).is_file(), name
    info = read_model_info(out / "model.onnx")
    assert info.precision == "int8-qat" and info.model_size == "tiny"
    img = np.random.default_rng(0).random((45, 61, 3), dtype=np.float32)
    y = Enhancer(InferenceConfig(model=out / "model.onnx")).enhance(img)
    assert y.shape == img.shape and np.isfinite(y).all()
    report = json.loads((out / "report.json").read_text())
    assert report["data"]["train_pairs"] + len(report["data"]["val_pairs"]) == 8
    assert set(report["best"]) == {"fp32", "qat"}
    # QAT distils the best FP32 model, so its best state is the most faithful one
    qat_evals = [h for h in report["history"] if h["phase"] == "qat"]
    assert qat_evals and all("val_fidelity" in h for h in qat_evals)
    chosen = max(qat_evals, key=lambda h: h["val_fidelity"])
    assert report["best"]["qat"]["step"] == chosen["step"]
    assert report["best"]["qat"]["fidelity"] == chosen["val_fidelity"]
    assert result.best_qat is not None and result.best_qat.fidelity == chosen["val_fidelity"]
    ckpt = load_checkpoint(out / "checkpoint.pt")  # weights_only=True loading
    assert ckpt["quant_mode"] == "quant"


def test_resume_after_interruption_reaches_the_same_state(pairs_dir: Path, tmp_path: Path) -> None:
    straight = train(_config(pairs_dir, tmp_path / "a"))
    # interrupted in the FP32 phase (step 7: last checkpoint at 5 → steps 6-7 redone)
    first = train(_config(pairs_dir, tmp_path / "b", stop_after=7, checkpoint_every=5))
    assert not first.finished
    resumed = train(_config(pairs_dir, tmp_path / "b", resume=True))
    assert resumed.finished and resumed.steps_done == straight.steps_done
    a = load_checkpoint(tmp_path / "a" / "last.pt")
    b = load_checkpoint(tmp_path / "b" / "last.pt")
    assert a["step"] == b["step"] == 20
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k
    assert a["np_rng"] == b["np_rng"]
    assert a["best"]["qat"]["psnr"] == b["best"]["qat"]["psnr"]


def test_resume_inside_the_qat_phase(pairs_dir: Path, tmp_path: Path) -> None:
    straight = train(_config(pairs_dir, tmp_path / "a", steps=6, qat_steps=6))
    train(_config(pairs_dir, tmp_path / "b", steps=6, qat_steps=6, stop_after=10))
    train(_config(pairs_dir, tmp_path / "b", steps=6, qat_steps=6, resume=True))
    a = load_checkpoint(tmp_path / "a" / "last.pt")["model"]
    b = load_checkpoint(tmp_path / "b" / "last.pt")["model"]
    assert straight.finished
    assert all(torch.equal(v, b[k]) for k, v in a.items())


def test_clear_errors_for_bad_data(tmp_path: Path, pairs_factory) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TrainError, match="not found"):
        train(_config(tmp_path / "nothing", tmp_path / "o"))
    mism = tmp_path / "mism"
    (mism / "input").mkdir(parents=True)
    (mism / "target").mkdir()
    from PIL import Image

    for i in range(3):
        Image.new("RGB", (32, 32)).save(mism / "input" / f"a{i}.png")
        Image.new("RGB", (32, 32)).save(mism / "target" / f"b{i}.png")
    with pytest.raises(TrainError, match="share no file name"):
        train(_config(mism, tmp_path / "o"))
    with pytest.raises(TrainError, match="checkpoint"):
        train(_config(pairs_factory(tmp_path / "p"), tmp_path / "o", init=str(tmp_path / "x.pt")))


def test_small_set_whose_held_out_pair_is_unusable_says_how_many_survived(
    tmp_path: Path, pairs_factory
) -> None:  # type: ignore[no-untyped-def]
    """Issue 20 item 11: 6 pairs, 3 with mismatched sizes, the one pair --val-fraction holds
    out among them: the error said "give ... a --val-fraction > 0" although it was > 0.  It
    must say how many pairs survived and why the others were dropped."""
    from PIL import Image

    from photoenhance.data.pairs import find_pairs, split_pairs

    root = pairs_factory(tmp_path / "p", n=6)
    cfg = _config(root, tmp_path / "o", val_fraction=0.15)
    _, held_out = split_pairs(find_pairs(root).pairs, 0.15, cfg.split_seed)
    assert len(held_out) == 1
    names = [held_out[0].name, *[n for n in ("0", "1", "2", "3") if n != held_out[0].name][:2]]
    for name in names:
        Image.new("RGB", (24, 40)).save(root / "canon" / f"{name}.png")
    with pytest.raises(TrainError) as err:
        train(cfg)
    msg = str(err.value)
    assert "--val-fraction > 0" not in msg
    assert "3 of 6 pairs are usable" in msg and "differs from" in msg
    assert "3 dropped" in msg and "the pair" in msg and "--val-fraction 0.15" in msg and "--resize-target" in msg
    assert "\n" not in msg


def test_corrupt_pair_is_reported_and_skipped(pairs_dir: Path, tmp_path: Path) -> None:
    (pairs_dir / "iphone" / "3.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    result = train(_config(pairs_dir, tmp_path / "run", steps=3, qat_steps=0, eval_every=3))
    assert result.finished
    assert any("3.png" in p for p in result.data["problems"])
