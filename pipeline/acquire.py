"""The download stage's core: obtain a dataset's archive, verify it, unpack it to ``data/raw``.

The real DvsGesture archive comes from the mirrors in params (or a copy the user placed in
``download.archive_dir``). The demo archive is simulated into a local folder first and then
obtained from there through exactly the same ``fetch`` path as a mirror (a ``file://`` URL).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from . import datasets
from .demo.archive import build_archive, trials
from .demo.gestures import CLASSES as DEMO_CLASSES
from .download import extract_tar, fetch
from .params import Params

SOURCE_FILE = "SOURCE.json"


def acquire(params: Params, raw_dir: str | Path = "data/raw") -> dict:
    """Fetch, verify and unpack ``params.dataset`` into ``raw_dir``; returns the source record."""
    spec = datasets.get(params.dataset)
    dl = params.download
    archive_dir = Path(dl.archive_dir)
    archive_dir.mkdir(parents=True, exist_ok=True)
    raw_dir = Path(raw_dir)
    if spec.name == "demo":
        mirror = archive_dir / "demo-sensor" / spec.archive
        md5 = build_archive(mirror, params.demo)
        urls = [mirror.resolve().as_uri()]
        train, test = trials(params.demo)
        per_rec = params.demo.repeats * len(DEMO_CLASSES)
        expected = {"train": len(train) * per_rec, "test": len(test) * per_rec}
    else:
        md5, urls, expected = spec.md5, [*dl.mirrors, *spec.urls], spec.expected
    archive = archive_dir / spec.archive
    if spec.name == "demo":
        archive.unlink(missing_ok=True)   # a previous demo configuration's archive
    fetch(urls, archive, md5, retries=dl.retries, timeout=dl.timeout,
          help=spec.help.format(archive_path=archive.resolve()))
    if raw_dir.exists():
        shutil.rmtree(raw_dir)
    extract_tar(archive, raw_dir)
    if spec.name == "demo":             # regenerated from params at will: keep no copies
        shutil.rmtree(mirror.parent)
        archive.unlink()
    source = {"dataset": spec.name, "archive": spec.archive, "md5": md5, "expected": expected}
    (raw_dir / SOURCE_FILE).write_text(json.dumps(source, indent=2) + "\n")
    return source


def read_source(raw_dir: str | Path) -> dict:
    return json.loads((Path(raw_dir) / SOURCE_FILE).read_text())
