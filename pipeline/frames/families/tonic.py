"""The Tonic family (``dataset: tonic.<Class>``): Tonic's class lists and parses, we integrate.

Tonic's class is instantiated on ``data/raw`` (what the download stage linked there, in Tonic's
layout) for each split it has, with its download switched off: a file missing there is an
error that says to rerun the download stage, never a download. Its samples are listed once in
the parent (label from Tonic's targets, the file Tonic reads as ``recording``), in a fixed
order: sorted by that file's path (Tonic lists some folders in the file system's order), or
Tonic's index order where all samples are in one file (SHD, SSC, N-TIDIGITS18, recorded as
``<split>/<index>`` or ``<split>/<sample id>``). Worker processes then take chunks of sample
indices, ask Tonic for each sample's events (``dataset[i]``, one unit each), turn them into
:data:`~pipeline.core.events.EVENT_DTYPE` (:func:`to_events`) and give them to the frames driver
(:mod:`pipeline.frames.driver`), which goes the way of every dataset: sensor checks, filters,
integration, compression, the file in a fixed order whatever ``frames.workers``.

Splits: Tonic's own train/test sets where the class has them (its ``train=`` argument);
otherwise (CIFAR10DVS, ASLDVS, NCALTECH101) a stratified split (:func:`stratified_split`): in
each class, a permutation drawn from ``(frames.split_seed, class index)`` sends
``round(n * frames.test_fraction)`` of its samples to test. The fraction and seed are stored in
the attributes and in their ``params`` JSON. ``label_row`` is the sample's position in the
dataset's fixed order (within its split, or within the whole dataset when we split it).

Tonic's event dtypes differ per class (field order; int16, int64, uint16, uint64 fields; bool
or integer polarity; (N, 1) arrays from MATLAB files): :func:`to_events` reads the fields by
name and refuses, naming the dataset, the sample and the event, a missing field, a
non-numeric or non-integral value and a value outside what EVENT_DTYPE holds. Audio datasets
(``layout.one_d``: events ``t, x, p`` on a 1-D sensor) get ``y = 0`` and ``p = 0``.

The HDF5 file has the attributes :func:`pipeline.frames.stage.make_frames` writes, plus ``source =
"tonic"``, ``tonic_class``, ``tonic_version``, ``split_rule`` (and ``test_fraction``,
``split_seed`` for a stratified split; ``tonic_note`` for a class's own rule, such as
N-Caltech101's frame placement).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from ...core.errors import EventFormatError, LayoutError, one_line
from ...core.events import EVENT_DTYPE
from ...core.tonic_private import offline
from .base import Family, Item, Unit

_INT64 = (-(2**63), 2**63 - 1)
_COORD = (0, 2**16 - 1)                # EVENT_DTYPE's x and y are uint16
_HSD = {"SHD", "SSC"}                  # one HDF5 file of samples, labels in it


# ------------------------------------------------------------------------- events

def _bad(where: str, column: np.ndarray, mask: np.ndarray, name: str, why: str) -> EventFormatError:
    k = int(np.argmax(mask))
    return EventFormatError(f"{where}: event {k}: {name} = {column[k].item()!r} {why}")


def _column(events: np.ndarray, name: str, where: str, lo: int, hi: int) -> np.ndarray:
    """Field ``name`` as int64, every value checked to be an integer in ``[lo, hi]``."""
    col = events[name]
    dt = col.dtype
    span = f"does not fit in {lo}..{hi}"
    if dt.shape or dt.kind not in "biuf":
        raise EventFormatError(f"{where}: Tonic's field {name!r} is of type {dt}, not a number: "
                               "this class's events cannot be converted")
    if dt.kind == "b" or not col.size:
        return col.astype(np.int64)
    if dt.kind in "iu":
        if int(col.min()) < lo or int(col.max()) > hi:
            raise _bad(where, col, (col < lo) | (col > hi), name, span)
        return col.astype(np.int64)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(col) | (col != np.floor(col))
        if bad.any():
            raise _bad(where, col, bad, name, "is not a whole number")
        out = (col < lo) | (col >= float(hi) + 1)
    if out.any():
        raise _bad(where, col, out, name, span)
    return col.astype(np.int64)


def to_events(events, where: str, one_d: bool = False) -> np.ndarray:
    """Tonic's structured events (any field order, widths, signedness, bool polarity) as a new
    :data:`EVENT_DTYPE` array; ``where`` names the dataset and sample in errors.

    ``p`` must be 0/1 (or bool); a sample whose polarities are all -1 or 1 maps -1 to 0.
    ``one_d``: audio events (``t, x, p``, no ``y``) become ``y = 0``, ``p = 0``. A ``(N, 1)``
    or ``(1, N)`` array (Tonic's readers of MATLAB files) is taken as its N events.
    """
    if not isinstance(events, np.ndarray) or events.dtype.names is None:
        got = f"a {events.dtype} array" if isinstance(events, np.ndarray) else type(events).__name__
        raise EventFormatError(f"{where}: Tonic gave {got}, not a structured array of events")
    if events.ndim != 1:
        if events.ndim == 2 and 1 in events.shape:
            events = events.reshape(-1)
        else:
            raise EventFormatError(f"{where}: Tonic's events have shape {events.shape}, not a list of events")
    names = events.dtype.names
    need = ("t", "x", "p") if one_d else ("t", "x", "y", "p")
    missing = [n for n in need if n not in names]
    if missing:
        raise EventFormatError(f"{where}: Tonic's events have the fields {', '.join(names)}, no "
                               f"{', '.join(missing)}: not events this pipeline can integrate "
                               f"(it needs {', '.join(need)})")
    out = np.empty(events.size, dtype=EVENT_DTYPE)
    out["t"] = _column(events, "t", where, *_INT64)
    out["x"] = _column(events, "x", where, *_COORD)
    if one_d:
        _column(events, "p", where, *_INT64)        # checked to be numbers, then set to 0
        out["y"] = 0
        out["p"] = 0
        return out
    out["y"] = _column(events, "y", where, *_COORD)
    p = _column(events, "p", where, -1, 1)
    if p.size and p.min() < 0:
        if (p == 0).any():
            raise _bad(where, p, p == 0, "p", "mixes with p = -1 in one sample: polarity must be 0/1 or -1/1")
        p = (p + 1) >> 1
    out["p"] = p
    return out


# ------------------------------------------------------------------------- splits

def stratified_split(labels, n_classes: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(train, test)`` positions into ``labels``, each sorted: in class ``c``, the permutation
    ``numpy.random.default_rng([seed, c]).permutation(n_c)`` picks ``floor(n_c * fraction +
    0.5)`` of its samples (in ``labels`` order) for test."""
    labels = np.asarray(labels, dtype=np.int64)
    test = []
    for c in range(n_classes):
        idx = np.flatnonzero(labels == c)
        k = int(math.floor(len(idx) * test_fraction + 0.5))
        if k:
            test.append(idx[np.random.default_rng([seed, c]).permutation(len(idx))[:k]])
    test = np.sort(np.concatenate(test)) if test else np.zeros(0, np.int64)
    train = np.setdiff1d(np.arange(len(labels)), test)
    return train, test


# ------------------------------------------------------------------------- Tonic's class

_OFFLINE: dict[str, type] = {}
_OPEN: dict[tuple, object] = {}


def offline_class(tonic_class: str) -> type:
    """Tonic's class with its download switched off: it trusts the folder (the download stage
    ran its checks) and any attempt to fetch is a LayoutError. Same class name, so Tonic's
    folder is still ``<save_to>/<Class>``."""
    if tonic_class not in _OFFLINE:
        import tonic.datasets
        base = getattr(tonic.datasets, tonic_class, None)
        if not isinstance(base, type):
            import tonic
            raise LayoutError(f"the installed Tonic {getattr(tonic, '__version__', '?')} has no dataset class "
                              f"{tonic_class!r}: install the Tonic the download stage used (pip install "
                              "'tonic>=1.6,<2')")

        def refuse(self, *args, **kwargs):
            raise LayoutError(f"Tonic's {tonic_class} does not find its files in {self.location_on_system} "
                              "and wants to download them: rerun the download stage (dvc repro --force download)")

        _OFFLINE[tonic_class] = offline(base, refuse, __name__)
    return _OFFLINE[tonic_class]


def open_dataset(tonic_class: str, raw_dir: str | Path, kwargs: dict, name: str = ""):
    """Tonic's dataset on ``raw_dir`` (offline), made once per process and arguments."""
    key = (os.getpid(), tonic_class, str(raw_dir), tuple(sorted(kwargs.items())))
    if key not in _OPEN:
        cls = offline_class(tonic_class)
        try:
            _OPEN[key] = cls(save_to=str(raw_dir), **kwargs)
        except LayoutError:
            raise
        except Exception as e:  # noqa: BLE001 - Tonic's constructors list files and open HDF5s: on a
            # damaged or partial folder they raise anything (KeyError, OSError, ValueError, ...)
            raise LayoutError(f"{name or tonic_class}: Tonic's {tonic_class} cannot list the dataset in "
                              f"{Path(raw_dir) / tonic_class} ({type(e).__name__}: {one_line(e)}); rerun the "
                              "download stage (dvc repro --force download)") from None
    return _OPEN[key]


def label_of(target, classes: tuple[str, ...], where: str) -> int:
    """Tonic's target (a class index, or a class name for NCALTECH101 and N-TIDIGITS18) as our label."""
    if isinstance(target, bytes):
        target = target.decode()
    if isinstance(target, str):
        if target not in classes:
            raise LayoutError(f"{where}: Tonic's target {target!r} is not one of the dataset's "
                              f"{len(classes)} classes")
        return classes.index(target)
    try:
        label = int(np.asarray(target).reshape(()))
    except (TypeError, ValueError):
        raise LayoutError(f"{where}: Tonic's target {target!r} is not a class") from None
    if not 0 <= label < len(classes):
        raise LayoutError(f"{where}: Tonic's target {label} is outside 0..{len(classes) - 1}")
    return label


def _targets(ds, tonic_class: str) -> list:
    if tonic_class in _HSD:
        import h5py
        with h5py.File(os.path.join(ds.location_on_system, ds.data_filename), "r") as f:
            return list(f["labels"][:])
    if tonic_class == "NTIDIGITS18":
        return [s.split("-")[-1] for s in ds._samples]
    return list(ds.targets)


def _pokerdvs_paths(ds) -> list[str]:
    """The files POKERDVS loaded, in its order: its walk, repeated (same folder, same order)."""
    paths = []
    for path, _dirs, files in os.walk(os.path.join(ds.location_on_system, ds.folder_name)):
        files.sort()
        paths += [os.path.join(path, f) for f in files if f.endswith("npy")]
    return paths


def _recordings(ds, tonic_class: str, raw_dir: Path, split: str) -> tuple[list[str], bool]:
    """Each sample's recording name, and whether they are file paths (sorted order) or not."""
    n = len(ds)
    if tonic_class == "POKERDVS":
        paths = _pokerdvs_paths(ds)
        if len(paths) != n or any(ds.int_classes.get(os.path.dirname(p)[-2:]) != t
                                  for p, t in zip(paths, ds.targets)):
            raise LayoutError(f"{raw_dir}: POKERDVS's files changed while they were listed; run again")
    elif tonic_class in _HSD:
        return [f"{split}/{i}" for i in range(n)], False
    elif tonic_class == "NTIDIGITS18":
        return [f"{split}/{s}" for s in ds._samples], False
    else:
        paths = list(ds.data)
        if len(paths) != n or not all(isinstance(p, (str, os.PathLike)) for p in paths):
            return [f"{split}/{i}" for i in range(n)], False
    return [Path(os.path.relpath(p, raw_dir)).as_posix() for p in paths], True


def catalog(ds, spec, raw_dir: str | Path, split: str) -> list[tuple[int, Item]]:
    """Every sample of Tonic's dataset ``ds`` in our fixed order: ``(Tonic's index, item)``."""
    raw_dir = Path(raw_dir)
    tonic_class = spec.layout.tonic_class
    recordings, are_paths = _recordings(ds, tonic_class, raw_dir, split)
    targets = _targets(ds, tonic_class)
    if len(targets) != len(recordings):
        raise LayoutError(f"{raw_dir}: Tonic's {tonic_class} lists {len(recordings)} samples but "
                          f"{len(targets)} targets")
    labels = [label_of(t, spec.classes, f"{spec.name}: {r}") for t, r in zip(targets, recordings)]
    order = sorted(range(len(recordings)), key=recordings.__getitem__) if are_paths else range(len(recordings))
    return [(i, Item(labels[i], recordings[i], row)) for row, i in enumerate(order)]


# ------------------------------------------------------------------------- the family


def _count_error(what: str, n: int, expected: int) -> LayoutError:
    return LayoutError(f"{what}: found {n} samples, expected {expected}; the download is incomplete or "
                       "not the official one (rerun the download stage: dvc repro --force download)")


class TonicFamily(Family):
    """A unit is one sample: ``ref`` is ``(split's constructor kwargs as sorted items, Tonic's index)``."""

    def splits(self) -> dict[str, list[Unit]]:
        _OPEN.clear()                              # never a listing of an earlier call's files
        spec, layout, fp = self.spec, self.spec.layout, self.params.frames
        if layout.stratified:
            kwargs = dict(layout.kwargs)
            listed = catalog(open_dataset(layout.tonic_class, self.raw_dir, kwargs, spec.name), spec,
                             self.raw_dir, "all")
            if layout.total is not None and len(listed) != layout.total:
                raise _count_error(f"frames: {spec.name}", len(listed), layout.total)
            train, test = stratified_split([it.label for _, it in listed], len(spec.classes), fp.test_fraction,
                                           fp.split_seed)
            # label_row: the position in the whole dataset's fixed order
            chosen = {"train": [listed[i] for i in train], "test": [listed[i] for i in test]}
            per_split = {split: (kwargs, chosen[split]) for split in ("train", "test")}
        else:
            per_split = {}
            for split in ("train", "test"):
                kwargs = layout.split_kwargs(split)
                per_split[split] = (kwargs, catalog(open_dataset(layout.tonic_class, self.raw_dir, kwargs, spec.name),
                                                    spec, self.raw_dir, split))
        self._train_kwargs = per_split["train"][0]
        return {split: [Unit(f"{spec.name}: {item.recording}", (item,), (tuple(sorted(kwargs.items())), index))
                        for index, item in listed]
                for split, (kwargs, listed) in per_split.items()}

    def where(self, unit: Unit, item: Item) -> str:
        return f"{self.spec.name}: sample {item.recording}"

    def read(self, unit: Unit) -> np.ndarray:
        spec, layout = self.spec, self.spec.layout
        kwargs, index = unit.ref
        item = unit.items[0]
        ds = open_dataset(layout.tonic_class, self.raw_dir, dict(kwargs), spec.name)
        try:
            events, target = ds[index]
        except (LayoutError, EventFormatError):
            raise
        except Exception as e:  # noqa: BLE001 - Tonic's readers raise anything on a damaged file
            raise EventFormatError(f"{spec.name}: sample {item.recording}: Tonic's {layout.tonic_class} cannot "
                                   f"read it ({type(e).__name__}: {one_line(e)}); the file is damaged: rerun "
                                   "the download stage") from None
        if label_of(target, spec.classes, f"{spec.name}: {item.recording}") != item.label:
            raise LayoutError(f"{spec.name}: sample {item.recording}: Tonic's target {target!r} differs from "
                              "the one it listed; the files changed: run the frames stage again")
        return to_events(events, self.where(unit, item), layout.one_d)

    def meta(self) -> dict:
        import tonic

        spec, layout, fp = self.spec, self.spec.layout, self.params.frames
        meta = {"source": "tonic", "tonic_class": layout.tonic_class,
                "tonic_version": str(getattr(tonic, "__version__", "unknown")),
                "split_rule": "stratified" if layout.stratified else "official"}
        if layout.stratified:
            meta.update(test_fraction=fp.test_fraction, split_seed=fp.split_seed)
        if layout.note:
            meta["tonic_note"] = layout.note
        if layout.tonic_class in _HSD:                # the class names the file itself carries
            ds = open_dataset(layout.tonic_class, self.raw_dir, self._train_kwargs, spec.name)
            keys = [k.decode() if isinstance(k, bytes) else str(k) for k in np.asarray(ds.classes).ravel()]
            meta["tonic_keys"] = keys
            if keys != list(spec.classes):
                print(f"frames: note: {spec.name}'s file names its classes {keys}, the registry "
                      f"{list(spec.classes)}; labels are the file's indices")
        return meta

    def param_meta(self) -> dict:
        fp = self.params.frames
        return {"test_fraction": fp.test_fraction, "split_seed": fp.split_seed} if self.spec.layout.stratified else {}

    def before_workers(self) -> None:
        _OPEN.clear()       # no open Tonic dataset (an HDF5 handle) crosses a fork: each worker opens its own

    def close(self) -> None:
        _OPEN.clear()
