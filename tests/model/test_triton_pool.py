"""The Triton 2x2 max-pool (:mod:`pipeline.model.triton_pool`) against ``F.max_pool2d``: values
and gradients equal, bit for bit, ties and NaNs included. Without a GPU the kernels run in
Triton's interpreter on CPU tensors (conftest sets ``TRITON_INTERPRET=1``)."""

import math

import pytest
import torch
import torch.nn.functional as F

from pipeline.model import backends
from pipeline.model.network import MaxPool2x2, SpikingConvNet

triton_pool = pytest.importorskip("pipeline.model.triton_pool")
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
if DEVICE == "cpu" and not triton_pool.INTERPRETED:
    pytest.skip("the kernels need CUDA or TRITON_INTERPRET=1", allow_module_level=True)


def both(x, g):
    out = []
    for fn in (lambda t: F.max_pool2d(t, 2), triton_pool.max_pool_2x2):
        xi = x.detach().clone().requires_grad_()
        y = fn(xi)
        (gx,) = torch.autograd.grad((y * g).sum(), xi)
        out.append((y, gx))
    return out


@pytest.mark.parametrize("shape", [(3, 2, 8, 6), (2, 3, 7, 9), (1, 1, 2, 2), (5, 4, 33, 66)])
def test_binary_spikes_tie_like_torch(shape):
    """Spikes are 0 or 1: most windows tie. The gradient goes to the first maximum in row-major
    order, as torch's; odd last rows and columns get 0."""
    gen = torch.Generator().manual_seed(sum(shape))
    x = (torch.rand(shape, generator=gen) < 0.4).float().to(DEVICE)
    g = torch.randn(x.shape[:2] + (x.shape[2] // 2, x.shape[3] // 2), generator=gen).to(DEVICE)
    (y0, gx0), (y1, gx1) = both(x, g)
    assert torch.equal(y1, y0) and torch.equal(gx1, gx0)


def test_window_order_by_hand():
    """One window per case, torch's rule spelled out: the first of equal maxima, a NaN wins
    (the last NaN of the window), -inf loses to nothing but stays the value."""
    nan, inf = math.nan, math.inf
    windows = [[1, 1, 1, 1], [0, 2, 2, 0], [0, 0, 0, 3], [nan, 5, nan, 1], [-inf, -inf, -inf, -inf]]
    x = torch.tensor([[[[a, b], [c, d]] for a, b, c, d in windows]], dtype=torch.float32).reshape(5, 1, 2, 2)
    x = x.to(DEVICE)
    g = torch.arange(1.0, 6.0).reshape(5, 1, 1, 1).to(DEVICE)
    xi = x.clone().requires_grad_()
    y = triton_pool.max_pool_2x2(xi)
    (gx,) = torch.autograd.grad((y * g).sum(), xi)
    y = y.detach()
    where = [int(w.flatten().nonzero()[0]) for w in gx.reshape(5, 4).cpu()]
    assert where == [0, 1, 3, 2, 0]
    assert y.flatten()[:3].tolist() == [1.0, 2.0, 3.0] and math.isnan(y.flatten()[3]) and y.flatten()[4] == -inf
    (y0, gx0), (y1, gx1) = both(x, g)
    assert torch.equal(gx1, gx0) and torch.equal(y1.nan_to_num(), y0.nan_to_num())


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_dtypes(dtype):
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, 3, 6, 10, generator=gen).round().to(dtype).to(DEVICE)     # many ties
    g = torch.randn(2, 3, 3, 5, generator=gen).to(dtype).to(DEVICE)
    (y0, gx0), (y1, gx1) = both(x, g)
    assert y1.dtype == dtype and torch.equal(y1, y0) and torch.equal(gx1, gx0)


def test_falls_back_where_the_kernels_do_not_apply():
    x = torch.rand(2, 3, 8, 8).to(DEVICE).to(memory_format=torch.channels_last)
    assert not triton_pool.usable(x) and torch.equal(triton_pool.max_pool_2x2(x), F.max_pool2d(x, 2))
    assert not triton_pool.usable(torch.ones(2, 3, 1, 8, device=DEVICE))
    assert not triton_pool.usable(torch.ones(2, 3, 8, 8, dtype=torch.int32, device=DEVICE))
    assert not triton_pool.usable(torch.ones(2, 3, 8, 8, dtype=torch.float64, device=DEVICE))


def test_the_network_pools_by_the_kernels_on_cuda(monkeypatch):
    """MaxPool2x2 (what the network builds for pooling: max) takes the kernels on a CUDA device
    (mocked without one) and torch's pool elsewhere; either way the network's output and
    gradients are the same."""
    calls = []
    real = triton_pool.max_pool_2x2
    monkeypatch.setattr(triton_pool, "max_pool_2x2", lambda x: calls.append(x.shape) or real(x))
    torch.manual_seed(0)
    net = SpikingConvNet(in_channels=2, input_size=(16, 16), channels=4, blocks=2, hidden=8, classes=3, votes=2,
                         dropout=0.0, backend="eager").to(DEVICE)
    assert sum(isinstance(m, MaxPool2x2) for m in net.modules()) == 2
    x = (torch.rand(2, 3, 2, 16, 16) * 4).to(DEVICE)
    results = []
    for mocked in (False, True):
        if mocked and DEVICE == "cpu":
            monkeypatch.setattr(backends, "device_type", lambda device: "cuda")
        net.zero_grad()
        rate = net(x)
        rate.pow(2).sum().backward()
        results.append((rate.detach(), [p.grad.clone() for p in net.parameters()]))
    assert len(calls) == (2 if DEVICE == "cpu" else 4)
    (r0, g0), (r1, g1) = results
    assert torch.equal(r0, r1) and all(torch.equal(a, b) for a, b in zip(g0, g1))
