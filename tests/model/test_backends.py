"""Every PLIF backend against the eager reference (:func:`plif_multistep`) on CPU: the same
spikes bit for bit, the same gradients to float rounding; the backend choice; and the
compiled backend's recompilations. Compiled cases use small shapes and share them where they
can (each new shape, dtype or flag costs a compilation of a few seconds). ``triton`` runs its
kernels in Triton's interpreter here (conftest sets ``TRITON_INTERPRET=1`` without a GPU)."""

import math

import pytest
import torch

from pipeline.model import (
    BACKENDS,
    Firing,
    PLIF,
    SpikingConvNet,
    build_model,
    compile_plif,
    plif_forward,
    plif_multistep,
    resolve_backend,
)
from pipeline.core.errors import ParamsError
from pipeline.model import backends
from pipeline.params import ModelParams

TOL = {torch.float64: {"rtol": 1e-12, "atol": 1e-14}, torch.float32: {"rtol": 1e-4, "atol": 1e-5}}


def run(fn, x, w, learnable=True, **kw):
    """Spikes, and the gradients (input, w) of a fixed random projection of them."""
    g = torch.randn(x.shape, dtype=x.dtype, generator=torch.Generator().manual_seed(7))
    xi = x.clone().requires_grad_()
    wi = w.clone().requires_grad_(learnable)
    s = fn(xi, wi, **kw)
    grads = torch.autograd.grad((s * g).sum(), (xi, wi) if learnable else (xi,))
    return s, grads


def check(backend, x, w, learnable=True, **kw):
    if backend == "triton" and not backends.runs_on("triton", "cpu"):
        pytest.skip("triton on CPU tensors needs TRITON_INTERPRET=1 (set by conftest without CUDA); "
                    "tests/model/test_triton_plif.py runs it on CUDA")
    s0, g0 = run(plif_multistep, x, w, learnable, **kw)
    s1, g1 = run(lambda *a, **k: plif_forward(*a, **k, backend=backend), x, w, learnable, **kw)
    assert torch.equal(s1, s0)
    for a, b in zip(g1, g0):
        torch.testing.assert_close(a, b, **TOL[x.dtype])
    return s0


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("detach_reset", [True, False])
def test_random_inputs(backend, dtype, detach_reset):
    torch.manual_seed(1)
    x = (torch.randn(5, 3, 4, 6) * 1.5 + 0.6).to(dtype)
    s = check(backend, x, torch.tensor(0.4, dtype=dtype), firing=Firing(v_th=0.8, alpha=3.0, detach_reset=detach_reset))
    assert 0 < s.mean() < 1


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_inputs_exactly_at_threshold(backend, dtype):
    # tau = 4: sigmoid(w) = 0.25 exactly; h = 4 * 0.25 = 1.0 fires (v >= v_th), reset | 0.5 |
    # 0.5 + 2.5 * 0.25 = 1.125 fires | 1.0 fires again: potentials exactly at v_th, gradients at u = 0
    w = torch.tensor(math.log(1 / 3), dtype=dtype)
    assert torch.sigmoid(w).item() == 0.25
    x = torch.tensor([[4.0, 2.0], [2.0, 2.0], [3.0, 4.0], [4.0, 0.0]], dtype=dtype)
    s = check(backend, x, w)
    assert s[:, 0].tolist() == [1.0, 0.0, 1.0, 1.0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_step_and_fixed_w(backend):
    torch.manual_seed(2)
    x = torch.randn(1, 2, 40) * 2 + 0.8                     # T = 1
    check(backend, x, torch.tensor(-0.2))
    x = torch.randn(3, 2, 40) * 2 + 0.8                     # LIF: w a buffer, no gradient
    check(backend, x, torch.tensor(-0.2), learnable=False, firing=Firing(detach_reset=False))


def test_resolve_backend():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert resolve_backend("auto", cpu) == "numba" and resolve_backend("auto", "cpu") == "numba"
    # auto on CUDA: the Triton kernels (compiled once per dtype), never torch.compile
    assert resolve_backend("auto", cuda) == "triton" and resolve_backend("auto", "cuda:1") == "triton"
    assert resolve_backend("auto", "meta") == "eager"
    for name in ("eager", "compile", "triton"):
        assert resolve_backend(name, cpu) == resolve_backend(name, cuda) == name
    assert resolve_backend("numba", cpu) == "numba"
    with pytest.raises(ParamsError, match=r"^model.backend: numba runs Numba kernels on the CPU only, not on "
                                          r"cuda; use auto \(triton on CUDA\) or triton$"):
        resolve_backend("numba", cuda)
    with pytest.raises(ParamsError, match="backend"):
        resolve_backend("inductor", cpu)
    with pytest.raises(ParamsError, match="backend"):
        PLIF(backend="cupy")
    with pytest.raises(ValueError, match="backend"):
        plif_forward(torch.zeros(2, 2), torch.tensor(0.0), backend="cuda")


def test_auto_without_triton_is_eager_on_cuda(monkeypatch):
    monkeypatch.setitem(backends.MODULES, "triton", None)
    assert resolve_backend("auto", "cuda") == "eager" and resolve_backend("auto", "cpu") == "numba"
    with pytest.raises(ParamsError, match="triton cannot run on cuda: Triton does not import here"):
        resolve_backend("triton", "cuda")


def test_triton_on_cpu_needs_the_interpreter(monkeypatch):
    monkeypatch.setattr(backends.MODULES["triton"], "INTERPRETED", False)
    with pytest.raises(ParamsError, match="triton cannot run on cpu: it runs on CUDA, or on the CPU under "
                                          "TRITON_INTERPRET=1"):
        resolve_backend("triton", "cpu")


def test_layer_dispatches_by_backend(monkeypatch):
    calls = []
    for name in BACKENDS:
        monkeypatch.setitem(backends.IMPLEMENTATIONS, name, lambda *a, name=name: calls.append(name) or 0)
    x = torch.zeros(2, 3)
    for backend in ("auto", "numba", "compile", "eager", "triton"):
        PLIF(backend=backend)(x)
    assert calls == ["numba", "numba", "compile", "eager", "triton"]
    assert "backend=compile" in repr(PLIF(backend="compile"))


def test_empty_input():
    for backend in BACKENDS:
        if backend == "triton" and not backends.runs_on("triton", "cpu"):
            continue
        assert plif_forward(torch.zeros(0, 3), torch.tensor(0.0), backend=backend).shape == (0, 3)
        assert plif_forward(torch.zeros(3, 0), torch.tensor(0.0), backend=backend).shape == (3, 0)


def test_compile_once_per_shape_not_per_call(capsys):
    """Shapes A, B, A, B, ...: (the last partial batch of an epoch, then the next epoch's full
    ones) two compilations, reused after; each first call reported once."""
    from torch._dynamo.utils import counters

    w = torch.tensor(0.1, requires_grad=True)
    shapes = [(4, 3, 7), (4, 2, 7)] * 4                     # shapes no other test compiles
    before = counters["stats"]["unique_graphs"]
    keys = len(compile_plif.COMPILE_SECONDS)
    for shape in shapes:
        x = (torch.randn(shape) + 0.7).requires_grad_()
        s = plif_forward(x, w, backend="compile")
        s.sum().backward()
        assert torch.equal(s, plif_multistep(x, w))
    assert counters["stats"]["unique_graphs"] - before <= 2
    assert len(compile_plif.COMPILE_SECONDS) - keys == 2
    err = capsys.readouterr().err
    assert err.count("plif compile: forward for (4, 3, 7)") == 1 and err.count("forward for (4, 2, 7)") == 1
    assert err.count("plif compile: backward for (4, 3, 7)") == 1


@pytest.mark.parametrize("backend", ["numba", "compile", "triton"])
def test_network_matches_eager(backend):
    torch.manual_seed(4)
    x = torch.rand(2, 4, 2, 8, 8) * 3                       # (B, T, C, H, W)
    labels = torch.tensor([0, 2])
    if backend == "triton" and not backends.runs_on("triton", "cpu"):
        pytest.skip("triton on CPU tensors needs TRITON_INTERPRET=1")
    results = []
    for b in ("eager", backend):
        torch.manual_seed(0)
        net = SpikingConvNet(in_channels=2, input_size=(8, 8), channels=4, blocks=1, hidden=16, classes=3,
                             votes=2, tau0=2.0, dropout=0.0, backend=b)
        assert {m.backend for m in net.modules() if isinstance(m, PLIF)} == {b}
        with torch.no_grad():                               # a firing output layer
            for m in net.modules():
                if isinstance(m, torch.nn.Linear):
                    m.weight.mul_(8.0)
        rate = net(x)
        loss = torch.nn.functional.mse_loss(rate, torch.nn.functional.one_hot(labels, 3).float())
        loss.backward()
        results.append((rate, {n: p.grad for n, p in net.named_parameters()}))
    (r0, g0), (r1, g1) = results
    assert torch.equal(r1, r0) and 0 < r0.mean() < 1
    assert g0.keys() == g1.keys()
    for name in g0:
        torch.testing.assert_close(g1[name], g0[name], rtol=1e-4, atol=1e-6, msg=name)


def test_build_model_passes_the_backend():
    mp = ModelParams(channels=4, blocks=1, hidden=8, votes=2, backend="compile")
    net = build_model(mp, (3, 2, 8, 8), 3)
    assert {m.backend for m in net.modules() if isinstance(m, PLIF)} == {"compile"}
    assert {m.backend for m in build_model(ModelParams(channels=4, blocks=1, hidden=8, votes=2), (3, 2, 8, 8), 3)
            .modules() if isinstance(m, PLIF)} == {"auto"}
