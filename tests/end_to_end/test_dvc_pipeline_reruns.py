"""`dvc repro` after a param that changes the frames (filters, Tonic's representations: download
skipped; frames, train and evaluate rerun) or the training alone (check, train and evaluate
rerun; train's slice of the params alone is rewritten); putting the param back restores every
stage from DVC's run-cache, with byte-identical frames. Each test starts from a finished run of
the demo configuration, in this module's own copy of the repository (test_dvc_pipeline.py
changes frames.T the same way).
"""

import json

import h5py
import pytest

from dvcrepo import copy_pipeline_repo, repro_if_stale, run, set_params
from pipeline.core.store import read_meta

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return copy_pipeline_repo(tmp_path_factory.mktemp("clone") / "repo")


def test_filters_rerun_frames_and_training_and_switch_back_from_the_run_cache(repo):
    set_params(repo, {"train": {"epochs": 2}})
    repro_if_stale(repo)
    first = (repo / "data/frames/train.h5").read_bytes()
    set_params(repo, {"frames": {"filters": [{"refractory_period": {"refractory_period": 2000}}]}})
    out = run(["dvc", "repro"], repo)
    assert "Stage 'download' didn't change, skipping" in out
    for stage in ("frames", "train", "evaluate"):
        assert f"Running stage '{stage}'" in out
    with h5py.File(repo / "data/frames/train.h5") as f:
        assert json.loads(read_meta(f)["filters"]) == [{"refractory_period": {"refractory_period": 2000}}]
    set_params(repo, {"frames": {"filters": []}})
    out = run(["dvc", "repro"], repo)
    assert "Running stage" not in out, out
    assert (repo / "data/frames/train.h5").read_bytes() == first


def test_representations_rerun_frames_and_training_and_switch_back_from_the_run_cache(repo):
    """Issue 26: Tonic's event bins with an overlap, then a voxel grid, each through dvc repro
    (download skipped; frames, train and evaluate rerun); back to the default counts, every
    stage comes from the run-cache and the frames are the same bytes."""
    set_params(repo, {"train": {"epochs": 2}, "frames": {"filters": []}})
    repro_if_stale(repo)                 # after the test above: nothing to run
    first = (repo / "data/frames/train.h5").read_bytes()
    for frames, dtype, channels in (({"split_by": "event_bins", "overlap": 0.5}, "uint32", 2),
                                    ({"split_by": "number", "overlap": 0.0, "representation": "voxel_grid"},
                                     "float32", 1)):
        set_params(repo, {"frames": frames})
        out = run(["dvc", "repro"], repo)
        assert "Stage 'download' didn't change, skipping" in out
        for stage in ("frames", "train", "evaluate"):
            assert f"Running stage '{stage}'" in out
        with h5py.File(repo / "data/frames/train.h5") as f:
            meta = read_meta(f)
            assert (str(f["frames"].dtype), f["frames"].shape[2]) == (dtype, channels)
        assert meta.get("representation", "counts") == frames.get("representation", "counts")
        counts = "representation" not in frames
        assert meta.get("overlap", 0.0) == frames["overlap"]
        assert meta.get("split_by") == (frames["split_by"] if counts else None)    # it bins counts only
        assert 0.0 <= json.loads((repo / "results/metrics.json").read_text())["test_accuracy"] <= 1.0
    set_params(repo, {"frames": {"split_by": "number", "overlap": 0.0, "representation": "counts"}})
    out = run(["dvc", "repro"], repo)
    assert "Running stage" not in out, out
    assert (repo / "data/frames/train.h5").read_bytes() == first


def test_a_training_param_reruns_check_and_train_and_leaves_the_other_slices_alone(repo):
    """Changing train params (train.augment and train.loss here: augmentation runs in training,
    on the device) rewrites train's slice alone: `dvc status` names check and train, never
    download or frames; `dvc repro evaluate` runs check, train and evaluate and skips download
    and frames, whose slices and frames keep their bytes. Back: every stage from the run-cache."""
    set_params(repo, {"train": {"augment": [], "loss": "mse"}})     # the defaults, as the test leaves them
    repro_if_stale(repo)
    paths = {s: repo / "data" / "params" / f"{s}.json" for s in ("download", "frames", "train", "evaluate")}
    slices = {s: path.read_bytes() if path.exists() else None for s, path in paths.items()}
    frames = (repo / "data/frames/train.h5").read_bytes()
    augment = [{"flip": {"p": 0.5}}, {"cutmix": {"p": 0.5}}]
    set_params(repo, {"train": {"augment": augment, "loss": "tet"}})   # never run before in this repo
    assert set(json.loads(run(["dvc", "status", "--json"], repo))) == {"check", "train"}
    out = run(["dvc", "repro", "evaluate"], repo)
    for stage in ("check", "train", "evaluate"):
        assert f"Running stage '{stage}'" in out, out
    for stage in ("download", "frames"):
        assert f"Stage '{stage}' didn't change, skipping" in out, out
    after = {s: path.read_bytes() for s, path in paths.items()}
    assert [s for s in slices if after[s] != slices[s]] == ["train"]
    assert json.loads(after["train"])["train"]["augment"] == augment and json.loads(after["evaluate"]) == {}
    assert (repo / "data/frames/train.h5").read_bytes() == frames
    set_params(repo, {"train": {"augment": [], "loss": "mse"}})
    out = run(["dvc", "repro"], repo)                   # back: every stage from the run-cache
    assert "Running stage" not in out, out
