"""Issue 27 (names and layers): the packages of ``pipeline`` in one explicit order, read from the
source with ``ast``. Every import between two packages goes down this list, never up it and never
sideways: so the shared core imports no registry, the registry no params, the params no stage."""

from imports import graph

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

