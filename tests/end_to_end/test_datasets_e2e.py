"""N-MNIST and CIFAR10-DVS through download -> frames (-> train) with local HTTP servers.

N-MNIST uses the real samples of ../shared (a tiny real dataset in the official
Train.zip / Test.zip layout). CIFAR10-DVS uses small jAER files written here, served at
the registry's own figshare paths, to check the API-then-ndownloader order and the
orientation the paper used.
"""

import dataclasses
import hashlib
import struct
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from httpserver import send
from pipeline.download.stage import download
from pipeline.frames.stage import make_frames
from pipeline.datasets import CIFAR10_DVS, NMNIST, Remote
from pipeline.core.errors import DownloadError
from pipeline.params import Params
from pipeline.train.stage import train

SLAYER = "nmnist/slayerPytorch_NMNISTsmall"


def local(url: str, server) -> str:
    """https://host/path -> http://127.0.0.1:port/host/path (the same path, our server)."""
    return server.url("/" + url.split("://", 1)[1])


def serve_bytes(data: bytes):
    def behaviour(h, n):
        send(h, 200, data)
    return behaviour


def nmnist_labels(real):
    out = {}
    for name in ("train1K.txt", "test100.txt"):
        for line in real(f"{SLAYER}/{name}").read_text().splitlines()[1:]:
            if line.strip():
                i, c = line.split()
                out[int(i)] = int(c)
    return out


def make_nmnist_zip(path: Path, top: str, files: dict[str, Path]) -> bytes:
    with zipfile.ZipFile(path, "w") as zf:
        for rel, src in files.items():
            zf.write(src, f"{top}/{rel}")
    return path.read_bytes()


def decode_nmnist(raw: bytes):
    """Independent decode (numpy only): x, y, p, t of the non-marker records."""
    b = np.frombuffer(raw, np.uint8).reshape(-1, 5).astype(np.int64)
    keep = b[:, 1] != 240
    return b[keep, 0], b[keep, 1], b[keep, 2] >> 7


@pytest.fixture
def nmnist_spec(tmp_path, server, real):
    labels = nmnist_labels(real)
    train_ids = [1, 2, 3, 4, 5, 6, 8]
    train = {f"{labels[i]}/{i:05d}.bin": real(f"{SLAYER}/{i}.bs2") for i in train_ids}
    test = {f"{labels[60001]}/00001.bin": real(f"{SLAYER}/60001.bs2")}
    remotes = []
    for remote, top, files in zip(NMNIST.files, ("Train", "Test"), (train, test)):
        data = make_nmnist_zip(tmp_path / remote.name, top, files)
        url = local(remote.urls[0], server)
        server.routes[url[len(server.base_url):]] = serve_bytes(data)
        remotes.append(Remote(remote.name, hashlib.md5(data).hexdigest(), (url,)))
    return dataclasses.replace(NMNIST, files=tuple(remotes), expected={"train": 7, "test": 1}), train


def test_nmnist_real_samples_download_frames_train(tmp_path, nmnist_spec):
    spec, train_files = nmnist_spec
    p = Params.model_validate({
        "dataset": "nmnist", "download": {"archive_dir": str(tmp_path / "dl"), "retries": 0},
        "frames": {"T": 4, "split_by": "number", "downsample": 1, "workers": 2},
        "model": {"channels": 4, "blocks": 2, "hidden": 16},
        "train": {"epochs": 2, "batch_size": 4, "T_max": 2, "protocol": "A"}})
    download(p, tmp_path / "raw", spec=spec)
    make_frames(p, tmp_path / "raw", tmp_path / "frames", spec=spec)
    with h5py.File(tmp_path / "frames" / "train.h5") as f:
        assert f["frames"].shape == (7, 4, 2, 34, 34)
        recs = [r.decode() for r in f["recording"][:]]
        assert recs == sorted(recs) and all(r.startswith("Train/Train/") for r in recs)
        labels = f["labels"][:].tolist()
        assert labels == [int(r.split("/")[2]) for r in recs]
        frames, n_events = f["frames"][:], f["n_events"][:]
    for i, rel in enumerate(recs):
        x, y, p_ = decode_nmnist(train_files[rel.split("/", 2)[2]].read_bytes())
        assert n_events[i] == x.size
        counts = np.zeros((2, 34, 34), np.int64)
        np.add.at(counts, (p_, y, x), 1)
        np.testing.assert_array_equal(frames[i].sum(0), counts)     # all frames together
    metrics = train(tmp_path / "frames" / "train.h5", tmp_path / "frames" / "test.h5", list(spec.classes),
                    p.model, p.train, tmp_path / "models", tmp_path / "log.csv", tmp_path / "m.json")
    assert metrics["epochs"] == 2 and len(metrics["tau"]) == 4


def jaer_file(path: Path, events):
    """A jAER AEDAT 2.0 file with DVS128 addresses: events = [(t, x, y, p)] in raw sensor coordinates."""
    body = b"".join(struct.pack(">ii", (y << 8) | (x << 1) | p, t) for t, x, y, p in events)
    path.write_bytes(b"#!AER-DAT2.0\r\n# This is a raw AE data file\r\n" + body)


@pytest.fixture
def cifar(tmp_path, server):
    """Two classes, served at figshare's paths: indices 0, 1, 2 (train) and 900 (test)."""
    remotes = []
    for k, remote in enumerate(CIFAR10_DVS.files[:2]):
        cls = remote.name[:-4]
        folder = tmp_path / "src" / cls
        folder.mkdir(parents=True)
        for i in (0, 1, 2, 900):
            jaer_file(folder / f"cifar10_{cls}_{i}.aedat", [(10, 10 + k, 100, 1), (20, 10 + k, 100, 1), (30, 0, 0, 0)])
        z = tmp_path / remote.name
        with zipfile.ZipFile(z, "w") as zf:
            for f in sorted(folder.iterdir()):
                zf.write(f, f"{cls}/{f.name}")
        api, ndl = (local(u, server) for u in remote.urls)
        remotes.append(Remote(remote.name, hashlib.md5(z.read_bytes()).hexdigest(), (api, ndl)))
        server.routes[api[len(server.base_url):]] = serve_bytes(z.read_bytes())
        server.routes[ndl[len(server.base_url):]] = lambda h, n: send(h, 202, b"")
    return dataclasses.replace(CIFAR10_DVS, files=tuple(remotes), expected={"train": 6, "test": 2})


def cifar_params(tmp_path):
    return Params.model_validate({
        "dataset": "cifar10_dvs", "download": {"archive_dir": str(tmp_path / "dl"), "retries": 0},
        "frames": {"T": 2, "split_by": "time", "downsample": 1, "workers": 1}})


def test_cifar10_dvs_figshare_api_split_and_orientation(tmp_path, cifar, server):
    p = cifar_params(tmp_path)
    download(p, tmp_path / "raw", spec=cifar)
    assert not any("ndownloader" in path for path, _ in server.requests)   # the API served every file
    make_frames(p, tmp_path / "raw", tmp_path / "frames", spec=cifar)
    with h5py.File(tmp_path / "frames" / "train.h5") as f:
        assert [r.decode().rsplit("/", 1)[1] for r in f["recording"][:]] == [
            "cifar10_airplane_0.aedat", "cifar10_airplane_1.aedat", "cifar10_airplane_2.aedat",
            "cifar10_automobile_0.aedat", "cifar10_automobile_1.aedat", "cifar10_automobile_2.aedat"]
        assert f["labels"][:].tolist() == [0, 0, 0, 1, 1, 1]
        fr = f["frames"][0]
    with h5py.File(tmp_path / "frames" / "test.h5") as f:
        assert [r.decode().rsplit("/", 1)[1] for r in f["recording"][:]] == [
            "cifar10_airplane_900.aedat", "cifar10_automobile_900.aedat"]
    # raw (x=10, y=100, ON) -> x = 127 - 100 = 27, y = 127 - 10 = 117, OFF;
    # raw (0, 0, OFF) -> (127, 127, ON). time split: dt = 10 -> [10, 20) | [20, end]
    assert fr[0, 0, 117, 27] == 1 and fr[1, 0, 117, 27] == 1 and fr[1, 1, 127, 127] == 1
    assert fr.sum() == 3


def test_cifar10_dvs_when_the_api_fails(tmp_path, cifar, server):
    api = [path for path in server.routes if path.startswith("/api.figshare.com")][0]
    server.routes[api] = lambda h, n: send(h, 404, b"gone", "text/plain")
    with pytest.raises(DownloadError) as e:
        download(cifar_params(tmp_path), tmp_path / "raw", spec=cifar)
    msg = str(e.value)
    assert "HTTP 404" in msg and "HTTP 202" in msg
    assert not (tmp_path / "raw").exists()
    assert [q.name for q in (tmp_path / "dl").iterdir()] == []
