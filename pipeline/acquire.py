"""The download stage's core: obtain a dataset's files, verify them, unpack them to ``data/raw``.

Real datasets come from the mirrors in params, then the registry's URLs, or from copies the
user placed in ``download.archive_dir``. The demo archive is simulated into a local folder
first and then obtained from there through exactly the same ``fetch`` path as a mirror
(a ``file://`` URL). Each archive is unpacked into ``data/raw/<archive name>/``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from . import datasets
from .datasets import DatasetSpec, Remote
from .demo.archive import build_archive, trials
from .demo.gestures import CLASSES as DEMO_CLASSES
from .download import fetch
from .params import Params
from .unpack import extract

SOURCE_FILE = "SOURCE.json"
_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")


def stem(name: str) -> str:
    """``airplane.zip`` -> ``airplane``; ``DvsGesture.tar.gz`` -> ``DvsGesture``."""
    for s in _SUFFIXES:
        if name.endswith(s):
            return name[: -len(s)]
    return name


def mirror_urls(mirrors: list[str], name: str) -> list[str]:
    """A mirror is either the file's own URL (ends with its name) or a folder holding it."""
    return [m if m.rstrip("/").endswith("/" + name) or m == name else m.rstrip("/") + "/" + name
            for m in mirrors]


def _demo(params: Params, archive_dir: Path) -> tuple[list[Remote], dict, Path]:
    mirror = archive_dir / "demo-sensor" / "DvsGesture-demo.tar.gz"
    md5 = build_archive(mirror, params.demo)
    train, test = trials(params.demo)
    per_rec = params.demo.repeats * len(DEMO_CLASSES)
    expected = {"train": len(train) * per_rec, "test": len(test) * per_rec}
    return [Remote(mirror.name, md5, (mirror.resolve().as_uri(),))], expected, mirror.parent


def acquire(params: Params, raw_dir: str | Path = "data/raw", spec: DatasetSpec | None = None) -> dict:
    """Fetch, verify and unpack ``params.dataset`` into ``raw_dir``; returns the source record."""
    spec = spec or datasets.get(params.dataset)
    dl = params.download
    archive_dir = Path(dl.archive_dir)
    archive_dir.mkdir(parents=True, exist_ok=True)
    raw_dir = Path(raw_dir)
    scratch = None
    if spec.name == "demo":
        files, expected, scratch = _demo(params, archive_dir)
        (archive_dir / files[0].name).unlink(missing_ok=True)   # a previous demo configuration's
    else:
        files, expected = list(spec.files), spec.expected
    help_text = spec.help.format(archive_dir=archive_dir.resolve())
    mirrors = [] if spec.name == "demo" else list(dl.mirrors)
    archives = []
    for remote in files:
        urls = [*mirror_urls(mirrors, remote.name), *remote.urls]
        archives.append(fetch(urls, archive_dir / remote.name, remote.md5, retries=dl.retries,
                              timeout=dl.timeout, help=help_text))
    if raw_dir.exists():
        shutil.rmtree(raw_dir)
    tmp = raw_dir.with_name(raw_dir.name + ".tmp-unpack")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        for path in archives:
            extract(path, tmp / stem(path.name))
        source = {"dataset": spec.name, "expected": expected,
                  "archives": [{"name": r.name, "md5": r.md5} for r in files]}
        (tmp / SOURCE_FILE).write_text(json.dumps(source, indent=2) + "\n")
        tmp.rename(raw_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if scratch is not None:                      # the demo is regenerated from params at will
        shutil.rmtree(scratch)
        for path in archives:
            path.unlink()
    return source


def read_source(raw_dir: str | Path) -> dict:
    return json.loads((Path(raw_dir) / SOURCE_FILE).read_text())
