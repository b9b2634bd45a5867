"""The house's shape, read from the source: no import cycle, no stage importing a later stage or
the command line, the shared core importing no stage, and no branching on a dataset's family
outside the family modules."""

import ast
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "pipeline"
#: the stage packages in pipeline order; a stage may import an earlier one, never a later one
STAGES = ["download", "frames", "train", "evaluate"]
#: below every stage: what any stage may import
SHARED = {"core", "datasets", "io", "model"}


def module_of(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_of(p): p for p in PACKAGE.rglob("*.py")}


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules ``path`` imports (anywhere in it), resolved to modules that exist."""
    name = module_of(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            subs = [f"{mod}.{a.name}" for a in node.names]
            # ``from package import module``: the module; ``from module import name``: the module
            candidates = [c for c in subs if c in known] or [mod]
        elif isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        else:
            continue
        for c in candidates:
            if c.startswith("pipeline"):
                while c and c not in known:
                    c = c.rpartition(".")[0]
                if c:
                    found.add(c)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {m: {d for d in imports(p, known) if d != m} for m, p in known.items()}


def test_the_import_graph_has_no_cycle():
    g = graph()
    state, cycle = {}, []

    def visit(m, stack):
        state[m] = 1
        for d in sorted(g[m]):
            if state.get(d) == 1:
                cycle.append(stack[stack.index(d):] + [d] if d in stack else [m, d])
                return True
            if state.get(d) is None and visit(d, stack + [d]):
                return True
        state[m] = 2
        return False

    for m in sorted(g):
        if state.get(m) is None and visit(m, [m]):
            break
    assert not cycle, f"import cycle: {' -> '.join(cycle[0])}"


def area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_no_module_imports_a_layer_above_it():
    """core, datasets, io and model import no stage and not the command line; a stage imports
    earlier stages only; nothing imports the command line but itself and ``python -m pipeline``."""
    bad = []
    for m, deps in graph().items():
        here = area(m)
        for d in deps:
            there = area(d)
            if there == here:
                continue
            if there == "cli" and here != "__main__":
                bad.append((m, d))
            elif here in SHARED and there in STAGES + ["cli"]:
                bad.append((m, d))
            elif here in STAGES and there in STAGES and STAGES.index(there) > STAGES.index(here):
                bad.append((m, d))
    assert not bad, "imports against the layers: " + "; ".join(f"{a} -> {b}" for a, b in sorted(bad))


def test_no_family_branches_outside_the_family_modules():
    """No ``layout["kind"]`` and no comparison of a dataset's kind or source (``spec.kind ==``,
    ``kind == "images"``, ``source == "tonic"``, ...) outside pipeline/frames/families/: a new
    family adds a layout type and a family class, no branch elsewhere. (A numpy dtype's
    ``.kind`` or a device's kind is not a family.)"""
    files = subprocess.run(["git", "ls-files", "pipeline", "stages"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    pattern = re.compile(r'layout\[["\']kind["\']\]|\b(spec|layout|ds|dataset)\.(kind|source)\s*[!=]=|'
                         r'\bkind\s*[!=]=\s*["\'](images|events)["\']|\bsource\s*[!=]=\s*["\'](tonic|ours)["\']|'
                         r'\.get\(["\']kind["\']\)\s*[!=]=')
    hits = []
    for f in files:
        if not f.endswith(".py") or f.startswith("pipeline/frames/families/"):
            continue
        for n, line in enumerate((ROOT / f).read_text().splitlines(), 1):
            if pattern.search(line):
                hits.append(f"{f}:{n}: {line.strip()}")
    assert not hits, "\n".join(hits)
