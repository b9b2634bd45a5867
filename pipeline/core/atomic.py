"""Write under a temporary name, flush to disk, then rename: a path holds the old content or the
whole new content, never part of it, whatever fails (an exception, a full disk, Ctrl-C).

Every file and folder the pipeline writes goes through :func:`atomic_path`.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write a file or a folder at.

    When the body returns, the temporary is flushed to disk (every file of a folder) and
    renamed over ``path`` (an existing folder at ``path`` is replaced); when the body or the
    flush raises, the temporary is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(path)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"{tmp}: nothing was written for {path}")
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
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2) + "\n")
