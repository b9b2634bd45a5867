"""pipeline.train.augment.events: each op against a reference on small tensors (torch.flip,
torch.roll, a hand-built rectangle, a per-pixel numpy rotation), the draws against a pure-Python
transcription of the hash, and what seeding per sample promises."""

import math

import numpy as np
import pytest
import torch

from pipeline.core.errors import ParamsError
from pipeline.train.augment import augment_events
from pipeline.train.augment.draws import Draws, lowbias32

B, T, C, H, W = 64, 3, 2, 9, 11
CLASSES = 5


def frames(seed=0, b=B, t=T, h=H, w=W) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(1, 50, (b, t, C, h, w), generator=g).float()   # no zeros: a zero is a dropped value


def run(x, ops, seed=0, epoch=1, indices=None, labels=None):
    n = len(x)
    indices = torch.arange(100, 100 + n) if indices is None else indices
    labels = torch.arange(n) % CLASSES if labels is None else labels
    return augment_events(x, labels, ops, seed=seed, epoch=epoch, indices=indices, num_classes=CLASSES)


def py_lowbias32(x: int) -> int:
    m = 0xFFFFFFFF
    x &= m
    x ^= x >> 16
    x = (x * 0x7FEB352D) & m
    x ^= x >> 15
    x = (x * 0x846CA68B) & m
    return x ^ (x >> 16)


def test_hash_is_lowbias32():
    values = [0, 1, 2, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xDEADBEEF, 0xFFFFFFFF]
    assert lowbias32(torch.tensor(values)).tolist() == [py_lowbias32(v) for v in values]


def test_draws_are_the_documented_chain():
    """keys = h(h(h(h(seed_lo) ^ seed_hi) ^ epoch) ^ index); bits = h(h(h(key ^ op) ^ slot) ^ element)."""
    seed, epoch, index = 2**40 + 7, 3, 12345
    key = 0
    for word in (seed & 0xFFFFFFFF, seed >> 32, epoch, index):
        key = py_lowbias32(key ^ word)
    k = py_lowbias32(py_lowbias32(key ^ 2) ^ 5)
    expected = [py_lowbias32(k ^ e) for e in range(4)]
    d = Draws(seed, epoch, torch.tensor([index]))
    assert d.bits(2, 5, 4)[0].tolist() == expected
    assert d.uniform(2, 5, 4)[0].tolist() == [(v >> 8) / 2**24 for v in expected]
    assert d.integers(2, 5, -3, 3, 4)[0].tolist() == [-3 + (v * 7 >> 32) for v in expected]


def test_integer_draws_cover_the_range_evenly():
    d = Draws(0, 1, torch.arange(7000))
    v = d.integers(0, 0, -3, 3)[:, 0]
    counts = torch.bincount(v + 3, minlength=7)
    assert counts.min() > 850 and counts.max() < 1150          # 1000 each; 5 sigma is +-150


def test_flip_is_torch_flip_with_probability_p():
    x = frames()
    out, targets = run(x, [{"flip": {"p": 1}}])
    assert torch.equal(out, torch.flip(x, [-1]))
    assert torch.equal(targets, torch.eye(CLASSES)[torch.arange(B) % CLASSES])
    out, _ = run(frames(b=400), [{"flip": {"p": 0.3}}])
    x = frames(b=400)
    flipped = [torch.equal(o, torch.flip(s, [-1])) for o, s in zip(out, x)]
    kept = [torch.equal(o, s) for o, s in zip(out, x)]
    assert all(f != k for f, k in zip(flipped, kept))            # each sample: one or the other
    assert 0.2 < np.mean(flipped) < 0.4


def test_roll_is_torch_roll_by_a_shift_within_the_bound():
    x = frames()
    out, _ = run(x, [{"roll": {"max_shift": 2}}])
    shifts = set()
    for o, s in zip(out, x):
        found = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                 if torch.equal(o, torch.roll(s, (dy, dx), (-2, -1)))]
        assert len(found) == 1
        shifts.add(found[0])
    assert len(shifts) > 15                                      # of the 25, with 64 samples


def reference_rotation(sample: np.ndarray, degrees: float) -> np.ndarray:
    """Per output pixel, counter-clockwise as displayed: the source rounded half to even."""
    h, w = sample.shape[-2:]
    cy, cx = (h - 1) / 2, (w - 1) / 2
    a = math.radians(degrees)
    out = np.zeros_like(sample)
    for y in range(h):
        for x in range(w):
            sx = round(cx + math.cos(a) * (x - cx) - math.sin(a) * (y - cy))
            sy = round(cy + math.sin(a) * (x - cx) + math.cos(a) * (y - cy))
            if 0 <= sx < w and 0 <= sy < h:
                out[..., y, x] = sample[..., sy, sx]
    return out


def test_rotate_against_a_per_pixel_reference():
    x = frames(b=8)
    out, _ = run(x, [{"rotate": {"degrees": 40}}])
    u = Draws(0, 1, torch.arange(100, 108)).uniform(0, 0)[:, 0].double()
    for o, s, angle in zip(out, x, (u * 2 - 1) * 40):
        assert abs(angle) <= 40
        assert np.array_equal(o.numpy(), reference_rotation(s.numpy(), float(angle)))


def test_a_quarter_turn_of_a_square_is_exact():
    """Counter-clockwise as displayed: the top row becomes the left column, read bottom up."""
    x = frames(b=1, h=5, w=5)
    d = Draws(0, 1, torch.tensor([100]))
    angle = (d.uniform(0, 0)[0, 0].double() * 2 - 1) * 90
    out, _ = run(x, [{"rotate": {"degrees": float(90 / abs(angle) * 90) if angle else 90}}])
    turned = torch.rot90(x, 1 if angle > 0 else -1, (-2, -1))
    assert torch.equal(out, turned)


def test_shear_moves_each_row_by_its_distance_from_the_centre_row():
    x = frames(b=16)
    out, _ = run(x, [{"shear": {"max": 0.5}}])
    u = Draws(0, 1, torch.arange(100, 116)).uniform(0, 0)[:, 0].double()
    for o, s, f in zip(out, x, (u * 2 - 1) * 0.5):
        for y in range(H):
            shift = round(float(f) * (y - (H - 1) / 2))          # output x copies x - shift
            row = torch.zeros_like(s[..., y, :])
            lo, hi = max(0, shift), min(W, W + shift)
            row[..., lo:hi] = s[..., y, lo - shift:hi - shift]
            assert torch.equal(o[..., y, :], row)


def test_cutout_zeroes_one_rectangle():
    x = frames(b=200)
    out, _ = run(x, [{"cutout": {"size": 0.4}}])
    h, w = round(0.4 * H), round(0.4 * W)                      # 4 x 4
    full = 0
    for o, s in zip(out, x):
        zero = (o == 0).all(0).all(0)                           # (H, W): zeroed in every T and C
        assert torch.equal(o[:, :, ~zero], s[:, :, ~zero]) and not (o[:, :, ~zero] == 0).any()
        rows, cols = zero.any(1).nonzero()[:, 0], zero.any(0).nonzero()[:, 0]
        assert zero.sum() == len(rows) * len(cols)               # a rectangle
        assert rows.max() - rows.min() + 1 == len(rows) <= h and cols.max() - cols.min() + 1 == len(cols) <= w
        full += (len(rows), len(cols)) == (h, w)
    assert full > 50                                            # away from the border, the whole box


def test_drop_by_frames_keeps_or_zeroes_whole_frames():
    x = frames(b=200)
    out, _ = run(x, [{"drop": {"p": 0.25, "by": "frames"}}])
    kept = (out == x).flatten(2).all(2)
    dropped = (out == 0).flatten(2).all(2)
    assert (kept ^ dropped).all()
    assert 0.2 < dropped.float().mean() < 0.3


def test_drop_by_pixels_zeroes_a_pixel_in_every_step_and_polarity():
    x = frames(b=100)
    out, _ = run(x, [{"drop": {"p": 0.25, "by": "pixels"}}])
    kept, dropped = (out == x).all(1).all(1), (out == 0).all(1).all(1)
    assert (kept ^ dropped).all()
    assert 0.22 < dropped.float().mean() < 0.28


@pytest.mark.parametrize("signed", [False, True])
def test_cutmix_region_comes_from_one_partner_and_targets_sum_to_one(signed):
    """signed: sample i is (-1)**i (i+1), as a voxel grid's values can be: weighed by magnitude."""
    b = 40
    x = torch.arange(1, b + 1).float().view(b, 1, 1, 1, 1).expand(b, T, C, H, W).clone()   # sample i is i+1
    if signed:
        x = x * torch.tensor([(-1.0) ** i for i in range(b)]).view(b, 1, 1, 1, 1)
    labels = torch.arange(b) % CLASSES
    for weight in ("area", "events"):
        out, targets = run(x, [{"cutmix": {"p": 0.7, "weight": weight}}], labels=labels)
        assert torch.allclose(targets.sum(1), torch.ones(b))
        mixed = 0
        for i in range(b):
            changed = (out[i] != x[i]).all(0).all(0)
            if not changed.any():
                assert torch.equal(targets[i], torch.eye(CLASSES)[labels[i]])
                continue
            mixed += 1
            partners = out[i][:, :, changed].unique()
            assert len(partners) == 1 and abs(partners.item()) != i + 1
            j = int(abs(partners.item())) - 1
            rows, cols = changed.any(1).nonzero()[:, 0], changed.any(0).nonzero()[:, 0]
            assert changed.sum() == len(rows) * len(cols)        # a rectangle
            area = changed.sum().item() / (H * W)
            share = area if weight == "area" else area * (j + 1) / (area * (j + 1) + (1 - area) * (i + 1))
            expect = (1 - share) * torch.eye(CLASSES)[labels[i]] + share * torch.eye(CLASSES)[labels[j]]
            assert torch.allclose(targets[i], expect, atol=1e-6)
        assert 15 < mixed < 38


def test_events_weight_falls_back_to_area_without_events():
    x = torch.zeros(8, T, C, H, W)
    _, area = run(x, [{"cutmix": {"p": 1, "weight": "area"}}])
    _, events = run(x, [{"cutmix": {"p": 1, "weight": "events"}}])
    assert torch.equal(area, events)


@pytest.mark.parametrize("ops", [[{"flip": {"p": 0}}], [{"roll": {"max_shift": 0}}], [{"rotate": {"degrees": 0}}],
                                 [{"shear": {"max": 0}}], [{"cutout": {"size": 0}}], [{"drop": {"p": 0}}],
                                 [{"drop": {"p": 0, "by": "pixels"}}], [{"cutmix": {"p": 0}}], []])
def test_zero_strength_is_the_identity(ops):
    x = frames()
    out, targets = run(x, ops)
    assert torch.equal(out, x)
    assert torch.equal(targets, torch.eye(CLASSES)[torch.arange(B) % CLASSES])


CHAIN = [{"flip": {"p": 0.5}}, {"nda": {}}, {"cutout": {"size": 0.3}}, {"drop": {"p": 0.2}},
         {"drop": {"p": 0.1, "by": "pixels"}}, {"roll": {"max_shift": 3}}]


def test_a_sample_does_not_depend_on_its_batch():
    x, idx = frames(), torch.arange(500, 500 + B)
    whole, _ = run(x, CHAIN, indices=idx)
    order = torch.randperm(B, generator=torch.Generator().manual_seed(1))[:10]
    part, _ = run(x[order], CHAIN, indices=idx[order])
    assert torch.equal(part, whole[order])
    alone, _ = run(x[:1], CHAIN, indices=idx[:1])
    assert torch.equal(alone, whole[:1])


def test_a_chain_applies_its_ops_in_order():
    """The maps compose: [roll, flip p=1] is torch.flip of [roll] (roll's draws sit at position 0)."""
    x = frames()
    rolled, _ = run(x, [{"roll": {"max_shift": 3}}])
    both, _ = run(x, [{"roll": {"max_shift": 3}}, {"flip": {"p": 1}}])
    assert torch.equal(both, torch.flip(rolled, [-1]))
    cut, _ = run(x, [{"roll": {"max_shift": 3}}, {"cutout": {"size": 0.5}}])
    assert torch.equal(cut[cut != 0], rolled[cut != 0])


def test_epochs_and_seeds_draw_anew_and_the_same_seed_repeats():
    x = frames()
    a, _ = run(x, CHAIN, epoch=1)
    assert torch.equal(a, run(x, CHAIN, epoch=1)[0])
    assert not torch.equal(a, run(x, CHAIN, epoch=2)[0])
    assert not torch.equal(a, run(x, CHAIN, seed=1)[0])


def test_dtype_shape_and_bad_input():
    x = frames().to(torch.bfloat16)
    out, targets = run(x, CHAIN + [{"cutmix": {"p": 1}}])
    assert out.dtype == torch.bfloat16 and out.shape == x.shape and targets.dtype == torch.float32
    with pytest.raises(ValueError, match="float"):
        run(frames().long(), CHAIN)
    with pytest.raises(ValueError, match="indices"):
        run(frames(), CHAIN, indices=torch.full((B,), -1))
    with pytest.raises(ParamsError, match=r"augment\[0\] flip: argument 'p' = 2 must be <= 1"):
        run(frames(), [{"flip": {"p": 2}}])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_draws_and_ops_equal_the_cpu():
    x = frames()
    ops = CHAIN + [{"cutmix": {"p": 0.5}}]
    a, ta = run(x, ops)
    b, tb = run(x.cuda(), ops, indices=torch.arange(100, 100 + B).cuda(), labels=(torch.arange(B) % CLASSES).cuda())
    assert b.device.type == "cuda" and torch.equal(a, b.cpu()) and torch.allclose(ta, tb.cpu())


def test_nda_gives_a_third_of_the_samples_a_roll_within_five_48ths():
    """NDA_SNN: one of roll (+-5 px at 48 x 48), rotate, shear per sample, each with probability 1/3."""
    x = frames(b=300, t=1, h=48, w=48)
    out, _ = run(x, [{"nda": {}}])
    rolled = [any(torch.equal(o, torch.roll(s, (dy, dx), (-2, -1))) for dy in range(-5, 6) for dx in range(-5, 6))
              for o, s in zip(out, x)]
    assert 0.25 < np.mean(rolled) < 0.45


def test_the_training_loop_augments_images_as_one_frame_each():
    from pipeline.params import TrainParams
    from pipeline.train.stage import augment_batch

    x = frames(b=8, t=1)[:, 0]                                          # (B, C, H, W) images
    y, idx = torch.arange(8) % CLASSES, torch.arange(8)
    tp = TrainParams(seed=3, augment=[{"flip": {"p": 1}}, {"cutmix": {"p": 1, "weight": "area"}}])
    out, targets = augment_batch(x, y, tp, 2, idx, CLASSES)
    ref, ref_targets = augment_events(x.unsqueeze(1), y, tp.augment, seed=3, epoch=2, indices=idx,
                                      num_classes=CLASSES)
    assert out.shape == x.shape and torch.equal(out, ref[:, 0]) and torch.equal(targets, ref_targets)
    plain, one_hot = augment_batch(x, y, TrainParams(), 2, idx, CLASSES)
    assert plain is x and torch.equal(one_hot, torch.eye(CLASSES)[y])
