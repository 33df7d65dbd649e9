"""Import rules: inference, I/O, evaluation and data loading work without torch, the
package graph of ``photoenhance.*`` has no cycle, and nothing imports the CLI."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import photoenhance

PKG = Path(photoenhance.__file__).resolve().parent
NO_TORCH = ("infer", "io", "metrics", "data")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Every ``photoenhance`` module -> the modules it imports (anywhere in the file)."""
    graph: dict[str, set[str]] = {}
    for path in sorted(PKG.rglob("*.py")):
        name = _module_name(path)
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
        graph[name] = found
    return graph


def _package(module: str) -> str | None:
    """``photoenhance.infer.photo`` -> ``infer``; the root package and outsiders -> None."""
    parts = module.split(".")
    return parts[1] if parts[0] == "photoenhance" and len(parts) > 1 else None


def _package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for module, imported in graph.items():
        src = _package(module)
        if src is None:
            continue
        edges.setdefault(src, set())
        for target in imported:
            dst = _package(target)
            if dst is not None and dst != src and (PKG / dst).exists() | (PKG / f"{dst}.py").exists():
                edges[src].add(dst)
    return edges


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the directed graph ``edges``, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_cycle_finder_finds_cycles() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_package_graph_is_acyclic_and_nothing_imports_the_cli() -> None:
    edges = _package_graph(_imports())
    assert {"infer", "io", "model", "quant"} <= set(edges)
    assert _cycle(edges) is None, f"import cycle between packages: {' -> '.join(_cycle(edges) or [])}"
    assert "model" not in edges["io"] and "infer" not in edges["io"], edges["io"]
    users = sorted(s for s, d in edges.items() if "cli" in d and s != "__main__")
    assert users == [], f"modules importing photoenhance.cli: {users}"


def test_inference_and_io_never_import_torch_even_indirectly() -> None:
    graph = _imports()
    for start in [m for m in graph if _package(m) in NO_TORCH]:
        seen, todo = {start}, [start]
        while todo:
            module = todo.pop()
            for target in graph.get(module, ()):
                assert target.split(".")[0] != "torch", f"{start} imports torch (via {module})"
                if target in graph and target not in seen:
                    seen.add(target)
                    todo.append(target)


def test_metrics_data_and_inference_do_not_import_torch() -> None:
    src = str(PKG.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    code = (
        "import sys; import photoenhance.metrics, photoenhance.data, photoenhance.io, "
        "photoenhance.infer.runner, photoenhance.infer.photo, photoenhance.infer.local; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'scipy')); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)
