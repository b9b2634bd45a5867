"""What a family of datasets gives the frames driver (:mod:`pipeline.frames.driver`).

A family lists each split's samples in a fixed order, grouped into :class:`Unit` s (what one
read gives: a recording file, a file of images, one sample of Tonic's class), and reads a
unit in a worker process: its events (:data:`~pipeline.core.events.EVENT_DTYPE`, on the
unit's clock) or its images (uint8 ``(n, C, H, W)``). Everything else (sensor checks,
filters, integration or image encoding, the parallel ordered map, the file and its metadata,
the sample counts) is the driver's, once for every family.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ...core.params import Params
from ...datasets.spec import DatasetSpec


class Item(NamedTuple):
    """One sample: the record every family lists and every frames file stores."""

    label: int                   # class index from 0
    recording: str               # stored as the sample's ``recording`` (its file, relative to data/raw)
    row: int = -1                # stored as ``label_row``: its row in its recording's labels / its index
    start: int | None = None     # window start on the unit's clock (µs, inclusive); None: the whole unit
    end: int | None = None       # window end (µs, exclusive)

    @property
    def whole_file(self) -> bool:
        return self.start is None

    def describe(self) -> str:
        """Which sample of its unit this is, for messages."""
        return "the whole file" if self.whole_file else f"the sample of labels row {self.row}"


@dataclass(frozen=True)
class Unit:
    """What one read gives: ``items`` in order. ``path`` names it in messages; ``ref`` is the
    family's own locator (a path, Tonic's index, a block of a file of images)."""

    path: str
    items: tuple[Item, ...]
    ref: object = None


class Family:
    """One family's reading of one dataset (``spec``) unpacked in ``raw_dir``, with ``params``.

    Subclasses list the splits (:meth:`splits`, in the parent) and read units (:meth:`read`,
    in workers: the object is pickled to them). ``stores_images``: units are images stored
    as they are, not events integrated into frames."""

    stores_images = False
    what = "samples"                             # what a split holds, in messages ("images")

    def __init__(self, spec: DatasetSpec, raw_dir: str | Path, params: Params | None = None):
        self.spec, self.raw_dir, self.params = spec, Path(raw_dir), params

    def splits(self) -> dict[str, list[Unit]]:
        """``{"train": units, "test": units}``, each in the order the file stores them."""
        raise NotImplementedError

    def read(self, unit: Unit) -> np.ndarray:
        """The unit's events (EVENT_DTYPE, on its clock), or its images (uint8 (n, C, H, W))."""
        raise NotImplementedError

    def where(self, unit: Unit, item: Item) -> str:
        """One sample, for messages."""
        return f"{unit.path}: {item.describe()}"

    def meta(self) -> dict:
        """The family's own metadata for the frames file (after the common keys)."""
        return {}

    def param_meta(self) -> dict:
        """Params of the family's own that the frames depend on (recorded in ``params``)."""
        return {}

    def before_workers(self) -> None:
        """Called in the parent before worker processes start (drop handles that must not cross a fork)."""

    def close(self) -> None:
        """Called when the stage ends, whatever happened."""
