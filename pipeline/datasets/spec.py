"""What a dataset is, as data: where its files come from (a *source*) and how its samples are
found and read (a *layout*, one per family of datasets). No code of the stages: every stage
imports this (params are checked against it).

A layout's type names its family (:attr:`Layout.family`); the frames stage's implementation of
each family is in :mod:`pipeline.frames.families`. A source's type says how the download stage
obtains the files (:mod:`pipeline.download.stage`). Help prose ("where to get the files")
is not here but in ``help.yaml`` beside this file, so editing it reruns no stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from ..core.frameparams import frame_shape

# --------------------------------------------------------------------------- files and sources


@dataclass(frozen=True)
class Remote:
    """One file to download: its name in ``download.archive_dir``, md5, known URLs, and its
    size in bytes where known (a download that grows past it stops at once)."""

    name: str
    md5: str
    urls: tuple[str, ...] = ()
    size: int | None = None


class Source:
    """How the download stage obtains a dataset's files. (What it obtained, once unpacked, is
    ``data/raw/SOURCE.json``: :class:`pipeline.core.sourcerecord.SourceRecord`.)"""

    #: What the dataset listing (``python -m pipeline datasets``) says of the download where
    #: not the listed files' size (None: their size), and of the sample counts where the spec
    #: records none (None: the layout's word, else unknown).
    size_label: ClassVar[str | None] = None
    counts_label: ClassVar[str | None] = None


@dataclass(frozen=True)
class Fetch(Source):
    """The files the spec lists: from ``download.mirrors``, their URLs, or placed by hand in
    ``download.archive_dir``; md5-checked, then unpacked."""


@dataclass(frozen=True)
class Generated(Source):
    """Built on this machine from ``params.<dataset>`` (the demo's simulator), then obtained
    through the same path as a mirror; nothing is kept."""

    size_label: ClassVar[str | None] = "generated"
    counts_label: ClassVar[str | None] = "from params"
    generator: str = "demo"


@dataclass(frozen=True)
class TonicFetch(Source):
    """Tonic's class (the spec's :class:`TonicClass` layout) fetches, checks and unpacks the
    files into ``download.archive_dir``; they are linked into ``data/raw``."""

    size_label: ClassVar[str | None] = "via Tonic"


FETCH = Fetch()

# --------------------------------------------------------------------------- layouts (families)


class Layout:
    """How a dataset's samples are found and read: one subclass per family."""

    family: ClassVar[str] = ""
    images: ClassVar[bool] = False        # static images stored once (else event frames)
    channels: int = 2                     # the network's input channels (event polarities)

    def frame_shape(self, T: int, sensor_size: tuple[int, int], downsample: int,
                    representation: str = "counts") -> tuple[int, int, int, int]:
        """``(T, C, H', W')`` of one sample as the network sees it: the frames' shape
        (:func:`pipeline.core.frameparams.frame_shape`), or an image's (its channels, its size;
        repeated T times)."""
        if self.images:
            H, W = sensor_size
            return T, self.channels, H, W
        return frame_shape(T, sensor_size, downsample, representation)

    def param_problems(self, params) -> list[tuple[str, str]]:
        """``(param, problem)`` for params this family cannot take (beyond the common checks)."""
        return []

    @property
    def tonic(self) -> str | None:
        """The Tonic dataset class this layout wraps (None: none, the dataset is ours)."""
        return None

    @property
    def origin(self) -> str:
        """Whose dataset this is, as the dataset listing's ``source`` column says it."""
        return "ours"

    @property
    def counts_label(self) -> str | None:
        """The listing's word on the sample counts where the spec records none (None: unknown)."""
        return None


@dataclass(frozen=True)
class Trials(Layout):
    """DVS128 Gesture's layout: recordings listed in ``trials_to_<split>.txt``, each cut into
    samples by its ``<name>_labels.csv`` (class, start, end)."""

    family: ClassVar[str] = "trials"
    reader: str = "aedat3"


@dataclass(frozen=True)
class ByFolder:
    """The split is the name of a folder on the file's path."""

    train: str
    test: str


@dataclass(frozen=True)
class ByIndex:
    """The split is the index at the end of the file's name (inclusive ranges, numeric order)."""

    train: tuple[int, int]
    test: tuple[int, int]


@dataclass(frozen=True)
class EventFiles(Layout):
    """One event file per sample: files matching ``pattern``, class from the folder the file is
    in (``label="folder"``) or the archive it came from (``"archive"``), split by folder or index."""

    family: ClassVar[str] = "eventfiles"
    pattern: str = "*"
    label: str = "folder"
    split: ByFolder | ByIndex = ByFolder("train", "test")
    reader: str = "aedat3"
    reader_args: tuple[tuple[str, object], ...] = ()
    transform: str | None = None          # key of pipeline.frames.transforms.TRANSFORMS


def normalisation(mean, std) -> dict:
    """``{"mean": [...], "std": [...]}``: the per-channel normalisation of an image dataset's
    network input (of x / 255), as the frames file's ``image`` metadata records it and train and
    ``summary`` take it (one home for its shape)."""
    return {"mean": list(mean), "std": list(std)}


@dataclass(frozen=True)
class ImageFiles(Layout):
    """Static images stored once (uint8 (N, C, H, W)); the network repeats each for T steps.
    ``format`` ``"idx"`` (MNIST: per split an images and a labels file) or ``"cifar"``
    (CIFAR-10's pickled batches); ``splits``: per split the file names, as unpacked."""

    family: ClassVar[str] = "images"
    images: ClassVar[bool] = True
    format: str = "idx"
    splits: tuple[tuple[str, tuple[str, ...]], ...] = ()
    channels: int = 1
    mean: tuple[float, ...] = ()           # per-channel normalisation of x / 255
    std: tuple[float, ...] = ()
    augment: str | None = None             # key of pipeline.train.augment.AUGMENTATIONS (training only)

    def files(self, split: str) -> tuple[str, ...]:
        return dict(self.splits)[split]

    def normalisation(self) -> dict:
        """This dataset's :func:`normalisation`."""
        return normalisation(self.mean, self.std)

    def param_problems(self, params) -> list[tuple[str, str]]:
        problems = []
        if params.frames.downsample != 1:
            problems.append(("frames.downsample", f"must be 1 for {params.dataset}, an image dataset (its images "
                                                  f"are stored as they are), got {params.frames.downsample}"))
        if params.model.blocks == 0:
            problems.append(("model.blocks", "must be at least 1 for an image dataset (its first convolution is "
                                             "the encoder)"))
        return problems


@dataclass(frozen=True)
class TonicClass(Layout):
    """Tonic's dataset class ``tonic_class`` lists and parses the samples. ``split``
    ``"official"``: per split its constructor's keyword arguments (``splits``);
    ``"stratified"``: one dataset (``kwargs``, ``total`` samples) split per class by
    ``frames.test_fraction`` and ``frames.split_seed``. ``data``: globs (in Tonic's folder)
    of the files it reads, linked into ``data/raw``. ``one_d``: an audio sensor (no y).
    ``note``: the class's own rule, kept in the frames file."""

    family: ClassVar[str] = "tonic"
    tonic_class: str = ""
    split: str = "official"
    splits: tuple[tuple[str, tuple[tuple[str, object], ...]], ...] = ()
    kwargs: tuple[tuple[str, object], ...] = ()
    total: int | None = None
    data: tuple[str, ...] = ()
    one_d: bool = False
    note: str = ""

    @property
    def stratified(self) -> bool:
        return self.split == "stratified"

    def split_kwargs(self, split: str) -> dict:
        return dict(dict(self.splits)[split])

    @property
    def tonic(self) -> str | None:
        return self.tonic_class

    @property
    def origin(self) -> str:
        return f"Tonic {self.tonic_class}"

    @property
    def counts_label(self) -> str | None:
        if not self.stratified:
            return None
        return f"{self.total} split by params" if self.total else "split by params"


# --------------------------------------------------------------------------- the spec


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset: its classes and sensor, its files and their source, its layout (family)."""

    name: str
    classes: tuple[str, ...]
    sensor_size: tuple[int, int]           # (H, W), after any transform
    layout: Layout = field(default_factory=Trials)
    files: tuple[Remote, ...] = ()         # what a Fetch source downloads
    expected: dict[str, int] | None = None  # samples per split; a mismatch is an error
    source: Source = FETCH
    # a subfolder of download.archive_dir for the files, where another dataset's have the same
    # names (MNIST and Fashion-MNIST): each keeps its own copies, neither refuses the other's
    archive_subdir: str = ""
    config: str = ""                       # the paper's params file

    @property
    def channels(self) -> int:
        return self.layout.channels

    @property
    def images(self) -> bool:
        return self.layout.images
