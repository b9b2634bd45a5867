"""Write under a temporary name, flush to disk, then rename: a path holds the old content or the
whole new content, never part of it, whatever fails (an exception, a full disk, Ctrl-C).

Every file and folder the pipeline writes goes through :func:`atomic_path`, and every path it
writes is first held against :func:`check_target`: a rename replaces whatever has the name, so
a FIFO, a device node (``/dev/full``, run as root) or a socket there is refused, not replaced,
as is an empty path, a folder where a file goes (or the reverse) and a path under a file.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import OutputPathError
from .filekind import file_kind


def temp_sibling(path: Path) -> Path:
    """A fresh name next to ``path``: ``<name>.tmp-<8 hex digits>`` (git-ignored as ``*.tmp-*``)."""
    return path.with_name(f"{path.name}.tmp-{secrets.token_hex(4)}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:              # some file systems cannot fsync a directory
        if not path.is_dir():
            raise
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    """Flush ``path`` to disk: a file by fsync; a folder (tens of thousands of files, for an
    unpacked dataset) by one ``sync()`` of everything, far cheaper than a fsync per file."""
    if not path.is_dir():
        _fsync(path)
    elif hasattr(os, "sync"):
        os.sync()
    else:                                    # pragma: no cover - Windows
        for root, _, files in os.walk(path):
            for name in files:
                _fsync(Path(root) / name)


def remove(path: Path) -> None:
    """Remove a file or a folder tree, if it exists."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _shown(path: str | os.PathLike) -> str:
    return os.fspath(path) or "''"


def check_target(path: str | os.PathLike, kind: str | None = "file", what: str = "") -> Path:
    """``path`` as a Path, once it is a place :func:`atomic_path` may write ``kind`` at: a
    ``"file"``, a ``"folder"``, or (None) either. Raises :class:`OutputPathError`, one line
    ``<what> <path>: <why>``, when ``path`` is empty; when it exists and is neither a regular
    file nor a folder (a FIFO, a device node, a socket, directly or through a symbolic link:
    renaming over it would replace it); when it is a folder and a file goes there, or the
    reverse; when it names no entry of its own (``/``, ``.``, ``..``) or, for a file, ends
    with a separator; or when the nearest existing folder above it is not a folder. A symbolic
    link to a regular file (a DVC ``cache.type symlink`` output) and a dangling link are
    replaced as files are. ``what`` (``--out``) starts the message."""
    prefix = f"{what} " if what else ""
    if kind not in ("file", "folder", None):
        raise ValueError(f"check_target: kind must be 'file', 'folder' or None, got {kind!r}")
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)

    def refuse(why: str, where: str = text) -> OutputPathError:
        return OutputPathError(f"{prefix}{_shown(where)}: {why}")

    if not text:
        raise refuse("an empty path")
    if "\0" in text:
        raise refuse("a path with a NUL character")
    p = Path(text)
    if p.name in ("", ".", ".."):
        raise refuse("names no file or folder of its own (/, . or ..); give a name")
    if kind == "file" and (text.endswith(os.sep) or (os.altsep and text.endswith(os.altsep))):
        raise refuse("ends with a separator, as a folder does; give a file name")
    try:
        st = os.stat(p)
    except FileNotFoundError:
        st = None                          # nothing there, or a dangling link: the rename replaces it
    except NotADirectoryError:
        st = None                          # something above is a file: said below
    if st is not None:
        found = file_kind(st.st_mode)
        link = f" (a symbolic link to {os.path.realpath(p)})" if p.is_symlink() else ""
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
            raise refuse(f"exists and is {found}{link}, not a regular file or folder: not replaced")
        if kind == "file" and stat.S_ISDIR(st.st_mode):
            raise refuse(f"exists and is a folder{link}; give a file name")
        if kind == "folder" and not stat.S_ISDIR(st.st_mode):
            raise refuse(f"exists and is {found}{link}, not a folder")
        return p
    for parent in p.absolute().parents:
        try:
            st = os.stat(parent)
        except (FileNotFoundError, NotADirectoryError):
            continue                       # made by atomic_path, if what is above it is a folder
        except OSError:
            break                          # unreadable: let the write say why
        if not stat.S_ISDIR(st.st_mode):
            raise refuse(f"{parent} is {file_kind(st.st_mode)}, not a folder")
        break
    return p


@contextmanager
def atomic_path(path: str | Path, kind: str | None = None) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write a file or a folder at (``kind``:
    ``"file"``, ``"folder"`` or None for either; see :func:`check_target`, which refuses
    ``path`` before anything is written, and again before the rename for what was written).

    When the body returns, the temporary is flushed to disk (every file of a folder) and
    renamed over ``path`` (an existing folder at ``path`` is replaced); when the body or the
    flush raises, the temporary is removed and ``path`` is left as it was.
    """
    path = check_target(path, kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(path)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"{tmp}: nothing was written for {path}")
        check_target(path, "folder" if tmp.is_dir() else "file")
        _fsync_tree(tmp)
        if tmp.is_dir() and path.is_dir() and not path.is_symlink():
            old = temp_sibling(path)
            os.replace(path, old)            # a non-empty folder cannot be renamed over
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
        _fsync(path.parent)
    except BaseException:
        remove(tmp)
        raise


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path, "file") as tmp:
        tmp.write_bytes(data)


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path, "file") as tmp:
        tmp.write_text(text)


def write_json(path: str | Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2) + "\n")
