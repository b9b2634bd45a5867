"""Issue 27 (images and events as family behaviour, not branches), read from the source: outside
pipeline/frames/families/ and pipeline/datasets/ nothing asks whether a family stores images
(``.stores_images``: the frames driver asked six times, the frames stage once) and nothing
dispatches on a source's or a layout's type (``isinstance(spec.source, Generated)``, ...: the
dataset listing did). The family classes and the spec classes say what differs (the family's
own samples, shape, dtype and progress unit; a source's size and counts labels, a layout's
origin and counts label) and the code that uses them has one path."""

import re
from pathlib import Path

from imports import ROOT

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
