"""The house's shape, read from the source: no import cycle, no stage importing a later stage or
the command line, the shared core importing no stage, and no branching on a dataset's family
outside the family modules."""

import re
import subprocess

from imports import ROOT, graph

#: the stage packages in pipeline order; a stage may import an earlier one, never a later one
STAGES = ["download", "frames", "train", "evaluate"]
#: below every stage: what any stage may import
SHARED = {"core", "datasets", "io", "model"}


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
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "pipeline", "stages"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    files = [f for f in files if (ROOT / f).is_file()]       # not yet committed: moved, new
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


def test_the_frame_kernels_share_one_set_of_error_codes():
    """Issue 27 (one home per fact): every kernel of pipeline/frames reports a bad event with the
    codes of frames/columns.py. Before, filters.py had its own (its 3 was a t range error,
    integration's 3 a polarity error)."""
    from pipeline.frames import columns, filters

    codes = ("OK", "X_RANGE", "Y_RANGE", "P_RANGE", "UNSORTED", "T_VALUE", "T_RANGE")
    values = [getattr(columns, c) for c in codes]
    assert len(set(values)) == len(values)                       # no code means two things
    defining = re.compile(r"^_?(OK|[A-Z]_RANGE|UNSORTED|T_VALUE)\b[^=\n]*=(?!=)", re.M)
    for path in sorted((ROOT / "pipeline" / "frames").rglob("*.py")):
        if path.name != "columns.py":
            assert not defining.search(path.read_text()), f"{path}: defines its own error codes"
    assert (filters.OK, filters.T_RANGE) == (columns.OK, columns.T_RANGE)   # x, y: columns checks them


_DOTTED = re.compile(r"(?<![\w./-])pipeline(?:\.[A-Za-z_]\w*)+")


def _resolves(name: str) -> bool:
    """``pipeline.a.b.C.attr``: the longest prefix that imports, then attributes from there."""
    import importlib

    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def test_every_dotted_pipeline_name_resolves():
    """Issue 27: each ``pipeline.…`` name in the code's docstrings and comments, the stage scripts,
    the benchmarks, dvc.yaml, params.yaml, configs/, README.md and docs/ names a module, class,
    function or attribute that exists (six pointed at modules that had moved); and no docstring
    subscripts a layout (``layout["splits"]``): layouts are dataclasses (``layout.splits``)."""
    files = [*sorted((ROOT / "pipeline").rglob("*.py")), *sorted((ROOT / "stages").glob("*.py")),
             *sorted((ROOT / "benchmarks").glob("*.py")), ROOT / "dvc.yaml", ROOT / "params.yaml",
             *sorted((ROOT / "configs").glob("*.yaml")), ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    bad = sorted({f"{path.relative_to(ROOT)}: {m.group(0).rstrip('.')}"
                  for path in files for m in _DOTTED.finditer(path.read_text())
                  if not _resolves(m.group(0).rstrip("."))})
    assert not bad, bad
    subscripted = [str(p.relative_to(ROOT)) for p in files if 'layout["' in p.read_text()]
    assert not subscripted, subscripted


def test_the_frame_shape_has_one_home():
    """Issue 27: the frame shape was worked out in frames/integration.py, frames/representations.py
    and datasets/spec.py (with T and the sensor in swapped order) and patched in core/params.py
    for the voxel grid; now one function, core/frameparams.frame_shape, that the others call."""
    import inspect

    import pipeline.frames
    import pipeline.frames.representations
    from pipeline.core.frameparams import frame_shape
    from pipeline.datasets.spec import Layout

    assert pipeline.frames.frame_shape is frame_shape
    assert not hasattr(pipeline.frames.representations, "representation_shape")
    assert list(inspect.signature(Layout.frame_shape).parameters) == ["self", "T", "sensor_size", "downsample",
                                                                        "representation"]
    # hand-computed: 7 x 10 at downsample 4 -> 2 x 3; the voxel grid's one channel
    assert frame_shape(5, (7, 10), 4) == (5, 2, 2, 3) and frame_shape(5, (7, 10), 4, "voxel_grid") == (5, 1, 2, 3)


def test_the_image_normalisation_is_built_in_one_place():
    """Issue 27: the ``{"mean", "std"}`` dict was built in frames/families/images.py, train/loop.py
    and cli/summary.py; now datasets/spec.normalisation builds it and they call it."""
    from pipeline.datasets import get
    from pipeline.datasets.spec import normalisation

    built = re.compile(r"""["']mean["']\s*:\s*(list\(|\[\w|tuple\()""")
    places = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "pipeline").rglob("*.py")) if built.search(p.read_text())]
    assert places == ["pipeline/datasets/spec.py"], places
    assert get("mnist").layout.normalisation() == normalisation((0.1307,), (0.3081,)) == {"mean": [0.1307],
                                                                                            "std": [0.3081]}
