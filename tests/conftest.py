import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import torch

# Without a GPU the Triton PLIF kernels run in Triton's interpreter, on CPU tensors. Triton reads
# this when a kernel is defined, so it is set before any test imports pipeline.model.
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

from httpserver import serve
from tinyframes import write_dataset
from workspace import make_workspace

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real"


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config):
    """``-n auto`` (pyproject's addopts): one worker per CPU this process may use, at most 8 (each
    worker imports torch, and the slow tests start stage processes of their own)."""
    return max(1, min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 8))


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
def real():
    """``real(relative_path)``: a file of ../shared/data/real (skips, or fails in CI, when absent)."""
    return real_file


@pytest.fixture(scope="session")
def tiny_frames(tmp_path_factory):
    """``(train.h5, test.h5)``: 32 and 8 tiny samples of 4 classes (tinyframes), written once."""
    return write_dataset(tmp_path_factory.mktemp("tinyframes"), n_train=32, n_test=8)


@pytest.fixture
def train_workspace(tmp_path, tiny_frames):
    """``make(name, model=None, **train)``: a folder for stages/train.py under tmp_path, holding
    the tiny frames and a params.yaml (configs/demo.yaml with the tiny network and these
    train params); run it with ``workspace.run_stage("train", folder)``."""
    def make(name="ws", model=None, data=None, **train):
        return make_workspace(tmp_path / name, data or tiny_frames, model, **train)
    return make


@pytest.fixture
def server():
    """A scriptable HTTP server on 127.0.0.1: set ``server.routes[path] = behaviour(handler, n)``."""
    state, httpd = serve()
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def offline(monkeypatch):
    """Any URL Tonic opens fails at once (as with no network), and says which it was."""
    opened = []

    def refuse(request, *args, **kwargs):
        url = getattr(request, "full_url", request)
        opened.append(url)
        raise urllib.error.URLError(f"no network in this test ({url})")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    return opened


@pytest.fixture
def drawn(monkeypatch):
    """The report's matplotlib figures by file name (``accuracy_demo.png``: its Figure), as saved."""
    from pipeline.cli.report import figures

    kept, save = {}, figures._save

    def keep(fig, path):
        kept[Path(path).name] = fig
        return save(fig, path)

    monkeypatch.setattr(figures, "_save", keep)
    return kept


def pytest_collection_modifyitems(config, items):
    """The modules that run the real ``dvc`` or train end to end (marked ``slow``) first, each
    module's tests in their order: under xdist (``--dist loadscope``) the longest modules start
    at once and the many short ones fill the workers in after them, instead of one long module
    starting last and running alone at the end."""
    slow = {item.nodeid.split("::")[0] for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in slow)
