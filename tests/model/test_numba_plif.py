"""The ``numba`` PLIF backend (:mod:`pipeline.model.numba_plif`: hand-written forward and backward
loops, Numba kernels or torch ops) against the reference autograd one."""

import math

import numba
import pytest
import torch

from pipeline.model import PLIF, Firing, plif_multistep, plif_multistep_fused
from pipeline.model import numba_plif


def both(x, w, detach_reset, backend, v_th=1.0, alpha=2.0):
    """Spikes and the gradients of a random projection of them, reference vs fused."""
    g = torch.randn(x.shape, dtype=x.dtype, generator=torch.Generator().manual_seed(7))
    out = []
    for fn in (plif_multistep, lambda *a, **k: plif_multistep_fused(*a, **k, backend=backend)):
        xi = x.clone().requires_grad_()
        wi = w.clone().requires_grad_()
        s = fn(xi, wi, Firing(v_th=v_th, alpha=alpha, detach_reset=detach_reset))
        gx, gw = torch.autograd.grad((s * g).sum(), (xi, wi))
        out.append((s, gx, gw))
    return out


@pytest.mark.parametrize("backend", ["numba", "torch"])
@pytest.mark.parametrize("detach_reset", [True, False])
@pytest.mark.parametrize("scale,shift", [(1.5, 0.6), (0.2, 0.0)])      # many spikes / no spike at all
def test_equals_reference_float64(backend, detach_reset, scale, shift):
    torch.manual_seed(int(scale * 10) + detach_reset)
    x = torch.randn(9, 3, 5, 7, 11, dtype=torch.float64) * scale + shift    # (T, B, C, H, W)
    w = torch.tensor(0.4, dtype=torch.float64)
    (s0, gx0, gw0), (s1, gx1, gw1) = both(x, w, detach_reset, backend)
    assert torch.equal(s0, s1)
    if shift == 0.0:
        assert s0.sum() == 0
    else:
        assert 0 < s0.mean() < 1
    torch.testing.assert_close(gx1, gx0, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(gw1, gw0, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_float32_spikes_identical_gradients_close(backend):
    torch.manual_seed(3)
    x = torch.randn(20, 4, 6000) * 1.5 + 0.5        # more neurons than one Numba block
    w = torch.tensor(-0.3)
    (s0, gx0, gw0), (s1, gx1, gw1) = both(x, w, True, backend, v_th=0.8, alpha=3.0)
    assert torch.equal(s0, s1)
    torch.testing.assert_close(gx1, gx0, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(gw1, gw0, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("backend", ["numba", "torch"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_threshold_equality_fires_and_tau_other_than_2(backend, dtype):
    # w = ln(1/3): sigmoid(w) = 0.25 exactly (tau = 4), so every potential below is exact:
    # h = 4 * 0.25 = 1.0 fires (v >= 1), reset | 2 * 0.25 = 0.5 | 0.5 + (3 - 0.5) * 0.25 = 1.125
    # fires | 0 + 4 * 0.25 = 1.0 fires again. With tau = 2 (w = 0) step 2 would fire (h = 1.0).
    w = torch.tensor(math.log(1 / 3), dtype=dtype)
    assert torch.sigmoid(w).item() == 0.25
    x = torch.tensor([[4.0], [2.0], [3.0], [4.0]], dtype=dtype)
    assert plif_multistep_fused(x, w, backend=backend).flatten().tolist() == [1.0, 0.0, 1.0, 1.0]
    assert plif_multistep_fused(x, torch.tensor(0.0, dtype=dtype), backend=backend).flatten().tolist() == \
        [1.0, 1.0, 1.0, 1.0]


def test_layer_uses_the_fused_path_and_lif_has_no_w_gradient(monkeypatch):
    calls = []
    real = numba_plif._FusedPLIF.apply
    monkeypatch.setattr(numba_plif._FusedPLIF, "apply", lambda *a: calls.append(1) or real(*a))
    x = (torch.randn(5, 2, 8) + 0.8).requires_grad_()
    for learnable in (True, False):
        layer = PLIF(tau0=3.0, learnable=learnable)
        s = layer(x)
        s.sum().backward()
        assert torch.equal(s, plif_multistep(x, layer.w))
        assert (layer.w.grad is not None) == learnable
    assert len(calls) == 2


def test_input_without_grad_and_empty_input():
    w = torch.tensor(0.1, requires_grad=True)
    x = torch.randn(4, 10) + 1.0
    plif_multistep_fused(x, w).sum().backward()
    torch.testing.assert_close(w.grad, torch.autograd.grad(plif_multistep(x, w).sum(), w)[0], rtol=1e-5, atol=1e-6)
    assert plif_multistep_fused(torch.zeros(0, 3), w).shape == (0, 3)
    assert plif_multistep_fused(torch.zeros(3, 0), w).shape == (3, 0)


def test_bad_backend():
    with pytest.raises(ValueError, match="backend"):
        plif_multistep_fused(torch.zeros(2, 2), torch.tensor(0.0), backend="cuda")
    with pytest.raises(ValueError, match="float32/float64"):
        plif_multistep_fused(torch.zeros(2, 2, dtype=torch.float16), torch.tensor(0.0), backend="numba")


def test_result_does_not_depend_on_the_thread_count():
    x = torch.randn(6, 3 * numba_plif._BLOCK + 5, dtype=torch.float64) + 0.7
    w = torch.tensor(0.2, dtype=torch.float64)
    g = torch.randn_like(x)
    results = []
    before = torch.get_num_threads()
    try:
        for threads in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
            torch.set_num_threads(threads)
            xi, wi = x.clone().requires_grad_(), w.clone().requires_grad_()
            results.append(torch.autograd.grad((plif_multistep_fused(xi, wi) * g).sum(), (xi, wi)))
    finally:
        torch.set_num_threads(before)
    for gx, gw in results[1:]:
        assert torch.equal(gx, results[0][0]) and torch.equal(gw, results[0][1])


def test_numba_threads_leave_torch_thread_count_alone():
    """Starting Numba's OpenMP pool set torch's thread count to every core (4 here), e.g. past
    the share torchrun gives each rank; torch must keep the 2 threads it was given."""
    import os
    import subprocess
    import sys

    code = """
import torch
from pipeline.model import plif_multistep_fused
before = torch.get_num_threads()
x = torch.randn(4, 8, 64, 32, 32, requires_grad=True)          # 16 blocks: the parallel kernels
plif_multistep_fused(x, torch.tensor(0.0, requires_grad=True)).sum().backward()
import numba
print(before, torch.get_num_threads(), numba.threading_layer(), numba.get_num_threads())
"""
    env = {**os.environ, "NUMBA_NUM_THREADS": "4", "OMP_NUM_THREADS": "2"}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    before, after, layer, numba_threads = r.stdout.split()
    assert (before, after, numba_threads) == ("2", "2", "2"), r.stdout
