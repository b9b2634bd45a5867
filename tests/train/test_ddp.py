"""DDP through torchrun (CPU, gloo): two processes learn what one process learns.

On a configuration where it must hold (dropout 0, BatchNorm statistics over the global batch,
a sample count that the global batch and the ranks divide), two ranks with half of each
global batch each end every step with the averaged gradients and the weights of one process
given the whole batch, up to float rounding. Without synchronised BatchNorm they do not.
"""

import json

import numpy as np
import pytest
import torch

from tinyframes import TRAIN
from workspace import HELPERS, run, run_stage


@pytest.fixture
def data(tiny_frames):
    return tiny_frames


def launch(args, cwd, nproc=None, env=None) -> str:
    r = run(args, cwd, nproc, env)
    return r.stdout + r.stderr


def steps(data, tmp_path, nproc, sync_bn=True, n=4):
    out = tmp_path / f"steps-{nproc}-{sync_bn}.pt"
    launch([HELPERS / "ddp_steps.py", data[0], out, n, str(sync_bn).lower()], tmp_path, nproc)
    return torch.load(out, weights_only=True)


def max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a)


def test_two_processes_average_the_gradients_of_one(data, tmp_path):
    one = steps(data, tmp_path, None)
    two = steps(data, tmp_path, 2)
    assert (one["world_size"], two["world_size"]) == (1, 2)
    assert len(one["steps"]) == len(two["steps"]) == 4
    for a, b in zip(one["steps"], two["steps"]):
        assert a["batch"] == b["batch"] == TRAIN.batch_size
        scale = max(g.abs().max().item() for g in a["grads"].values())
        assert scale > 1e-5                                    # the gradients are not all zero
        assert max_diff(a["grads"], b["grads"]) <= 1e-4 * scale
        assert max_diff(a["state"], b["state"]) <= 1e-5        # weights and BN running statistics
    # the BatchNorm statistics are what makes it hold: per-rank statistics give other gradients
    local = steps(data, tmp_path, 2, sync_bn=False, n=1)
    a, b = one["steps"][0], local["steps"][0]
    scale = max(g.abs().max().item() for g in a["grads"].values())
    assert max_diff(a["grads"], b["grads"]) > 1e-2 * scale


#: every op but cutmix (whose partner comes from the process's share of the batch): each sample
#: is augmented as one process augments it, so the runs agree; and TET's loss on each step
AUGMENTED = {"loss": "tet", "augment": [{"flip": {"p": 0.5}}, {"roll": {"max_shift": 2}}, {"rotate": {"degrees": 20}},
                                        {"shear": {"max": 0.3}}, {"cutout": {"size": 0.25}},
                                        {"drop": {"p": 0.1, "by": "frames"}}, {"drop": {"p": 0.05, "by": "pixels"}}]}


def test_train_stage_under_torchrun(train_workspace):
    one = train_workspace("one", epochs=2, T_max=2, **AUGMENTED)
    two = train_workspace("two", epochs=2, T_max=2, **AUGMENTED)
    run_stage("train", one)
    r = run_stage("train", two, nproc=2)
    out = r.stdout + r.stderr
    assert out.count("train: 2 epochs") == 1 and "by 2 process(es)" in out   # rank 0 alone prints
    m1, m2 = (json.loads((d / "results/train.json").read_text()) for d in (one, two))
    assert (m1["processes"], m2["processes"]) == (1, 2)
    for k in ("selected_epoch", "best_epoch_A", "best_epoch_B", "train_samples", "val_samples",
              "accuracy_A_test_best_epoch", "accuracy_B_test_at_best_val_epoch", "val_accuracy_best"):
        assert m1[k] == m2[k], k
    assert m1["train_loss"] == pytest.approx(m2["train_loss"], rel=1e-4)
    w1, w2 = (torch.load(d / "models/checkpoint.pt", weights_only=True) for d in (one, two))
    assert max_diff(w1["model"], w2["model"]) <= 1e-5
    assert w2["world_size"] == 2 and len(w2["rng"]) == 2    # every rank's random state is kept
    for d in (one, two):                                     # completed: nothing left to resume
        assert not any((d / "checkpoints").iterdir())


def test_global_batch_must_split_over_the_ranks(data):
    from pipeline.train.data import H5Frames
    from pipeline.train.distributed import Context
    from pipeline.train.placement import train_loader

    frames = H5Frames(data[0])
    loader, _, _ = train_loader(frames, np.arange(32), TRAIN, Context(rank=1, world_size=2))
    assert loader.batch_size == TRAIN.batch_size // 2
    with pytest.raises(ValueError, match="batch_size 7 .* does not split evenly over 2 processes"):
        train_loader(frames, np.arange(32), TRAIN.model_copy(update={"batch_size": 7}), Context(world_size=2))
