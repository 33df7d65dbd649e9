"""`photoenhance train` and `photoenhance eval` driven through the CLI."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from photoenhance.cli import app

runner = CliRunner()


def _pairs(root: Path, n: int = 8) -> Path:
    rng = np.random.default_rng(0)
    (root / "iphone").mkdir(parents=True)
    (root / "canon").mkdir()
    for i in range(n):
        x = np.kron(rng.random((5, 5, 3)), np.ones((8, 8, 1))) * 0.7
        y = np.clip(x * 1.2 + 0.03, 0, 1)
        Image.fromarray(np.uint8(x * 255)).save(root / "iphone" / f"{i}.jpg", quality=95)
        Image.fromarray(np.uint8(y * 255)).save(root / "canon" / f"{i}.jpg", quality=95)
    return root


@pytest.mark.parametrize(("size", "select"), [("tiny", "best"), ("tiny-stats", "last")])
def test_train_then_run_and_eval(tmp_path: Path, size: str, select: str) -> None:
    """Train → run → eval (with PTQ) for a format-2 model and a format-3 one (the
    statistics input: PTQ calibrates it too)."""
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    pairs = _pairs(tmp_path / "pairs")
    out = tmp_path / "model"
    res = runner.invoke(app, [
        "train", "--pairs", str(pairs), "--out", str(out), "--steps", "12", "--qat-steps", "8",
        "--from", "scratch", "--size", size, "--batch-size", "4", "--patch-size", "32",
        "--eval-every", "5", "--checkpoint-every", "5", "--threads", "1", "--val-fraction", "0.25",
        "--select", select,
    ])
    assert res.exit_code == 0, res.output
    assert "best QAT" in res.output
    for name in ("model.onnx", "model-fp32.onnx", "checkpoint.pt", "report.json", "curves.png", "last.pt"):
        assert (out / name).is_file()

    photo = tmp_path / "in" / "p.jpg"
    photo.parent.mkdir()
    Image.fromarray(np.uint8(np.random.default_rng(1).random((50, 70, 3)) * 255)).save(photo)
    res = runner.invoke(app, ["run", str(photo.parent), "-o", str(tmp_path / "enh"),
                              "--model", str(out / "model.onnx"), "-q"])
    assert res.exit_code == 0, res.output
    assert Image.open(tmp_path / "enh" / "p.jpg").size == (70, 50)

    js = tmp_path / "eval.json"
    csv = tmp_path / "per_pair.csv"
    res = runner.invoke(app, ["eval", "--pairs", str(pairs), "--model", str(out / "model.onnx"),
                              "--json", str(js), "--per-pair", str(csv)])
    assert res.exit_code == 0, res.output
    rows = json.loads(js.read_text())["rows"]
    assert [r["model"] for r in rows] == ["identity", "FP32", "QAT-INT8", "PTQ-INT8"]
    assert all(np.isfinite(r["psnr"]) and 0 < r["ssim"] <= 1 for r in rows)
    assert "QAT-INT8" in res.output and "PTQ-INT8" in res.output
    assert len(csv.read_text().splitlines()) == 1 + 4 * rows[0]["pairs"]

    # --resume of a finished run is a no-op that re-exports
    res = runner.invoke(app, ["train", "--pairs", str(pairs), "--out", str(out), "--steps", "12",
                              "--qat-steps", "8", "--from", "scratch", "--size", size,
                              "--batch-size", "4", "--patch-size", "32", "--resume",
                              "--val-fraction", "0.25", "--threads", "1", "--select", select])
    assert res.exit_code == 0, res.output


def test_train_and_eval_usage_errors(tmp_path: Path) -> None:
    res = runner.invoke(app, ["train", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "--pairs" in res.output
    if importlib.util.find_spec("torch") is not None:  # --epochs counts the pairs first
        res = runner.invoke(app, ["train", "--pairs", str(tmp_path / "gone"), "--epochs", "2"])
        assert res.exit_code == 2 and "gone" in res.output, res.output
    res = runner.invoke(app, ["train", "--pairs", str(tmp_path), "--out", str(tmp_path / "o"),
                              "--select", "worst"])
    assert res.exit_code != 0 and "--select must be best or last" in res.output, res.output
    res = runner.invoke(app, ["eval", "--pairs", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "missing" in res.output
    mism = tmp_path / "mism"
    (mism / "input").mkdir(parents=True)
    (mism / "target").mkdir()
    Image.new("RGB", (16, 16)).save(mism / "input" / "a.png")
    Image.new("RGB", (16, 16)).save(mism / "target" / "b.png")
    pytest.importorskip("torch")
    res = runner.invoke(app, ["train", "--pairs", str(mism), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "share no file name" in res.output


def test_train_size_offers_every_size_the_readme_lists(tmp_path: Path) -> None:
    """``--size`` offers what the README and ``create_model`` know, ``base`` too, and an
    unknown size is a usage error before any pairs are read (issue 21, item 4)."""
    import re

    from photoenhance.config import MODEL_SIZES

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    listed = re.search(r"Sizes \(`photoenhance\.model\.create_model`\):(.*?)\.", readme, re.S)
    assert listed, "the README's list of sizes moved"
    assert tuple(re.findall(r"`([\w-]+)`", listed.group(1))) == MODEL_SIZES
    help_text = " ".join(runner.invoke(app, ["train", "-h"], env={"COLUMNS": "400"}).output.split())
    assert "[" + "|".join(MODEL_SIZES) + "]" in help_text
    res = runner.invoke(app, ["train", "--pairs", str(tmp_path / "nowhere"), "--out",
                              str(tmp_path / "m"), "--size", "huge"])
    assert res.exit_code == 2
    assert "huge" in res.output and not (tmp_path / "m").exists()
    torch_sizes = pytest.importorskip("photoenhance.model").SIZES
    assert tuple(torch_sizes) == MODEL_SIZES
