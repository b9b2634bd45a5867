"""A scriptable HTTP server on 127.0.0.1 for download tests (the ``server`` fixture in conftest)."""

import socket
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Server:
    """Routes path -> behaviour(handler, n) where n counts earlier requests for that path."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.routes: dict = {}
        self.requests: list[tuple[str, dict]] = []  # (path, headers) in arrival order
        self.lock = threading.Lock()

    def url(self, path: str) -> str:
        return self.base_url + path

    def headers_for(self, path: str) -> list[dict]:
        return [h for p, h in self.requests if p == path]


class _QuietServer(ThreadingHTTPServer):
    """A client that closes a kept-alive connection (as the downloader does after a
    failed URL) resets it; that is not a test failure, so do not print a traceback."""

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def serve() -> tuple[Server, ThreadingHTTPServer]:
    """Start a server in a daemon thread; the caller shuts ``httpd`` down."""
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            with state.lock:
                n = len(state.headers_for(self.path))
                state.requests.append((self.path, dict(self.headers)))
            behaviour = state.routes.get(self.path)
            if behaviour is None:
                send(self, 404, b"not found", "text/plain")
            else:
                behaviour(self, n)

        def log_message(self, *args):  # keep test output quiet
            pass

    httpd = _QuietServer(("127.0.0.1", 0), Handler)
    state = Server(f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    return state, httpd


def send(h: BaseHTTPRequestHandler, status: int, body: bytes, ctype="application/octet-stream",
         extra: dict | None = None) -> None:
    h.send_response(status)
    h.send_header("Content-Type", ctype)
    h.send_header("Content-Length", str(len(body)))
    for k, v in (extra or {}).items():
        h.send_header(k, v)
    h.end_headers()
    h.wfile.write(body)


def stream(h: BaseHTTPRequestHandler, status: int, pieces: Iterable[bytes], length: int | None = None,
           pause: float = 0.0, extra: dict | None = None) -> int:
    """Send the headers (Content-Length: ``length``; none when None, the body then ends when
    the connection closes), then ``pieces`` one by one, ``pause`` seconds apart. Stops quietly
    when the client hangs up; returns the bytes of body the socket accepted."""
    h.send_response(status)
    h.send_header("Content-Type", "application/octet-stream")
    if length is None:
        h.send_header("Connection", "close")
        h.close_connection = True
    else:
        h.send_header("Content-Length", str(length))
    for k, v in (extra or {}).items():
        h.send_header(k, v)
    h.end_headers()
    sent = 0
    try:
        for piece in pieces:
            h.wfile.write(piece)
            h.wfile.flush()
            sent += len(piece)
            if pause:
                time.sleep(pause)
    except OSError:                      # the client went away: the point of most such tests
        h.close_connection = True
    return sent


@contextmanager
def silent_listener() -> Iterator[str]:
    """``http://127.0.0.1:<port>/f.bin`` of a socket that accepts connections (the kernel
    completes the handshake) but never reads or answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/f.bin"
    finally:
        sock.close()
