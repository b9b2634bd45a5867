"""The paper's training recipe: per-step BatchNorm, its validation split, drop_last, the
static-image network, and the shipped paper configs."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from pipeline.train.data import paper_split
from pipeline.model import SpikingConvNet, build_model
from pipeline.model.network import ConvBN
from pipeline.params import ModelParams, TrainParams, load_params
from pipeline.train.stage import train

ROOT = Path(__file__).resolve().parents[2]
EPS = 1e-5


def identity_convbn(bn: str) -> ConvBN:
    m = ConvBN(1, 1, bn)
    with torch.no_grad():
        m.conv.weight.zero_()
        m.conv.weight[0, 0, 1, 1] = 1.0          # the convolution passes its input through
    return m


def steps_of_different_distributions():
    """T = 2 steps of B = 2 samples of 2 x 2 pixels: step 0 around 0, step 1 around 10."""
    a = np.array([[[-1.0, 1.0], [0.5, -0.5]], [[2.0, -2.0], [0.0, 0.0]]])
    b = a * 3 + 10
    return np.stack([a, b])[:, :, None]          # (T, B, C=1, H, W)


def test_per_step_batchnorm_normalises_each_step_with_its_own_statistics():
    x = steps_of_different_distributions()
    y = identity_convbn("per_step").train()(torch.tensor(x, dtype=torch.float32)).detach().numpy()
    for t in range(2):                           # by hand: (x - mean_t) / sqrt(var_t + eps), biased var
        step = x[t]
        assert np.allclose(y[t], (step - step.mean()) / np.sqrt(step.var() + EPS), atol=1e-5)
    assert abs(y[1].mean()) < 1e-6               # step 1 is centred on its own mean


def test_joint_batchnorm_pools_all_steps():
    x = steps_of_different_distributions()
    y = identity_convbn("joint").train()(torch.tensor(x, dtype=torch.float32)).detach().numpy()
    assert np.allclose(y, (x - x.mean()) / np.sqrt(x.var() + EPS), atol=1e-5)
    assert y[0].mean() < -0.8 and y[1].mean() > 0.8   # the steps stay apart


def test_running_statistics_are_updated_once_per_step_or_once():
    x = steps_of_different_distributions()
    m = 0.1                                      # BatchNorm momentum; running var uses the unbiased var
    per_step = identity_convbn("per_step").train()
    per_step(torch.tensor(x, dtype=torch.float32))
    mean, var = 0.0, 1.0
    for t in range(2):
        mean = (1 - m) * mean + m * x[t].mean()
        var = (1 - m) * var + m * x[t].var(ddof=1)
    assert per_step.bn.running_mean.item() == pytest.approx(mean, rel=1e-5)
    assert per_step.bn.running_var.item() == pytest.approx(var, rel=1e-5)
    joint = identity_convbn("joint").train()
    joint(torch.tensor(x, dtype=torch.float32))
    assert joint.bn.running_mean.item() == pytest.approx(m * x.mean(), rel=1e-5)
    assert joint.bn.running_var.item() == pytest.approx((1 - m) + m * x.var(ddof=1), rel=1e-5)


def test_per_step_equals_the_layer_run_one_step_at_a_time():
    """The paper's code calls the network once per step; per_step BN gives what that gives."""
    torch.manual_seed(0)
    layer = ConvBN(2, 4, "per_step").train()
    with torch.no_grad():
        layer.bn.weight.uniform_(0.5, 2.0)
        layer.bn.bias.uniform_(-1.0, 1.0)
    x = torch.rand(5, 3, 2, 8, 8) * 3 + torch.arange(5.0).reshape(5, 1, 1, 1, 1)   # (T, B, C, H, W)
    bn = nn.BatchNorm2d(4).train()
    bn.load_state_dict(layer.bn.state_dict())
    by_hand = torch.stack([bn(layer.conv(x[t])) for t in range(5)])
    assert torch.allclose(layer(x), by_hand, atol=1e-5)
    assert torch.allclose(layer.bn.running_mean, bn.running_mean, atol=1e-6)


def test_eval_mode_uses_running_statistics_either_way():
    torch.manual_seed(0)
    kw = dict(input_size=(8, 8), channels=4, blocks=1, hidden=8, classes=2, votes=2)
    a, b = SpikingConvNet(bn="per_step", **kw), SpikingConvNet(bn="joint", **kw)
    b.load_state_dict(a.state_dict())
    x = torch.rand(2, 4, 2, 8, 8) * 3
    assert torch.equal(a.eval()(x), b.eval()(x))


def split_by_the_papers_algorithm(labels, ratio0):
    """The paper's split_dataset (codes/train_val.py), transcribed: per class, in dataset order."""
    idx_list = [[] for _ in range(max(labels) + 1)]
    for i, y in enumerate(labels):
        idx_list[y].append(i)
    list0, list1 = [], []
    for idx in idx_list:
        pos = math.ceil(len(idx) * ratio0)
        list0.extend(idx[:pos])
        list1.extend(idx[pos:])
    return sorted(list0), sorted(list1)


def test_paper_split_by_hand():
    labels = np.array([0, 1, 0, 1, 0, 1, 0, 1, 1, 1])   # class 0: 4 samples, class 1: 6
    train, val = paper_split(labels, 0.5)
    # class 0: ceil(4 * 0.5) = 2 train (0, 2), val (4, 6); class 1: ceil(3) = 3 train (1, 3, 5), val (7, 8, 9)
    assert train.tolist() == [0, 1, 2, 3, 5] and val.tolist() == [4, 6, 7, 8, 9]


@pytest.mark.parametrize("counts", [[98, 98, 98, 98, 98, 98, 98, 98, 98, 98, 96], [107, 1, 20, 7]])
def test_paper_split_equals_the_papers_code(counts):
    rng = np.random.default_rng(1)
    labels = rng.permutation(np.repeat(np.arange(len(counts)), counts))
    train, val = paper_split(labels, 0.15)
    ref_train, ref_val = split_by_the_papers_algorithm(labels.tolist(), 1 - 0.15)
    assert train.tolist() == ref_train and val.tolist() == ref_val


def test_drop_last_drops_the_partial_batch(tmp_path, tiny_frames):
    """32 training samples, batch 12: 2 full batches and a partial one of 8."""
    mp = ModelParams(channels=4, blocks=2, hidden=8, votes=2, dropout=0.0)
    steps = {}
    for drop in (False, True):
        tp = TrainParams(epochs=1, T_max=1, batch_size=12, lr=0.01, threads=1, protocol="A", drop_last=drop)
        out = tmp_path / str(drop)
        train(*tiny_frames, list("abcd"), mp, tp, out / "models", out / "log.csv", out / "m.json")
        opt = torch.load(out / "models" / "checkpoint.pt", weights_only=True)["optimizer"]
        steps[drop] = int(next(iter(opt["state"].values()))["step"])
    assert steps == {False: 3, True: 2}


def test_static_network_repeats_one_encoding():
    torch.manual_seed(0)
    mp = ModelParams(channels=4, blocks=2, hidden=8, votes=2, dropout=0.0, dropout_hidden=0.0, convs=2)
    net = build_model(mp, (6, 3, 8, 8), 10, {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}).eval()
    first_plif_inputs = []
    net.layers[0].register_forward_hook(lambda m, i, o: first_plif_inputs.append(i[0]))
    x = torch.randint(0, 256, (2, 3, 8, 8)).float()
    assert net(x).shape == (2, 10)
    seq = first_plif_inputs[0]                   # what the first neurons receive, (T, B, 4, 8, 8)
    assert seq.shape == (6, 2, 4, 8, 8) and all(torch.equal(seq[t], seq[0]) for t in range(6))
    # the encoder is Conv + BN on the normalised image, once
    enc = net.encoder[1](net.encoder[0]((x / 255 - 0.5) / 0.25))
    assert torch.allclose(seq[0], enc, atol=1e-6)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 4 and [c.in_channels for c in convs] == [3, 4, 4, 4]   # encoder + 3 ConvBN
    assert not any(isinstance(m, nn.Dropout) for m in net.modules())


PAPER = {   # counted from the paper's own code (codes/models.py), parameters only (no BN buffers)
    "dvsgesture": (20, 1_698_311), "cifar10_dvs": (20, 17_427_718), "nmnist": (10, 17_132_292),
    "mnist": (8, 13_198_980), "fashion_mnist": (8, 13_198_980), "cifar10": (8, 36_718_344),
}


@pytest.mark.parametrize("name", sorted(PAPER))
def test_paper_configs_carry_the_recipe(name):
    p = load_params(ROOT / "configs" / f"{name}-paper.yaml")
    assert p.dataset == name and p.frames.T == PAPER[name][0]
    t = p.train
    assert (t.epochs, t.lr, t.T_max, t.batch_size, t.drop_last, t.amp) == (1024, 1e-3, 64, 16, True, "off")
    assert (t.protocol, t.val_split, t.val_fraction) == ("B", "paper", 0.15)
    assert p.model.bn == "per_step" and (p.model.neuron, p.model.tau0, p.model.pooling) == ("plif", 2.0, "max")


@pytest.mark.parametrize("name", sorted(PAPER))
def test_summary_counts_the_papers_parameters(name, capsys):
    from pipeline.cli.main import main

    assert main(["summary", str(ROOT / "configs" / f"{name}-paper.yaml")]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == f"parameters: {PAPER[name][1]}"
    assert any("Linear" in line for line in out) and len(out) > 10


def test_per_step_in_one_call_equals_one_call_per_step(monkeypatch):
    """A batch-major batch (each sample's T steps together, as frames arrive) takes the one-call
    path: BatchNorm over (B, T*C, H, W), the running statistics updated in closed form. It must
    give what T calls of the layer's BatchNorm give: outputs, gradients (input, weight, bias),
    running mean and variance after two batches, and the count of batches tracked."""
    from pipeline.model import network

    calls = []
    real = network.per_step_batch_norm
    monkeypatch.setattr(network, "per_step_batch_norm", lambda *a: calls.append(1) or real(*a))
    torch.manual_seed(1)
    T, B, C = 6, 3, 4
    one_call = ConvBN(2, C, "per_step").train()
    with torch.no_grad():
        one_call.bn.weight.uniform_(0.5, 2.0)
        one_call.bn.bias.uniform_(-1.0, 1.0)
    by_step = ConvBN(2, C, "per_step").train()
    by_step.load_state_dict(one_call.state_dict())
    for batch in range(2):
        frames = torch.rand(B, T, 2, 8, 8) * 3 + torch.arange(T * 1.0).reshape(1, T, 1, 1, 1) * (batch + 1)
        x1 = frames.transpose(0, 1).requires_grad_()              # (T, B, ...) view: batch-major memory
        x2 = frames.transpose(0, 1).contiguous().requires_grad_()  # time-major: one call per step
        y1, y2 = one_call(x1), by_step(x2)
        torch.testing.assert_close(y1, y2, rtol=1e-5, atol=1e-5)
        g = torch.randn(y1.shape)
        (y1 * g).sum().backward()
        (y2 * g).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-4, atol=1e-5)
    for name in ("conv.weight", "bn.weight", "bn.bias"):
        a, b = dict(one_call.named_parameters())[name].grad, dict(by_step.named_parameters())[name].grad
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4, msg=name)
    torch.testing.assert_close(one_call.bn.running_mean, by_step.bn.running_mean, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(one_call.bn.running_var, by_step.bn.running_var, rtol=1e-5, atol=1e-6)
    assert one_call.bn.num_batches_tracked.item() == by_step.bn.num_batches_tracked.item() == 2 * T
    assert len(calls) == 2                                        # the time-major layer never took it


def test_per_step_running_statistics_in_closed_form_by_hand():
    """The closed form against the hand recursion of test_running_statistics_... above, on a
    batch-major batch (the one-call path)."""
    x = steps_of_different_distributions()                          # (T, B, 1, 2, 2)
    m = 0.1
    layer = identity_convbn("per_step").train()
    batch_major = torch.tensor(x, dtype=torch.float32).transpose(0, 1).contiguous().transpose(0, 1)
    layer(batch_major)
    mean, var = 0.0, 1.0
    for t in range(2):
        mean = (1 - m) * mean + m * x[t].mean()
        var = (1 - m) * var + m * x[t].var(ddof=1)
    assert layer.bn.running_mean.item() == pytest.approx(mean, rel=1e-5)
    assert layer.bn.running_var.item() == pytest.approx(var, rel=1e-5)
