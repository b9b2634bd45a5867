"""The pieces of the training protocol: the validation split, epoch selection, AMP choice, and
BatchNorm conversion for DDP."""

import numpy as np
import pytest
import torch
from torch import nn

from pipeline.train.data import validation_split
from pipeline.train.distributed import GlobalBatchNorm2d, convert_batchnorm
from pipeline.params import TrainParams
from pipeline.train.stage import better
from pipeline.train.scoring import amp_dtype


def test_validation_split_holds_out_a_share_of_each_class():
    labels = np.repeat(np.arange(11), [100, 98, 107, 110, 100, 99, 101, 104, 103, 100, 1])
    rng = np.random.default_rng(5)
    labels = labels[rng.permutation(len(labels))]
    train, val = validation_split(labels, 0.15, seed=0)
    assert np.intersect1d(train, val).size == 0 and np.union1d(train, val).tolist() == list(range(len(labels)))
    assert (np.diff(train) > 0).all() and (np.diff(val) > 0).all()
    for c in range(10):
        n = (labels == c).sum()
        assert (labels[val] == c).sum() == round(0.15 * n)
    assert (labels[val] == 10).sum() == 0                     # a class of one sample keeps it
    again, _ = validation_split(labels, 0.15, seed=0)
    other, _ = validation_split(labels, 0.15, seed=1)
    assert np.array_equal(train, again) and not np.array_equal(train, other)


def test_a_class_split_depends_only_on_the_seed_and_that_class():
    labels = np.array([0] * 20 + [1] * 20)
    _, val = validation_split(labels, 0.15, seed=3)
    _, val_more = validation_split(np.concatenate([labels, [2] * 30]), 0.15, seed=3)
    assert np.array_equal(val, val_more[val_more < 40])
    _, tiny = validation_split(np.array([0, 0, 1, 1]), 0.15, seed=0)
    assert len(tiny) == 2                                      # at least one of a class of two


def test_epoch_selection_prefers_accuracy_then_loss_then_earlier():
    best = {"epoch": 3, "accuracy": 0.9, "loss": 0.05}
    assert better(0.95, 0.2, best) and not better(0.85, 0.01, best)
    assert better(0.9, 0.04, best) and not better(0.9, 0.05, best)
    assert better(0.1, 1.0, None) and not better(None, None, None)


def test_amp_is_off_on_cpu_unless_asked():
    cpu = torch.device("cpu")
    assert amp_dtype(TrainParams().amp, cpu) is None
    assert amp_dtype(TrainParams(amp="bf16").amp, cpu) == torch.bfloat16
    assert amp_dtype(TrainParams(amp="fp16").amp, cpu) == torch.float16
    assert TrainParams(amp=False).amp == "off"                 # YAML 1.1 reads `amp: off` as false


def test_global_batchnorm_is_batchnorm_outside_a_process_group():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.Sequential(nn.BatchNorm2d(3)))
    model[1].weight.data.uniform_()
    reference = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(4, 2, 6, 6)
    expected = model(x)
    model.load_state_dict(reference)
    converted = convert_batchnorm(model, torch.device("cpu"))
    assert isinstance(converted[1], GlobalBatchNorm2d) and isinstance(converted[2][0], GlobalBatchNorm2d)
    assert all(torch.equal(v, reference[k]) for k, v in converted.state_dict().items())
    assert torch.equal(converted(x), expected)


@pytest.mark.parametrize("value", ["C", "b"])
def test_protocol_is_A_or_B(value):
    with pytest.raises(ValueError):
        TrainParams(protocol=value)
