"""The project's imports read from its source with ``ast`` (nothing is imported): what a stage
script runs (:func:`closure`, for dvc.yaml's deps) and the module graph (:func:`graph`, for
the house's shape)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "pipeline"


def module_name(path: Path) -> str:
    """``pipeline.io.jaer`` for ROOT/pipeline/io/jaer.py; a package's ``__init__`` is the package."""
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def module_file(name: str) -> Path | None:
    """The file of project module ``name`` (``pipeline.io.jaer``), or None if it is not one."""
    if name.split(".")[0] != PROJECT:
        return None
    base = ROOT / name.replace(".", "/")
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _statements(path: Path, package: str | None = None) -> list[tuple[str, list[str]]]:
    """Each import anywhere in ``path`` as ``(module, [module.name for each imported name])``
    (``import a.b``: ``("a.b", [])``); relative imports resolved against ``path``'s package."""
    if package is None:
        package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            out.append((base, [f"{base}.{a.name}" for a in node.names]))
    return out


def imported_modules(path: Path, package: str | None = None) -> set[str]:
    """Every name an import in ``path`` could load (``from a import b`` gives ``a`` and ``a.b``)."""
    return {n for base, subs in _statements(path, package) for n in [base, *subs]}


def closure(script: Path) -> set[Path]:
    """Project files ``script`` runs: its imports, theirs, and every package ``__init__`` on the way."""
    seen, todo = set(), [script]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imported_modules(path):
            parts = name.split(".")
            for i in range(1, len(parts) + 1):          # pipeline, pipeline.io, pipeline.io.jaer
                f = module_file(".".join(parts[:i]))
                if f is not None and f not in seen:
                    todo.append(f)
    return seen


def modules() -> dict[str, Path]:
    """Every module of the package: ``{name: file}``."""
    return {module_name(p): p for p in (ROOT / PROJECT).rglob("*.py")}


def project_imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules ``path`` imports, each resolved to a module that exists:
    ``from package import module`` is the module, ``from module import name`` the module."""
    found = set()
    for base, subs in _statements(path):
        for c in [s for s in subs if s in known] or [base]:
            if c.startswith(PROJECT):
                while c and c not in known:
                    c = c.rpartition(".")[0]
                if c:
                    found.add(c)
    return found


def graph() -> dict[str, set[str]]:
    """``{module: the project modules it imports}`` (itself left out)."""
    known = modules()
    return {m: {d for d in project_imports(p, known) if d != m} for m, p in known.items()}
