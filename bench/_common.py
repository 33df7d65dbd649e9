"""Shared helpers for the benchmarks: machine description and BENCHMARKS.md sections."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "BENCHMARKS.md"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
            f.seek(0)
            flags = next((ln for ln in f if ln.startswith("flags")), "")
    except OSError:
        flags = ""
    isa = [x for x in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8") if f" {x}" in flags]
    import onnxruntime as ort

    return (
        f"{cpu}, {os.cpu_count()} logical cores, ISA: {', '.join(isa) or '?'}; "
        f"Python {platform.python_version()}, onnxruntime {ort.__version__}"
    )


def write_section(name: str, text: str, path: Path = BENCHMARKS) -> None:
    """Replace (or append) the section between ``<!-- name:start -->`` and ``<!-- name:end -->``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{text.rstrip()}\n{end}"
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    new = pattern.sub(lambda _m: block, old) if pattern.search(old) else old.rstrip() + "\n\n" + block + "\n"
    path.write_text(new, encoding="utf-8")


def md_table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


PHOTO_HOLDOUT = 0.2


def photo_split(photos: Path) -> tuple[list[Path], list[Path]]:
    """``photos/`` split by a hash of each name: ``(train, held_out)`` — the held-out 20 %
    are never trained on (not as synthetic pairs, not as identity examples) and serve as
    the target-free "does it harm a good photo" set of ``quality.py`` and ``recipe.py``."""
    import hashlib

    from photoenhance.data.synthetic import list_photos

    ranked = sorted(list_photos(photos),
                    key=lambda p: hashlib.sha256(f"recipe\0{p.name}".encode()).hexdigest())
    n = round(len(ranked) * PHOTO_HOLDOUT)
    return sorted(ranked[n:]), sorted(ranked[:n])


def link_train_photos(photos: Path, dst: Path) -> None:
    """A folder of symlinks to the training 80 % of ``photos`` (for ``train --synthetic``)."""
    dst.mkdir(parents=True, exist_ok=True)
    for p in photo_split(photos)[0]:
        link = dst / p.name
        if not link.exists():
            link.symlink_to(p.resolve())


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 4 and sys.argv[1] == "link-train-photos":
        link_train_photos(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        sys.exit("usage: python bench/_common.py link-train-photos PHOTOS_DIR OUT_DIR")
