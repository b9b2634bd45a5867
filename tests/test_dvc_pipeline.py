"""`dvc repro` of a tiny demo configuration in a temporary copy of the repository.

Checks the whole chain (download -> frames -> train -> evaluate), that changing frames.T
skips `download` and reruns the rest, and that putting T back restores every stage from
DVC's run-cache with byte-identical frames.
"""

import json

import h5py
import pytest

from dvcrepo import TINY, copy_repo, run, set_params

pytestmark = pytest.mark.slow
# two samples per class, so protocol B (the default) can hold one of each out for validation
PARAMS = {**TINY, "demo": {**TINY["demo"], "repeats": 2}, "train": {**TINY["train"], "protocol": "B"}}


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return copy_repo(tmp_path_factory.mktemp("clone") / "repo", PARAMS)


def test_repro_T_change_and_run_cache(repo):
    set_params(repo, {"frames": {"T": 16}})
    out = run(["dvc", "repro"], repo)
    for stage in ("download", "frames", "train", "evaluate"):
        assert f"Running stage '{stage}'" in out
    metrics = json.loads((repo / "results/metrics.json").read_text())
    assert 0.0 <= metrics["test_accuracy"] <= 1.0 and metrics["test_samples"] == 16
    assert len(metrics["tau"]) == 2 + 2 and metrics["epochs"] == 2
    # protocol B: the model kept is that of the best validation epoch, scored again by evaluate
    assert metrics["protocol"] == "B" and (metrics["train_samples"], metrics["val_samples"]) == (8, 8)
    assert metrics["model_epoch"] == metrics["selected_epoch"] == metrics["best_epoch_B"]
    assert metrics["test_accuracy"] == metrics["accuracy_B_test_at_best_val_epoch"]
    assert 0.0 <= metrics["accuracy_A_test_best_epoch"] <= 1.0 and metrics["best_epoch_A"] in (1, 2)
    assert not any((repo / "checkpoints").iterdir())    # a completed run leaves nothing to resume
    with h5py.File(repo / "data/frames/train.h5") as f:
        assert f["frames"].shape == (16, 16, 2, 32, 32) and f.attrs["T"] == 16
    first = (repo / "data/frames/train.h5").read_bytes()
    # outputs are hard links to the cache: the cache does not double the disk used
    for f in ("data/frames/train.h5", "data/raw/SOURCE.json", "models/model.pt", "models/checkpoint.pt"):
        assert (repo / f).stat().st_nlink >= 2, f
    # nothing the stages left behind (bytecode, Numba caches) makes DVC think code changed
    assert "up to date" in run(["dvc", "status"], repo)
    log = (repo / "results/train_log.csv").read_text().splitlines()
    assert log[0].startswith("epoch,loss,accuracy,val_loss,val_accuracy,test_loss,test_accuracy")
    assert "tau_3" in log[0] and len(log) == 3

    set_params(repo, {"frames": {"T": 20}})
    out = run(["dvc", "repro"], repo)
    assert "Stage 'download' didn't change, skipping" in out
    for stage in ("frames", "train", "evaluate"):
        assert f"Running stage '{stage}'" in out
    with h5py.File(repo / "data/frames/train.h5") as f:
        assert f.attrs["T"] == 20

    set_params(repo, {"frames": {"T": 16}})
    out = run(["dvc", "repro"], repo)
    assert "Running stage" not in out, out
    for stage in ("frames", "train", "evaluate"):
        assert f"Stage '{stage}' is cached - skipping run, checking out outputs" in out
    assert (repo / "data/frames/train.h5").read_bytes() == first

    # a training-only param leaves the frames alone
    set_params(repo, {"train": {"epochs": 1}})
    out = run(["dvc", "repro"], repo)
    assert "Stage 'frames' didn't change, skipping" in out and "Running stage 'train'" in out
