"""Safe unpacking of downloaded archives (.tar, .tar.gz, .zip).

Every member is checked before anything is written: no absolute paths, no ``..``, no links
leaving the target, no device files. Extraction goes to a temporary sibling directory that
is renamed into place only when everything succeeded.
"""

from __future__ import annotations

import os
import posixpath
import secrets
import shutil
import stat
import tarfile
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from .errors import DownloadError


def extract(archive: str | Path, dest_dir: str | Path) -> Path:
    """Unpack ``archive`` (tar, tar.gz or zip, chosen by its content) into new ``dest_dir``."""
    return (extract_zip if zipfile.is_zipfile(archive) else extract_tar)(archive, dest_dir)


@contextmanager
def _staging(archive: Path, dest_dir: Path, corrupt: tuple):
    """Yield a temporary sibling of ``dest_dir``; rename it into place on success, else remove it.

    Exceptions of the ``corrupt`` types become a DownloadError naming the archive.
    """
    if dest_dir.exists() or dest_dir.is_symlink():
        raise DownloadError(f"cannot extract {archive}: {dest_dir} already exists; remove it first")
    dest_dir.parent.mkdir(parents=True, exist_ok=True)
    # mkdir (not tempfile.mkdtemp, which makes it 0700) so the result gets the usual umask mode.
    tmp = dest_dir.with_name(f"{dest_dir.name}.tmp-{secrets.token_hex(4)}")
    tmp.mkdir()
    try:
        yield tmp
        os.replace(tmp, dest_dir)
    except DownloadError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except tarfile.FilterError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        name = e.tarinfo.name if e.tarinfo is not None else "?"
        raise DownloadError(f"unsafe member {name!r} in {archive}: {e}") from e
    except corrupt as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise DownloadError(f"cannot extract {archive} (corrupt or truncated?): {e}") from e
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _check_name(name: str, archive: Path) -> None:
    if name.startswith(("/", "\\")) or os.path.isabs(name) or posixpath.isabs(name) or \
            (len(name) > 1 and name[1] == ":"):
        raise DownloadError(f"unsafe member {name!r} in {archive}: absolute path")
    if ".." in name.replace("\\", "/").split("/"):
        raise DownloadError(f"unsafe member {name!r} in {archive}: path contains '..'")


def extract_zip(archive: str | Path, dest_dir: str | Path) -> Path:
    """Unpack a .zip into ``dest_dir`` (which must not exist); CRCs are checked while reading."""
    archive, dest_dir = Path(archive), Path(dest_dir)
    with _staging(archive, dest_dir, (zipfile.BadZipFile, zlib.error, EOFError, OSError)) as tmp, \
            zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        for m in members:
            _check_name(m.filename, archive)
            mode = m.external_attr >> 16
            if stat.S_ISLNK(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode):
                raise DownloadError(f"unsafe member {m.filename!r} in {archive}: link or device file")
        for m in tqdm(members, desc=f"extract {archive.name}", unit="file", leave=False):
            zf.extract(m, tmp)
    return dest_dir


def extract_tar(archive: str | Path, dest_dir: str | Path) -> Path:
    """Unpack a .tar / .tar.gz (any compression tarfile knows) into ``dest_dir``, which must not exist.

    Extraction goes into ``<dest_dir>.tmp-<random>`` next to it, which is renamed into place
    when everything succeeded and removed otherwise. Returns ``dest_dir`` as a Path.
    """
    archive, dest_dir = Path(archive), Path(dest_dir)
    with _staging(archive, dest_dir, (tarfile.TarError, EOFError, zlib.error, OSError)) as tmp, \
            tarfile.open(archive, "r:*") as tf:
        # Reading the index first finds truncation before anything is written and gives the
        # progress bar its total (a .tar.gz is decompressed twice; simplicity wins).
        members = tf.getmembers()
        checked = (_checked(m, tmp, archive) for m in members)
        bar = tqdm(checked, total=len(members), desc=f"extract {archive.name}", unit="file", leave=False)
        # filter="data" is the standard library's own guard; _checked runs first for
        # clearer messages, and the filter catches anything it might miss.
        tf.extractall(tmp, members=bar, filter="data")
    return dest_dir


def _checked(member: tarfile.TarInfo, root: Path, archive: Path) -> tarfile.TarInfo:
    """Return ``member`` if it is safe to extract under ``root``, else raise DownloadError."""

    def unsafe(reason: str) -> DownloadError:
        return DownloadError(f"unsafe member {member.name!r} in {archive}: {reason}")

    name = member.name
    _check_name(name, archive)
    if member.ischr() or member.isblk() or member.isfifo():
        raise unsafe("device file or FIFO")
    if member.issym() or member.islnk():
        link = member.linkname.replace("\\", "/")
        if posixpath.isabs(link) or os.path.isabs(link):
            raise unsafe(f"link to absolute path {member.linkname!r}")
        # A symlink target is relative to the link's directory, a hardlink's to the archive root.
        base = posixpath.dirname(name) if member.issym() else ""
        target = posixpath.normpath(posixpath.join(base, link))
        if target == ".." or target.startswith("../"):
            raise unsafe(f"link target {member.linkname!r} leaves the extraction directory")
    # Links extracted earlier could redirect a later, innocent-looking path outside the root;
    # resolving against what is on disk now catches that.
    real_root = os.path.realpath(root)
    real = os.path.realpath(os.path.join(real_root, name))
    if os.path.commonpath([real, real_root]) != real_root:
        raise unsafe("resolves outside the extraction directory through a link")
    return member
