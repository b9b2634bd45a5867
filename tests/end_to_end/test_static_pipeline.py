"""Tiny MNIST and CIFAR-10 through the real `dvc repro`: download -> frames -> train -> evaluate,
offline.

The files are written by hand in the official formats: MNIST's idx files placed where the
download stage looks for files a user downloaded (``data/downloads/mnist/``), CIFAR-10's
tarball served from 127.0.0.1 through ``download.mirrors``. Their md5 cannot be the official
one, so the stages run with a ``sitecustomize`` that swaps the registry's md5s, sizes and sample
counts for the tiny files' (nothing else of the registry changes).
"""

import hashlib
import json
import subprocess
import sys

import h5py
import numpy as np
import pytest
from pipeline.core.store import read_meta

from dvcrepo import commit, copy_repo, run
from httpserver import send
from imagefiles import cifar_files, cifar_tarball, gz, idx_bytes, rng_images

SITECUSTOMIZE = '''
import dataclasses, json, os
from pipeline import datasets
for name, p in json.load(open(os.environ["TINY_REGISTRY"])).items():
    spec = datasets.DATASETS[name]
    files = tuple(datasets.Remote(f["name"], f["md5"], (), f["size"]) for f in p["files"])
    datasets.DATASETS[name] = dataclasses.replace(spec, files=files, expected=p["expected"])
'''

PARAMS = {
    "dataset": "mnist",
    "frames": {"T": 3, "downsample": 1, "workers": 1},
    "model": {"channels": 4, "blocks": 2, "hidden": 16, "bn": "per_step"},
    "train": {"epochs": 2, "T_max": 2, "batch_size": 4, "threads": 1, "protocol": "B",
              "val_split": "paper", "drop_last": True},
}


def patch_registry(tmp_path, monkeypatch, name, files, expected):
    """Run every Python process of this test with the tiny files' md5s in the registry."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    (site / "registry.json").write_text(json.dumps({name: {"files": files, "expected": expected}}))
    monkeypatch.setenv("PYTHONPATH", str(site))
    monkeypatch.setenv("TINY_REGISTRY", str(site / "registry.json"))


@pytest.mark.slow
def test_tiny_cifar10_served_from_localhost_through_dvc_repro(tmp_path, monkeypatch, server):
    batches = cifar_files(per_batch=7, n_test=5)          # 35 training images, classes (3k + j) % 10
    tarball = cifar_tarball(batches)
    server.routes["/mirror/cifar-10-python.tar.gz"] = lambda h, n: send(h, 200, tarball)
    params = {"dataset": "cifar10", "download": {"mirrors": [server.url("/mirror/")], "retries": 0},
              "frames": {"T": 2, "downsample": 1, "workers": 1},
              "model": {"channels": 4, "blocks": 2, "hidden": 16, "convs": 2, "dropout_hidden": 0.0,
                        "bn": "per_step"},
              "train": {"epochs": 2, "T_max": 2, "batch_size": 4, "threads": 1, "protocol": "A",
                        "drop_last": True}}
    repo = copy_repo(tmp_path / "repo", params)
    patch_registry(tmp_path, monkeypatch, "cifar10",
                   [{"name": "cifar-10-python.tar.gz", "md5": hashlib.md5(tarball).hexdigest(),
                     "size": len(tarball)}], {"train": 35, "test": 5})
    run(["dvc", "repro"], repo)
    with h5py.File(repo / "data" / "frames" / "train.h5") as f:
        assert f["frames"].shape == (35, 3, 32, 32) and f["frames"].dtype == np.uint8
        want = np.concatenate([batches[f"data_batch_{i}"][0] for i in range(1, 6)])
        assert np.array_equal(f["frames"][:], want)
    metrics = json.loads((repo / "results" / "train.json").read_text())
    assert metrics["train_samples"] == 35 and metrics["tau"] and len(metrics["tau"]) == 6   # 4 conv + 2 fc
    assert 0.0 <= json.loads((repo / "results" / "metrics.json").read_text())["test_accuracy"] <= 1.0


@pytest.mark.slow
def test_tiny_mnist_through_dvc_repro(tmp_path, monkeypatch):
    n_train, n_test = 70, 10
    labels = {"train": np.arange(n_train) % 10, "test": np.arange(n_test) % 10}
    images = {"train": rng_images(1, (n_train, 28, 28)), "test": rng_images(2, (n_test, 28, 28))}
    names = {("train", "images"): "train-images-idx3-ubyte.gz", ("train", "labels"): "train-labels-idx1-ubyte.gz",
             ("test", "images"): "t10k-images-idx3-ubyte.gz", ("test", "labels"): "t10k-labels-idx1-ubyte.gz"}
    repo = copy_repo(tmp_path / "repo", PARAMS)
    downloads = repo / "data" / "downloads" / "mnist"
    downloads.mkdir(parents=True)
    files = []
    for (split, kind), name in names.items():
        data = gz(idx_bytes(images[split] if kind == "images" else labels[split].astype(np.uint8)))
        (downloads / name).write_bytes(data)
        files.append({"name": name, "md5": hashlib.md5(data).hexdigest(), "size": len(data)})
    patch_registry(tmp_path, monkeypatch, "mnist", files, {"train": n_train, "test": n_test})

    out = run(["dvc", "repro"], repo)
    assert "Running stage 'evaluate'" in out
    with h5py.File(repo / "data" / "frames" / "train.h5") as f:
        assert f["frames"].dtype == np.uint8 and f["frames"].shape == (n_train, 1, 28, 28)
        assert np.array_equal(f["frames"][:, 0], images["train"]) and np.array_equal(f["labels"][:], labels["train"])
        assert read_meta(f)["kind"] == "images" and read_meta(f)["T"] == 3
    metrics = json.loads((repo / "results" / "train.json").read_text())
    # the paper's split, by hand: each class has 7 samples, ceil(7 * 0.85) = 6 train, 1 validates
    assert (metrics["train_samples"], metrics["val_samples"]) == (60, 10)
    assert metrics["epochs"] == 2 and metrics["amp"] == "off"
    final = json.loads((repo / "results" / "metrics.json").read_text())
    assert 0.0 <= final["test_accuracy"] <= 1.0

    # the tools on an image file: info describes it, preview refuses it in one line
    info = run([sys.executable, "-m", "pipeline", "info", "data/frames/train.h5"], repo)
    assert "images" in info and "mnist" in info
    r = subprocess.run([sys.executable, "-m", "pipeline", "preview", "data/frames/train.h5"], cwd=repo,
                       capture_output=True, text=True)
    assert r.returncode == 1 and "static images" in r.stderr and "Traceback" not in r.stderr

    # T of a static dataset is the network's steps: changing it reruns frames, train, evaluate
    commit(repo, "tiny mnist")
    p = (repo / "params.yaml").read_text().replace("  T: 3", "  T: 2", 1)
    (repo / "params.yaml").write_text(p)
    out = run(["dvc", "repro"], repo)
    assert "Running stage 'frames'" in out and "Running stage 'train'" in out
    assert "Running stage 'download'" not in out
