"""Tonic's private names this project relies on, in one place (Tonic has no public API for them).

- ``tonic.download_utils._ARCHIVE_EXTRACTORS`` (a dict: suffix -> extractor): the download
  stage swaps in its own safe unpacking (no links, size caps) while Tonic's class fetches and
  unpacks, because Tonic's extractors would follow an archive's links. No public hook exists.
- A dataset class's ``_check_exists`` (and its ``download``, ``_copy_and_extract_local_data``):
  the frames stage instantiates Tonic's class on ``data/raw`` with the download switched off,
  trusting the download stage's checks, and refusing any attempt to fetch. Tonic's public
  ``download=False`` argument is not offered by every class.

``tests/core/test_tonic_private_api.py`` checks these names on the installed Tonic and fails,
saying which, when a Tonic release changes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: the methods an offline class replaces
OFFLINE_METHODS = ("_check_exists", "download", "_copy_and_extract_local_data")


def archive_extractors() -> dict | None:
    """Tonic's ``{suffix: extractor}`` table, or None when this Tonic has none."""
    from tonic import download_utils

    table = getattr(download_utils, "_ARCHIVE_EXTRACTORS", None)
    return table if isinstance(table, dict) else None


@contextmanager
def extractors_replaced(extract: Callable, suffixes=(".tar", ".zip")) -> Iterator[None]:
    """While the body runs, Tonic unpacks ``suffixes`` with ``extract``. Raises RuntimeError
    (before anything runs) when this Tonic has no such table: its own extractors are not safe."""
    table = archive_extractors()
    if table is None:
        import tonic

        raise RuntimeError(f"Tonic {getattr(tonic, '__version__', '?')} has no download_utils._ARCHIVE_EXTRACTORS "
                           "to hook safe unpacking into, and its own extractors follow archive links; install "
                           "'tonic>=1.6,<2'")
    saved = dict(table)
    for suffix in suffixes:
        table[suffix] = extract
    try:
        yield
    finally:
        table.clear()
        table.update(saved)


def offline(base: type, refuse: Callable, module: str) -> type:
    """A subclass of Tonic's dataset class ``base`` (same name, so Tonic's folder is still
    ``<save_to>/<Class>``) that trusts its folder and calls ``refuse`` instead of fetching."""
    return type(base.__name__, (base,), {
        "__module__": module, "__doc__": base.__doc__, "_check_exists": lambda self: True,
        "download": refuse, "_copy_and_extract_local_data": refuse})
