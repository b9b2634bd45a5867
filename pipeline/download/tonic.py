"""The download stage for Tonic's datasets (``dataset: tonic.<Class>``, :mod:`pipeline.datasets`).

Tonic's own class fetches, md5-checks and unpacks its files (its URLs, its folder layout) into
a persistent cache, ``download.archive_dir/tonic/<Class>/``: a rerun (``dvc repro --force``)
finds them there and downloads nothing, and files a user placed there by hand in Tonic's
layout make Tonic skip its download (each spec's ``help`` says what Tonic checks). The class
is instantiated once per split it has (``layout.splits``), or once for a class without a
split. Then ``data/raw/`` is made, through :func:`~pipeline.core.atomic.atomic_path`, to hold:

* ``<Class>/...``: the files Tonic reads (the spec's ``layout.data`` globs), at the same
  paths as in Tonic's folder, hard-linked from the cache (copied where the file system
  cannot link): no second copy on disk, and Tonic's archives stay out of ``data/raw``;
* ``SOURCE.json`` (:mod:`pipeline.core.sourcerecord`): the dataset, Tonic's archive names and md5s as
  archives, the expected counts, and a ``tonic`` record (class, Tonic's version, the URLs it
  fetches from, the split rule).

Where we do more than Tonic:

* Archives are unpacked with :mod:`pipeline.download.unpack`'s checks (no links or device files, no
  paths leaving the folder, size and ratio caps) instead of Tonic's plain ``extractall``:
  Tonic's extractors are swapped for ours while its class runs.
* A placed archive Tonic would not md5-check (POKERDVS, DVSLip) is checked before it is
  unpacked; Tonic 1.7's POKERDVS cannot unpack a placed archive at all (it copies one from its
  own package folder, which its wheel does not ship), so we unpack it. N-TIDIGITS18's file,
  which Tonic never checks, is md5-checked after Tonic has it.
* NCALTECH101: Tonic 1.7 unpacks the downloaded archive but not the ``Caltech101.zip`` inside
  it; we unpack that too.

Any failure of Tonic's (no network, a bad md5, a truncated archive, Tonic exiting for a file
it cannot download) becomes a :class:`~pipeline.core.errors.DownloadError` of one line, about
200 characters at most (:data:`~pipeline.download.fetch.MESSAGE_LIMIT`), naming the dataset, the
file Tonic wanted and its host, what went wrong and the folder to place the file in; the full
URLs and md5s are in docs/tonic.md (:data:`DOCS`), not in the message.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from ..core.atomic import atomic_path, remove, write_json
from ..datasets import DatasetSpec
from ..core.errors import DownloadError, one_line
from .fetch import clip, md5sum, room, short_url, short_urls, shown_path
from ..params import Params
from ..core.sourcerecord import SOURCE_FILE, Archive, SourceRecord
from ..core.tonic_private import extractors_replaced
from .unpack import extract

#: Tonic classes whose code unpacks a placed archive without checking its md5 (or, POKERDVS in
#: Tonic 1.7, cannot unpack a placed archive): we check, and unpack, it first, unless its folder
#: already holds the .npy files Tonic's ``_check_exists`` counts (this many).
_CHECK_PLACED_ARCHIVE = {"POKERDVS": 20, "DVSLip": 100}
#: Tonic classes that never md5-check their (unarchived) file: checked after Tonic has it.
_CHECK_FILE_AFTER = {"NTIDIGITS18"}
#: Where every supported class's file names, md5s and URLs are listed, for messages.
DOCS = "docs/tonic.md"


def tonic_module():
    """``tonic.datasets``, or a DownloadError saying how to install Tonic."""
    try:
        import tonic.datasets
    except ImportError as e:
        raise DownloadError(f"Tonic is not installed ({clip(e, 60)}); the tonic.* datasets need it: "
                            "pip install 'tonic>=1.6,<2' (or reinstall this project)") from None
    return tonic.datasets


def tonic_version() -> str:
    import tonic
    return str(getattr(tonic, "__version__", "unknown"))


def calls(spec: DatasetSpec) -> list[tuple[str, dict]]:
    """``(split, constructor kwargs)`` for each instantiation of the class: one per split it
    has, or one (``"all"``) for a class without a split."""
    layout = spec.layout
    if layout.stratified:
        return [("all", dict(layout.kwargs))]
    return [(split, layout.split_kwargs(split)) for split in ("train", "test")]


def wanted(cls, kwargs: dict) -> tuple[str, str | None, str | None]:
    """``(file name, md5, URL)`` Tonic's class fetches for these constructor kwargs, from its
    class attributes (``train_url``/``test_url``, ``url``, ``base_url`` + a zip name ...)."""
    split = kwargs.get("split") or ("train" if kwargs.get("train", True) else "test")

    def attr(*names):
        for name in names:
            value = getattr(cls, name, None)
            if isinstance(value, str) and value:
                return value
        return None

    zip_name = attr(f"{split}_zip")
    name = attr(f"{split}_filename") or zip_name or attr("filename") or cls.__name__
    md5 = attr(f"{split}_md5", "file_md5")
    url = attr(f"{split}_url", "url")
    if url is None:
        base = attr("base_url")
        url = base + zip_name if base and zip_name else base
    return name, md5, url


def _check_md5(path: Path, md5: str | None, spec: DatasetSpec) -> None:
    if md5 and (actual := md5sum(path)) != md5:
        raise DownloadError(f"{spec.name}: {shown_path(path)} has md5 {actual}, Tonic expects {md5}: "
                            f"damaged or not the official file ({DOCS})")


def _merge(src: Path, dst: Path) -> None:
    """Move the contents of folder ``src`` into folder ``dst`` (folders merged, files replaced)."""
    dst.mkdir(parents=True, exist_ok=True)
    for child in sorted(src.iterdir()):
        target = dst / child.name
        if child.is_dir() and target.is_dir() and not target.is_symlink():
            _merge(child, target)
        else:
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(child, target)


def unpack_into(archive: str | Path, folder: str | Path, compression: str | None = None) -> None:
    """Unpack ``archive`` into the existing ``folder`` with :func:`pipeline.download.unpack.extract`'s
    checks (the signature of Tonic's extractors: ``compression`` is found from the content)."""
    archive, folder = Path(archive), Path(folder)
    staging = folder / f".unpack-{archive.name}"
    remove(staging)                            # left by a killed run
    try:
        extract(archive, staging)
        _merge(staging, folder)
    finally:
        remove(staging)


@contextmanager
def safe_unpacking() -> Iterator[None]:
    """While the body runs, Tonic's archive extractors (tar, zip) are :func:`unpack_into`."""
    try:
        with extractors_replaced(unpack_into):
            yield
    except RuntimeError as e:
        if "_ARCHIVE_EXTRACTORS" in str(e):
            raise DownloadError(str(e)) from None
        raise


def _folder_of(cls, kwargs: dict) -> str:
    """Tonic's ``folder_name`` for these kwargs, without instantiating (for messages and the
    placed-archive check)."""
    train = kwargs.get("train", True)
    if cls.__name__ == "POKERDVS":
        return "pips_train" if train else "pips_test"
    if cls.__name__ == "DVSLip":
        return os.path.join("DVS-Lip", "train" if train else "test")
    return ""


def _unpack_placed(spec: DatasetSpec, cls, location: Path, kwargs: dict) -> None:
    """POKERDVS, DVSLip: md5-check a placed archive whose files are not unpacked yet; unpack
    POKERDVS's ourselves (DVSLip's Tonic unpacks, and deletes)."""
    if spec.layout.tonic_class not in _CHECK_PLACED_ARCHIVE:
        return
    name, md5, _ = wanted(cls, kwargs)
    archive = location / name
    folder = location / _folder_of(cls, kwargs)
    unpacked = folder.is_dir() and len(list(folder.rglob("*.npy"))) >= _CHECK_PLACED_ARCHIVE[spec.layout.tonic_class]
    if not archive.is_file() or unpacked:
        return
    _check_md5(archive, md5, spec)
    if spec.layout.tonic_class == "POKERDVS":
        unpack_into(archive, location)


def _after(spec: DatasetSpec, cls, location: Path, kwargs: dict) -> None:
    """What Tonic leaves undone once its class has run (see the module's docstring)."""
    if spec.layout.tonic_class == "NCALTECH101":
        folder = location / getattr(cls, "folder_name", "Caltech101")
        if not (folder.is_dir() and any(folder.rglob("*.bin"))):
            inner = sorted(location.rglob(getattr(cls, "data_filename", "Caltech101.zip")))
            if inner:
                unpack_into(inner[0], location)
    if spec.layout.tonic_class in _CHECK_FILE_AFTER:
        name, md5, _ = wanted(cls, kwargs)
        if (location / name).is_file():
            _check_md5(location / name, md5, spec)


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:                            # another file system, or no hard links there
        shutil.copy2(src, dst)


def data_files(location: Path, patterns: list[str]) -> list[Path]:
    """The files Tonic reads, relative to its folder, sorted (``**`` matches any depth)."""
    found = set()
    for pattern in patterns:
        found.update(p.relative_to(location) for p in location.glob(pattern) if p.is_file())
    return sorted(found, key=lambda p: p.as_posix())


def _failed(spec: DatasetSpec, version: str, name: str, url: str | None, location: Path,
            e: BaseException) -> str:
    """One line of about MESSAGE_LIMIT characters for Tonic's failure ``e`` to get file ``name``:
    our own DownloadError (an unsafe archive, a bad md5) as it is; anything of Tonic's with the
    file, its host, why (URLs shortened, cut to fit), the folder to place it in and DOCS."""
    if isinstance(e, DownloadError):
        why = one_line(e)
        return why if why.startswith(f"{spec.name}: ") else f"{spec.name}: {why}"
    if isinstance(e, SystemExit):             # Tonic printed why (DVSLip: a file on Google Drive)
        why = "SystemExit: see Tonic's message above"
    else:
        detail = e.reason if isinstance(e, URLError) and not isinstance(e, HTTPError) else e
        why = f"{type(e).__name__}: {short_urls(one_line(detail))}" if str(detail) else type(e).__name__
    if not url:
        why = f"Tonic {version} has no URL for it; {why}"
    source = f" from {urlsplit(url).netloc or short_url(url)}" if url else ""   # the host: the file is named
    head = f"{spec.name}: Tonic could not get {name}{source} ("
    where = shown_path(location)
    tail = f"); place it in {where} (URLs: {DOCS})"
    # why gets the room left beside a folder as long as data/downloads/tonic/NCALTECH101: a longer
    # folder lengthens the line rather than hiding why
    return head + clip(why, max(40, room(head, tail, where, 32))) + tail


def download_tonic(params: Params, raw_dir: str | Path, spec: DatasetSpec) -> SourceRecord:
    """Have Tonic's class fetch ``spec``'s dataset into the cache, then link it into ``raw_dir``."""
    td = tonic_module()
    version = tonic_version()
    cls = getattr(td, spec.layout.tonic_class, None)
    if not isinstance(cls, type):
        raise DownloadError(f"{spec.name}: the installed Tonic {version} has no dataset class "
                            f"{spec.layout.tonic_class!r}; install a Tonic that has it: pip install 'tonic>=1.6,<2'")
    cache = Path(params.download.archive_dir) / spec.archive_subdir
    location = cache / spec.layout.tonic_class
    cache.mkdir(parents=True, exist_ok=True)
    files = []
    for _, kwargs in calls(spec):
        name, md5, url = wanted(cls, kwargs)
        files.append((name, md5 or "", url))
        try:
            _unpack_placed(spec, cls, location, kwargs)
            with safe_unpacking():
                cls(save_to=str(cache), **kwargs)
            _after(spec, cls, location, kwargs)
        except (Exception, SystemExit) as e:   # DVSLip calls exit() for a file it cannot fetch
            raise DownloadError(_failed(spec, version, name, url, location, e)) from None
    rel = data_files(location, list(spec.layout.data or ["**/*"]))
    if not rel:
        raise DownloadError(f"{spec.name}: Tonic's {spec.layout.tonic_class} ran but {shown_path(location)} holds "
                            f"no files matching {clip(list(spec.layout.data), 60)}; see {DOCS}")
    archives, seen = [], set()
    for name, md5, _ in files:
        if name not in seen:
            seen.add(name)
            archives.append(Archive(name, md5))
    source = SourceRecord(spec.name, tuple(archives), spec.expected)
    record = dict(asdict(source), tonic={
        "class": spec.layout.tonic_class, "version": version, "folder": spec.layout.tonic_class,
        "urls": sorted({url for _, _, url in files if url}),
        "split": spec.layout.split, "total": spec.layout.total, "files": len(rel)})
    with atomic_path(raw_dir) as tmp:
        tmp.mkdir()
        for path in rel:
            _link(location / path, tmp / spec.layout.tonic_class / path)
        write_json(tmp / SOURCE_FILE, record)
    return source
