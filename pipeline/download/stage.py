"""The download stage's core: obtain a dataset's files, verify them, unpack them to ``data/raw``.

Real datasets come from the mirrors in params, then the registry's URLs, or from copies the
user placed in ``download.archive_dir`` (in its ``spec.archive_subdir``, for MNIST and
Fashion-MNIST, whose files have the same names). A generated dataset (the demo) is recorded into a
local folder first and then obtained from there through exactly the same :func:`fetch` path
as a mirror (a ``file://`` URL). Each archive is unpacked into ``data/raw/<archive name>/``
(a single ``.gz`` file into ``data/raw/<name>/<name>``, both without ``.gz``),
beside ``SOURCE.json`` (:mod:`pipeline.core.sourcerecord`), the record the frames stage reads.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..core.atomic import atomic_path
from ..params import Params
from ..core.sourcerecord import Archive, SourceRecord, write_source
from ..datasets import DatasetSpec, Remote, get
from ..datasets.spec import Fetch, Generated, TonicFetch
from .demo.archive import ARCHIVE, build_archive, expected_samples
from .fetch import fetch
from .tonic import download_tonic
from .unpack import extract

_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip", ".gz")


def stem(name: str) -> str:
    """``airplane.zip`` -> ``airplane``; ``DvsGesture.tar.gz`` -> ``DvsGesture``;
    ``train-images-idx3-ubyte.gz`` -> ``train-images-idx3-ubyte``."""
    for s in _SUFFIXES:
        if name.endswith(s):
            return name[: -len(s)]
    return name


def mirror_urls(mirrors: list[str], name: str) -> list[str]:
    """A mirror is either the file's own URL (ends with its name) or a folder holding it."""
    return [m if m.rstrip("/").endswith("/" + name) or m == name else m.rstrip("/") + "/" + name
            for m in mirrors]


def _demo(params: Params, folder: Path) -> tuple[list[Remote], dict[str, int]]:
    """Record the demo archive into ``folder``; its file as a Remote, and its sample counts."""
    archive = folder / ARCHIVE
    md5 = build_archive(archive, params.demo)
    return ([Remote(archive.name, md5, (archive.resolve().as_uri(),), archive.stat().st_size)],
            expected_samples(params.demo))


#: generators of Generated sources, by name: ``(params, folder) -> (files, samples per split)``
GENERATORS = {"demo": _demo}


def _fetch_unpack(params: Params, raw_dir: Path, spec: DatasetSpec, files, expected, mirrors,
                  archive_dir: Path) -> SourceRecord:
    """Fetch (md5-checked) every file of ``files`` into ``archive_dir``, unpack them all into ``raw_dir``."""
    dl = params.download
    help = f"where to get it: python -m pipeline datasets {spec.name}"     # prints help.yaml's prose
    archives = [
        fetch([*mirror_urls(mirrors, remote.name), *remote.urls], archive_dir / remote.name, remote.md5,
              size=remote.size, retries=dl.retries, timeout=dl.timeout, deadline=dl.deadline,
              max_bytes=dl.max_bytes, min_rate=dl.min_rate, help=help)
        for remote in files
    ]
    source = SourceRecord(spec.name, tuple(Archive(r.name, r.md5) for r in files), expected)
    with atomic_path(raw_dir) as tmp:
        tmp.mkdir()
        for path in archives:
            extract(path, tmp / stem(path.name))
        write_source(tmp, source)
    return source


def _archive_dir(params: Params, spec: DatasetSpec) -> Path:
    archive_dir = Path(params.download.archive_dir) / spec.archive_subdir
    archive_dir.mkdir(parents=True, exist_ok=True)
    return archive_dir


def fetch_dataset(params: Params, raw_dir: Path, spec: DatasetSpec) -> SourceRecord:
    """A :class:`~pipeline.datasets.spec.Fetch` source: the spec's files, from the mirrors in
    params, their URLs, or copies placed in ``download.archive_dir``."""
    return _fetch_unpack(params, raw_dir, spec, list(spec.files), spec.expected, list(params.download.mirrors),
                         _archive_dir(params, spec))


def generate_dataset(params: Params, raw_dir: Path, spec: DatasetSpec) -> SourceRecord:
    """A :class:`~pipeline.datasets.spec.Generated` source: recorded into a scratch folder, then
    obtained from there through the same path as a mirror; nothing is kept."""
    archive_dir = _archive_dir(params, spec)
    scratch = archive_dir / f"{spec.name}-generated"
    files = []
    try:
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()
        files, expected = GENERATORS[spec.source.generator](params, scratch)
        for remote in files:                   # a copy left by an earlier, killed run
            (archive_dir / remote.name).unlink(missing_ok=True)
        return _fetch_unpack(params, raw_dir, spec, files, expected, [], archive_dir)
    finally:                                   # regenerated from params at will: keep nothing
        shutil.rmtree(scratch, ignore_errors=True)
        for remote in files:
            (archive_dir / remote.name).unlink(missing_ok=True)


#: how each kind of source is obtained
SOURCES = {Fetch: fetch_dataset, Generated: generate_dataset, TonicFetch: download_tonic}


def download(params: Params, raw_dir: str | Path = "data/raw", spec: DatasetSpec | None = None) -> SourceRecord:
    """Fetch, verify and unpack ``params.dataset`` into ``raw_dir``; returns the source record."""
    spec = spec or get(params.dataset)
    return SOURCES[type(spec.source)](params, Path(raw_dir), spec)
