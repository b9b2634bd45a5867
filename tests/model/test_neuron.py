"""The PLIF neuron and ATan surrogate against numbers worked out by hand."""

import math

import pytest
import torch

from pipeline.model import PLIF, Firing, atan_spike, plif_multistep


def sig(w):
    return 1.0 / (1.0 + math.exp(-w))


def g(u, alpha=2.0):
    """d spike / d v of the ATan surrogate at v - v_th = u."""
    return alpha / (2.0 * (1.0 + (math.pi / 2.0 * alpha * u) ** 2))


def test_forward_by_hand_tau_2():
    # w = 0 -> sigmoid = 0.5 (tau = 2). v: 0.75 | 1.125 fire -> 0 | 0.1 | 0.1 + 2.4 * 0.5 = 1.3 fire
    x = torch.tensor([1.5, 1.5, 0.2, 2.5]).reshape(4, 1)
    s = plif_multistep(x, torch.tensor(0.0))
    assert s.flatten().tolist() == [0.0, 1.0, 0.0, 1.0]


def test_forward_by_hand_other_tau_and_threshold_equality():
    w = math.log(3.0)                         # sigmoid = 0.75, tau = 4/3
    x = torch.tensor([1.0, 1.0, 4.0 / 3.0]).reshape(3, 1).double()
    # v1 = 0.75, v2 = 0.75 + 0.25 * 0.75 = 0.9375, v3 = 0.9375 + (4/3 - 0.9375) * 0.75 = 1.234375 -> fire
    assert plif_multistep(x, torch.tensor(w).double()).flatten().tolist() == [0.0, 0.0, 1.0]
    # exactly at threshold fires (v >= 1): w = 0, x = 2 -> v = 1.0
    assert plif_multistep(torch.tensor([[2.0]]), torch.tensor(0.0)).item() == 1.0


def test_surrogate_gradient_formula():
    u = torch.tensor([-1.0, -0.1, 0.0, 0.3, 2.0], dtype=torch.float64, requires_grad=True)
    atan_spike(u, 2.0).sum().backward()
    assert u.grad.tolist() == pytest.approx([g(v) for v in [-1.0, -0.1, 0.0, 0.3, 2.0]], rel=1e-12)
    # by hand: alpha / 2 = 1 at the threshold; at u = 0.3, 1 / (1 + (0.3 pi)^2) = 0.5295...
    assert u.grad[2].item() == 1.0
    assert u.grad[3].item() == pytest.approx(1.0 / (1.0 + (0.3 * math.pi) ** 2), rel=1e-12)
    assert u.grad[3].item() == pytest.approx(0.529587, abs=1e-6)


def grads(x1, x2, w, detach_reset):
    x = torch.tensor([[x1], [x2]], dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    plif_multistep(x, wt, Firing(detach_reset=detach_reset)).sum().backward()
    return x.grad.flatten().tolist(), wt.grad.item()


@pytest.mark.parametrize("x1,x2,w", [(1.2, 0.9, 0.3), (2.0, 1.5, 0.3), (0.4, 3.0, -0.5)])
def test_gradients_by_chain_rule(x1, x2, w):
    k = sig(w)
    v1 = k * x1
    s1 = 1.0 if v1 >= 1.0 else 0.0
    r1 = v1 * (1.0 - s1)                      # reset with the detached spike
    v2 = r1 + (x2 - r1) * k
    dx1 = g(v1 - 1) * k + g(v2 - 1) * (1 - k) * (1 - s1) * k
    dx2 = g(v2 - 1) * k
    dk = g(v1 - 1) * x1 + g(v2 - 1) * (x1 * (1 - s1) * (1 - k) - r1 + x2)
    dw = dk * k * (1 - k)
    gx, gw = grads(x1, x2, w, detach_reset=True)
    assert gx == pytest.approx([dx1, dx2], rel=1e-10)
    assert gw == pytest.approx(dw, rel=1e-10)


def test_detached_reset_changes_the_gradient_after_a_spike():
    x1, x2, w = 2.0, 1.5, 0.3                 # v1 = 1.149 fires
    k = sig(w)
    v1 = k * x1
    r1 = 0.0
    v2 = r1 + (x2 - r1) * k
    attached = g(v1 - 1) * k + g(v2 - 1) * (1 - k) * ((1 - 1.0) - v1 * g(v1 - 1)) * k
    gx_detached, _ = grads(x1, x2, w, detach_reset=True)
    gx_attached, _ = grads(x1, x2, w, detach_reset=False)
    assert gx_attached[0] == pytest.approx(attached, rel=1e-10)
    assert gx_detached[0] == pytest.approx(g(v1 - 1) * k, rel=1e-10)
    assert abs(gx_attached[0] - gx_detached[0]) > 1e-3


def test_init_and_lif():
    assert PLIF(2.0).w.item() == 0.0 and PLIF(2.0).tau == pytest.approx(2.0)
    assert PLIF(3.0).w.item() == pytest.approx(-math.log(2.0)) and PLIF(3.0).tau == pytest.approx(3.0)
    lif = PLIF(2.0, learnable=False)
    assert list(lif.parameters()) == [] and lif.tau == pytest.approx(2.0)
    with pytest.raises(ValueError, match="tau0"):
        PLIF(1.0)


def test_firing_is_one_checked_immutable_record():
    """v_th, alpha and detach_reset travel as one Firing; the paper's is the default everywhere."""
    import dataclasses

    from pipeline.model import PAPER

    assert (PAPER.v_th, PAPER.alpha, PAPER.detach_reset) == (1.0, 2.0, True)
    assert PLIF(2.0).firing == PAPER and Firing(1, 2) == PAPER and isinstance(Firing(1, 2).v_th, float)
    with pytest.raises(dataclasses.FrozenInstanceError):
        PAPER.v_th = 0.5
    for bad in ({"v_th": float("nan")}, {"alpha": 0.0}, {"alpha": float("inf")}, {"v_th": True},
                {"v_th": "1"}, {"detach_reset": 1}):
        with pytest.raises(ValueError, match="Firing: "):
            Firing(**bad)
    with pytest.raises(TypeError, match="firing must be a Firing"):
        PLIF(2.0, firing=(1.0, 2.0, True))
    # a threshold of 0.5 fires where the paper's does not: x = 0.6, k = 0.5 -> h = 0.3, then 0.45 + ...
    x = torch.full((3, 1), 0.6)
    assert plif_multistep(x, torch.tensor(0.0)).flatten().tolist() == [0.0, 0.0, 0.0]
    assert plif_multistep(x, torch.tensor(0.0), Firing(v_th=0.5)).flatten().tolist() == [0.0, 0.0, 1.0]
    assert "v_th=0.5, alpha=2.0, detach_reset=True" in repr(PLIF(2.0, firing=Firing(v_th=0.5)))
