"""Are the outputs byte-identical?  A fixed folder of every kind, enhanced, hashed.

Builds a folder from ``photos/`` and ``phone-photos/`` of the shared data: JPEG (camera
EXIF), PNG 16-bit, PNG with alpha, TIFF, WebP, HEIC (when pillow-heif is present), a CMYK
and a grey JPEG, EXIF orientations 1-8; runs ``photoenhance run`` over it (with
``--report``, ``--compare`` and ``--html``), once more with ``--format jpeg``, and one photo
through a pipe (``run - -o -``).  Writes a JSON of the sha256 of every file written and of
the reports with their times removed.  ``--against OLD.json`` compares two such records
and exits 1 on any difference: run it before and after a refactor that must not change
output bytes (issue 19).  Not a timing benchmark: it rewrites nothing in BENCHMARKS.md.

    python bench/same_bytes.py --out /tmp/before.json
    python bench/same_bytes.py --out /tmp/after.json --against /tmp/before.json
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import piexif
from PIL import Image

from photoenhance.io.sixteen import png16

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
TIMES = {
    "seconds",
    "megapixels_per_second",
    "elapsed_seconds",
    "started",
    "finished",
    "time",
    "date",
    "created",
}


def _exif(orientation: int) -> bytes:
    zeroth = {piexif.ImageIFD.Orientation: orientation, piexif.ImageIFD.Make: b"Test"}
    return piexif.dump({"0th": zeroth, "Exif": {}, "GPS": {}, "1st": {}})


def build(folder: Path) -> None:
    photos = sorted((DATA / "photos").glob("*.jpg"))[:6]
    folder.mkdir(parents=True)
    for p in sorted((DATA / "phone-photos").glob("*")):
        if p.suffix.lower() in {".jpg", ".jpeg"}:
            (folder / f"phone-{p.name}").write_bytes(p.read_bytes())
    base = Image.open(photos[0]).convert("RGB")
    base.thumbnail((480, 480))
    for o in range(1, 9):
        base.save(folder / f"orient-{o}.jpg", quality=90, exif=_exif(o))
    im = Image.open(photos[1]).convert("RGB")
    im.thumbnail((400, 400))
    a = np.asarray(im).astype(np.uint16) * 257
    Image.fromarray(a[..., 0].copy()).save(folder / "grey16.png")  # 16-bit grey
    template = io.BytesIO()
    im.save(template, format="PNG")
    (folder / "rgb16.png").write_bytes(png16(template.getvalue(), np.ascontiguousarray(a)))
    im.save(folder / "plain.tiff")
    im.save(folder / "photo.webp", quality=85)
    im.convert("RGBA").save(folder / "alpha.png")
    im.convert("L").save(folder / "grey.jpg", quality=88)
    im.convert("CMYK").save(folder / "cmyk.jpg", quality=88)
    im2 = Image.open(photos[2]).convert("RGB")
    im2.thumbnail((640, 640))
    (folder / "sub").mkdir()
    im2.save(folder / "sub" / "deep.jpg", quality=92)
    im2.save(folder / "second.jpg", quality=92)
    try:
        import pillow_heif  # type: ignore[import-not-found]

        pillow_heif.register_heif_opener()
        im.save(folder / "photo.heic", quality=80)
    except Exception as exc:  # pragma: no cover - depends on the environment
        print(f"no HEIC input: {exc}", file=sys.stderr)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _scrub(value: object) -> object:
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if k not in TIMES}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _tree(folder: Path) -> dict[str, str]:
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not p.name.startswith(".photoenhance"):
            out[str(p.relative_to(folder))] = _sha(p.read_bytes())
    return out


def _cli() -> list[str]:
    return [sys.executable, "-m", "photoenhance"]


def record(work: Path) -> dict[str, object]:
    src = work / "in"
    build(src)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    rec: dict[str, object] = {"inputs": _tree(src)}
    for name, extra in (("same", []), ("jpeg", ["--format", "jpeg"])):
        out = work / f"out-{name}"
        cmd = [
            *_cli(),
            "run",
            str(src),
            "-o",
            str(out),
            "-q",
            "--report",
            str(work / f"{name}.json"),
            *extra,
        ]
        if name == "same":
            cmd += ["--compare", str(work / "cmp"), "--html", str(work / "page.html")]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        rec[f"{name}-rc"] = proc.returncode
        rec[f"{name}-stderr"] = proc.stderr
        rec[f"{name}-outputs"] = _tree(out)
        report = json.loads((work / f"{name}.json").read_text())
        text = json.dumps(_scrub(report)).replace(str(work), "WORK")
        # the bundled model's path names the checkout it was run from: keep only weights/...
        text = re.sub(r'"/[^"]*?/weights/', '"WEIGHTS/', text)
        rec[f"{name}-report"] = json.loads(text)
    rec["compare"] = _tree(work / "cmp")
    # the page's images sit in a folder named after the run's time: drop that part
    images = _tree(work / "page.html_files")
    rec["html-images"] = {k.split("/", 1)[-1]: v for k, v in images.items()}
    photo = (src / "second.jpg").read_bytes()
    proc = subprocess.run(
        [*_cli(), "run", "-", "-o", "-", "-q"], input=photo, env=env, capture_output=True
    )
    rec["pipe-rc"] = proc.returncode
    rec["pipe"] = _sha(proc.stdout)
    rec["pipe-equals-file"] = proc.stdout == (work / "out-same" / "second.jpg").read_bytes()
    return rec


def _diff(a: object, b: object, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        lines = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                lines.append(f"{path}/{k}: only in {'new' if k in b else 'old'}")
            else:
                lines += _diff(a[k], b[k], f"{path}/{k}")
        return lines
    return [] if a == b else [f"{path}: {str(a)[:120]!r} != {str(b)[:120]!r}"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="JSON record to write")
    ap.add_argument("--against", type=Path, help="an earlier record to compare with")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rec = record(Path(tmp))
    args.out.write_text(json.dumps(rec, indent=1, sort_keys=True))
    files = sum(len(v) for k, v in rec.items() if k.endswith("-outputs"))
    print(f"{files} outputs, pipe rc {rec['pipe-rc']}, pipe equals file: {rec['pipe-equals-file']}")
    if args.against is None:
        return 0
    diff = _diff(json.loads(args.against.read_text()), rec)
    for line in diff:
        print(line)
    print("identical" if not diff else f"{len(diff)} differences")
    return 0 if not diff else 1


if __name__ == "__main__":
    raise SystemExit(main())
