"""Tests for pipeline.download.stage against a local HTTP server whose behaviour each test scripts."""

from __future__ import annotations

import hashlib
import io
import os
import re
import socket
import tarfile
import threading
import time
from pathlib import Path

import pytest
import requests

from pipeline.download.fetch import DownloadError, fetch, md5sum
from pipeline.download.unpack import extract_tar

from httpserver import send, silent_listener, stream

PAYLOAD = os.urandom(300_000)  # incompressible, several network chunks long
PAYLOAD_MD5 = hashlib.md5(PAYLOAD).hexdigest()


def serve_bytes(data: bytes, ranges: bool = True):
    """Serve ``data``, honouring ``Range: bytes=N-`` with 206 when ``ranges``."""

    def behaviour(h, n):
        rng = h.headers.get("Range")
        if ranges and rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[len("bytes="):-1])
            send(h, 206, data[start:],
                 extra={"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"})
        else:
            send(h, 200, data)

    return behaviour


def drop_first_halfway(data: bytes, ranges: bool = True):
    """First request: announce the full length, send half, close the socket. Then serve normally."""
    normal = serve_bytes(data, ranges)

    def behaviour(h, n):
        if n > 0:
            return normal(h, n)
        h.send_response(200)
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data[: len(data) // 2])
        h.wfile.flush()
        h.close_connection = True
        h.connection.shutdown(socket.SHUT_RDWR)

    return behaviour


def status(code: int, body: bytes = b"", ctype="application/octet-stream"):
    return lambda h, n: send(h, code, body, ctype)


def first_then(first, then):
    return lambda h, n: (first if n == 0 else then)(h, n)


def run_fetch(urls, dest, md5=PAYLOAD_MD5, **kw):
    kw.setdefault("backoff", 0)
    kw.setdefault("retries", 2)
    kw.setdefault("timeout", 5)
    return fetch(urls, dest, md5, **kw)


@pytest.fixture
def out(tmp_path) -> Path:
    d = tmp_path / "dl"
    d.mkdir()
    return d


# --------------------------------------------------------------------------------------------
# fetch over HTTP
# --------------------------------------------------------------------------------------------


def test_md5sum_matches_hashlib(tmp_path):
    f = tmp_path / "x.bin"
    f.write_bytes(PAYLOAD)
    assert md5sum(f, chunk=4096) == PAYLOAD_MD5


def test_plain_download(server, out, capsys):
    server.routes["/f.bin"] = serve_bytes(PAYLOAD)
    dest = run_fetch([server.url("/f.bin")], out / "f.bin")
    assert dest == out / "f.bin"
    assert hashlib.md5(dest.read_bytes()).hexdigest() == PAYLOAD_MD5
    assert sorted(os.listdir(out)) == ["f.bin"]  # no .part left
    assert "MB/s" in capsys.readouterr().out


def test_dropped_connection_resumes_with_range(server, out):
    server.routes["/f.bin"] = drop_first_halfway(PAYLOAD)
    dest = run_fetch([server.url("/f.bin")], out / "f.bin")
    assert hashlib.md5(dest.read_bytes()).hexdigest() == PAYLOAD_MD5
    headers = server.headers_for("/f.bin")
    assert len(headers) == 2
    assert "Range" not in headers[0]
    # The resume offset is what reached the disk: up to half, less the read chunk that the
    # broken connection interrupted.
    rng = headers[1]["Range"]
    assert rng.startswith("bytes=") and rng.endswith("-")
    assert 0 < int(rng[len("bytes="):-1]) <= len(PAYLOAD) // 2
    assert sorted(os.listdir(out)) == ["f.bin"]


def test_range_ignored_restarts_from_zero(server, out):
    server.routes["/f.bin"] = drop_first_halfway(PAYLOAD, ranges=False)
    dest = run_fetch([server.url("/f.bin")], out / "f.bin")
    assert dest.read_bytes() == PAYLOAD  # not half + full appended
    assert "Range" in server.headers_for("/f.bin")[1]


def test_5xx_is_retried(server, out):
    server.routes["/f.bin"] = first_then(status(503, b"busy"), serve_bytes(PAYLOAD))
    run_fetch([server.url("/f.bin")], out / "f.bin")
    assert len(server.headers_for("/f.bin")) == 2


def test_retries_are_bounded(server, out):
    server.routes["/f.bin"] = status(500, b"boom")
    with pytest.raises(DownloadError, match="3 attempts") as e:
        run_fetch([server.url("/f.bin")], out / "f.bin", retries=2)
    assert "HTTP 500" in str(e.value)
    assert len(server.headers_for("/f.bin")) == 3
    assert os.listdir(out) == []


def test_read_timeout_is_retried(server, out):
    def slow_first(h, n):
        if n == 0:
            time.sleep(0.6)
        serve_bytes(PAYLOAD)(h, n)

    server.routes["/f.bin"] = slow_first
    run_fetch([server.url("/f.bin")], out / "f.bin", timeout=0.2)
    assert len(server.headers_for("/f.bin")) == 2


def test_wrong_bytes_fail_md5_and_leave_nothing(server, out):
    server.routes["/f.bin"] = serve_bytes(PAYLOAD[::-1])
    with pytest.raises(DownloadError, match="md5 mismatch") as e:
        run_fetch([server.url("/f.bin")], out / "f.bin")
    assert server.url("/f.bin") in str(e.value)
    assert os.listdir(out) == []


def test_202_empty_body_is_an_error(server, out):
    server.routes["/f.bin"] = status(202)
    with pytest.raises(DownloadError, match="HTTP 202") as e:
        run_fetch([server.url("/f.bin")], out / "f.bin")
    assert "empty body" in str(e.value)
    assert len(server.headers_for("/f.bin")) == 1  # not retried
    assert os.listdir(out) == []


def test_html_page_is_rejected(server, out):
    server.routes["/f.bin"] = status(200, b"<html>please log in</html>", "text/html; charset=utf-8")
    with pytest.raises(DownloadError, match="HTML") as e:
        run_fetch([server.url("/f.bin")], out / "f.bin")
    assert server.url("/f.bin") in str(e.value)
    assert len(server.headers_for("/f.bin")) == 1
    assert os.listdir(out) == []


def test_empty_body_is_rejected(server, out):
    server.routes["/f.bin"] = status(200, b"")
    with pytest.raises(DownloadError, match="empty body"):
        run_fetch([server.url("/f.bin")], out / "f.bin")
    assert len(server.headers_for("/f.bin")) == 1
    assert os.listdir(out) == []


def test_404_from_every_url_is_said_once_with_help_and_each_url_is_logged(server, out, caplog):
    urls = [server.url("/a.bin"), server.url("/b.bin")]
    with caplog.at_level("WARNING", logger="pipeline.download.fetch"):
        with pytest.raises(DownloadError) as e:
            run_fetch(urls, out / "f.bin", help="get it from https://example.org/dataset by hand")
    msg = str(e.value)
    assert msg == f"could not download f.bin from 2 URLs (2 URLs: HTTP 404 Not Found); place it in {out} " \
                  "(get it from https://example.org/dataset by hand)"
    # each URL's own answer, in full, as it failed (before the error line)
    assert [r.getMessage() for r in caplog.records] == [f"{u}: HTTP 404 Not Found" for u in urls]
    assert len(server.requests) == 2  # a 404 is not retried
    assert os.listdir(out) == []


def test_second_mirror_succeeds(server, out):
    server.routes["/bad.bin"] = status(503)
    server.routes["/good.bin"] = serve_bytes(PAYLOAD)
    dest = run_fetch([server.url("/bad.bin"), server.url("/good.bin")], out / "f.bin")
    assert hashlib.md5(dest.read_bytes()).hexdigest() == PAYLOAD_MD5
    assert len(server.headers_for("/bad.bin")) == 3  # retried, then moved on


def test_existing_correct_dest_is_not_downloaded(server, out):
    (out / "f.bin").write_bytes(PAYLOAD)
    server.routes["/f.bin"] = serve_bytes(PAYLOAD)
    assert run_fetch([server.url("/f.bin")], out / "f.bin") == out / "f.bin"
    assert server.requests == []


def test_existing_wrong_dest_raises_and_is_kept(server, out):
    (out / "f.bin").write_bytes(b"my own file")
    server.routes["/f.bin"] = serve_bytes(PAYLOAD)
    with pytest.raises(DownloadError) as e:
        run_fetch([server.url("/f.bin")], out / "f.bin")
    msg = str(e.value)
    assert "f.bin" in msg and PAYLOAD_MD5 in msg
    assert hashlib.md5(b"my own file").hexdigest() in msg
    assert "remove" in msg
    assert (out / "f.bin").read_bytes() == b"my own file"
    assert server.requests == []


def test_no_urls_raises_with_help(out):
    with pytest.raises(DownloadError, match="ask the lab"):
        run_fetch([], out / "f.bin", help="ask the lab")


def test_unsupported_scheme(out):
    with pytest.raises(DownloadError, match="unsupported URL scheme 'ftp'"):
        run_fetch(["ftp://example.org/f.bin"], out / "f.bin")


def test_dest_dir_is_created(server, tmp_path):
    server.routes["/f.bin"] = serve_bytes(PAYLOAD)
    dest = run_fetch([server.url("/f.bin")], tmp_path / "a" / "b" / "f.bin")
    assert dest.read_bytes() == PAYLOAD


# --------------------------------------------------------------------------------------------
# fetch: deadline, stalls, size cap
# --------------------------------------------------------------------------------------------


def trickle(data: bytes, step: int, pause: float, pieces: int | None = None):
    """Announce the full (remaining) length, then send ``step`` bytes every ``pause`` seconds,
    honouring ``Range``; after ``pieces`` pieces hang up (so old code cannot hang forever)."""

    def behaviour(h, n):
        rng = h.headers.get("Range")
        start = int(rng[len("bytes="):-1]) if rng else 0
        body = data[start:]
        chunks = [body[i:i + step] for i in range(0, len(body), step)][:pieces]
        extra = {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"} if rng else None
        stream(h, 206 if rng else 200, chunks, length=len(body), pause=pause, extra=extra)
        h.close_connection = True

    return behaviour


def counting(behaviour_of_sent):
    """Wrap ``stream``-style behaviour: record the bytes each request's body put on the wire."""
    sent: list[int] = []
    done = threading.Event()

    def behaviour(h, n):
        try:
            sent.append(behaviour_of_sent(h))
        finally:
            done.set()

    return behaviour, sent, done


def zeros(total: int, piece: int = 1 << 20):
    block = bytes(piece)
    for _ in range(total // piece):
        yield block


def test_trickling_server_fails_within_the_deadline(server, out):
    # 2 bytes per 0.5 s never trips a 1 s read timeout; each read returns what has arrived, so
    # the stall rule (a mean rate under 10 KB/s over 2 timeouts) and the deadline end it.
    server.routes["/f.bin"] = trickle(PAYLOAD, 2, 0.5, pieces=16)
    t0 = time.monotonic()
    with pytest.raises(DownloadError, match="deadline|stall") as e:
        run_fetch([server.url("/f.bin")], out / "f.bin", timeout=1, retries=5, deadline=3)
    elapsed = time.monotonic() - t0
    assert elapsed < 5, elapsed
    assert "deadline of 3 s" in str(e.value)
    assert os.listdir(out) == []
    headers = server.headers_for("/f.bin")
    assert len(headers) >= 2 and "Range" in headers[1]  # a stall is retried, resuming


def test_stall_is_retried_then_given_up(server, out, caplog):
    server.routes["/f.bin"] = trickle(PAYLOAD, 2, 0.25, pieces=32)
    t0 = time.monotonic()
    with caplog.at_level("WARNING", logger="pipeline.download.fetch"):
        with pytest.raises(DownloadError, match="stalled after") as e:
            run_fetch([server.url("/f.bin")], out / "f.bin", timeout=0.5, retries=1, deadline=None)
    assert time.monotonic() - t0 < 3
    assert "under download.min_rate = 10000" in str(e.value)      # the param to change
    # the whole story, logged as it happened: a retry, then giving up
    logged = caplog.records[-1].getMessage()
    assert "under download.min_rate = 10000 B/s; gave up after 2 attempts" in logged
    assert os.listdir(out) == []


def test_silent_server_is_bounded_by_the_deadline(out):
    # Accepts the connection, never answers: each attempt waits min(timeout, time left).
    with silent_listener() as url:
        t0 = time.monotonic()
        with pytest.raises(DownloadError, match="deadline of 1 s") as e:
            run_fetch([url], out / "f.bin", timeout=5, retries=3, deadline=1)
        elapsed = time.monotonic() - t0
    assert elapsed < 2.5, elapsed
    assert url in str(e.value)
    assert os.listdir(out) == []


def test_silent_server_fails_after_timeout_per_attempt(out, caplog):
    with silent_listener() as url:
        t0 = time.monotonic()
        with caplog.at_level("WARNING", logger="pipeline.download.fetch"):
            with pytest.raises(DownloadError, match="connection failed: Read timed out"):
                run_fetch([url], out / "f.bin", timeout=0.3, retries=2, deadline=None)
        elapsed = time.monotonic() - t0
    assert re.search(r"(timed out|timeout).*gave up after 3 attempts", caplog.records[-1].getMessage())
    assert 0.8 < elapsed < 2, elapsed
    assert os.listdir(out) == []


def test_connect_timeout_is_short(server, out, monkeypatch):
    # A host that drops packets costs the connect timeout, min(10 s, timeout), per attempt.
    seen = []
    real_get = requests.Session.get

    def spy(self, url, **kw):
        seen.append(kw["timeout"])
        return real_get(self, url, **kw)

    monkeypatch.setattr(requests.Session, "get", spy)
    server.routes["/f.bin"] = serve_bytes(PAYLOAD)
    run_fetch([server.url("/f.bin")], out / "f.bin", timeout=30, deadline=None)
    run_fetch([server.url("/f.bin")], out / "g.bin", timeout=4, deadline=None)
    assert seen == [(10, 30), (4, 4)]


def test_deadline_mid_transfer_leaves_nothing(server, out):
    # ~16 KiB every 0.05 s: fast enough for the stall rule, too slow for a 0.4 s deadline.
    server.routes["/f.bin"] = trickle(PAYLOAD, 1 << 14, 0.05)
    t0 = time.monotonic()
    with pytest.raises(DownloadError, match=r"deadline of 0.4 s for one URL passed after \d+ bytes") as e:
        run_fetch([server.url("/f.bin")], out / "f.bin", deadline=0.4)
    assert time.monotonic() - t0 < 1.5
    assert server.url("/f.bin") in str(e.value)
    assert len(server.headers_for("/f.bin")) == 1  # a deadline is not retried
    assert os.listdir(out) == []


def test_deadline_is_per_url(server, out):
    server.routes["/slow.bin"] = trickle(PAYLOAD, 1 << 14, 0.05)
    server.routes["/fast.bin"] = serve_bytes(PAYLOAD)
    dest = run_fetch([server.url("/slow.bin"), server.url("/fast.bin")], out / "f.bin", deadline=0.4)
    assert dest.read_bytes() == PAYLOAD
    assert sorted(os.listdir(out)) == ["f.bin"]


def test_oversized_body_stops_at_the_expected_size(server, out):
    # No Content-Length: the body ends when the server closes, after 100 MB for a 300 kB file.
    body = 100 << 20
    server.routes["/f.bin"], sent, done = counting(lambda h: stream(h, 200, zeros(body)))
    t0 = time.monotonic()
    with pytest.raises(DownloadError, match="more than the expected 300000 bytes") as e:
        run_fetch([server.url("/f.bin")], out / "f.bin", size=len(PAYLOAD))
    elapsed = time.monotonic() - t0
    assert done.wait(5)
    assert sent[0] < 16 << 20, sent  # what the socket buffers took, not the 100 MB
    assert elapsed < 2, elapsed
    assert server.url("/f.bin") in str(e.value)
    assert len(server.headers_for("/f.bin")) == 1  # not retried
    assert os.listdir(out) == []


def test_a_kilobyte_per_second_trickle_is_a_stall(server, out):
    """1.2 KB/s passed the 0.2 stall rule (1 KiB per timeout window) and only the deadline (6 h
    by default) ended it; under the mean rate of 10 KB/s it is a stall within 2 timeouts."""
    server.routes["/f.bin"] = trickle(PAYLOAD, 600, 0.5, pieces=40)
    t0 = time.monotonic()
    with pytest.raises(DownloadError, match="stalled after .* under download.min_rate"):
        run_fetch([server.url("/f.bin")], out / "f.bin", timeout=1, retries=0, deadline=None)
    assert time.monotonic() - t0 < 4
    assert os.listdir(out) == []


def test_an_endless_body_of_unknown_size_stops_at_max_bytes(server, out):
    """DVS128 Gesture, N-MNIST and CIFAR10-DVS publish no size: a body that never ends was
    written until the md5 (419 MB in 6.4 s) or the deadline; download.max_bytes bounds it."""
    body = 100 << 20
    server.routes["/f.bin"], sent, done = counting(lambda h: stream(h, 200, zeros(body)))
    with pytest.raises(DownloadError, match="more than download.max_bytes = 2097152 bytes") as e:
        run_fetch([server.url("/f.bin")], out / "f.bin", max_bytes=2 << 20)
    assert done.wait(5)
    assert sent[0] < 24 << 20, sent
    assert len(server.headers_for("/f.bin")) == 1 and server.url("/f.bin") in str(e.value)
    assert os.listdir(out) == []
    server.routes["/g.bin"], sent, done = counting(lambda h: stream(h, 200, zeros(body), length=body))
    with pytest.raises(DownloadError, match=f"Content-Length {body} bytes, more than download.max_bytes = 2097152"):
        run_fetch([server.url("/g.bin")], out / "g.bin", max_bytes=2 << 20)
    # the cap leaves a file of unknown size below it alone
    server.routes["/p.bin"] = serve_bytes(PAYLOAD)
    assert run_fetch([server.url("/p.bin")], out / "p.bin", max_bytes=len(PAYLOAD)).read_bytes() == PAYLOAD


def test_wrong_content_length_is_refused_at_once(server, out):
    body = 100 << 20
    server.routes["/f.bin"], sent, done = counting(
        lambda h: stream(h, 200, zeros(body), length=body))
    t0 = time.monotonic()
    with pytest.raises(DownloadError, match=f"Content-Length {body} bytes, expected 300000"):
        run_fetch([server.url("/f.bin")], out / "f.bin", size=len(PAYLOAD))
    assert time.monotonic() - t0 < 2
    assert done.wait(5)
    assert sent[0] < 16 << 20, sent
    assert len(server.headers_for("/f.bin")) == 1
    assert os.listdir(out) == []


def test_known_size_download_and_resume(server, out):
    server.routes["/f.bin"] = drop_first_halfway(PAYLOAD)
    dest = run_fetch([server.url("/f.bin")], out / "f.bin", size=len(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD
    assert len(server.headers_for("/f.bin")) == 2
    assert sorted(os.listdir(out)) == ["f.bin"]


def test_stale_partial_download_is_removed(server, out):
    (out / "f.bin.tmp-0123abcd").write_bytes(b"left by a killed run")
    (out / "other.bin.tmp-0123abcd").write_bytes(b"not ours")
    server.routes["/f.bin"] = serve_bytes(PAYLOAD)
    run_fetch([server.url("/f.bin")], out / "f.bin")
    assert sorted(os.listdir(out)) == ["f.bin", "other.bin.tmp-0123abcd"]


# --------------------------------------------------------------------------------------------
# fetch from local files
# --------------------------------------------------------------------------------------------


def test_file_url(tmp_path, out):
    src = tmp_path / "source.bin"
    src.write_bytes(PAYLOAD)
    dest = run_fetch([src.as_uri()], out / "f.bin")
    assert hashlib.md5(dest.read_bytes()).hexdigest() == PAYLOAD_MD5
    assert sorted(os.listdir(out)) == ["f.bin"]


def test_plain_local_path_and_missing_file(tmp_path, out):
    src = tmp_path / "source.bin"
    src.write_bytes(PAYLOAD)
    missing = str(tmp_path / "missing.bin")
    dest = run_fetch([missing, str(src)], out / "f.bin")
    assert dest.read_bytes() == PAYLOAD


def test_local_file_of_the_wrong_size(tmp_path, out):
    src = tmp_path / "source.bin"
    src.write_bytes(b"not it")
    with pytest.raises(DownloadError, match="is 6 bytes, expected 300000"):
        run_fetch([src.as_uri()], out / "f.bin", size=len(PAYLOAD))
    assert os.listdir(out) == []


def test_local_file_with_wrong_md5(tmp_path, out):
    src = tmp_path / "source.bin"
    src.write_bytes(b"not it")
    with pytest.raises(DownloadError, match="md5 mismatch"):
        run_fetch([src.as_uri()], out / "f.bin")
    assert os.listdir(out) == []


# --------------------------------------------------------------------------------------------
# extract_tar
# --------------------------------------------------------------------------------------------


def make_tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], mode="w:gz") -> Path:
    with tarfile.open(path, mode) as tf:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
            else:
                tf.addfile(info)
    return path


def file_member(name: str, data: bytes):
    return tarfile.TarInfo(name), data


def link_member(name: str, target: str, kind=tarfile.SYMTYPE):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


def dir_member(name: str):
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    return info, None


def only_archive_left(parent: Path, archive: Path) -> bool:
    return sorted(os.listdir(parent)) == [archive.name]


def test_extract_normal_tar_gz(tmp_path):
    archive = make_tar(tmp_path / "a.tar.gz", [
        dir_member("data"),
        file_member("data/x.bin", PAYLOAD),
        file_member("data/sub/y.txt", b"hello"),
    ])
    dest = extract_tar(archive, tmp_path / "out")
    assert dest == tmp_path / "out"
    assert hashlib.md5((dest / "data/x.bin").read_bytes()).hexdigest() == PAYLOAD_MD5
    assert (dest / "data/sub/y.txt").read_bytes() == b"hello"
    assert sorted(os.listdir(tmp_path)) == ["a.tar.gz", "out"]  # no tmp dir left


def test_extract_plain_tar(tmp_path):
    archive = make_tar(tmp_path / "a.tar", [file_member("x.bin", b"abc")], mode="w")
    assert (extract_tar(archive, tmp_path / "out") / "x.bin").read_bytes() == b"abc"


@pytest.mark.parametrize("member, reason", [
    (file_member("/abs/evil", b"x"), "absolute path"),
    (file_member("../evil", b"x"), "'..'"),
    (file_member("ok/../../evil", b"x"), "'..'"),
    (link_member("link", "../../outside"), "leaves the extraction directory"),
    (link_member("link", "/etc/passwd"), "absolute path"),
    (link_member("hard", "../outside", tarfile.LNKTYPE), "leaves the extraction directory"),
    (link_member("dev", "", tarfile.CHRTYPE), "device"),
])
def test_extract_rejects_unsafe_members(tmp_path, member, reason):
    archive = make_tar(tmp_path / "a.tar.gz", [file_member("good.txt", b"fine"), member])
    with pytest.raises(DownloadError, match=reason) as e:
        extract_tar(archive, tmp_path / "out")
    assert member[0].name in str(e.value) and "a.tar.gz" in str(e.value)
    assert only_archive_left(tmp_path, archive)  # neither out/ nor out.tmp-*


def test_extract_rejects_link_escaping_through_earlier_symlink(tmp_path):
    # "up/.." looks lexically harmless ("." after normalising), but "up" is a link to the
    # root, so on disk it resolves to the root's parent. Links are refused outright now, so
    # the first one already stops the archive (this used to name "up2").
    archive = make_tar(tmp_path / "a.tar.gz", [
        link_member("up", "."),
        link_member("up2", "up/.."),
    ])
    with pytest.raises(DownloadError, match="'up'.*links are refused"):
        extract_tar(archive, tmp_path / "out")
    assert only_archive_left(tmp_path, archive)


def test_extract_rejects_links_inside_the_archive(tmp_path):
    # Even a link to a sibling file: none of the datasets has links (this used to extract).
    for kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
        archive = make_tar(tmp_path / "a.tar.gz", [
            file_member("data/x.bin", b"abc"),
            link_member("data/link", "x.bin" if kind == tarfile.SYMTYPE else "data/x.bin", kind),
        ])
        with pytest.raises(DownloadError, match="'data/link'.*link to .*links are refused"):
            extract_tar(archive, tmp_path / "out")
        assert only_archive_left(tmp_path, archive)
        archive.unlink()


def test_extract_truncated_archive(tmp_path):
    full = make_tar(tmp_path / "full.tar.gz", [file_member("x.bin", PAYLOAD)])
    data = full.read_bytes()
    archive = tmp_path / "cut.tar.gz"
    archive.write_bytes(data[: len(data) // 2])
    full.unlink()
    with pytest.raises(DownloadError, match="cut.tar.gz"):
        extract_tar(archive, tmp_path / "out")
    assert only_archive_left(tmp_path, archive)


def test_extract_not_an_archive(tmp_path):
    archive = tmp_path / "junk.tar.gz"
    archive.write_bytes(b"this is not a tar file at all" * 100)
    with pytest.raises(DownloadError, match="junk.tar.gz"):
        extract_tar(archive, tmp_path / "out")
    assert only_archive_left(tmp_path, archive)


def test_extract_refuses_existing_dest(tmp_path):
    archive = make_tar(tmp_path / "a.tar.gz", [file_member("x.bin", b"abc")])
    (tmp_path / "out").mkdir()
    with pytest.raises(DownloadError, match="already exists"):
        extract_tar(archive, tmp_path / "out")
    assert os.listdir(tmp_path / "out") == []
