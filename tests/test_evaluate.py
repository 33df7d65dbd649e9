"""`eval` numbers against hand computations; PTQ calibration never uses evaluated pairs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photoenhance.evaluate import EvalConfig, evaluate, fp32_sibling
from photoenhance.metrics import psnr, ssim


def _constant_pairs(root: Path, n: int, a: int, b: int) -> Path:
    (root / "input").mkdir(parents=True)
    (root / "target").mkdir()
    for i in range(n):
        Image.new("RGB", (48, 40), (a, a, a)).save(root / "input" / f"p{i}.png")
        Image.new("RGB", (48, 40), (b, b, b)).save(root / "target" / f"p{i}.png")
    return root


def test_identity_row_matches_hand_computation(tmp_path: Path) -> None:
    root = _constant_pairs(tmp_path / "pairs", 3, 102, 128)
    result = evaluate(EvalConfig(pairs=root, ptq=False))
    ident = next(r for r in result.rows if r.name == "identity")
    assert ident.pairs == 3
    # PSNR: every pixel is off by 26/255
    assert ident.psnr == pytest.approx(20 * math.log10(255 / 26), abs=1e-4)  # float32 pixels
    # SSIM of two constant images: only the luminance term is left
    mx, my, c1 = 102 / 255, 128 / 255, 0.01**2
    assert ident.ssim == pytest.approx((2 * mx * my + c1) / (mx**2 + my**2 + c1), abs=1e-6)
    assert [r.name for r in result.rows][-1] == "QAT-INT8"


def test_model_rows_are_means_of_per_pair_metrics(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from photoenhance.infer.enhancer import Enhancer
    from photoenhance.infer.inference_config import InferenceConfig
    from photoenhance.io import read_rgb
    from photoenhance.model import create_model, head_convs
    from photoenhance.quant.export import export_onnx
    from photoenhance.quant.qat import calibrate

    torch.manual_seed(0)
    net = create_model("tiny").eval()
    for c in head_convs(net):
        torch.nn.init.normal_(c.weight, std=0.05)
    calibrate(net, [(torch.rand(2, 3, 32, 32),)])
    export_onnx(net, tmp_path / "model.onnx", int8=True)
    export_onnx(net, tmp_path / "model-fp32.onnx", int8=False)
    assert fp32_sibling(tmp_path / "model.onnx") == tmp_path / "model-fp32.onnx"

    rng = np.random.default_rng(0)
    root = tmp_path / "pairs"
    (root / "phone").mkdir(parents=True)
    (root / "dslr").mkdir()
    for i in range(8):
        x = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
        y = np.clip(x.astype(int) + rng.integers(-20, 20, x.shape), 0, 255).astype(np.uint8)
        Image.fromarray(x).save(root / "phone" / f"{i}.png")
        Image.fromarray(y).save(root / "dslr" / f"{i}.png")
    result = evaluate(EvalConfig(pairs=root, model=tmp_path / "model.onnx"))
    names = [r.name for r in result.rows]
    assert names == ["identity", "FP32", "QAT-INT8", "PTQ-INT8"]
    # PTQ calibrated on a held-out quarter: the evaluated pairs exclude it
    assert len(result.pair_names) == 6 and "held out" in result.calibration
    enh = Enhancer(InferenceConfig(model=tmp_path / "model.onnx"))
    ps, ss = [], []
    for name in result.pair_names:
        a = read_rgb(root / "phone" / f"{name}.png")
        b = read_rgb(root / "dslr" / f"{name}.png")
        out = enh.enhance(a)
        ps.append(psnr(out, b))
        ss.append(ssim(out, b))
    row = result.rows[2]
    assert row.psnr == pytest.approx(float(np.mean(ps)), abs=1e-9)
    assert row.ssim == pytest.approx(float(np.mean(ss)), abs=1e-9)
    # do-no-harm and harm columns are per-pair means too
    dnh = [psnr(enh.enhance(read_rgb(root / "dslr" / f"{n}.png")), read_rgb(root / "dslr" / f"{n}.png"))
           for n in result.pair_names]
    assert row.dnh_psnr == pytest.approx(float(np.mean([min(d, 100.0) for d in dnh])), abs=1e-9)
    assert row.harm is not None and row.harm.photos == 6


def test_identity_row_does_no_harm(tmp_path: Path) -> None:
    root = _constant_pairs(tmp_path / "pairs", 3, 102, 128)
    ident = evaluate(EvalConfig(pairs=root, ptq=False)).rows[0]
    assert ident.dnh_psnr == 100.0 and ident.dnh_ssim == pytest.approx(1.0)
    assert ident.harm is not None
    assert ident.harm.new_clipping == 0.0 and ident.harm.luma_shift == 0.0


def test_eval_photos_measures_each_photo_and_reports_unreadable(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from photoenhance.cli import app
    from photoenhance.evaluate import PhotoEvalConfig, evaluate_photos

    rng = np.random.default_rng(3)
    d = tmp_path / "mine"
    d.mkdir()
    for i in range(2):
        Image.fromarray(rng.integers(40, 200, (48, 64, 3), dtype=np.uint8)).save(d / f"ok{i}.png")
    (d / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    res = evaluate_photos(PhotoEvalConfig(photos=(d,)))
    assert [r.path.name for r in res.rows] == ["ok0.png", "ok1.png"]
    assert [p.name for p, _ in res.errors] == ["broken.jpg"]
    assert res.summary is not None and res.summary.photos == 2
    assert all(0.0 <= r.measures.new_clipping <= 1.0 for r in res.rows)

    js = tmp_path / "photos.json"
    out = CliRunner().invoke(app, ["eval", "--photos", str(d), "--json", str(js)])
    assert out.exit_code == 1, out.output  # the batch went on; the exit code says one failed
    assert "broken.jpg" in out.output
    data = json.loads(js.read_text())["photos"]
    assert len(data["rows"]) == 2 and data["errors"][0]["path"].endswith("broken.jpg")
    assert set(data["summary"]) >= {"new_clipping", "max_new_clipping", "luma_shift",
                                    "saturation_change", "noise_gain", "crushed_shadows"}
    # nothing written next to the photos
    assert sorted(p.name for p in d.iterdir()) == ["broken.jpg", "ok0.png", "ok1.png"]


def test_eval_needs_pairs_or_photos() -> None:
    from typer.testing import CliRunner

    from photoenhance.cli import app

    out = CliRunner().invoke(app, ["eval"])
    assert out.exit_code == 2 and "--photos" in out.output


def test_eval_photos_on_an_empty_folder_is_a_usage_error(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from photoenhance.cli import app

    (tmp_path / "empty").mkdir()
    out = CliRunner().invoke(app, ["eval", "--photos", str(tmp_path / "empty")])
    assert out.exit_code == 2 and "no photos found" in out.output
