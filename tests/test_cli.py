"""End-to-end tests of ``photoenhance run``/``info``/``--version`` through typer's CliRunner."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from _models import model_with_metadata, tiny_model
from photoenhance import __version__
from photoenhance.infer.compare import label_height
from photoenhance.io import MARKER_NAME, ImageReadError, is_complete_image
from photoenhance.io.manifest import MANIFEST_NAME

FORMAT_OF_SUFFIX = {".jpg": "JPEG", ".png": "PNG", ".tif": "TIFF", ".webp": "WEBP"}


def hash_tree(root: Path) -> dict[str, str]:
    """Hashes of the files under ``root``, but the output-folder marker and record of
    outputs at its root."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p not in (root / MARKER_NAME, root / MANIFEST_NAME)
    }


def all_files(root: Path) -> list[str]:
    """The files under ``root``, but the output-folder marker and record of outputs at
    its root."""
    ours = (root / MARKER_NAME, root / MANIFEST_NAME)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p not in ours)


def load_report(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def by_input(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {Path(f["input"]).name: f for f in report["files"]}


def error_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith("error: ")]


@pytest.fixture
def mixed(tmp_path: Path, make_photo: Any) -> Path:
    """A folder with one tiny photo per format, one in a sub-folder."""
    src = tmp_path / "in"
    for i, suffix in enumerate([".jpg", ".png", ".tif", ".webp"]):
        make_photo(src / f"p{i}{suffix}", seed=i)
    make_photo(src / "sub" / "deep.jpg", seed=9)
    return src


# --------------------------------------------------------------------------- basics


def test_version(cli: Any) -> None:
    r = cli("--version")
    assert r.exit_code == 0
    assert r.stdout.strip() == f"photoenhance {__version__}"


def test_info(cli: Any, shared_cache_dir: Path) -> None:
    import onnxruntime as ort

    r = cli("info")
    assert r.exit_code == 0, r.output
    out = r.stdout
    for key in (
        "model:",
        "precision:",
        "parameters:",
        "MACs/MP:",
        "halo:",
        "provider:",
        "threads:",
    ):
        assert key in out
    assert "photoenhance-int8.onnx" in out
    assert "CPUExecutionProvider" in out
    assert ort.__version__ in out
    assert str(shared_cache_dir) in out


def test_info_bad_model_is_usage_error(cli: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_text("not a model")
    r = cli("info", "--model", bad)
    assert r.exit_code == 2
    assert len(r.stderr.strip().splitlines()) == 1
    assert "bad.onnx" in r.stderr


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize("fmt", ["same", "jpeg", "png", "tiff", "webp"])
def test_every_format_in_and_out(cli: Any, mixed: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "out"
    r = cli("run", mixed, "-o", out, "--format", fmt)
    assert r.exit_code == 0, r.output
    expected_suffix = {"jpeg": ".jpg", "png": ".png", "tiff": ".tif", "webp": ".webp"}.get(fmt)
    for src in sorted(p for p in mixed.rglob("*") if p.is_file()):
        rel = src.relative_to(mixed)
        dst = out / (rel if fmt == "same" else rel.with_suffix(expected_suffix or ""))
        assert dst.is_file(), (dst, all_files(out))
        with Image.open(dst) as im, Image.open(src) as orig:
            assert im.format == FORMAT_OF_SUFFIX[dst.suffix]
            assert im.size == orig.size
        assert is_complete_image(dst)
    assert "5 enhanced" in r.stderr


def test_format_keeps_existing_spelling(cli: Any, tmp_path: Path, make_photo: Any) -> None:
    make_photo(tmp_path / "in" / "a.jpeg")
    make_photo(tmp_path / "in" / "b.JPG")
    r = cli("run", tmp_path / "in", "-o", tmp_path / "out", "--format", "jpeg")
    assert r.exit_code == 0, r.output
    assert all_files(tmp_path / "out") == ["a.jpeg", "b.JPG"]


def test_single_file_input_goes_to_output_root(cli: Any, mixed: Path, tmp_path: Path) -> None:
    r = cli("run", mixed / "sub" / "deep.jpg", "-o", tmp_path / "o")
    assert r.exit_code == 0, r.output
    assert all_files(tmp_path / "o") == ["deep.jpg"]


def test_no_recursive(cli: Any, mixed: Path, tmp_path: Path) -> None:
    r = cli("run", mixed, "-o", tmp_path / "o", "--no-recursive")
    assert r.exit_code == 0, r.output
    assert "sub/deep.jpg" not in all_files(tmp_path / "o")
    assert len(all_files(tmp_path / "o")) == 4


def test_tiled_and_whole_outputs_identical(cli: Any, tmp_path: Path, make_photo: Any) -> None:
    """--tile 64 (many tiles, 80 px halo) gives the same pixels as one whole-image tile."""
    src = make_photo(tmp_path / "in" / "big.png", w=360, h=300, seed=3)
    for tile in (64, 4096):
        r = cli("run", src, "-o", tmp_path / f"t{tile}", "--tile", tile)
        assert r.exit_code == 0, r.output
    a = np.asarray(Image.open(tmp_path / "t64" / "big.png"))
    b = np.asarray(Image.open(tmp_path / "t4096" / "big.png"))
    assert a.shape == (300, 360, 3)
    np.testing.assert_array_equal(a, b)


def test_strength_zero_returns_input_pixels(cli: Any, tmp_path: Path, make_photo: Any) -> None:
    src = make_photo(tmp_path / "in" / "a.png")
    r = cli("run", src, "-o", tmp_path / "o", "--strength", "0")
    assert r.exit_code == 0, r.output
    np.testing.assert_array_equal(
        np.asarray(Image.open(src)), np.asarray(Image.open(tmp_path / "o" / "a.png"))
    )


# --------------------------------------------------------------------------- exit codes / usage


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--strength", "1.5"], "--strength"),
        (["--quality", "0"], "--quality"),
        (["--quality", "101"], "--quality"),
        (["--format", "gif"], "format"),
        (["--tile", "8"], "--tile"),
        (["--threads", "0"], "--threads"),
        (["--max-megapixels", "0"], "--max-megapixels"),
        (["--strength", "abc"], "strength"),
    ],
)
def test_bad_option_values_exit_2(
    cli: Any, mixed: Path, tmp_path: Path, args: list[str], needle: str
) -> None:
    out = tmp_path / "out"
    r = cli("run", mixed, "-o", out, *args)
    assert r.exit_code == 2
    assert needle in r.stderr
    assert not out.exists()


def test_no_inputs_found_exit_2(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    r = cli("run", tmp_path / "empty", "-o", tmp_path / "out")
    assert r.exit_code == 2
    assert "no photos found" in r.stderr
    r = cli("run", tmp_path / "missing.jpg", "-o", tmp_path / "out")
    assert r.exit_code == 2
    assert "missing.jpg: does not exist" in r.stderr
    assert not (tmp_path / "out").exists()


def test_no_arguments_is_usage_error(cli: Any) -> None:
    assert cli("run").exit_code == 2


@pytest.mark.parametrize(
    ("kind", "needle"),
    [
        ("missing", "not found"),
        ("garbage", "cannot load model"),
        ("directory", "is a directory"),
        ("wrong-shape", "'image' has shape"),
        ("bad-context", "photoenhance.context is not valid JSON"),
        ("multiple-zero", "photoenhance.multiple must be an integer >= 2"),
    ],
)
def test_unreadable_model_exit_2(
    cli: Any, mixed: Path, tmp_path: Path, kind: str, needle: str
) -> None:
    """Every unusable model fails once, at load (exit 2, one line), never per photo."""
    model = tmp_path / "m.onnx"
    if kind == "garbage":
        model.write_bytes(os.urandom(300))
    elif kind == "directory":
        model.mkdir()
    elif kind == "wrong-shape":
        tiny_model(tmp_path, "m.onnx", [1, "h", "w", 3])
    elif kind in ("bad-context", "multiple-zero"):
        change = {"context": "{oops"} if kind == "bad-context" else {"multiple": "0"}
        model_with_metadata(tmp_path, "m.onnx", **change)
    r = cli("run", mixed, "-o", tmp_path / "out", "--model", model)
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "m.onnx" in lines[0] and needle in lines[0], r.stderr
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- report, skip, overwrite, dry run


def test_report_json(cli: Any, mixed: Path, tmp_path: Path) -> None:
    (mixed / "zero.jpg").write_bytes(b"")
    rep = tmp_path / "reports" / "r.json"
    r = cli("run", mixed, "-o", tmp_path / "out", "--report", rep)
    assert r.exit_code == 1
    data = load_report(rep)
    files = by_input(data)
    assert set(files) == {"p0.jpg", "p1.png", "p2.tif", "p3.webp", "deep.jpg", "zero.jpg"}
    for name, entry in files.items():
        assert set(entry) >= {
            "input",
            "output",
            "status",
            "error",
            "seconds",
            "megapixels",
            "warnings",
        }
        if name == "zero.jpg":
            assert entry["status"] == "error"
            assert "empty" in entry["error"]
        else:
            assert entry["status"] == "ok"
            assert entry["error"] is None
            assert entry["megapixels"] == pytest.approx(96 * 64 / 1e6)
            assert entry["seconds"] > 0
            assert Path(entry["output"]).is_file()
    s = data["summary"]
    assert (s["total"], s["ok"], s["skipped"], s["failed"]) == (6, 5, 0, 1)
    assert s["megapixels"] == pytest.approx(5 * 96 * 64 / 1e6, abs=1e-3)
    assert s["seconds"] > 0 and s["megapixels_per_second"] > 0
    assert data["model"]["precision"]


def test_skip_existing_and_redo_truncated(cli: Any, mixed: Path, tmp_path: Path) -> None:
    out, rep = tmp_path / "out", tmp_path / "r.json"
    assert cli("run", mixed, "-o", out).exit_code == 0
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    truncated = out / "p0.jpg"
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    assert not is_complete_image(truncated)
    r = cli("run", mixed, "-o", out, "--report", rep)
    assert r.exit_code == 0, r.output
    status = {k: v["status"] for k, v in by_input(load_report(rep)).items()}
    assert status == {
        "p0.jpg": "ok",
        "p1.png": "skipped",
        "p2.tif": "skipped",
        "p3.webp": "skipped",
        "deep.jpg": "skipped",
    }
    assert is_complete_image(truncated)
    for p, mtime in before.items():
        if p not in (truncated, out / MANIFEST_NAME):  # the record names the redone one
            assert p.stat().st_mtime_ns == mtime
    assert "1 enhanced, 4 skipped, 0 failed" in r.stderr


def test_overwrite_redoes_everything(cli: Any, mixed: Path, tmp_path: Path) -> None:
    out, rep = tmp_path / "out", tmp_path / "r.json"
    assert cli("run", mixed, "-o", out).exit_code == 0
    r = cli("run", mixed, "-o", out, "--overwrite", "--report", rep)
    assert r.exit_code == 0
    assert {v["status"] for v in load_report(rep)["files"]} == {"ok"}


def test_dry_run_writes_nothing(cli: Any, mixed: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    before = hash_tree(tmp_path)
    r = cli("run", mixed, "-o", out, "--dry-run", "--compare", tmp_path / "cmp", "--format", "png")
    assert r.exit_code == 0, r.output
    assert not out.exists() and not (tmp_path / "cmp").exists()
    assert hash_tree(tmp_path) == before
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 5
    assert any(ln.startswith("enhance") and ln.endswith(str(out / "p0.png")) for ln in lines)
    assert "nothing written" in r.stderr


def test_dry_run_shows_skips(cli: Any, mixed: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli("run", mixed, "-o", out).exit_code == 0
    before = hash_tree(out)
    r = cli("run", mixed, "-o", out, "--dry-run")
    assert r.exit_code == 0
    assert all(ln.startswith("skip") for ln in r.stdout.strip().splitlines())
    assert hash_tree(out) == before


# --------------------------------------------------------------------------- naming, safety


def test_collisions_never_overwrite(cli: Any, tmp_path: Path, make_photo: Any) -> None:
    a, b = tmp_path / "A", tmp_path / "B"
    make_photo(a / "x.jpg", seed=1)
    make_photo(a / "x.png", seed=2)
    make_photo(b / "x.jpg", seed=3)
    out = tmp_path / "out"
    r = cli("run", a, b, "-o", out, "--format", "jpeg")
    assert r.exit_code == 0, r.output
    # A/x.jpg keeps its name; A/x.png's natural name is taken -> x.png.jpg; B/x.jpg -> x-2.jpg
    assert all_files(out) == ["x-2.jpg", "x.jpg", "x.png.jpg"]
    assert len(set(hash_tree(out).values())) == 3
    r = cli("run", a, b, "-o", out, "--format", "jpeg")  # deterministic: everything skipped
    assert "0 enhanced, 3 skipped" in r.stderr


def test_inputs_unchanged_and_output_inside_input_not_walked(
    cli: Any, mixed: Path, tmp_path: Path
) -> None:
    before = hash_tree(mixed)
    out = mixed / "enhanced"
    assert cli("run", mixed, "-o", out).exit_code == 0
    r = cli("run", mixed, "-o", out, "--overwrite", "--format", "png", "--compare", tmp_path / "c")
    assert r.exit_code == 0, r.output
    after = {k: v for k, v in hash_tree(mixed).items() if not k.startswith("enhanced")}
    assert after == before
    assert not any("enhanced/enhanced" in f for f in all_files(mixed))


def test_refuses_output_that_resolves_to_input(cli: Any, tmp_path: Path, make_photo: Any) -> None:
    src = make_photo(tmp_path / "in" / "a.jpg")
    make_photo(tmp_path / "in" / "b.jpg", seed=2)
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.jpg").symlink_to(src)
    truncate_marker = src.read_bytes()
    r = cli("run", tmp_path / "in", "-o", out, "--overwrite")
    assert r.exit_code == 1
    assert "refusing to overwrite an input" in r.stderr
    assert src.read_bytes() == truncate_marker
    assert (out / "b.jpg").is_file()


def test_compare_images(cli: Any, mixed: Path, tmp_path: Path) -> None:
    cmp = tmp_path / "cmp"
    r = cli("run", mixed, "-o", tmp_path / "out", "--compare", cmp)
    assert r.exit_code == 0, r.output
    files = all_files(cmp)
    assert len(files) == 5 and "sub/deep.jpg.compare.jpg" in files
    with Image.open(cmp / "p1.png.compare.jpg") as im:
        assert im.format == "JPEG"
        assert im.width > 2 * 96 - 1 and im.height == label_height(64) + 64
        px = np.asarray(im.convert("L"), dtype=np.int16)
    # issue 21, item 8: "Before" over the left photo, "After" over the right one: dark
    # text on the white band above them, different ink for the two words
    band, half = px[: label_height(64)], px.shape[1] // 2
    left, right = band[:, :half] < 128, band[:, half + 4 :] < 128
    assert left.sum() > 20 and right.sum() > 20
    assert left.sum() != right.sum()
    assert (band > 200).mean() > 0.7  # mostly white: the photos are not covered


# --------------------------------------------------------------------------- config file


def test_config_defaults_apply_and_flags_override(
    cli: Any, mixed: Path, tmp_path: Path, isolated_user_dirs: Path
) -> None:
    isolated_user_dirs.write_text(
        f'[run]\nformat = "png"\noutput = "{tmp_path / "cfgout"}"\nstrength = 0.0\ntile = 128\n'
    )
    r = cli("run", mixed / "p0.jpg")
    assert r.exit_code == 0, r.output
    assert all_files(tmp_path / "cfgout") == ["p0.png"]
    r = cli("run", mixed / "p0.jpg", "--format", "webp", "-o", tmp_path / "flag")
    assert r.exit_code == 0, r.output
    assert all_files(tmp_path / "flag") == ["p0.webp"]


@pytest.mark.parametrize(
    "text",
    [
        '[run]\nformat = "gif"\n',
        "[run]\nstrength = 2\n",
        "[run]\nbogus = 1\n",
        "not toml ===",
        'format = "png"\n',
        '[run]\ntile = "big"\n',
    ],
)
def test_bad_config_exit_2(
    cli: Any, mixed: Path, tmp_path: Path, isolated_user_dirs: Path, text: str
) -> None:
    isolated_user_dirs.write_text(text)
    r = cli("run", mixed, "-o", tmp_path / "out")
    assert r.exit_code == 2
    assert str(isolated_user_dirs) in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


# --------------------------------------------------------------------------- bad inputs, write errors


def png_bomb(path: Path, width: int = 40000, height: int = 40000) -> Path:
    """A tiny PNG whose IHDR claims width x height (8-bit RGB)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
        )

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    idat = zlib.compress(b"\x00" * 64)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    return path


def test_bad_inputs_each_fail_alone(
    cli: Any, tmp_path: Path, make_photo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "in"
    make_photo(src / "good1.jpg", seed=1)
    make_photo(src / "good2.png", seed=2)
    (src / "zero.jpg").write_bytes(b"")
    full = make_photo(tmp_path / "full.jpg", w=128, h=96).read_bytes()
    (src / "truncated.jpg").write_bytes(full[: len(full) // 2])
    (src / "random.jpg").write_bytes(np.random.default_rng(0).bytes(2000))
    (src / "text.png").write_text("hello, I am not a PNG\n")
    png_bomb(src / "bomb.png")
    (src / "x.jpg").mkdir()
    make_photo(src / "denied.jpg", seed=3)

    import photoenhance.infer.photo as photo_mod

    real_read = photo_mod.read_image

    def read(path: Path, **kw: Any) -> Any:
        if Path(path).name == "denied.jpg":
            raise ImageReadError(path, "permission denied")
        return real_read(path, **kw)

    monkeypatch.setattr(photo_mod, "read_image", read)
    rep = tmp_path / "r.json"
    r = cli("run", src, "-o", tmp_path / "out", "--report", rep)
    assert r.exit_code == 1
    bad = {"zero.jpg", "truncated.jpg", "random.jpg", "text.png", "bomb.png", "x.jpg", "denied.jpg"}
    lines = error_lines(r.stderr)
    assert len(lines) == len(bad), r.stderr
    for name in bad:
        assert sum(f"{src / name}:" in ln for ln in lines) == 1, (name, lines)
    assert any("exceeds the limit" in ln for ln in lines)
    report = by_input(load_report(rep))
    assert {k for k, v in report.items() if v["status"] == "error"} == bad
    assert {k for k, v in report.items() if v["status"] == "ok"} == {"good1.jpg", "good2.png"}
    assert all_files(tmp_path / "out") == ["good1.jpg", "good2.png"]


def test_output_folder_cannot_be_created(cli: Any, mixed: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = cli("run", mixed, "-o", blocker / "out")
    assert r.exit_code == 1
    lines = error_lines(r.stderr)
    assert len(lines) == 5
    assert all("cannot create output folder" in ln for ln in lines)


def test_disk_full_leaves_no_partial_files(
    cli: Any, mixed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    out = tmp_path / "out"
    r = cli("run", mixed, "-o", out, "--report", tmp_path / "r.json")
    assert r.exit_code == 1
    lines = error_lines(r.stderr)
    assert len(lines) >= 5 and all("disk full" in ln for ln in lines[:5]), r.stderr
    assert all_files(out) == []  # no partial outputs, no temporaries


def test_permission_denied_on_one_output(
    cli: Any, mixed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = os.replace

    def fake_replace(src: Any, dst: Any, **kw: Any) -> None:
        if os.fspath(dst).endswith("p1.png"):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(dst))
        real_replace(src, dst, **kw)

    monkeypatch.setattr(os, "replace", fake_replace)
    out = tmp_path / "out"
    r = cli("run", mixed, "-o", out)
    assert r.exit_code == 1
    lines = error_lines(r.stderr)
    assert len(lines) == 1 and "p1.png" in lines[0] and "permission denied" in lines[0]
    assert all_files(out) == ["p0.jpg", "p2.tif", "p3.webp", "sub/deep.jpg"]


def test_progress_on_a_terminal(
    cli: Any, mixed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a (forced) terminal the live progress renders; errors and the summary still print."""
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    (mixed / "zero.jpg").write_bytes(b"")
    r = cli("run", mixed, "-o", tmp_path / "out")
    assert r.exit_code == 1
    assert "Enhancing" in r.stderr and "MP/s" in r.stderr
    assert "zero.jpg: empty file" in r.stderr
    assert "5 enhanced, 0 skipped, 1 failed" in r.stderr


def test_quiet_prints_only_errors(cli: Any, mixed: Path, tmp_path: Path) -> None:
    (mixed / "zero.jpg").write_bytes(b"")
    r = cli("run", mixed, "-o", tmp_path / "out", "--quiet")
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines() == [f"error: {mixed / 'zero.jpg'}: empty file (0 bytes)"]
    assert r.stdout == ""


def test_output_that_is_a_file_is_usage_error(cli: Any, mixed: Path, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    r = cli("run", mixed, "-o", tmp_path / "f")
    assert r.exit_code == 2 and "not a folder" in r.stderr


def test_config_model_relative_to_config_file(
    cli: Any, tmp_path: Path, isolated_user_dirs: Path
) -> None:
    from photoenhance.infer.model_file import bundled_model_path

    (isolated_user_dirs.parent / "models").mkdir()
    model = isolated_user_dirs.parent / "models" / "mine.onnx"
    model.write_bytes(bundled_model_path().read_bytes())
    isolated_user_dirs.write_text('[run]\nmodel = "models/mine.onnx"\nthreads = 1\n')
    r = cli("info")
    assert r.exit_code == 0, r.output
    assert str(model) in r.stdout and "threads:       1" in r.stdout
    assert f"{isolated_user_dirs}" in r.stdout


# --------------------------------------------------------------------------- issue 11


def test_report_never_overwrites_a_photo(cli: Any, tmp_path: Path, make_photo: Any) -> None:
    """Item 1: `run in/7.jpg -o out --report in/8.jpg` exited 0 with in/8.jpg now JSON."""
    src = tmp_path / "in"
    seven, eight = make_photo(src / "7.jpg", seed=7), make_photo(src / "8.jpg", seed=8)
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    (tmp_path / "folder").mkdir()
    before = hash_tree(tmp_path)
    out, cmp = tmp_path / "out", tmp_path / "cmp"
    cases = [
        (eight, "exists and is not a photoenhance report"),
        (seven, "is an input photo"),
        (notes, "exists and is not a photoenhance report"),
        (out / "7.jpg", "is an output of this run"),
        (cmp / "7.jpg.compare.jpg", "is a compare image of this run"),
        (tmp_path / "folder", "is a folder"),
    ]
    for report, needle in cases:
        for extra in ([], ["--dry-run"]):
            r = cli("run", seven, "-o", out, "--compare", cmp, "--report", report, *extra)
            assert r.exit_code == 2, (report, r.output)
            lines = r.stderr.strip().splitlines()
            assert len(lines) == 1 and str(report) in lines[0] and needle in lines[0], lines
            assert hash_tree(tmp_path) == before  # refused before any work
            assert not out.exists() and not cmp.exists()


def test_report_replaces_only_an_earlier_report_atomically(
    cli: Any, tmp_path: Path, make_photo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make_photo(tmp_path / "in" / "a.jpg")
    rep = tmp_path / "r.json"
    rep.write_bytes(b"")  # an empty file (made with touch) holds nothing to lose
    assert cli("run", src, "-o", tmp_path / "out", "--report", rep).exit_code == 0
    assert load_report(rep)["summary"]["ok"] == 1
    r = cli("run", src, "-o", tmp_path / "out", "--report", rep)  # a rerun replaces it
    assert r.exit_code == 0, r.output
    old = rep.read_bytes()
    assert load_report(rep)["summary"]["skipped"] == 1

    import photoenhance.io.atomic as atomic_mod

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic_mod.os, "fsync", full_disk)
    r = cli("run", src, "-o", tmp_path / "out", "--report", rep)
    assert r.exit_code == 1
    assert "report not written" in r.stderr and "disk full" in r.stderr
    assert rep.read_bytes() == old  # the earlier report is intact, no temporary left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out", "r.json"]


def test_longest_names_and_names_too_long(cli: Any, tmp_path: Path, make_photo: Any) -> None:
    """Item 5: 225-255 byte names could not be written (temporary = name + 31 bytes); with
    --format jpeg, x.png beside x.jpg becomes x.png.jpg, over the 255-byte limit."""
    src = tmp_path / "in"
    longest = make_photo(src / "a" / ("l" * 251 + ".jpg"))
    stem = "s" * 251
    make_photo(src / "b" / f"{stem}.jpg", seed=1)
    make_photo(src / "b" / f"{stem}.png", seed=2)
    out, cmp = tmp_path / "out", tmp_path / "cmp"
    rep = tmp_path / "r.json"
    r = cli("run", src, "-o", out, "--format", "jpeg", "--compare", cmp, "--report", rep)
    assert r.exit_code == 1, r.output
    assert is_complete_image(out / "a" / longest.name)
    assert is_complete_image(out / "b" / f"{stem}.jpg")
    lines = error_lines(r.stderr)
    assert len(lines) == 1 and f"{stem}.png: output not written" in lines[0], r.stderr
    assert "would be 259 bytes long (file systems allow 255)" in lines[0]
    files = by_input(load_report(rep))
    assert files[f"{stem}.png"]["status"] == "error"
    # the compare image's name (+ 12 bytes) is too long too: the photo is still enhanced
    entry = files[longest.name]
    assert entry["status"] == "ok" and entry["compare"] is None
    assert any("compare image not written" in w for w in entry["warnings"])
    assert all_files(out) == [f"a/{longest.name}", f"b/{stem}.jpg"]


@pytest.mark.parametrize("name", ["out[/x]", "[red]x", "[bold]o[/bold]"])
def test_markup_in_user_strings_is_printed_as_is(
    cli: Any, tmp_path: Path, make_photo: Any, name: str
) -> None:
    """Item 6: `-o 'out[/x]'` crashed the summary (MarkupError); `-o '[red]x'` printed
    the wrong path."""
    src = make_photo(tmp_path / "in" / "[b]a.jpg")
    (tmp_path / "in" / "[i]bad.jpg").write_bytes(b"")
    out = tmp_path / name
    r = cli("run", tmp_path / "in", "-o", out)
    assert r.exit_code == 1, r.output
    assert is_complete_image(out / src.name)
    assert r.stderr.strip().splitlines()[-1].endswith(f"-> {out}"), r.stderr
    assert f"error: {tmp_path / 'in' / '[i]bad.jpg'}: empty file" in r.stderr


def test_control_characters_in_names_are_escaped(
    cli: Any, tmp_path: Path, make_photo: Any
) -> None:
    """Item 11: a newline in a file name split the one-line error."""
    src = tmp_path / "in"
    make_photo(src / "ok.jpg")
    (src / "bad\nname.jpg").write_bytes(b"")
    (src / "esc\x1b[2Jname.jpg").write_bytes(b"")
    r = cli("run", src, "-o", tmp_path / "out", "-q")
    assert r.exit_code == 1
    assert r.stderr.splitlines() == [
        f"error: {src}/bad\\nname.jpg: empty file (0 bytes)",
        f"error: {src}/esc\\x1b[2Jname.jpg: empty file (0 bytes)",
    ]
    r = cli("run", src, "-o", tmp_path / "out", "--dry-run")
    assert len(r.stdout.splitlines()) == 3 and "bad\\nname.jpg" in r.stdout
    r = cli("run", src / "no\nsuch.jpg", "-o", tmp_path / "out")
    assert r.exit_code == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "no\\nsuch.jpg: does not exist" in r.stderr


@pytest.mark.skipif(os.name == "nt", reason="FIFOs and symlinks")
def test_special_files_are_listed_as_skipped(cli: Any, tmp_path: Path, make_photo: Any) -> None:
    """Item 12: FIFOs, devices, dangling links and loops in folders were skipped silently."""
    src = tmp_path / "in"
    make_photo(src / "ok.jpg")
    os.mkfifo(src / "fifo.jpg")  # opening it would block: it must never be opened
    (src / "dangling.png").symlink_to(src / "gone.png")
    (src / "loop.jpg").symlink_to(src / "loop.jpg")
    rep = tmp_path / "r.json"
    r = cli("run", src, "-o", tmp_path / "out", "--report", rep)
    assert r.exit_code == 0, r.output
    notes = [ln for ln in r.stderr.splitlines() if ln.startswith("note: ")]
    assert notes == [
        f"note: {src / 'dangling.png'}: broken symlink (its target does not exist); skipped",
        f"note: {src / 'fifo.jpg'}: is a named pipe (FIFO), not a photo; skipped",
        f"note: {src / 'loop.jpg'}: symlink loop; skipped",
    ]
    assert "1 enhanced, 3 skipped, 0 failed" in r.stderr
    files = by_input(load_report(rep))
    assert files["ok.jpg"]["status"] == "ok" and files["ok.jpg"]["reason"] is None
    for name in ("fifo.jpg", "dangling.png", "loop.jpg"):
        entry = files[name]
        assert entry["status"] == "skipped" and entry["output"] is None and entry["reason"]
    r = cli("run", src, "-o", tmp_path / "out", "-q")
    assert r.exit_code == 0 and r.stderr == ""
    r = cli("run", src, "-o", tmp_path / "out", "--dry-run")
    assert f"skip     {src / 'fifo.jpg'} (is a named pipe (FIFO)" in r.stdout
