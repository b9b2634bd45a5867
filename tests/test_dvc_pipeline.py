"""`dvc repro` of a tiny demo configuration in a temporary copy of the repository.

Checks the whole chain (download -> frames -> train -> evaluate), that changing frames.T
skips `download` and reruns the rest, and that putting T back restores every stage from
DVC's run-cache with byte-identical frames.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

TINY = {
    "demo": {"train_users": 1, "test_users": 1, "lightings": ["fluorescent"], "repeats": 1,
             "gesture_ms": 300, "gap_ms": 200},
    "frames": {"T": 4, "downsample": 4, "workers": 2},
    "model": {"channels": 4, "blocks": 2, "hidden": 16},
    "train": {"epochs": 2, "T_max": 2, "batch_size": 4, "threads": 1},
}


def run(cmd, cwd):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert r.returncode == 0, f"{' '.join(cmd)} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout + r.stderr


def set_params(repo, patch):
    p = yaml.safe_load((repo / "params.yaml").read_text())
    for section, values in patch.items():
        p[section].update(values)
    (repo / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    dst = tmp_path_factory.mktemp("clone") / "repo"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for f in files:
        if f == "dvc.lock" or not (ROOT / f).is_file():
            continue
        (dst / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, dst / f)
    set_params(dst, TINY)
    run(["git", "init", "-q"], dst)
    run(["git", "add", "-A"], dst)
    run(["git", "-c", "user.email=t@localhost", "-c", "user.name=t", "commit", "-qm", "copy"], dst)
    return dst


def test_repro_T_change_and_run_cache(repo):
    out = run(["dvc", "repro"], repo)
    for stage in ("download", "frames", "train", "evaluate"):
        assert f"Running stage '{stage}'" in out
    metrics = json.loads((repo / "results/metrics.json").read_text())
    assert 0.0 <= metrics["test_accuracy"] <= 1.0 and metrics["test_samples"] == 8
    assert len(metrics["tau"]) == 2 + 2 and metrics["epochs"] == 2
    with h5py.File(repo / "data/frames/train.h5") as f:
        assert f["frames"].shape == (8, 4, 2, 32, 32) and f.attrs["T"] == 4
    first = (repo / "data/frames/train.h5").read_bytes()
    # nothing the stages left behind (bytecode, Numba caches) makes DVC think code changed
    assert "up to date" in run(["dvc", "status"], repo)
    log = (repo / "results/train_log.csv").read_text().splitlines()
    assert log[0].startswith("epoch,loss,accuracy") and "tau_3" in log[0] and len(log) == 3

    set_params(repo, {"frames": {"T": 6}})
    out = run(["dvc", "repro"], repo)
    assert "Stage 'download' didn't change, skipping" in out
    for stage in ("frames", "train", "evaluate"):
        assert f"Running stage '{stage}'" in out
    with h5py.File(repo / "data/frames/train.h5") as f:
        assert f.attrs["T"] == 6

    set_params(repo, {"frames": {"T": 4}})
    out = run(["dvc", "repro"], repo)
    assert "Running stage" not in out, out
    for stage in ("frames", "train", "evaluate"):
        assert f"Stage '{stage}' is cached - skipping run, checking out outputs" in out
    assert (repo / "data/frames/train.h5").read_bytes() == first

    # a training-only param leaves the frames alone
    set_params(repo, {"train": {"epochs": 1}})
    out = run(["dvc", "repro"], repo)
    assert "Stage 'frames' didn't change, skipping" in out and "Running stage 'train'" in out
