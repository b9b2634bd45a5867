"""Training augmentation of the static-image datasets, as in Fang et al. (ICCV 2021), with Kornia.

The paper's code augments PIL uint8 images with torchvision before ``ToTensor``/``Normalize``:

* ``mnist``: ``RandomAffine(degrees=30, translate=(0.15, 0.15), scale=(0.85, 1.11))`` -- per image a
  rotation angle ~ U(-30, 30) degrees about the image centre, an isotropic scale ~ U(0.85, 1.11), a
  shift of round(U(-0.15 W, 0.15 W)) and round(U(-0.15 H, 0.15 H)) whole pixels, no shear, nearest
  interpolation, 0 outside the image.
* ``cifar10``: ``RandomCrop(32, padding=4)`` then ``RandomHorizontalFlip()`` -- a 32 x 32 window,
  offsets uniform in 0..8 on each axis, of the image zero-padded by 4 on every side, then a
  left-right flip with probability 0.5.
* Fashion-MNIST: none (``build_augmentation(None)`` is None).

Here they are ``nn.Module`` s on a batch ``(B, C, H, W)`` of raw pixel values 0..255 as floats (the
model normalises later), on the batch's device, returning the same shape and dtype. Every sample
gets its own parameters. Kornia classes and options: ``RandomAffine(degrees=30, translate=(0.15,
0.15), scale=(0.85, 1.11), resample="nearest", padding_mode="zeros", align_corners=True, p=1)``
with its shifts rounded to whole pixels (a small subclass), and ``RandomCrop((32, 32), padding=4,
fill=0, padding_mode="constant", cropping_mode="slice")``, ``RandomHorizontalFlip(p=0.5)``.

Where Kornia (0.9) and torchvision differ, and what was done about it:

* Probability: Kornia's ``RandomAffine`` applies to half the samples by default (``p=0.5``);
  torchvision's always applies, so ``p=1`` is set.
* Translation: Kornia draws sub-pixel shifts, U(-0.15 W, 0.15 W) pixels; torchvision rounds them to
  whole pixels (half to even), so here they are rounded the same way: shifts are -4..4 px on 28 x 28.
* Rotation direction: a positive angle turns the image clockwise as displayed in both Kornia's and
  torchvision's ``RandomAffine`` (torchvision's ``RandomRotation``, unlike its ``affine``, turns
  counter-clockwise); with the symmetric range U(-30, 30) the direction does not matter anyway.
* Centre: both rotate and scale about the true image centre, pixel ((W - 1) / 2, (H - 1) / 2)
  with pixel centres at integers (torchvision's PIL path: (W / 2, H / 2) with pixel corners at
  integers). Before torchvision 0.8 its PIL path used (W / 2 + 0.5, H / 2 + 0.5), half a pixel off.
* Scale and shear: the same, one isotropic factor U(0.85, 1.11) per image and no shear (Kornia's
  ``shear=None`` is 0; a 4-value ``scale`` would be anisotropic and is not used).
* Interpolation: both nearest. PIL takes floor of the source coordinate (pixel corners at integers),
  torch's ``grid_sample`` rounds half to even (pixel centres at integers); they pick different
  pixels only when a source coordinate falls on (or, through float32 grid arithmetic in Kornia
  against float64 in PIL, within about 1e-5 px of) a half-pixel boundary: a rare pixel, never
  a systematic shift. PIL's exact-zero-angle fast path is never hit by a continuous angle.
  ``align_corners=True`` makes Kornia's sampling grid apply the matrix in exact pixel coordinates;
  Kornia 0.9 is consistent under either value, older ``warp_affine`` only under True (Kornia #3904).
* Fill: 0 in both (Kornia ``padding_mode="zeros"``, torchvision ``fill=0``), for the affine and the
  crop padding; a crop copies pixels exactly (``cropping_mode="slice"``, no resampling).
* Values: torchvision transforms uint8 images, these transform floats 0..255; nearest sampling,
  cropping and flipping copy input values, so the outputs are the same integers.
* Random numbers: torchvision draws each image's parameters in the DataLoader workers from torch's
  CPU generator; Kornia draws a whole batch's at once from torch's global generator of the device
  the module sits on (CPU as built; after ``.to(device)`` that device's, e.g. CUDA's).
  ``torch.manual_seed`` seeds them all, so a seeded run is reproducible, but the random streams
  are not torchvision's: the same seed does not give the paper's exact augmented images.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from kornia import augmentation as K
from torch import nn


class _WholePixelAffine(K.RandomAffine):
    """``kornia.augmentation.RandomAffine`` with its random shifts rounded to whole pixels, as
    torchvision's ``RandomAffine.get_params`` does (``int(round(uniform(-max_dx, max_dx)))``)."""

    def generate_parameters(self, batch_shape: tuple[int, ...]) -> dict[str, torch.Tensor]:
        params = super().generate_parameters(batch_shape)
        params["translations"] = torch.round(params["translations"])  # half to even, like Python's round
        return params


def mnist_augmentation() -> nn.Module:
    """torchvision ``RandomAffine(degrees=30, translate=(0.15, 0.15), scale=(0.85, 1.11))``.

    Per sample: angle ~ U(-30, 30) degrees (clockwise positive, about the image centre), isotropic
    scale ~ U(0.85, 1.11), shift round(U(-0.15 W, 0.15 W)), round(U(-0.15 H, 0.15 H)) pixels,
    nearest interpolation, 0 outside. Random draws come from torch's global generator of the
    module's device (seeded by ``torch.manual_seed``, as the training loop does).
    """
    return _WholePixelAffine(
        degrees=30.0, translate=(0.15, 0.15), scale=(0.85, 1.11), shear=None,
        resample="nearest", padding_mode="zeros", align_corners=True,
        same_on_batch=False, p=1.0, keepdim=False,
    )


def cifar10_augmentation() -> nn.Module:
    """torchvision ``RandomCrop(32, padding=4)`` then ``RandomHorizontalFlip()``.

    Per sample: pad 4 zeros on every side, take the 32 x 32 window at offsets (x, y) uniform in
    0..8, then flip left-right with probability 0.5. Random draws come from torch's global
    generator of the module's device (seeded by ``torch.manual_seed``, as the training loop does).
    """
    return nn.Sequential(
        K.RandomCrop((32, 32), padding=4, fill=0, padding_mode="constant", cropping_mode="slice",
                     same_on_batch=False, p=1.0, keepdim=False),
        K.RandomHorizontalFlip(p=0.5, same_on_batch=False, keepdim=False),
    )


AUGMENTATIONS: dict[str, Callable[[], nn.Module]] = {
    "mnist": mnist_augmentation,
    "cifar10": cifar10_augmentation,
}


def build_augmentation(name: str | None) -> nn.Module | None:
    """A fresh training augmentation module for ``name`` (a key of :data:`AUGMENTATIONS`), or None
    for None (a dataset trained without augmentation, e.g. Fashion-MNIST).

    It takes a float batch ``(B, C, H, W)`` of raw pixel values 0..255 on any device and returns
    the same shape, dtype and device, each sample with its own random parameters drawn from torch's
    global generator of the module's device (``.to(device)`` moves the drawing there); the training
    loop seeds it with ``torch.manual_seed``.
    """
    if name is None:
        return None
    try:
        factory = AUGMENTATIONS[name]
    except KeyError:
        raise ValueError(f"unknown augmentation {name!r}; known: {', '.join(sorted(AUGMENTATIONS))}") from None
    return factory()
