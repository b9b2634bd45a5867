"""Fetch a data file from a list of mirrors with md5 verification (unpacking: ``unpack.py``).

``fetch`` tries each URL in turn (http, https, file:// or a plain local path), streams into a
temporary sibling of the destination (:func:`pipeline.core.atomic.atomic_path`), verifies the md5
and only then renames the file into place, so ``dest`` either holds the right bytes or does not
exist. HTTP downloads resume an interrupted transfer with a ``Range`` request and retry
transient failures (connection errors, timeouts, stalls, short bodies, 5xx) with exponential
backoff; answers that cannot turn into the file (404, figshare's "202 Accepted" with an empty
body, an HTML login page, an empty body, a size other than the expected one) move straight on
to the next mirror.

Limits, so that no server can hold a download forever or fill the disk:

* connecting waits at most ``min(10 s, timeout)``; waiting for the answer, and for each
  further piece of the body, at most ``timeout`` (reads return whatever bytes have arrived);
* a stall is a mean rate under ``min_rate`` (10 KB/s by default) over a window of
  ``2 x timeout`` seconds (60 s by default): a trickle of a few bytes, or a kilobyte, per
  second never trips a plain read timeout; it counts as a transient failure and the next
  attempt resumes;
* ``deadline`` bounds one URL, retries and backoff included; when it passes, the partial file
  is dropped and the next URL starts afresh. It is checked after every read, so it can be
  overrun by at most ``timeout``;
* where the file's ``size`` is known, a whole-file answer announcing another Content-Length is
  refused at once, and reading stops as soon as more than ``size`` bytes arrived; where it is
  not, ``max_bytes`` (``download.max_bytes``, 8 GiB: three times the largest official archive)
  bounds it the same way.

What a dead mirror costs per URL with the defaults (timeout 30 s, retries 3, backoff 1 s
doubling: 4 attempts and 1 + 2 + 4 = 7 s of backoff):

* a host that drops packets (no connection): 4 x 10 s + 7 s = 47 s per address its name
  resolves to (addresses are tried one after the other);
* a host that accepts the connection but never answers: 4 x 30 s + 7 s = 127 s (about 2 min,
  measured: 127.1 s);
* a host that trickles (under 10 KB/s): 4 x 60 s + 7 s = 247 s, about 4 minutes (a trickle
  of 1.2 KB/s passed the rule of 0.2, under 1 KiB per 30 s, and was bounded by the deadline
  alone: 6 hours).

``deadline`` caps all of it (6 h in params). Before these limits, fetch's own defaults
(5 retries, 60 s) made a silent host cost 6 x 60 s + 31 s = 391 s, about 6.5 minutes per URL,
and a trickle had no bound at all.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import requests
import urllib3
from tqdm import tqdm

from ..core.atomic import atomic_path
from ..core.errors import DownloadError

log = logging.getLogger(__name__)

_CHUNK = 1 << 16  # bytes per network / copy read (at most: a network read returns what has arrived)
_USER_AGENT = "dvs-pipeline-downloader/1.0"
CONNECT_TIMEOUT = 10.0  # seconds to establish a connection (at most ``timeout``)
STALL_BYTES = 1024  # urllib3 1.x reads at most this much at once, so a stall shows
MIN_RATE = 10_000.0  # bytes per second: a mean rate under this over a stall window is a stall
STALL_WINDOW_TIMEOUTS = 2  # the stall window, in ``timeout``s (60 s with the default 30 s)
MAX_BYTES = 8 << 30  # a file of unknown size may not grow past this (download.max_bytes)
#: An error message stays under about this many characters: one line naming the file and what
#: is wrong, whatever the number of URLs or the length of a server's answer; the long parts (every
#: URL and what each answered) are logged above it as they happen, and the docs list the sources.
MESSAGE_LIMIT = 200
#: ``help`` (a short pointer to where the file comes from) up to this long ends a failed
#: download's message, after where to place the file; without one, or longer, :data:`SOURCES`.
HELP_LIMIT = 100
SOURCES = "sources: docs/datasets.md"
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s()<>'\"]+")


def md5sum(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex md5 digest of a file, read in ``chunk``-byte blocks."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# messages
# --------------------------------------------------------------------------------------------


def clip(text: str, limit: int) -> str:
    """``text`` on one line, cut to at most ``limit`` characters (ending in "...") if longer."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:max(0, limit - 3)].rstrip() + "..."


def short_url(url: str, limit: int = 40) -> str:
    """``url`` if it is at most ``limit`` characters, else its host (a file URL: ``file://.../name``):
    which server, without a page of path and token."""
    if len(url) <= limit:
        return url
    parts = urlsplit(url)
    if parts.scheme.lower() == "file" or not parts.netloc:       # a file URL, or a local path
        name = parts.path.rstrip("/").rsplit("/", 1)[-1]
        return clip(("file://.../" if parts.scheme.lower() == "file" else ".../") + name, limit)
    return clip(parts.netloc, limit)


def short_urls(text: str) -> str:
    """``text`` with every URL in it shortened by :func:`short_url`."""
    return _URL.sub(lambda m: short_url(m.group(0)), str(text))


def shown_path(path: str | Path) -> str:
    """``path`` for a message: relative to the working folder when inside it (a DVC stage's
    ``data/downloads/...``), else absolute."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


_POOL = re.compile(r"HTTPS?Connection(?:Pool)?\(host='[^']*', port=\d+\): ")
_CAUSED = re.compile(r"Max retries exceeded with url: \S+ \(Caused by \w+\(['\"]?(.*?)['\"]?\)\)$")


def _network_why(e: Exception) -> str:
    """What a requests/urllib3 error says, without its connection-pool wrapping: "Failed to
    resolve 'host' ([Errno -2] Name or service not known)", "Read timed out. (read timeout=30)"."""
    text = _POOL.sub("", str(e))
    caused = _CAUSED.search(text)
    return caused.group(1) if caused else text


def room(head: str, tail: str, where: str, usual: int) -> int:
    """The characters left for why a download failed in a line ``head + why + tail`` of about
    :data:`MESSAGE_LIMIT`, where ``tail`` holds the folder ``where``: one longer than ``usual``
    lengthens the line rather than hiding why (callers set a floor of their own)."""
    return MESSAGE_LIMIT - len(head) - len(tail) + max(0, len(where) - usual)


def _sources(help: str) -> str:
    """What ends a failed download's line: ``help`` when short enough, else :data:`SOURCES`."""
    return help if help and len(help) <= HELP_LIMIT else SOURCES


def _failed(name: str, failures: list[tuple[str, str]], folder: Path, help: str) -> str:
    """One line of about MESSAGE_LIMIT characters: the file, its URL (or how many), what they
    answered (each distinct answer once, URLs in it shortened, cut to fit: every URL's full
    answer was logged when it failed), where to place the file and where its sources are listed."""
    n = len(failures)
    head = f"could not download {name} from {short_url(failures[0][0]) if n == 1 else f'{n} URLs'} ("
    where = shown_path(folder)
    tail = f"); place it in {where} ({_sources(help)})"
    answers: dict[str, int] = {}
    for _, why in failures:
        why = short_urls(why)
        answers[why] = answers.get(why, 0) + 1
    # what the URLs answered gets the room left beside a folder of up to 20 characters: a longer
    # folder (or file name) lengthens the line rather than hiding why the download failed
    budget = max(80, room(head, tail, where, 20))
    each = max(40, budget // len(answers) - 2)
    text = "; ".join(clip(why if k == 1 else f"{k} URLs: {why}", each) for why, k in answers.items())
    return head + clip(text, budget) + tail


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


@dataclass
class _Limits:
    """What one URL may cost: ``timeout`` per wait, ``size`` bytes, until ``deadline_at``."""

    timeout: float
    size: int | None
    deadline: float | None  # seconds, for messages
    deadline_at: float | None  # time.monotonic() value
    max_bytes: int | None = MAX_BYTES  # where ``size`` is unknown
    min_rate: float = MIN_RATE

    @property
    def cap(self) -> int | None:
        """The most bytes the file may have: its size, else max_bytes."""
        return self.size if self.size is not None else self.max_bytes

    def remaining(self) -> float | None:
        return None if self.deadline_at is None else self.deadline_at - time.monotonic()

    def check(self, nbytes: int) -> None:
        """Raise _Reject when the deadline has passed, saying how far the download got."""
        remaining = self.remaining()
        if remaining is not None and remaining <= 0:
            got = f"{nbytes} of {self.size}" if self.size is not None else f"{nbytes}"
            raise _Reject(
                f"download.deadline of {self.deadline:g} s for one URL passed after {got} bytes"
            )


def fetch(
    urls: list[str],
    dest: str | Path,
    md5: str,
    *,
    retries: int = 3,
    backoff: float = 1.0,
    timeout: float = 30.0,
    size: int | None = None,
    deadline: float | None = 6 * 3600.0,
    max_bytes: int | None = MAX_BYTES,
    min_rate: float = MIN_RATE,
    help: str = "",
) -> Path:
    """Download ``dest`` from the first of ``urls`` that delivers bytes with the given ``md5``.

    ``retries`` is the number of extra attempts per HTTP URL for transient failures; the
    n-th retry waits ``backoff * 2**(n-1)`` seconds. ``timeout`` (seconds) bounds each wait
    for the server (connecting: at most 10 s). ``size`` is the file's size in bytes where known: an
    answer of another size is refused, and reading stops as soon as more arrived.
    ``max_bytes`` bounds a file whose size is not known the same way (None: no bound), and
    ``min_rate`` (bytes/s) is the stall rule's mean rate over ``2 x timeout`` seconds.
    ``deadline`` (seconds, None: none) bounds one URL, retries included. ``help`` (a short pointer
    to where the file comes from) ends the error message, after where to place the file, when
    every URL fails, if it is at most :data:`HELP_LIMIT` characters (else :data:`SOURCES`), so
    the message stays one line of about :data:`MESSAGE_LIMIT` characters
    (each URL's full answer is logged as a warning when it fails). Returns ``dest`` as a Path.
    Raises DownloadError; nothing partial is left behind then.
    """
    dest = Path(dest)
    expected = md5.strip().lower()
    if len(expected) != 32 or any(c not in "0123456789abcdef" for c in expected):
        raise ValueError(f"md5 must be 32 hex digits, got {md5!r}")
    if size is not None and size < 0:
        raise ValueError(f"size must be >= 0 bytes, got {size}")
    if deadline is not None and deadline <= 0:
        raise ValueError(f"deadline must be > 0 seconds, got {deadline}")
    if max_bytes is not None and max_bytes < 1:
        raise ValueError(f"max_bytes must be >= 1, got {max_bytes}")
    if not min_rate >= 0:
        raise ValueError(f"min_rate must be >= 0 bytes/s, got {min_rate}")

    if dest.exists():
        if not dest.is_file():
            raise DownloadError(f"{dest} exists but is not a regular file; remove it and retry")
        actual = md5sum(dest)
        if actual == expected:
            log.info("%s already present (md5 ok)", dest)
            return dest
        # Never delete a user's file behind their back: it may be a newer release or hand-made.
        raise DownloadError(
            f"{shown_path(dest)} exists but its md5 is {actual}, expected {expected}; "
            "remove the file (or fix the expected checksum) and run again"
        )

    if not urls:
        where = f"place it in {shown_path(dest.parent)} or add a mirror to download.mirrors ({_sources(help)})"
        raise DownloadError(f"no URL to download {dest.name} from; {where}")

    dest.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(dest)

    failures: list[tuple[str, str]] = []  # (URL, why it failed)
    stats = _Stats()
    start = time.monotonic()
    session = requests.Session()
    session.headers["User-Agent"] = _USER_AGENT
    # Offsets in Range / Content-Length must refer to the file bytes, not a gzip-encoded stream.
    session.headers["Accept-Encoding"] = "identity"
    try:
        # One temporary for all URLs and attempts, so retries of one URL resume into it; it is
        # renamed over ``dest`` on success and removed on any failure (Ctrl-C included).
        with atomic_path(dest) as part:
            for url in urls:
                limits = _Limits(timeout, size, deadline,
                                 None if deadline is None else time.monotonic() + deadline, max_bytes, min_rate)
                try:
                    _fetch_one(session, url, part, dest.name, retries, backoff, limits, stats)
                    actual = md5sum(part)
                    if actual != expected:
                        raise _Reject(f"md5 mismatch: got {actual}, expected {expected}")
                except _Reject as e:
                    part.unlink(missing_ok=True)
                    failures.append((url, str(e)))
                    log.warning("%s: %s", url, e)
                    continue
                break
            else:
                raise DownloadError(_failed(dest.name, failures, dest.parent, help))
    finally:
        session.close()
    _summary(dest, url, stats.transferred, time.monotonic() - start)
    return dest


def _remove_stale(dest: Path) -> None:
    """Remove partial downloads of ``dest`` left by a killed process (their origin is unknown,
    so start clean rather than resume): ``<name>.tmp-<8 hex>`` and the older ``<name>.part``."""
    pattern = re.compile(re.escape(dest.name) + r"\.(tmp-[0-9a-f]{8}|part)")
    for path in dest.parent.iterdir():
        if pattern.fullmatch(path.name) and path.is_file() and not path.is_symlink():
            log.warning("removing stale partial download %s", path)
            path.unlink(missing_ok=True)


def _fetch_one(
    session: requests.Session,
    url: str,
    part: Path,
    desc: str,
    retries: int,
    backoff: float,
    limits: _Limits,
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
        _copy_local(source, part, desc, limits, stats)
        return
    if scheme not in ("http", "https"):
        raise _Reject(f"unsupported URL scheme {scheme!r}")

    last: _Retry | None = None
    for attempt in range(retries + 1):
        if attempt:
            delay = backoff * 2 ** (attempt - 1)
            remaining = limits.remaining()
            if remaining is not None and remaining <= delay:
                raise _Reject(
                    f"download.deadline of {limits.deadline:g} s for one URL passed during retries; "
                    f"last error: {last}"
                )
            log.warning("%s: %s; retry %d/%d in %.1f s", url, last, attempt, retries, delay)
            time.sleep(delay)
        try:
            _http_attempt(session, url, part, desc, limits, stats)
            return
        except _Retry as e:
            last = e
    raise _Reject(f"{last}; gave up after {retries + 1} attempts")


def _copy_local(source: Path, part: Path, desc: str, limits: _Limits, stats: _Stats) -> None:
    """Copy a local file into ``part`` with a progress bar."""
    try:
        size = source.stat().st_size
        if not source.is_file():
            raise _Reject(f"{source.name} is not a regular file")
        if size == 0:
            raise _Reject(f"{source.name} is empty (0 bytes)")
        if limits.size is not None and size != limits.size:
            raise _Reject(f"{source.name} is {size} bytes, expected {limits.size}")
        copied = 0
        with open(source, "rb") as src, open(part, "wb") as dst, _bar(desc, size, 0) as bar:
            while block := src.read(_CHUNK):
                dst.write(block)
                copied += len(block)
                bar.update(len(block))
                stats.transferred += len(block)
                limits.check(copied)
    except OSError as e:
        raise _Reject(f"cannot copy local file: {e}") from e


def _http_attempt(
    session: requests.Session, url: str, part: Path, desc: str, limits: _Limits, stats: _Stats
) -> None:
    """One GET of ``url`` into ``part``, resuming from its current size with a Range request.

    Returns when the body arrived complete; raises _Retry for transient trouble (the bytes
    received so far stay in ``part`` for the next attempt to resume) and _Reject otherwise.
    """
    size = limits.size
    offset = part.stat().st_size if part.exists() else 0
    if size is not None and offset >= size:
        return  # an earlier attempt got every byte (the md5 will tell)
    limits.check(offset)
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    remaining = limits.remaining()
    read_timeout = limits.timeout if remaining is None else min(limits.timeout, remaining)
    connect_timeout = min(CONNECT_TIMEOUT, read_timeout)
    try:
        resp = session.get(url, headers=headers, stream=True, timeout=(connect_timeout, read_timeout))
    except (requests.ConnectionError, requests.Timeout) as e:
        raise _Retry(f"connection failed: {_network_why(e)}") from e
    except requests.RequestException as e:  # invalid URL, too many redirects, ...
        raise _Reject(f"request failed: {_network_why(e)}") from e

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
                f"HTTP 202 Accepted with {what} instead of the file (not made available yet: "
                "try again later or fetch it by hand)"
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
        if size is not None and length is not None and offset + length != size:
            announced = f"{length} bytes from byte {offset}" if offset else f"{length} bytes"
            raise _Reject(f"Content-Length {announced}, expected {size}")
        cap = limits.cap
        if size is None and cap is not None and length is not None and offset + length > cap:
            raise _Reject(f"Content-Length {offset + length} bytes, more than download.max_bytes = {cap}")
        total = offset + length if length is not None else size

        # At most one byte past the cap is read: enough to know the body is too long.
        room = None if cap is None else cap - offset
        read = _reader(resp)
        received = 0
        window_start, window_bytes = time.monotonic(), 0
        with open(part, mode) as f, _bar(desc, total, offset) as bar:
            while True:
                want = _CHUNK if room is None else min(_CHUNK, room - received + 1)
                try:
                    block = read(want)
                except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as e:
                    # dropped connection, read timeout, ...
                    raise _Retry(f"connection lost after {offset + received} bytes: {_network_why(e)}") from e
                if not block:
                    break
                if room is not None and received + len(block) > room:
                    if size is not None:
                        raise _Reject(f"the server sends more than the expected {size} bytes; stopped reading")
                    raise _Reject(f"more than download.max_bytes = {cap} bytes arrived (the file's size is "
                                  "not known); stopped reading")
                f.write(block)
                received += len(block)
                stats.transferred += len(block)
                bar.update(len(block))
                limits.check(offset + received)
                window_bytes += len(block)
                now = time.monotonic()
                window = STALL_WINDOW_TIMEOUTS * limits.timeout
                if now - window_start >= window:
                    if window_bytes < limits.min_rate * (now - window_start):
                        raise _Retry(
                            f"stalled after {offset + received} bytes: {window_bytes} bytes in "
                            f"{now - window_start:.1f} s, under download.min_rate = {limits.min_rate:g} B/s"
                        )
                    window_start, window_bytes = now, 0

    if received == 0 and offset == 0:
        raise _Reject("empty body (0 bytes)")
    if length is not None and received < length:
        raise _Retry(f"short body: {received} of {length} bytes")
    if size is not None and offset + received < size:
        raise _Retry(f"short body: {offset + received} of {size} bytes")


def _reader(resp: requests.Response) -> Callable[[int], bytes]:
    """``read(n)``: up to ``n`` body bytes, returning as soon as some have arrived, b"" at the end.

    requests' ``iter_content`` waits for a whole chunk, which a trickling server can stretch
    over hours without ever tripping the read timeout; urllib3 2's ``read1`` does not.
    """
    raw = resp.raw
    if hasattr(raw, "read1"):  # urllib3 >= 2
        return lambda n: raw.read1(n, decode_content=True)
    # urllib3 1.x: small reads, so a stall shows after at most 1 KiB.
    return lambda n: raw.read(min(n, STALL_BYTES), decode_content=True)


def _peek(resp: requests.Response, limit: int = 1024) -> bytes:
    """Up to ``limit`` bytes of a response body, tolerating a broken connection."""
    try:
        return _reader(resp)(limit)
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError):
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


def _summary(dest: Path, url: str, nbytes: int, seconds: float) -> None:
    rate = nbytes / 1e6 / seconds if seconds > 0 else float("inf")
    tqdm.write(
        f"{dest.name}: {nbytes / 1e6:.1f} MB in {seconds:.1f} s ({rate:.1f} MB/s) from {url}"
    )
