"""pipeline.train.augment.images: the paper's torchvision augmentations, rebuilt with Kornia, checked against
torchvision's parameter definitions and an independent numpy re-implementation of what
torchvision's PIL path computes (its inverse affine matrix, PIL's nearest-neighbour sampling)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pipeline.train.augment import AUGMENTATIONS, build_augmentation

N = 4096   # parameter draws per range check


def devices():
    out = ["cpu"]
    if torch.cuda.is_available():
        out.append("cuda")
    return out


# --- numpy reference of torchvision's RandomAffine on a PIL image -------------------------


def torchvision_inverse_affine(center, angle, translate, scale):
    """torchvision.transforms.functional._get_inverse_affine_matrix without shear: the output->input
    matrix handed to PIL, in PIL coordinates (pixel corners at integers)."""
    rot = math.radians(angle)
    cx, cy = center
    tx, ty = translate
    a, b, c, d = math.cos(rot), -math.sin(rot), math.sin(rot), math.cos(rot)
    m = [v / scale for v in (d, -b, 0.0, -c, a, 0.0)]
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty)
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty)
    m[2] += cx
    m[5] += cy
    return m


def pil_affine_nearest(img: np.ndarray, m):
    """PIL ``Image.transform(AFFINE, NEAREST, fillcolor=0)`` of a 2-D image; also how far each
    output pixel's source coordinate is from a pixel boundary (where rounding can go either way)."""
    h, w = img.shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    xx = m[0] * (x + 0.5) + m[1] * (y + 0.5) + m[2]
    yy = m[3] * (x + 0.5) + m[4] * (y + 0.5) + m[5]
    xi, yi = np.floor(xx).astype(int), np.floor(yy).astype(int)
    inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
    out = np.zeros_like(img)
    out[inside] = img[yi[inside], xi[inside]]
    margin = np.minimum(np.abs(xx - np.round(xx)), np.abs(yy - np.round(yy)))
    return out, margin


def torchvision_affine(img: np.ndarray, angle, translate, scale):
    h, w = img.shape
    return pil_affine_nearest(img, torchvision_inverse_affine((w * 0.5, h * 0.5), angle, translate, scale))


def mnist_batch(b=8, h=28, w=28, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (b, 1, h, w), generator=g).float()


def with_params(aug, x, **fixed):
    """Run ``aug`` on ``x`` with freshly drawn parameters, some of them replaced by ``fixed``."""
    params = aug.forward_parameters(x.shape)
    for key, value in fixed.items():
        params[key] = torch.as_tensor(value, dtype=params[key].dtype).expand_as(params[key]).clone()
    return aug(x, params=params)


# --- registry -----------------------------------------------------------------------------


def test_registry():
    assert set(AUGMENTATIONS) == {"mnist", "cifar10"}
    assert build_augmentation(None) is None          # Fashion-MNIST: no augmentation
    for name in AUGMENTATIONS:
        assert isinstance(build_augmentation(name), torch.nn.Module)
    assert build_augmentation("mnist") is not build_augmentation("mnist")


def test_unknown_name_raises():
    with pytest.raises(ValueError) as err:
        build_augmentation("fashion_mnist")
    msg = str(err.value)
    assert "fashion_mnist" in msg and "mnist" in msg and "cifar10" in msg


# --- MNIST: RandomAffine(degrees=30, translate=(0.15, 0.15), scale=(0.85, 1.11)) ------------


def test_mnist_parameter_ranges():
    torch.manual_seed(0)
    p = build_augmentation("mnist").forward_parameters(torch.Size([N, 1, 28, 28]))
    angle, shift, scale = p["angle"], p["translations"], p["scale"]
    assert angle.shape == (N,) and shift.shape == (N, 2) and scale.shape == (N, 2)
    assert angle.min() >= -30 and angle.max() <= 30
    assert angle.min() < -29 and angle.max() > 29 and abs(angle.mean()) < 1.0      # U(-30, 30): sd 17.3/sqrt(N)
    # torchvision: tx = int(round(U(-0.15 * 28, 0.15 * 28))): whole pixels -4..4, every one drawn
    assert torch.equal(shift, shift.round())
    assert shift.abs().max() <= 0.15 * 28
    for axis in (0, 1):
        values, counts = shift[:, axis].unique(return_counts=True)
        assert values.tolist() == list(range(-4, 5))
        # P(+-4) = (4.2 - 3.5) / 8.4, P(k) = 1 / 8.4 otherwise
        expect = np.array([0.7, 1, 1, 1, 1, 1, 1, 1, 0.7]) / 8.4 * N
        assert np.all(np.abs(counts.numpy() - expect) < 5 * np.sqrt(expect))
    # one isotropic factor in [0.85, 1.11], no shear, rotation about the image centre
    assert torch.equal(scale[:, 0], scale[:, 1])
    assert scale.min() >= 0.85 and scale.max() <= 1.11
    assert scale.min() < 0.86 and scale.max() > 1.10
    assert (p["shear_x"] == 0).all() and (p["shear_y"] == 0).all()
    assert torch.equal(p["center"], torch.tensor([[13.5, 13.5]]).expand(N, 2))
    assert (p["batch_prob"] == 1).all()                                          # always applied


def test_mnist_translation_scales_with_width_and_height():
    torch.manual_seed(1)
    shift = build_augmentation("mnist").forward_parameters(torch.Size([N, 1, 20, 40]))["translations"]
    assert shift[:, 0].abs().max() == 6 and shift[:, 1].abs().max() == 3     # round(0.15 * 40), round(0.15 * 20)


def test_mnist_samples_differ_within_a_batch():
    torch.manual_seed(2)
    p = build_augmentation("mnist").forward_parameters(torch.Size([64, 1, 28, 28]))
    assert p["angle"].unique().numel() == 64 and p["scale"][:, 0].unique().numel() == 64


def test_mnist_identity():
    aug = build_augmentation("mnist")
    x = mnist_batch()
    out = with_params(aug, x, angle=0.0, translations=0.0, scale=1.0)
    assert torch.equal(out, x)


def test_mnist_rotation_direction_matches_torchvision_affine():
    # torchvision's F.affine / RandomAffine turn clockwise as displayed for a positive angle (its
    # docstring: "clockwise direction"; only F.rotate / RandomRotation negate it): np.rot90(k=-1)
    img = np.arange(36, dtype=np.float32).reshape(6, 6)
    img[0, 5] = 100.0
    ref, _ = torchvision_affine(img, 90.0, (0, 0), 1.0)
    assert np.array_equal(ref, np.rot90(img, k=-1))                  # the reference's own sanity
    aug = build_augmentation("mnist")
    x = torch.from_numpy(img.copy())[None, None]
    out = with_params(aug, x, angle=90.0, translations=0.0, scale=1.0)
    assert np.array_equal(out[0, 0].numpy(), np.rot90(img, k=-1))
    out = with_params(aug, x, angle=-90.0, translations=0.0, scale=1.0)
    assert np.array_equal(out[0, 0].numpy(), np.rot90(img, k=1))


def test_mnist_translation_direction():
    img = np.zeros((28, 28), np.float32)
    img[10, 12] = 255.0
    aug = build_augmentation("mnist")
    out = with_params(aug, torch.from_numpy(img)[None, None], angle=0.0, translations=[[3.0, -2.0]], scale=1.0)
    expect = np.zeros_like(img)
    expect[8, 15] = 255.0                                            # +x right, +y down, as torchvision
    assert np.array_equal(out[0, 0].numpy(), expect)


def test_mnist_matches_torchvision_formula():
    """Each output image equals torchvision's PIL computation with the parameters Kornia drew,
    except a pixel whose source coordinate lies within 1e-4 px of a rounding boundary (float32
    grid against PIL's float64: either pixel is right)."""
    torch.manual_seed(3)
    aug = build_augmentation("mnist")
    x = mnist_batch(256)
    out = aug(x).numpy()
    p = aug._params
    near_boundary = mismatched = 0
    for i in range(len(x)):
        ref, margin = torchvision_affine(x[i, 0].numpy(), p["angle"][i].item(),
                                         p["translations"][i].tolist(), p["scale"][i, 0].item())
        diff = ref != out[i, 0]
        mismatched += int((diff & (margin > 1e-4)).sum())
        near_boundary += int(diff.sum())
    assert mismatched == 0
    assert near_boundary <= 5                                        # out of 200,704 pixels


def test_mnist_zero_fill_and_values_copied():
    torch.manual_seed(4)
    x = torch.full((64, 1, 28, 28), 7.0)
    out = build_augmentation("mnist")(x)
    assert set(out.unique().tolist()) == {0.0, 7.0}                  # nearest: no blending; 0 outside
    assert (out == 0).any(dim=(1, 2, 3)).float().mean() > 0.9       # nearly every sample is shifted in


# --- CIFAR-10: RandomCrop(32, padding=4), RandomHorizontalFlip() -------------------------


def test_cifar10_parameter_ranges():
    torch.manual_seed(5)
    crop, flip = build_augmentation("cifar10")
    p = crop.forward_parameters(torch.Size([N, 3, 32, 32]))
    src = p["src"]                                                   # (N, 4, 2) corners (x, y) in the padded image
    x0, y0 = src[:, 0, 0], src[:, 0, 1]
    assert torch.equal(src[:, 2] - src[:, 0], torch.full((N, 2), 31.0))
    for start in (x0, y0):
        values, counts = start.unique(return_counts=True)
        assert values.tolist() == list(range(9))                     # torch.randint(0, 40 - 32 + 1)
        expect = N / 9
        assert np.all(np.abs(counts.numpy() - expect) < 5 * np.sqrt(expect))
    rate = flip.forward_parameters(torch.Size([N, 3, 32, 32]))["batch_prob"].float().mean().item()
    assert abs(rate - 0.5) < 5 * math.sqrt(0.25 / N)


def test_cifar10_is_a_window_of_the_zero_padded_image_then_a_flip():
    torch.manual_seed(6)
    aug = build_augmentation("cifar10")
    crop, flip = aug
    g = torch.Generator().manual_seed(7)
    x = torch.randint(1, 256, (128, 3, 32, 32), generator=g).float()    # no zero pixels of its own
    out = aug(x).numpy()
    starts = crop._params["src"][:, 0].long().numpy()
    flipped = flip._params["batch_prob"].bool().numpy()
    assert 0 < flipped.sum() < len(x)
    for i in range(len(x)):
        padded = np.pad(x[i].numpy(), ((0, 0), (4, 4), (4, 4)), mode="constant", constant_values=0)
        cx, cy = starts[i]
        window = padded[:, cy:cy + 32, cx:cx + 32]
        if flipped[i]:
            window = window[:, :, ::-1]
        assert np.array_equal(out[i], window), i


# --- both ---------------------------------------------------------------------------------


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize("name,shape", [("mnist", (5, 1, 28, 28)), ("cifar10", (5, 3, 32, 32))])
def test_shape_dtype_device_preserved(name, shape, dtype, device):
    torch.manual_seed(8)
    aug = build_augmentation(name).to(device)
    x = torch.randint(0, 256, shape).to(device=device, dtype=dtype)
    out = aug(x)
    assert out.shape == x.shape and out.dtype == dtype and out.device == x.device
    assert torch.equal(out, out.round()) and out.min() >= 0 and out.max() <= 255   # pixels copied, not blended


@pytest.mark.parametrize("name,shape", [("mnist", (16, 1, 28, 28)), ("cifar10", (16, 3, 32, 32))])
def test_randomness_from_the_global_seed(name, shape):
    x = torch.randint(0, 256, shape, generator=torch.Generator().manual_seed(9)).float()
    aug = build_augmentation(name)
    torch.manual_seed(10)
    a = aug(x)
    torch.manual_seed(10)
    b = build_augmentation(name)(x)
    torch.manual_seed(11)
    c = aug(x)
    assert torch.equal(a, b) and not torch.equal(a, c)
