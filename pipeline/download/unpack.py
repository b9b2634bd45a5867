"""Safe unpacking of downloaded archives (.tar, .tar.gz, .zip) and single gzip-compressed files.

Every member is checked before anything is written, and one bad member refuses the whole
archive, naming it:

* only regular files and directories: links (tar symbolic and hard links, zip symlinks),
  device files and FIFOs are refused outright. None of the datasets' archives has any, and
  links are how extraction escapes its directory: CVE-2025-4517 (``filter="data"`` on Python
  before 3.11.13, 3.12.11 and 3.13.4, e.g. 3.11.7) lets a hard link reach outside through a
  symlink chain longer than PATH_MAX, where ``os.path.realpath`` stops resolving;
* no absolute paths, no ``..``;
* sizes, from the members' declared sizes (tar headers: tarfile writes exactly that many
  bytes; zip's ``file_size``: zipfile never returns more), so a compression bomb is refused
  before it is unpacked: at most :data:`MAX_TOTAL` bytes in all, and at most
  :data:`MAX_RATIO` times the archive's own size (for tar, each member also counts its
  512-byte header, so a flood of empty files counts too). Real DVS archives unpack to 1-3
  times their size; an archive may always unpack to :data:`RATIO_FLOOR` bytes, since tiny
  archives of text compress far better.

A single ``.gz`` file (MNIST's idx files) becomes ``dest_dir/<name without .gz>``. Its size
is declared only modulo 2**32 (the gzip trailer), so that declaration is checked against the
caps first, and then the output is counted while it streams, in Python's unbounded integers:
refused as soon as it passes the caps, or as soon as it is more than :data:`MAX_RATIO` times
the compressed bytes read so far (the running ratio: a 4 GB bomb of zeros stops after a few
megabytes, where it wrote 400 MB before). gzip's own CRC-32 and length check find a damaged
or truncated file. A zip member whose declared size is more than :data:`MAX_RATIO` times its
compressed size is refused the same way, before anything is written.

Extraction goes to a temporary sibling directory (:func:`pipeline.core.atomic.atomic_path`) that
is renamed into place only when everything succeeded, and removed otherwise.
"""

from __future__ import annotations

import gzip
import os
import posixpath
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from ..core.atomic import atomic_path
from ..core.errors import DownloadError

MAX_TOTAL = 256 * 2**30  # bytes one archive may unpack to (the largest dataset is ~tens of GiB)
MAX_RATIO = 100  # unpacked bytes per archive byte (real DVS archives: 1-3)
RATIO_FLOOR = 2**20  # unpacked bytes always allowed, whatever the ratio
_TAR_HEADER = 512  # bytes of a tar member header
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20  # bytes decompressed per read of a single .gz file


def extract(archive: str | Path, dest_dir: str | Path) -> Path:
    """Unpack ``archive`` (tar, tar.gz, zip or a single .gz file, chosen by its content) into
    new ``dest_dir``."""
    if zipfile.is_zipfile(archive):
        return extract_zip(archive, dest_dir)
    if is_plain_gzip(archive):
        return extract_gzip(archive, dest_dir)
    return extract_tar(archive, dest_dir)


def is_plain_gzip(archive: str | Path) -> bool:
    """True for a gzip file whose content is not a tar archive (its first 512 bytes are no
    valid tar header); a gzip file that cannot even be read that far counts as a tarball, whose
    extraction then reports it as corrupt."""
    with open(archive, "rb") as f:
        if f.read(2) != _GZIP_MAGIC:
            return False
    try:
        with gzip.open(archive, "rb") as g:
            block = g.read(_TAR_HEADER)
    except (OSError, EOFError, zlib.error):
        return False
    if len(block) < _TAR_HEADER or not block.strip(b"\0"):
        return True
    try:
        tarfile.TarInfo.frombuf(block, tarfile.ENCODING, "surrogateescape")
    except tarfile.HeaderError:
        return True
    return False


@contextmanager
def _staging(archive: Path, dest_dir: Path, corrupt: tuple) -> Iterator[Path]:
    """Yield a new, empty temporary sibling of ``dest_dir``, renamed into place on success and
    removed on any failure (:func:`atomic_path`).

    Exceptions of the ``corrupt`` types become a DownloadError naming the archive.
    """
    if dest_dir.exists() or dest_dir.is_symlink():
        raise DownloadError(f"cannot extract {archive}: {dest_dir} already exists; remove it first")
    try:
        with atomic_path(dest_dir) as tmp:
            # mkdir (not tempfile.mkdtemp, which makes it 0700) so the result gets the usual umask mode.
            tmp.mkdir()
            yield tmp
    except DownloadError:
        raise
    except tarfile.FilterError as e:
        name = e.tarinfo.name if e.tarinfo is not None else "?"
        raise DownloadError(f"unsafe member {name!r} in {archive}: {e}") from e
    except corrupt as e:
        raise DownloadError(f"cannot extract {archive} (corrupt or truncated?): {e}") from e


def _check_name(name: str, archive: Path) -> None:
    if name.startswith(("/", "\\")) or os.path.isabs(name) or posixpath.isabs(name) or \
            (len(name) > 1 and name[1] == ":"):
        raise DownloadError(f"unsafe member {name!r} in {archive}: absolute path")
    if ".." in name.replace("\\", "/").split("/"):
        raise DownloadError(f"unsafe member {name!r} in {archive}: path contains '..'")


class _Budget:
    """Adds up the bytes an archive declares and refuses it once they pass the caps."""

    def __init__(self, archive: Path, streamed: bool = False):
        self.archive = archive
        self.streamed = streamed           # counted while decompressing, not declared
        self.size = archive.stat().st_size
        self.limit = min(MAX_TOTAL, max(RATIO_FLOOR, MAX_RATIO * self.size))
        self.total = 0

    def add(self, nbytes: int, name: str) -> None:
        self.total += nbytes
        if self.total <= self.limit:
            return
        if self.total > MAX_TOTAL:
            why = f"more than the {MAX_TOTAL}-byte limit (MAX_TOTAL, {MAX_TOTAL / 2**30:g} GiB)"
        else:
            why = (f"more than {MAX_RATIO} times the archive's {self.size} bytes "
                   f"(compression ratio over {MAX_RATIO}:1)")
        raise DownloadError(
            f"refusing to extract {self.archive}: "
            + (f"{name!r} decompresses to at least {self.total} bytes" if self.streamed else
               f"its members declare {self.total} bytes (up to {name!r})")
            + f", {why}; a compression bomb or a damaged archive"
        )


def extract_zip(archive: str | Path, dest_dir: str | Path) -> Path:
    """Unpack a .zip into ``dest_dir`` (which must not exist); CRCs are checked while reading."""
    archive, dest_dir = Path(archive), Path(dest_dir)
    with _staging(archive, dest_dir, (zipfile.BadZipFile, zlib.error, EOFError, OSError)) as tmp, \
            zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        budget = _Budget(archive)
        for m in members:
            _check_name(m.filename, archive)
            kind = stat.S_IFMT(m.external_attr >> 16)
            if stat.S_ISLNK(kind):
                raise DownloadError(f"unsafe member {m.filename!r} in {archive}: symbolic link "
                                    "(link or device file members are refused)")
            if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise DownloadError(f"unsafe member {m.filename!r} in {archive}: link or device file")
            budget.add(m.file_size, m.filename)
            if m.file_size > RATIO_FLOOR and m.file_size > MAX_RATIO * max(m.compress_size, 1):
                raise DownloadError(f"refusing to extract {archive}: member {m.filename!r} declares {m.file_size} "
                                    f"bytes from {m.compress_size} compressed (ratio over {MAX_RATIO}:1); a "
                                    "compression bomb or a damaged archive")
        for m in tqdm(members, desc=f"extract {archive.name}", unit="file", leave=False):
            zf.extract(m, tmp)
    return dest_dir


def extract_gzip(archive: str | Path, dest_dir: str | Path) -> Path:
    """Decompress a single-file .gz into ``dest_dir/<its name without .gz>``; ``dest_dir`` must
    not exist. Stops, and removes what it wrote, as soon as the output passes the size caps."""
    archive, dest_dir = Path(archive), Path(dest_dir)
    name = archive.name[:-3] if archive.name.lower().endswith(".gz") and len(archive.name) > 3 else "data"
    budget = _Budget(archive, streamed=True)
    with open(archive, "rb") as f:               # the trailer's ISIZE: the size modulo 2**32
        f.seek(max(0, budget.size - 4))
        budget.add(int.from_bytes(f.read(4), "little"), name)
    budget.total = 0
    with _staging(archive, dest_dir, (EOFError, zlib.error, OSError)) as tmp, \
            open(archive, "rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as src, \
            open(tmp / name, "wb") as out, \
            tqdm(desc=f"extract {archive.name}", unit="B", unit_scale=True, leave=False) as bar:
        while block := src.read(_CHUNK):
            budget.add(len(block), name)       # before writing: a bomb never reaches the disk
            consumed = raw.tell()                # compressed bytes read so far (and read ahead)
            if budget.total > RATIO_FLOOR and budget.total > MAX_RATIO * consumed:
                raise DownloadError(f"refusing to extract {archive}: {name!r} decompresses to {budget.total} "
                                    f"bytes from the first {consumed} compressed (ratio over {MAX_RATIO}:1); "
                                    "a compression bomb or a damaged archive")
            out.write(block)
            bar.update(len(block))
    return dest_dir


def extract_tar(archive: str | Path, dest_dir: str | Path) -> Path:
    """Unpack a .tar / .tar.gz (any compression tarfile knows) into ``dest_dir``, which must not exist.

    Extraction goes into ``<dest_dir>.tmp-<random>`` next to it, which is renamed into place
    when everything succeeded and removed otherwise. Returns ``dest_dir`` as a Path.
    """
    archive, dest_dir = Path(archive), Path(dest_dir)
    with _staging(archive, dest_dir, (tarfile.TarError, EOFError, zlib.error, OSError)) as tmp, \
            tarfile.open(archive, "r:*") as tf:
        # Reading the whole index first checks every member (and finds truncation) before
        # anything is written, and gives the progress bar its total; a .tar.gz is decompressed
        # twice, simplicity wins. A bomb is refused as soon as its headers pass the caps.
        budget = _Budget(archive)
        members = []
        for member in tf:
            _check_tar_member(member, archive)
            budget.add(_TAR_HEADER + member.size, member.name)
            members.append(member)
        bar = tqdm(members, desc=f"extract {archive.name}", unit="file", leave=False)
        # filter="data" is the standard library's own guard, kept as a second line of defence.
        tf.extractall(tmp, members=bar, filter="data")
    return dest_dir


def _check_tar_member(member: tarfile.TarInfo, archive: Path) -> None:
    """Raise DownloadError unless ``member`` is a plain file or directory with a safe name."""

    def unsafe(reason: str) -> DownloadError:
        return DownloadError(f"unsafe member {member.name!r} in {archive}: {reason}")

    _check_name(member.name, archive)
    if member.ischr() or member.isblk() or member.isfifo():
        raise unsafe("device file or FIFO")
    if member.issym() or member.islnk():
        kind = "symbolic link" if member.issym() else "hard link"
        link = member.linkname.replace("\\", "/")
        if posixpath.isabs(link) or os.path.isabs(link):
            raise unsafe(f"{kind} to absolute path {member.linkname!r}")
        # A symlink target is relative to the link's directory, a hardlink's to the archive root.
        base = posixpath.dirname(member.name) if member.issym() else ""
        target = posixpath.normpath(posixpath.join(base, link))
        if target == ".." or target.startswith("../"):
            raise unsafe(f"{kind} target {member.linkname!r} leaves the extraction directory")
        raise unsafe(f"{kind} to {member.linkname!r}: links are refused (no dataset archive has any)")
    if not (member.isreg() or member.isdir()):
        raise unsafe(f"unsupported member type {member.type!r}")
