"""The families of datasets, by the name their layout type carries
(:attr:`pipeline.datasets.spec.Layout.family`): how each lists a split's samples and reads them.

A new family is a :class:`~.base.Family` subclass registered here under its layout's name
(:func:`register`, which a family defined elsewhere can call too); nothing else branches on it.
"""

from __future__ import annotations

from pathlib import Path

from ...core.errors import LayoutError
from ...params import Params
from ...datasets.spec import DatasetSpec
from .base import Family, Item, Unit
from .eventfiles import EventFilesFamily
from .images import ImagesFamily
from .tonic import TonicFamily
from .trials import TrialsFamily

__all__ = ["FAMILIES", "Family", "Item", "Unit", "family_for", "register"]

FAMILIES: dict[str, type[Family]] = {"trials": TrialsFamily, "eventfiles": EventFilesFamily,
                                     "images": ImagesFamily, "tonic": TonicFamily}


def register(name: str, family: type[Family]) -> None:
    """Make ``family`` read datasets whose layout's ``family`` is ``name``."""
    FAMILIES[name] = family


def family_for(spec: DatasetSpec, raw_dir: str | Path, params: Params) -> Family:
    """The family that reads ``spec``'s dataset in ``raw_dir``."""
    cls = FAMILIES.get(spec.layout.family)
    if cls is None:
        raise LayoutError(f"dataset {spec.name}: no frames family {spec.layout.family!r} "
                          f"(known: {', '.join(sorted(FAMILIES))})")
    return cls(spec, raw_dir, params)
