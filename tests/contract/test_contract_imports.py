"""Import rules of the contract split (issue 19): the contract is torch-, onnxruntime- and
onnx-free; ``infer/types.py`` (pickled to Ray workers) imports no onnxruntime; training's
PTQ baseline imports no inference module; no ``infer/session.py`` shim is left."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import photoenhance

PKG = Path(photoenhance.__file__).resolve().parent


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_contract_needs_no_torch_onnxruntime_or_onnx() -> None:
    loaded = _loaded_after("import photoenhance.contract, photoenhance.contract.layout, photoenhance.contract.context")
    assert not {"torch", "onnxruntime", "onnx"} & loaded


def test_infer_types_imports_no_onnxruntime() -> None:
    loaded = _loaded_after("import photoenhance.infer.types as t; t.RunConfig(provider='cpu')")
    assert "onnxruntime" not in loaded and "torch" not in loaded
    loaded = _loaded_after(
        "import photoenhance.infer.inference_config, photoenhance.infer.model_file, "
        "photoenhance.infer.tiling"
    )
    assert "onnxruntime" not in loaded


def _photoenhance_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return {m for m in found if m.startswith("photoenhance")}


def test_quant_imports_no_inference_module() -> None:
    for path in sorted((PKG / "quant").glob("*.py")):
        bad = {m for m in _photoenhance_imports(path) if m.startswith("photoenhance.infer")}
        assert not bad, f"{path.name} imports {bad}"


def test_contract_imports_only_itself_and_display() -> None:
    for path in sorted((PKG / "contract").glob("*.py")):
        for m in _photoenhance_imports(path):
            assert m.startswith("photoenhance.contract") or m == "photoenhance.display", (path.name, m)


def test_one_home_per_name() -> None:
    """No session shim, the contract's values defined once (model/net.py and
    quant/export.py take them from the contract)."""
    assert not (PKG / "infer" / "session.py").exists()
    assert not (PKG / "infer" / "layout.py").exists() and not (PKG / "infer" / "context.py").exists()
    for path in sorted(PKG.rglob("*.py")):
        if path.parent.name == "contract":
            continue
        text = path.read_text("utf-8")
        for name in ("CONTEXT_SIZE =", "PACKED_CHANNELS =", "MODEL_FORMAT =", "FORMAT = \"", "GPU_DEFAULT_TILE"):
            assert name not in text, f"{path.relative_to(PKG)} defines {name}"
