"""The download and frames stage cores (without DVC): demo end to end, the real-archive path."""

import hashlib
import json

import h5py
import pytest

from pipeline.download.stage import download
from pipeline.frames.stage import make_frames
from pipeline.core.errors import DownloadError
from pipeline.core.errors import LayoutError
from pipeline.params import Params
from pipeline.core.store import read_meta

TINY = {"demo": {"train_users": 1, "test_users": 1, "lightings": ["led"], "repeats": 1,
                 "gesture_ms": 300, "gap_ms": 200},
        "frames": {"T": 3, "downsample": 8, "workers": 1}}


def params(tmp_path, **extra):
    raw = {**TINY, "download": {"archive_dir": str(tmp_path / "downloads"), "retries": 0}, **extra}
    return Params.model_validate(raw)


def test_demo_download_then_frames(tmp_path):
    p = params(tmp_path)
    source = download(p, tmp_path / "raw")
    assert source.dataset == "demo" and source.expected == {"train": 8, "test": 8}
    md5 = source.archives[0].md5
    assert json.loads((tmp_path / "raw" / "SOURCE.json").read_text())["archives"] == [
        {"name": "DvsGesture-demo.tar.gz", "md5": md5}]
    root = tmp_path / "raw" / "DvsGesture-demo" / "DvsGesture"
    assert sorted(q.name for q in root.iterdir())[:2] == ["trials_to_test.txt", "trials_to_train.txt"]
    assert list((tmp_path / "downloads").iterdir()) == []     # demo archives are not kept
    out = make_frames(p, tmp_path / "raw", tmp_path / "frames")
    assert out["train"].samples == 8 and out["test"].samples == 8
    with h5py.File(tmp_path / "frames" / "test.h5") as f:
        assert f["frames"].shape == (8, 3, 2, 16, 16)
        assert list(read_meta(f)["source_md5"]) == [md5] and read_meta(f)["split"] == "test"
        assert sorted(f["labels"][:].tolist()) == list(range(8))
    # params asking for another dataset than the one unpacked
    with pytest.raises(LayoutError, match="holds 'demo' but params.yaml asks for 'dvsgesture'"):
        make_frames(params(tmp_path, dataset="dvsgesture"), tmp_path / "raw", tmp_path / "f2")


def test_real_archive_wrong_bytes_says_where_to_get_it(tmp_path):
    fake = tmp_path / "DvsGesture.tar.gz"
    fake.write_bytes(b"not the archive")
    p = params(tmp_path, dataset="dvsgesture", download={
        "archive_dir": str(tmp_path / "downloads"), "retries": 0, "mirrors": [fake.as_uri()]})
    with pytest.raises(DownloadError) as e:
        download(p, tmp_path / "raw")
    msg = str(e.value)
    # the file, what is wrong, where to place it and where its source is (one short line: the
    # registry's prose, with IBM's URL, is in docs/datasets.md, which test_messages checks)
    assert msg.startswith("could not download DvsGesture.tar.gz from file://.../DvsGesture.tar.gz (md5 mismatch: "
                          "got " + hashlib.md5(b"not the archive").hexdigest())
    assert msg.endswith(f"); place it in {(tmp_path / 'downloads').resolve()} "
                        "(where to get it: python -m pipeline datasets dvsgesture)")
    assert not (tmp_path / "raw").exists() and list((tmp_path / "downloads").iterdir()) == []


def test_real_archive_without_mirrors(tmp_path):
    with pytest.raises(DownloadError) as e:
        download(params(tmp_path, dataset="dvsgesture"), tmp_path / "raw")
    assert str(e.value) == (f"no URL to download DvsGesture.tar.gz from; place it in {(tmp_path / 'downloads').resolve()} "
                            "or add a mirror to download.mirrors (where to get it: python -m pipeline datasets dvsgesture)")
