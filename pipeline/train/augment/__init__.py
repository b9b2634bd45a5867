"""Training augmentation, on the training device.

* :mod:`.events`: ``train.augment``, the event-frame ops (flip, roll, rotate, shear, cutout, drop,
  cutmix, nda) of any dataset, seeded per sample: :func:`augment_events`.
* :mod:`.images`: the paper's augmentation of its static-image datasets (MNIST, CIFAR-10), with
  Kornia, chosen by the dataset (:func:`build_augmentation`). With both, the images' comes first.
"""

from .events import augment_events
from .images import AUGMENTATIONS, build_augmentation, cifar10_augmentation, mnist_augmentation

__all__ = ["AUGMENTATIONS", "augment_events", "build_augmentation", "cifar10_augmentation", "mnist_augmentation"]
