import os
from pathlib import Path

import pytest

from httpserver import serve

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real"


def real_file(relative: str) -> Path:
    """A file of ../shared/data/real; skip when absent (a user's clone), fail in CI."""
    path = REAL / relative
    if not path.is_file():
        msg = f"real sample {path} not found (../shared/data/real is only beside the project's own checkouts)"
        if os.environ.get("PIPELINE_REQUIRE_REAL_DATA") == "1":
            pytest.fail(msg + "; PIPELINE_REQUIRE_REAL_DATA=1 makes this an error")
        pytest.skip(msg)
    return path


@pytest.fixture
def server():
    """A scriptable HTTP server on 127.0.0.1: set ``server.routes[path] = behaviour(handler, n)``."""
    state, httpd = serve()
    yield state
    httpd.shutdown()
    httpd.server_close()
