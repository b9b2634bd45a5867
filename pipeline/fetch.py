"""Fetch a data file from a list of mirrors with md5 verification (unpacking: ``unpack.py``).

``fetch`` tries each URL in turn (http, https, file:// or a plain local path), streams into
``<dest>.part`` next to the destination, verifies the md5 and only then renames the file into
place, so ``dest`` either holds the right bytes or does not exist. HTTP downloads resume an
interrupted transfer with a ``Range`` request and retry transient failures (connection errors,
timeouts, short bodies, 5xx) with exponential backoff; answers that cannot turn into the file
(404, figshare's "202 Accepted" with an empty body, an HTML login page, an empty body) move
straight on to the next mirror.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import requests
from tqdm import tqdm

from .errors import DownloadError

log = logging.getLogger(__name__)

_CHUNK = 1 << 16  # bytes per network / copy read
_USER_AGENT = "dvs-pipeline-downloader/1.0"


def md5sum(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex md5 digest of a file, read in ``chunk``-byte blocks."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# fetch
# --------------------------------------------------------------------------------------------


class _Retry(Exception):
    """A transient failure: try the same URL again after a backoff."""


class _Reject(Exception):
    """This URL cannot deliver the file: move on to the next one."""


@dataclass
class _Stats:
    transferred: int = 0  # bytes received over all attempts (resumed bytes counted once)


def fetch(
    urls: list[str],
    dest: str | Path,
    md5: str,
    *,
    retries: int = 5,
    backoff: float = 1.0,
    timeout: float = 60.0,
    size: int | None = None,
    deadline: float | None = None,
    help: str = "",
) -> Path:
    """Download ``dest`` from the first of ``urls`` that delivers bytes with the given ``md5``.

    ``retries`` is the number of extra attempts per HTTP URL for transient failures; the
    n-th retry waits ``backoff * 2**(n-1)`` seconds. ``timeout`` is requests' connect/read
    timeout. ``help`` (where else to get the file) ends the error message when every URL fails.
    Returns ``dest`` as a Path. Raises DownloadError; nothing partial is left behind then.
    """
    dest = Path(dest)
    expected = md5.strip().lower()
    if len(expected) != 32 or any(c not in "0123456789abcdef" for c in expected):
        raise ValueError(f"md5 must be 32 hex digits, got {md5!r}")

    if dest.exists():
        if not dest.is_file():
            raise DownloadError(f"{dest} exists but is not a regular file; remove it and retry")
        actual = md5sum(dest)
        if actual == expected:
            log.info("%s already present (md5 ok)", dest)
            return dest
        # Never delete a user's file behind their back: it may be a newer release or hand-made.
        raise DownloadError(
            f"{dest} exists but its md5 is {actual}, expected {expected}; "
            "remove the file (or fix the expected checksum) and run again"
        )

    if not urls:
        raise DownloadError(f"no URL to download {dest.name} from. {help}".strip())

    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    if part.exists():
        # Left by a killed process; its origin is unknown, so start clean rather than resume.
        log.warning("removing stale partial download %s", part)
        part.unlink()

    failures: list[str] = []
    stats = _Stats()
    start = time.monotonic()
    session = requests.Session()
    session.headers["User-Agent"] = _USER_AGENT
    # Offsets in Range / Content-Length must refer to the file bytes, not a gzip-encoded stream.
    session.headers["Accept-Encoding"] = "identity"
    try:
        for url in urls:
            try:
                _fetch_one(session, url, part, dest.name, retries, backoff, timeout, stats)
                actual = md5sum(part)
                if actual != expected:
                    raise _Reject(f"md5 mismatch: got {actual}, expected {expected}")
            except _Reject as e:
                part.unlink(missing_ok=True)
                failures.append(f"{url}: {e}")
                log.warning("%s: %s", url, e)
                continue
            _fsync(part)
            os.replace(part, dest)  # atomic on one filesystem: dest is never half-written
            _summary(dest, url, stats.transferred, time.monotonic() - start)
            return dest
    except BaseException:
        # Ctrl-C or an unexpected bug: still leave nothing partial behind.
        part.unlink(missing_ok=True)
        raise
    finally:
        session.close()

    listing = "\n".join(f"  - {f}" for f in failures)
    message = f"could not download {dest.name} (md5 {expected}) from any URL:\n{listing}"
    if help:
        message += f"\n{help}"
    raise DownloadError(message)


def _fetch_one(
    session: requests.Session,
    url: str,
    part: Path,
    desc: str,
    retries: int,
    backoff: float,
    timeout: float,
    stats: _Stats,
) -> None:
    """Fill ``part`` from one URL, or raise _Reject saying why this URL failed."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("", "file") or (len(scheme) == 1 and os.name == "nt"):  # 'C:\\..' is a path
        if scheme == "file":
            if parts.netloc not in ("", "localhost"):
                raise _Reject(f"file URL with a remote host {parts.netloc!r} is not supported")
            source = Path(url2pathname(parts.path))
        else:
            source = Path(url)
        _copy_local(source, part, desc, stats)
        return
    if scheme not in ("http", "https"):
        raise _Reject(f"unsupported URL scheme {scheme!r}")

    last: _Retry | None = None
    for attempt in range(retries + 1):
        if attempt:
            delay = backoff * 2 ** (attempt - 1)
            log.warning("%s: %s; retry %d/%d in %.1f s", url, last, attempt, retries, delay)
            time.sleep(delay)
        try:
            _http_attempt(session, url, part, desc, timeout, stats)
            return
        except _Retry as e:
            last = e
    raise _Reject(f"gave up after {retries + 1} attempts; last error: {last}")


def _copy_local(source: Path, part: Path, desc: str, stats: _Stats) -> None:
    """Copy a local file into ``part`` with a progress bar."""
    try:
        size = source.stat().st_size
        if not source.is_file():
            raise _Reject(f"{source} is not a regular file")
        if size == 0:
            raise _Reject(f"{source} is empty (0 bytes)")
        with open(source, "rb") as src, open(part, "wb") as dst, _bar(desc, size, 0) as bar:
            while block := src.read(_CHUNK):
                dst.write(block)
                bar.update(len(block))
                stats.transferred += len(block)
    except OSError as e:
        raise _Reject(f"cannot copy local file: {e}") from e


def _http_attempt(
    session: requests.Session, url: str, part: Path, desc: str, timeout: float, stats: _Stats
) -> None:
    """One GET of ``url`` into ``part``, resuming from its current size with a Range request.

    Returns when the body arrived complete; raises _Retry for transient trouble (the bytes
    received so far stay in ``part`` for the next attempt to resume) and _Reject otherwise.
    """
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        resp = session.get(url, headers=headers, stream=True, timeout=timeout)
    except (requests.ConnectionError, requests.Timeout) as e:
        raise _Retry(f"connection failed: {e}") from e
    except requests.RequestException as e:  # invalid URL, too many redirects, ...
        raise _Reject(f"request failed: {e}") from e

    with resp:
        status = resp.status_code
        if status >= 500:
            raise _Retry(f"HTTP {status} {resp.reason}")
        if status == 416 and offset:
            # The server will not serve from our offset (the file may have changed): start over.
            part.unlink()
            raise _Retry(f"HTTP 416 for resume at byte {offset}; restarting from zero")
        if status == 202:
            # figshare and similar answer "202 Accepted" while they prepare a file, with no body.
            body = _peek(resp)
            what = "an empty body" if not body else f"a {len(body)}+ byte body"
            raise _Reject(
                f"HTTP 202 Accepted with {what} instead of the file "
                "(the host has not made the download available; try again later or fetch it by hand)"
            )
        if status not in (200, 206):
            raise _Reject(f"HTTP {status} {resp.reason}")
        ctype = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype in ("text/html", "application/xhtml+xml"):
            raise _Reject(
                f"got an HTML page (Content-Type {ctype}) instead of the file; "
                "probably a login, cookie or error page"
            )

        if status == 206:
            content_range = resp.headers.get("Content-Range", "")
            if _range_start(content_range) != offset:
                part.unlink(missing_ok=True)
                raise _Retry(
                    f"asked for bytes from {offset} but got Content-Range {content_range!r}; "
                    "restarting from zero"
                )
            mode = "ab"
        else:
            if offset:
                log.warning("%s ignored the Range request; restarting from zero", url)
                offset = 0
            mode = "wb"  # truncates any partial data

        length = _content_length(resp)
        if length == 0 and offset == 0:
            raise _Reject("empty body (Content-Length: 0)")
        total = offset + length if length is not None else None

        received = 0
        with open(part, mode) as f, _bar(desc, total, offset) as bar:
            try:
                for block in resp.iter_content(chunk_size=_CHUNK):
                    f.write(block)
                    received += len(block)
                    stats.transferred += len(block)
                    bar.update(len(block))
            except requests.RequestException as e:  # dropped connection, read timeout, ...
                raise _Retry(f"connection lost after {offset + received} bytes: {e}") from e

    if received == 0 and offset == 0:
        raise _Reject("empty body (0 bytes)")
    if length is not None and received < length:
        raise _Retry(f"short body: {received} of {length} bytes")


def _peek(resp: requests.Response, limit: int = 1024) -> bytes:
    """Up to ``limit`` bytes of a response body, tolerating a broken connection."""
    try:
        return next(resp.iter_content(chunk_size=limit), b"")
    except requests.RequestException:
        return b""


def _content_length(resp: requests.Response) -> int | None:
    try:
        value = int(resp.headers["Content-Length"])
    except (KeyError, ValueError):
        return None
    return value if value >= 0 else None


def _range_start(content_range: str) -> int | None:
    """First byte of a ``Content-Range: bytes <start>-<end>/<total>`` header, else None."""
    unit, _, spec = content_range.strip().partition(" ")
    if unit.lower() != "bytes":
        return None
    start = spec.split("-", 1)[0].strip()
    return int(start) if start.isdigit() else None


def _bar(desc: str, total: int | None, initial: int) -> tqdm:
    return tqdm(
        desc=desc, total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024,
        leave=False,
    )


def _fsync(path: Path) -> None:
    """Flush file data to disk before the rename, so a crash cannot leave a renamed empty file."""
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _summary(dest: Path, url: str, nbytes: int, seconds: float) -> None:
    rate = nbytes / 1e6 / seconds if seconds > 0 else float("inf")
    tqdm.write(
        f"{dest.name}: {nbytes / 1e6:.1f} MB in {seconds:.1f} s ({rate:.1f} MB/s) from {url}"
    )
