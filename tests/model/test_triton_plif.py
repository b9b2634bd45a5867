"""The Triton PLIF kernels (:mod:`pipeline.model.triton_plif`) against the eager reference.

Without a GPU they run in Triton's interpreter on CPU tensors (conftest sets
``TRITON_INTERPRET=1``), so shapes stay small. Cases the backends' tests
(tests/model/test_backends.py) do not cover: bf16 and fp16 inputs with a float32 state, blocks
of neurons cut short, several programs summing the gradient of ``w``, inputs that are not
contiguous, channels_last layouts, and the choice of ``auto`` on a CUDA device, which must
never reach ``torch.compile``. The last test runs only with CUDA (on a GPU machine): new
shapes reuse the compiled kernels.
"""

import math

import pytest
import torch

from pipeline.model import Firing, backends, compile_plif, plif_multistep
from pipeline.model.triton_plif import BLOCK, plif_multistep_triton

triton_plif = pytest.importorskip("pipeline.model.triton_plif")
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def grads(fn, x, w, g, **kw):
    xi = x.detach().clone().requires_grad_()
    wi = w.detach().clone().requires_grad_()
    s = fn(xi, wi, **kw)
    gx, gw = torch.autograd.grad((s.float() * g).sum(), (xi, wi))
    return s, gx, gw


def inputs(shape, seed, scale=1.5, shift=0.6, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    x = (torch.randn(shape, generator=gen) * scale + shift).to(dtype)
    g = torch.randn(shape, generator=gen)
    return x.to(DEVICE), g.to(DEVICE)


@pytest.mark.parametrize("n", [5, BLOCK + 37, 3 * BLOCK])
def test_blocks_cut_short_and_several_programs(n):
    """N below one block, one block and a remainder, three whole blocks: the masked lanes
    add nothing and each program's partial sum of d loss / d w is counted once."""
    x, g = inputs((4, n), seed=n)
    w = torch.tensor(0.3, device=DEVICE)
    s0, gx0, gw0 = grads(plif_multistep, x, w, g, firing=Firing(v_th=0.9, alpha=2.5))
    s1, gx1, gw1 = grads(plif_multistep_triton, x, w, g, firing=Firing(v_th=0.9, alpha=2.5))
    assert torch.equal(s1, s0) and 0 < s0.mean() < 1
    torch.testing.assert_close(gx1, gx0, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(gw1, gw0, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_input_keeps_a_float32_state(dtype):
    """A bf16/fp16 input (as autocast gives) is charged into a float32 state: the spikes are
    those of the reference run in float32 on the same values, and come back in the input's
    dtype, as does grad x. The reference run in the half dtype itself rounds its state and
    fires differently somewhere in bf16: the difference this design removes."""
    x, g = inputs((12, 2, 3, 9, 9), seed=5, dtype=dtype)
    g = g.to(dtype).float()                     # the incoming gradient arrives in the half dtype
    w = torch.tensor(-0.4, device=DEVICE)
    s32, gx32, gw32 = grads(plif_multistep, x.float(), w, g)
    s, gx, gw = grads(plif_multistep_triton, x, w, g)
    assert s.dtype == gx.dtype == dtype and gw.dtype == torch.float32
    assert torch.equal(s.float(), s32)
    torch.testing.assert_close(gx, gx32.to(dtype), rtol=1e-2, atol=1e-3)   # one rounding to the half dtype
    torch.testing.assert_close(gw, gw32, rtol=1e-4, atol=1e-4)
    if dtype == torch.bfloat16:                  # bf16's 8-bit mantissa: the state's rounding moves spikes
        s_half = plif_multistep(x, w.to(dtype))
        assert not torch.equal(s_half.float(), s32)


def test_non_contiguous_and_offset_inputs():
    w = torch.tensor(0.2, device=DEVICE)
    base, g = inputs((7, 3, 6), seed=2)
    g = g.transpose(0, 1).contiguous().transpose(0, 1)
    transposed = base.transpose(0, 1).contiguous().transpose(0, 1)   # (T, B, N) with B outermost in memory
    assert not transposed.is_contiguous()
    wide, _ = inputs((7, 3, 7), seed=3)
    offset = wide[:, :, 1:]                                           # data starts 4 bytes in: unaligned
    assert offset.data_ptr() % 16
    for x in (transposed, offset):
        s0, gx0, gw0 = grads(plif_multistep, x, w, g)
        s1, gx1, gw1 = grads(plif_multistep_triton, x, w, g)
        if x is transposed:                      # batch-major: read in place, written the same way
            assert s1.stride() == gx1.stride() == x.stride()
        assert torch.equal(s1, s0)
        torch.testing.assert_close(gx1, gx0, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(gw1, gw0, rtol=1e-4, atol=1e-5)


def test_channels_last_is_kept_without_a_copy():
    """A convolution's channels_last output, seen as (T, B, C, H, W): the spikes and grad x
    come back in the same layout (every step's block of memory is dense)."""
    w = torch.tensor(0.0, device=DEVICE)
    y = (torch.randn(5 * 2, 6, 4, 3, generator=torch.Generator().manual_seed(4)) * 2 + 0.5).to(DEVICE)
    x = y.to(memory_format=torch.channels_last).reshape(5, 2, 6, 4, 3)
    assert not x.is_contiguous()
    g = torch.randn(x.shape, generator=torch.Generator().manual_seed(5)).to(DEVICE)
    s0, gx0, gw0 = grads(plif_multistep, x, w, g)
    s1, gx1, gw1 = grads(plif_multistep_triton, x, w, g)
    assert s1.stride() == x.stride() and gx1.stride() == x.stride()
    assert torch.equal(s1, s0)
    torch.testing.assert_close(gx1, gx0, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(gw1, gw0, rtol=1e-4, atol=1e-5)


def test_without_gradients_by_hand():
    """No gradient wanted: the forward alone (nothing saved). tau = 4, v_th = 1, by hand:
    h = 1.0 fires | 0.5 | 0.5 + 2.5/4 = 1.125 fires | 1.0 fires."""
    w = torch.tensor(math.log(1 / 3), device=DEVICE)
    x = torch.tensor([[4.0], [2.0], [3.0], [4.0]], device=DEVICE)
    with torch.no_grad():
        assert plif_multistep_triton(x, w).flatten().tolist() == [1.0, 0.0, 1.0, 1.0]
    assert plif_multistep_triton(x, w).flatten().tolist() == [1.0, 0.0, 1.0, 1.0]   # no requires_grad


def test_refuses_integer_input():
    with pytest.raises(ValueError, match="floating-point input"):
        plif_multistep_triton(torch.zeros(2, 3, dtype=torch.int32), torch.tensor(0.0))


def test_auto_on_a_cuda_device_never_compiles(monkeypatch, tiny_frames, tmp_path):
    """The demo's training on a CUDA device (mocked without one: the kernels then run in the
    interpreter on CPU tensors): ``auto`` resolves to ``triton``, and ``torch.compile`` is never
    called (it used to compile every layer shape: seconds each, on every shape)."""
    from pipeline.train.stage import train
    from tinyframes import CLASSES, MODEL, TRAIN

    if DEVICE == "cpu":
        monkeypatch.setattr(backends, "device_type", lambda device: "cuda")
    calls = []
    real = backends.IMPLEMENTATIONS["triton"]
    monkeypatch.setitem(backends.IMPLEMENTATIONS, "triton", lambda *a: calls.append(a[0].shape) or real(*a))

    def no_compile(*a, **k):
        raise AssertionError("torch.compile was called")
    monkeypatch.setattr(torch, "compile", no_compile)
    monkeypatch.setattr(compile_plif, "_compiled", None)
    train_h5, test_h5 = tiny_frames
    tp = TRAIN.model_copy(update={"epochs": 1, "device": DEVICE})
    metrics = train(train_h5, test_h5, CLASSES, MODEL, tp, tmp_path / "models", tmp_path / "log.csv",
                    tmp_path / "m.json", resume=tmp_path / "ckpt.pt")
    assert metrics["epochs"] == 1 and calls
    # every PLIF layer of the network, training and scoring: 2 conv blocks, hidden, output
    assert {tuple(s[2:]) for s in calls} >= {(8, 16, 16), (8, 8, 8), (32,), (8,)}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA: the compiled kernels' cache")
def test_compiled_once_per_dtype_not_per_shape():
    """Shapes, batch sizes and T change; the kernels compile once per (dtype, flags)."""
    w = torch.tensor(0.1, device="cuda", requires_grad=True)

    def step(shape, dtype=torch.float32, detach_reset=True):
        x = (torch.randn(shape, device="cuda") + 0.7).to(dtype).requires_grad_()
        plif_multistep_triton(x, w, Firing(detach_reset=detach_reset)).float().sum().backward()

    step((4, 3, 7))
    first = triton_plif.compiled_variants()
    for shape in [(4, 2, 7), (20, 16, 128, 8, 8), (1, 5), (9, 1000, 3), (3, 2 * BLOCK + 1)]:
        step(shape)
    assert triton_plif.compiled_variants() == first
    step((5, 3), torch.bfloat16, detach_reset=False)        # a new dtype and flag: at most a new pair
    after = triton_plif.compiled_variants()
    assert first <= after <= first + 2
    for shape in [(6, 300), (2, 9, 9, 9), (20, 4, 3000)]:
        step(shape, torch.bfloat16, detach_reset=False)
    assert triton_plif.compiled_variants() == after
    # and the GPU's results: spikes bit-equal to eager in float32 on a paper-sized layer
    x, g = (torch.randn(20, 16, 128, 16, 16, device="cuda") * 1.5 + 0.6), torch.randn(20, 16, 128, 16, 16,
                                                                                     device="cuda")
    s0, gx0, gw0 = grads(plif_multistep, x, w, g)
    s1, gx1, gw1 = grads(plif_multistep_triton, x, w, g)
    assert torch.equal(s1, s0)
    torch.testing.assert_close(gx1, gx0, rtol=1e-4, atol=1e-5)
    assert abs(gw1.item() - gw0.item()) <= 1e-3 * abs(gw0.item()) + 1e-3
