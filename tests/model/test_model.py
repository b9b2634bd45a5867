"""More checks of pipeline.model against hand-worked numbers, beside test_neuron.py and test_network.py.

These cover what those two files leave out: the forward arithmetic written out with
math.exp for a w != 0, neurons independent over (B, ...), dtype, another alpha,
per-sample independence of the network (T and B kept apart), the grouping of the votes,
and the ValueErrors.
"""

import math

import pytest
import torch
from torch import nn

from pipeline.model import PLIF, SeqDropout, SpikingConvNet, atan_spike, plif_multistep


def test_forward_written_out_with_exp():
    w = -0.4
    k = 1.0 / (1.0 + math.exp(0.4))            # sigmoid(-0.4) = 0.40131..., tau = 2.4918...
    x = [2.0, 3.0, 0.5, 1.0]
    v1 = 0.0 + (x[0] - 0.0) * k                # 0.8026  below threshold
    v2 = v1 + (x[1] - v1) * k                  # 1.6845  fires, reset to 0
    v3 = 0.0 + (x[2] - 0.0) * k                # 0.2007  below
    v4 = v3 + (x[3] - v3) * k                  # 0.5215  below
    assert v1 < 0.9 and v2 > 1.1 and v3 < 0.9 and v4 < 0.9     # far from v_th: float32 can't flip them
    assert v2 + (x[2] - v2) * k > 1.1          # without the reset step 3 would fire: the reset matters
    expected = [0.0, 1.0, 0.0, 0.0]

    # (T, B, C) = (4, 2, 3); the sequence drives one neuron, the others get nothing
    xs = torch.zeros(4, 2, 3)
    xs[:, 1, 2] = torch.tensor(x)
    s = plif_multistep(xs, torch.tensor(w))
    assert s.shape == (4, 2, 3) and s.dtype == torch.float32
    assert s[:, 1, 2].tolist() == expected
    s[:, 1, 2] = 0
    assert not s.any()
    # the module with tau0 = 1 + exp(0.4) has the same w
    m = PLIF(1.0 + math.exp(0.4))
    assert m.w.item() == pytest.approx(w, abs=1e-6)
    assert m(xs)[:, 1, 2].tolist() == expected


def test_surrogate_dtype_and_other_alpha():
    u = torch.tensor([-0.5, 0.0, 0.25], dtype=torch.float64, requires_grad=True)
    s = atan_spike(u, 4.0)
    assert s.dtype == torch.float64 and s.tolist() == [0.0, 1.0, 1.0]
    (s * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum().backward()
    # alpha = 4: 4 / (2 (1 + (pi/2 * 4 * u)^2)) = 2 / (1 + (2 pi u)^2), times the upstream gradient
    assert u.grad.tolist() == pytest.approx(
        [1.0 * 2 / (1 + math.pi ** 2), 2.0 * 2.0, 3.0 * 2 / (1 + (math.pi / 2) ** 2)], rel=1e-12)


def test_gradient_reaches_w_only_when_learnable():
    x = torch.rand(5, 2, 4) * 3
    plif, lif = PLIF(2.0), PLIF(2.0, learnable=False)
    plif(x).sum().backward()
    assert plif.w.grad is not None and plif.w.grad.item() != 0.0
    assert not lif.w.requires_grad and "w" in dict(lif.named_buffers())


def test_network_keeps_samples_apart():
    """Eval mode: a sample's output does not depend on what else is in the batch (T, B not mixed)."""
    torch.manual_seed(0)
    m = SpikingConvNet(input_size=(16, 16), channels=4, blocks=2, hidden=16, classes=3, votes=4).eval()
    with torch.no_grad():                      # non-negative weights so that spikes reach the output
        for layer in m.modules():
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                layer.weight.abs_()
    gain = torch.tensor([0.3, 1.0, 3.0]).reshape(3, 1, 1, 1, 1)
    x = torch.rand(3, 7, 2, 16, 16) * gain     # (B, T, C, H, W), three differently driven samples
    batch = m(x)
    alone = torch.cat([m(x[i:i + 1]) for i in range(3)])
    assert torch.equal(batch, alone)
    # not vacuous: the samples fire at different rates, so a T/B mix-up would show
    assert batch[0].sum() < batch[1].sum() < batch[2].sum()


def test_votes_are_consecutive_output_neurons():
    """Class c is the mean of output neurons c * votes ... (c + 1) * votes - 1."""
    torch.manual_seed(0)
    classes, votes = 3, 4
    m = SpikingConvNet(input_size=(8, 8), channels=4, blocks=1, hidden=8, classes=classes, votes=votes).eval()
    with torch.no_grad():
        for layer in m.modules():
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                layer.weight.abs_().add_(0.5)             # everything that gets input fires
        last = [l for l in m.modules() if isinstance(l, nn.Linear)][-1]
        last.weight.zero_()
        last.weight[votes + 1].fill_(10.0)             # only the 2nd vote of class 1 is driven
    rate = m(torch.ones(1, 5, 2, 8, 8))
    # that neuron fires at some rate r > 0; class 1 gets r / votes, the other classes nothing
    assert rate[0, 0] == 0 and rate[0, 2] == 0 and rate[0, 1] > 0
    assert (rate[0, 1] * votes * 5).item() == pytest.approx(round((rate[0, 1] * votes * 5).item()))


def test_network_neuron_layers_and_taus():
    m = SpikingConvNet(input_size=(16, 16), channels=4, blocks=3, hidden=8, classes=2, tau0=3.0)
    assert m.taus() == pytest.approx([3.0] * 5)                 # 3 conv blocks + 2 linear
    lif = SpikingConvNet(input_size=(16, 16), channels=4, blocks=3, hidden=8, classes=2, neuron="lif")
    names = [n for n, _ in lif.named_parameters()]
    assert names and not any(n.endswith(".w") or n == "w" for n in names)
    assert len([b for b in lif.buffers() if b.dim() == 0 and b.is_floating_point()]) == 5


def test_odd_input_size_floors():
    m = SpikingConvNet(input_size=(35, 21), channels=4, blocks=2, hidden=8, classes=2)
    # 35 -> 17 -> 8, 21 -> 10 -> 5
    assert [l.in_features for l in m.modules() if isinstance(l, nn.Linear)][0] == 4 * 8 * 5
    assert m(torch.rand(1, 2, 2, 35, 21)).shape == (1, 2)


@pytest.mark.parametrize("kwargs", [dict(input_size=(16, 16), blocks=5), dict(input_size=(64, 8), blocks=4),
                                    dict(neuron="if"), dict(pooling="sum"), dict(tau0=1.0)])
def test_network_rejects_bad_configs(kwargs):
    with pytest.raises(ValueError):
        SpikingConvNet(**{"channels": 4, "hidden": 8, **kwargs})


def test_seq_dropout_on_frames():
    torch.manual_seed(2)
    d = SeqDropout(0.25).train()
    x = torch.ones(4, 3, 2, 5, 5, requires_grad=True)
    y = d(x)
    zero = y == 0
    assert (zero == zero[0]).all()                          # one mask per sample over all T
    assert not torch.equal(zero[0, 0], zero[0, 1])          # but samples draw their own masks
    assert torch.allclose(y[~zero], torch.tensor(1 / 0.75))
    y.sum().backward()                                      # the gradient goes through the same mask
    assert torch.equal(x.grad, y.detach())
