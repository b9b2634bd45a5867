"""Where a run's frames live and how they come in batches: the held-out validation split, the
training loader (one rank's share of each global batch), the scored splits' loaders, and which
splits are loaded onto the device once (:class:`~pipeline.train.data.DeviceFrames`).

Frames on the device give the very positions, order and batch boundaries the DataLoader would
give, so where the frames live never changes a result (tests/train/test_data_path.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset
from torch.utils.data.distributed import DistributedSampler

from ..core.errors import LayoutError
from ..core.frameparams import values_kind
from ..params import DATA_ON_DEVICE_FRACTION, TrainParams
from .data import DeviceFrames, H5Frames, paper_split, seed_worker, validation_split
from .distributed import Context

__all__ = ["Feed", "data_on_device", "device_batches", "full_batches", "hold_out", "make_feed", "place_data",
           "same_representation", "score_loader", "split_batches", "split_size", "train_loader"]

#: batches each DataLoader worker keeps ready (workers > 0)
PREFETCH_FACTOR = 4


@dataclass
class Feed:
    """A run's data: the frames files, the training split and its batches, the scored splits."""

    data: H5Frames                    # the training file (training and validation samples)
    test: H5Frames
    train_idx: np.ndarray
    val_idx: np.ndarray
    batches: int | None               # training batches per epoch (drop_last: the full ones), None: all
    loader: DataLoader
    sampler: DistributedSampler
    generator: torch.Generator        # the loader's (worker seeds; kept in checkpoints)
    on_device: DeviceFrames | None    # the training split on the device (data_on_device), else None
    scoring: dict                     # "val", "test": this rank's share, a DataLoader or DeviceFrames

    @property
    def scale(self) -> float | None:
        """What :func:`~pipeline.train.scoring.on_device` divides every batch of the run by
        (Bina-Rep's ``2**n_bits - 1``; None: nothing): the training file's, which the test
        file's equals (:func:`same_representation`)."""
        return self.data.scale

    def epoch(self, epoch: int):
        """Epoch ``epoch``'s training batches (all of them: the loop stops at :attr:`batches`),
        each ``(x, y, indices)``: ``indices`` (int64, on the CPU) are the samples' indices in the
        training file, which seed their augmentation."""
        self.sampler.set_epoch(epoch)
        order = torch.as_tensor(np.asarray(self.train_idx, np.int64))[torch.tensor(list(self.sampler),
                                                                                   dtype=torch.int64)]
        size = self.loader.batch_size
        if self.on_device is None:
            batches = self.loader
        else:
            batches = device_batches(self.on_device, self.sampler, size, self.generator)
        for k, (x, y) in enumerate(batches):
            yield x, y, order[k * size:(k + 1) * size]


def same_representation(data: H5Frames, test: H5Frames) -> None:
    """Refuse a test file whose frames are not the training file's kind of numbers: another
    representation, or Bina-Rep codes of another ``n_bits`` (a LayoutError naming both)."""
    ours, theirs = values_kind(data.attrs, data.path), values_kind(test.attrs, test.path)
    if ours != theirs:
        raise LayoutError(f"{data.path} holds {ours} but {test.path} holds {theirs}: train and test frames "
                          "must be made alike (rerun the frames stage)")


def hold_out(data: H5Frames, tp: TrainParams, path) -> tuple[np.ndarray, np.ndarray]:
    """``(train, val)`` indices of ``data``: protocol B holds ``val_fraction`` of each class out
    (the paper's way or a seeded draw, ``train.val_split``); protocol A trains on every sample."""
    if tp.protocol != "B":
        return np.arange(len(data)), np.array([], dtype=np.int64)
    if tp.val_split == "paper":
        train_idx, val_idx = paper_split(data.labels, tp.val_fraction)
    else:
        train_idx, val_idx = validation_split(data.labels, tp.val_fraction, tp.seed)
    if len(val_idx) == 0:
        raise LayoutError(f"protocol B: no class of {path} has enough samples to hold one out "
                          f"(train.val_split: {tp.val_split}, val_fraction {tp.val_fraction}); "
                          "use train.protocol: A")
    return train_idx, val_idx


def full_batches(n: int, tp: TrainParams, path) -> int | None:
    """Training batches per epoch: with ``train.drop_last`` the full batches of ``n`` samples
    (at least one, or the run is refused), else None (every batch)."""
    if not tp.drop_last:
        return None
    if n < tp.batch_size:
        raise LayoutError(f"train.drop_last: the {n} training samples of {path} do not fill "
                          f"one batch of train.batch_size = {tp.batch_size}")
    return n // tp.batch_size


def make_feed(data: H5Frames, test: H5Frames, train_idx, val_idx, batches: int | None, tp: TrainParams,
              ctx: Context) -> Feed:
    """The training loader and every split placed (:func:`place_data`); call it with the model
    already on the device, whose free memory decides what ``data_on_device: auto`` loads."""
    loader, sampler, generator = train_loader(data, train_idx, tp, ctx)
    on_device, scoring = place_data(data, test, train_idx, val_idx, tp, ctx)
    return Feed(data, test, train_idx, val_idx, batches, loader, sampler, generator, on_device, scoring)


def train_loader(data: H5Frames, indices: np.ndarray, tp: TrainParams, ctx: Context):
    """``(loader, sampler, generator)``: this rank's share of each global batch. Epoch e's
    order is a permutation drawn from ``tp.seed + e`` (``sampler.set_epoch(e)``), the same
    for any number of ranks: global batch k is samples ``perm[k*B:(k+1)*B]``."""
    if tp.batch_size % ctx.world_size:
        raise ValueError(f"train.batch_size {tp.batch_size} (the global batch) does not split evenly "
                         f"over {ctx.world_size} processes")
    subset = Subset(data, indices.tolist())
    sampler = DistributedSampler(subset, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True,
                                 seed=tp.seed, drop_last=False)
    generator = torch.Generator().manual_seed(tp.seed + ctx.rank)   # DataLoader worker seeds
    loader = DataLoader(subset, batch_size=tp.batch_size // ctx.world_size, sampler=sampler,
                        num_workers=tp.workers, worker_init_fn=seed_worker, generator=generator,
                        pin_memory=ctx.device.type == "cuda", **_worker_options(tp.workers))
    return loader, sampler, generator


def _worker_options(workers: int) -> dict:
    """Workers kept from epoch to epoch, each with PREFETCH_FACTOR batches ready."""
    return {"persistent_workers": True, "prefetch_factor": PREFETCH_FACTOR} if workers > 0 else {}


def score_loader(data: H5Frames, share, batch_size: int, workers: int, device: torch.device) -> DataLoader:
    """Batches of ``data[share]`` in order (a rank's share of a split to score); its own
    generator (worker seeds only): :func:`split_batches` keeps the global draw of a pass."""
    workers = workers if len(share) else 0
    return DataLoader(Subset(data, [int(i) for i in share]), batch_size=batch_size, num_workers=workers,
                      pin_memory=device.type == "cuda", worker_init_fn=seed_worker,
                      generator=torch.Generator().manual_seed(0), **_worker_options(workers))


def data_on_device(choice, device: torch.device, sizes: list[int], free: int | None = None) -> list[bool]:
    """Which of the splits of ``sizes`` bytes (train, validation, test: this rank's) are loaded
    onto ``device`` for ``train.data_on_device = choice``: every one for true (on CPU: into
    memory), none for false; for auto none on CPU, and on CUDA each in turn while those loaded
    fit together in :data:`~pipeline.params.DATA_ON_DEVICE_FRACTION` of the device's ``free``
    bytes (default: ``torch.cuda.mem_get_info``'s, with the model already there)."""
    if choice is True:
        return [True] * len(sizes)
    if choice is False or device.type != "cuda":
        return [False] * len(sizes)
    if free is None:
        free = torch.cuda.mem_get_info(device)[0]
    budget, plan = DATA_ON_DEVICE_FRACTION * free, []
    for n in sizes:
        plan.append(n <= budget)
        budget -= n if plan[-1] else 0
    return plan


def place_data(data: H5Frames, test: H5Frames, train_idx, val_idx, tp: TrainParams, ctx: Context):
    """``(train, scoring)``: the training split as DeviceFrames (or None: it streams), and per
    split scored ("val", "test") this rank's share as DeviceFrames or a DataLoader."""
    batch = max(1, tp.batch_size // ctx.world_size)
    splits = {"train": (data, np.asarray(train_idx)),
              "val": (data, np.asarray(val_idx)[ctx.rank::ctx.world_size]),
              "test": (test, np.arange(len(test))[ctx.rank::ctx.world_size])}
    sizes = [d.nbytes(len(i)) + 8 * len(i) for d, i in splits.values()]
    plan = dict(zip(splits, data_on_device(tp.data_on_device, ctx.device, sizes)))
    placed = {name: DeviceFrames(d, i, ctx.device, tp.workers) for name, (d, i) in splits.items() if plan[name]}
    if placed and ctx.main:
        mib = sum(f.nbytes for f in placed.values()) / 2**20
        print(f"train: {', '.join(placed)} frames held on {ctx.device} ({mib:.0f} MiB as {data.dtype}, "
              f"rank 0's share)")
    scoring = {name: placed[name] if name in placed else score_loader(d, i, batch, tp.workers, ctx.device)
               for name, (d, i) in splits.items() if name != "train"}
    return placed.get("train"), scoring


def device_batches(frames: DeviceFrames, sampler: DistributedSampler, batch_size: int,
                   generator: torch.Generator | None = None):
    """An epoch's training batches indexed from ``frames`` (the split ``sampler`` samples): the
    positions the sampler gives this rank (its permutation for the epoch, padded as it pads), cut
    every ``batch_size``: exactly the batches of a DataLoader over the split with this sampler
    (the loop stops at ``Feed.batches`` either way)."""
    if generator is not None:
        # a DataLoader draws its workers' base seed from its generator as each pass starts; so
        # does this, so that the generator (kept in checkpoints) moves as with workers = 0 (with
        # persistent workers the DataLoader draws once per process: worker seeds, no result)
        torch.empty((), dtype=torch.int64).random_(generator=generator)
    positions = torch.tensor(list(sampler), dtype=torch.int64).to(frames.x.device)
    for start in range(0, len(positions), batch_size):
        yield frames.batch(positions[start:start + batch_size])


def split_batches(source: DataLoader | DeviceFrames, batch_size: int):
    """A scored split's batches, in order: from its DataLoader, or sliced from DeviceFrames.

    Each pass draws one number from torch's global generator, as the DataLoader made afresh
    for every scoring pass by earlier versions did (for its workers' base seed): that keeps the
    global random stream, hence the dropout masks of the epochs after, what they were, whether
    the split streams (through persistent workers or none) or sits on the device."""
    torch.empty((), dtype=torch.int64).random_()
    if isinstance(source, DeviceFrames):
        return (source.batch(slice(s, s + batch_size)) for s in range(0, len(source), batch_size))
    return source


def split_size(source: DataLoader | DeviceFrames) -> int:
    """Samples in a scored split's share."""
    return len(source) if isinstance(source, DeviceFrames) else len(source.dataset)
