"""The paper's networks: shapes, output quantisation, shared dropout masks, learning tau."""

import pytest
import torch
from torch import nn

from pipeline.model import PLIF, SeqDropout, SpikingConvNet, loss_fn


def linears(m):
    return [(l.in_features, l.out_features) for l in m.modules() if isinstance(l, nn.Linear)]


def test_paper_architectures():
    g = SpikingConvNet(input_size=(128, 128), channels=128, blocks=5, hidden=512, classes=11)
    assert linears(g) == [(2048, 512), (512, 110)]
    convs = [c for c in g.modules() if isinstance(c, nn.Conv2d)]
    assert len(convs) == 5 and all(c.bias is None and c.kernel_size == (3, 3) for c in convs)
    assert sum(isinstance(m, PLIF) for m in g.modules()) == 7
    assert sum(isinstance(m, nn.MaxPool2d) for m in g.modules()) == 5
    n = SpikingConvNet(input_size=(34, 34), channels=128, blocks=2, hidden=2048, classes=10)
    assert linears(n) == [(8192, 2048), (2048, 100)]
    c = SpikingConvNet(input_size=(128, 128), channels=128, blocks=4, hidden=2048, classes=10)
    assert linears(c) == [(8192, 2048), (2048, 100)]
    a = SpikingConvNet(input_size=(32, 32), channels=8, blocks=2, pooling="avg")
    assert sum(isinstance(m, nn.AvgPool2d) for m in a.modules()) == 2


def test_output_is_a_firing_rate():
    torch.manual_seed(0)
    T, votes = 5, 10
    m = SpikingConvNet(input_size=(16, 16), channels=4, blocks=2, hidden=16, classes=3, votes=votes)
    rate = m(torch.rand(2, T, 2, 16, 16) * 5)
    assert rate.shape == (2, 3)
    assert ((rate >= 0) & (rate <= 1)).all()
    steps = rate * T * votes                  # counts of spikes over T steps and the 10 votes
    assert torch.allclose(steps, steps.round(), atol=1e-5)


def test_dropout_mask_shared_over_time():
    torch.manual_seed(1)
    d = SeqDropout(0.5).train()
    y = d(torch.ones(6, 3, 40))
    zero = y == 0
    assert zero[0].any() and (~zero[0]).any()
    assert (zero == zero[0]).all()            # same positions at every step
    assert torch.allclose(y[~zero], torch.tensor(2.0))
    d.eval()
    assert torch.equal(d(torch.ones(6, 3, 40)), torch.ones(6, 3, 40))


def test_loss_is_mse_against_one_hot():
    rate = torch.tensor([[0.2, 0.8], [0.5, 0.0]])
    # ((0.2-0)^2 + (0.8-1)^2 + (0.5-1)^2 + 0^2) / 4
    assert loss_fn(rate, torch.tensor([1, 0]), 2).item() == pytest.approx(0.33 / 4, rel=1e-6)


def train_taus(neuron):
    torch.manual_seed(0)
    m = SpikingConvNet(input_size=(8, 8), channels=4, blocks=1, hidden=8, classes=2, votes=2, neuron=neuron)
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    before = m.taus()
    x, y = torch.rand(4, 6, 2, 8, 8) * 4, torch.tensor([0, 1, 0, 1])
    for _ in range(5):
        opt.zero_grad()
        loss_fn(m(x), y, 2).backward()
        opt.step()
    return before, m.taus()


def test_plif_tau_learns_lif_tau_does_not():
    before, after = train_taus("plif")
    assert before == [2.0] * 3
    assert all(abs(a - 2.0) > 1e-4 for a in after)
    before, after = train_taus("lif")
    assert after == [2.0] * 3


def test_zero_blocks_is_a_fully_connected_network():
    """model.blocks: 0 (the audio datasets' 1-D sensors): Flatten, Linear, PLIF, Linear, PLIF."""
    m = SpikingConvNet(in_channels=2, input_size=(1, 700), channels=8, blocks=0, hidden=64, classes=20, votes=10)
    assert linears(m) == [(2 * 700, 64), (64, 200)]
    assert not any(isinstance(x, nn.Conv2d) for x in m.modules())
    assert m(torch.rand(3, 5, 2, 1, 700) * 3).shape == (3, 20)
