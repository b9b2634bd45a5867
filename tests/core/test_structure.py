"""The house's shape, read from the source: no import cycle; the packages of ``pipeline`` in one
explicit order of layers, every import between two of them going down; no branching on a
dataset's family or on a source's type outside the family modules and the registry; one home
for each fact that once lived in several places."""

import re
import subprocess
from pathlib import Path

from imports import ROOT, graph


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


# Issue 27 (names and layers): core/params.py imported the dataset registry while datasets/
# imported core; now params.py sits above the registry and every import goes down this list.
#: The packages of ``pipeline``, lowest first. A module may import its own package and any package
#: of a lower layer; packages that share a layer are independent of one another.
#: ``""`` is ``pipeline/__init__.py`` (the version); ``params`` is ``pipeline/params.py``, the
#: validated ``params.yaml``, which needs the dataset registry (the names ``dataset:`` may take)
#: and is needed by every stage.
LAYERS = [
    [""],
    ["core"],                       # events, errors, atomic writes, the HDF5 store, bounded YAML...
    ["io", "datasets", "model"],    # readers; the dataset registry; the PLIF networks
    ["params"],
    ["download"],                   # the stages, in pipeline order
    ["frames"],
    ["train"],
    ["evaluate"],
    ["cli"],
    ["__main__"],                   # python -m pipeline
]


def package(module: str) -> str:
    """``core`` for ``pipeline.core.events``, ``params`` for ``pipeline.params``, ``""`` for
    ``pipeline`` itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_of() -> dict[str, int]:
    return {p: i for i, layer in enumerate(LAYERS) for p in layer}


def test_every_package_has_a_layer():
    """A new package (or module directly under pipeline/) is placed in LAYERS, not let through."""
    packages = {package(m) for m in graph()}
    listed = set(layer_of())
    assert packages - listed == set(), f"packages with no layer: {sorted(packages - listed)}"
    assert listed - packages == set(), f"layers name packages that do not exist: {sorted(listed - packages)}"
    assert sum(map(len, LAYERS)) == len(listed), "a package is listed twice"


def test_every_import_between_packages_goes_down_the_layers():
    layer = layer_of()
    bad = sorted(f"{m} -> {d} ({package(m) or 'pipeline'} is layer {layer[package(m)]}, "
                 f"{package(d) or 'pipeline'} layer {layer[package(d)]})"
                 for m, deps in graph().items() for d in deps
                 if package(m) != package(d) and layer[package(d)] >= layer[package(m)])
    assert not bad, "imports against the layers:\n" + "\n".join(bad)


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


# Issue 27 (images and events as family behaviour, not branches), read from the source: outside
# pipeline/frames/families/ and pipeline/datasets/ nothing asks whether a family stores images
# (``.stores_images``: the frames driver asked six times, the frames stage once) and nothing
# dispatches on a source's or a layout's type (``isinstance(spec.source, Generated)``, ...: the
# dataset listing did). The family classes and the spec classes say what differs (the family's
# own samples, shape, dtype and progress unit; a source's size and counts labels, a layout's
# origin and counts label) and the code that uses them has one path.

#: the source and layout types of pipeline/datasets/spec.py
SPEC_TYPES = ("Generated", "TonicFetch", "TonicClass", "Fetch", "EventFiles", "ImageFiles", "Trials")
#: where the difference lives: the families and the registry may name their own types
OWN = ("pipeline/frames/families/", "pipeline/datasets/")

STORES_IMAGES = re.compile(r"\.stores_images\b")
TYPE_CHECK = re.compile(r"\b(?:isinstance|issubclass)\s*\(")
SPEC_TYPE = re.compile(r"\b(?:%s)\b" % "|".join(SPEC_TYPES))


def _call_text(text: str, open_paren: int) -> str:
    """The text of the call whose ``(`` is at ``open_paren``, to its matching ``)`` (or the end)."""
    depth = 0
    for k in range(open_paren, len(text)):
        depth += {"(": 1, ")": -1}.get(text[k], 0)
        if depth == 0:
            return text[open_paren:k + 1]
    return text[open_paren:]


def branches(text: str) -> list[tuple[int, str]]:
    """``(line, what)`` for each ``.stores_images`` and each ``isinstance``/``issubclass`` call
    that names a source or layout type in ``text`` (a call may span lines)."""
    def line(pos):
        return text.count("\n", 0, pos) + 1

    hits = [(line(m.start()), "stores_images") for m in STORES_IMAGES.finditer(text)]
    for m in TYPE_CHECK.finditer(text):
        call = _call_text(text, m.end() - 1)
        if SPEC_TYPE.search(call):
            hits.append((line(m.start()), " ".join((m.group(0) + call[1:]).split())))
    return sorted(hits)


def hits_under(root: Path) -> list[str]:
    """Every branch of :func:`branches` in pipeline/ and stages/ under ``root``, outside :data:`OWN`."""
    out = []
    for top in ("pipeline", "stages"):
        for path in sorted((root / top).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if rel.startswith(OWN):
                continue
            out += [f"{rel}:{n}: {what}" for n, what in branches(path.read_text())]
    return out


def test_the_patterns_catch_the_old_branches():
    """The lines this test was written against (pipeline/frames/driver.py, stage.py and
    pipeline/cli/catalog.py before issue 27's section 2) are caught, calls over two lines too;
    a type check of anything else is not."""
    old = ('        if self.family.stores_images:\n'
           '    unit_name = "image" if job.family.stores_images else "sample"\n'
           '    if isinstance(spec.source, Generated):\n'
           '    if isinstance(spec.layout, TonicClass) and spec.layout.stratified:\n'
           '    wrapped = {s.layout.tonic_class for s in DATASETS.values() if isinstance(s.layout, TonicClass)}\n'
           '    if isinstance(spec.source,\n'
           '                  (Fetch, TonicFetch)):\n')
    assert [n for n, _ in branches(old)] == [1, 2, 3, 4, 5, 6]
    fine = ('    if isinstance(target, bytes):\n'
            '    if isinstance(e, (LayoutError, FetchError)):\n'           # FetchError is not Fetch
            '    images = spec.images  # Trials\n')                       # a comment names a type, no call
    assert branches(fine) == []


def test_no_images_or_source_branches_outside_the_families_and_the_registry():
    hits = hits_under(ROOT)
    assert not hits, ("branches on what a family stores or on a source's / layout's type; give the "
                      "family or the spec class a method instead:\n" + "\n".join(hits))
