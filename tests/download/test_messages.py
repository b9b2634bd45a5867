"""A failed download is one line of about 200 characters, however many URLs, however long
they are and whatever a server or Tonic answered: it names the dataset or file, says what is
wrong and where to place the file, and points to the docs that list every source (the URLs
themselves are logged as each fails, and listed in docs/datasets.md and docs/tonic.md)."""

import re
from pathlib import Path

import pytest

from httpserver import send
from tonicfiles import params
from pipeline.core.errors import DownloadError
from pipeline.datasets import DATASETS
from pipeline.datasets.spec import TonicFetch
from pipeline.download.fetch import fetch
from pipeline.download.stage import download

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 200
MD5 = "0" * 32
#: a dataset's prose from pipeline/datasets/help.yaml is this long: the stage passes it as help
LONG_HELP = "MNIST (LeCun et al. 1998) is four idx files: " + "x.gz (md5 " + "f" * 32 + "), " * 12


def test_many_long_urls_give_one_short_line(server, tmp_path, monkeypatch, caplog):
    """Twelve mirrors with 150-character URLs, each refusing: before, the line listed all of them
    (and the dataset's prose): over 2,000 characters."""
    monkeypatch.chdir(tmp_path)                       # a DVC stage runs in the project's root
    paths = [f"/mirror{i}/" + "d" * 120 + "/train-images-idx3-ubyte.gz" for i in range(12)]
    for i, path in enumerate(paths):                  # two kinds of answer
        server.routes[path] = (lambda h, n: send(h, 404, b"gone")) if i % 2 else (lambda h, n: send(h, 403, b"no"))
    urls = [server.url(p) for p in paths]
    assert all(len(u) > 150 for u in urls)
    with caplog.at_level("WARNING", logger="pipeline.download.fetch"):
        with pytest.raises(DownloadError) as e:
            fetch(urls, Path("data/downloads/mnist/train-images-idx3-ubyte.gz"), MD5, retries=0, help=LONG_HELP)
    msg = str(e.value)
    assert len(msg) <= LIMIT and "\n" not in msg, (len(msg), msg)
    assert msg == ("could not download train-images-idx3-ubyte.gz from 12 URLs (6 URLs: HTTP 403 Forbidden; "
                   "6 URLs: HTTP 404 Not Found); place it in data/downloads/mnist (sources: docs/datasets.md)")
    # every URL and its answer went to the log as it failed, in full
    assert [r.getMessage().split(": ", 1)[0] for r in caplog.records] == urls


def test_one_long_answer_is_cut_and_its_url_shortened(server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = "/public-files/datasets/468j46mzdv/files/" + "e" * 90 + "/file_downloaded"
    # an answer that is a page of text, with a URL in it, sent as the reason of an HTTP error
    reason = "Moved; see " + "https://example.org/" + "r" * 300 + " " + "blah " * 100
    server.routes[path] = lambda h, n: (h.send_response(410, reason), h.send_header("Content-Length", "0"),
                                        h.end_headers())
    with pytest.raises(DownloadError) as e:
        fetch([server.url(path)], Path("data/downloads/Train.zip"), MD5, retries=0, help=LONG_HELP)
    msg = str(e.value)
    assert len(msg) <= LIMIT, (len(msg), msg)
    host = server.url("/").split("//")[1].rstrip("/")
    assert msg.startswith(f"could not download Train.zip from {host} (HTTP 410 Moved; see example.org blah blah")
    assert msg.endswith("...); place it in data/downloads (sources: docs/datasets.md)")


def test_a_long_folder_lengthens_the_line_but_never_hides_why(server, tmp_path):
    """The folder is named whole (absolute outside the working folder): what the URL answered
    keeps its room."""
    deep = tmp_path.joinpath(*["level"] * 20)
    server.routes["/f.bin"] = lambda h, n: send(h, 404, b"gone")
    with pytest.raises(DownloadError) as e:
        fetch([server.url("/f.bin")], deep / "f.bin", MD5, retries=0, help=LONG_HELP)
    msg = str(e.value)
    assert f"(HTTP 404 Not Found); place it in {deep} (sources: docs/datasets.md)" in msg
    assert len(msg) - len(str(deep)) <= LIMIT


def test_no_url_points_to_the_docs_that_say_where_the_file_is(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DownloadError) as e:
        fetch([], Path("data/downloads/DvsGesture.tar.gz"), MD5, help=LONG_HELP)
    assert str(e.value) == ("no URL to download DvsGesture.tar.gz from; place it in data/downloads or add a "
                            "mirror to download.mirrors (sources: docs/datasets.md)")
    # and that page does say where DVS128 Gesture comes from, and how
    row = next(line for line in (ROOT / "docs/datasets.md").read_text().splitlines()
               if line.startswith("| `dvsgesture` |"))
    assert "DvsGesture.tar.gz" in row and "IBM" in row and "browser" in row


# --------------------------------------------------------------------------------------------- Tonic

TONIC_SPECS = [s for s in DATASETS.values() if isinstance(s.source, TonicFetch)]
DOCS = (ROOT / "docs" / "tonic.md").read_text(encoding="utf-8")


@pytest.fixture
def td():
    """``tonic.datasets`` (skip where Tonic is not installed)."""
    return pytest.importorskip("tonic.datasets")


@pytest.mark.parametrize("spec", TONIC_SPECS, ids=lambda s: s.name)
def test_tonic_that_cannot_download_says_so_in_one_short_line(spec, tmp_path, monkeypatch, offline, td):
    """No network: the line names the dataset and the file, says why, where to place it and where
    the URLs are. Before, tonic.NMNIST's was 1,372 characters (every URL, twice, and the prose)."""
    monkeypatch.chdir(tmp_path)
    p = params(Path("."), spec.name)                  # download.archive_dir: "downloads", relative
    with pytest.raises(DownloadError) as e:
        download(p, Path("raw"), spec)
    msg = str(e.value)
    assert len(msg) <= LIMIT and "\n" not in msg, (len(msg), msg)
    folder = f"downloads/tonic/{spec.layout.tonic_class}"
    assert re.fullmatch(rf"{re.escape(spec.name)}: Tonic could not get \S+( from \S+)? \(.+\); "
                        rf"place it in {re.escape(folder)} \(URLs: docs/tonic\.md\)", msg), msg
    # the file it names is one of the class's files that docs/tonic.md lists
    name = msg.split(" could not get ", 1)[1].split(" ", 1)[0]
    assert f"`{name}`" in DOCS
    assert not Path("raw").exists()


def test_tonic_nmnist_offline_message(tmp_path, monkeypatch, offline, td):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DownloadError) as e:
        download(params(Path("."), "tonic.NMNIST"), Path("raw"))
    assert offline == [td.NMNIST.train_url]
    assert str(e.value) == ("tonic.NMNIST: Tonic could not get train.zip from data.mendeley.com (URLError: no "
                            "network in this test (data.mendeley.com)); place it in "
                            "downloads/tonic/NMNIST (URLs: docs/tonic.md)")


@pytest.mark.parametrize("spec", TONIC_SPECS, ids=lambda s: s.name)
def test_docs_list_every_url_and_md5_tonic_has_for_the_class(spec, td):
    """The messages send the user to docs/tonic.md: it must hold every URL and md5 of the installed
    Tonic's class (its class attributes), on the dataset's rows."""
    cls = getattr(td, spec.layout.tonic_class)
    values = [getattr(cls, k) for k in dir(cls) if not k.startswith("__")]
    wanted = {v for v in values if isinstance(v, str) and (v.startswith("http") or re.fullmatch(r"[0-9a-f]{32}", v))}
    assert wanted or spec.layout.tonic_class == "POKERDVS"
    rows = "\n".join(line for line in DOCS.splitlines() if line.startswith(f"| `{spec.name}` |"))
    missing = sorted(v for v in wanted if v not in rows)
    assert not missing, f"docs/tonic.md has no row of {spec.name} with {missing}"
