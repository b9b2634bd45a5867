"""The dataset registry: everything that differs between datasets is data here, not code.

Adding a dataset means one new ``DatasetSpec``: its source files with checksums and URLs,
the reader, sensor size, classes, how samples and splits are found, and its paper config.
Every stage imports this module (params are checked against it), so it imports no code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .demo import CLASSES as DEMO_CLASSES
from .errors import LayoutError


@dataclass(frozen=True)
class Remote:
    """One file to download: its name in ``download.archive_dir``, md5, known URLs, and its
    size in bytes where known (a download that grows past it stops at once)."""

    name: str
    md5: str
    urls: tuple[str, ...] = ()
    size: int | None = None


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    files: tuple[Remote, ...]          # what the download stage fetches (none when generated)
    reader: str                        # key of pipeline.io.READERS
    sensor_size: tuple[int, int]       # (H, W) after `transform`
    classes: tuple[str, ...]
    expected: dict[str, int] | None    # samples per split; a mismatch is an error
    # how samples are found: {"kind": "trials"} (DvsGesture: recordings cut by labels CSVs) or
    # {"kind": "files", "pattern": glob, "label": "folder"|"archive", "split": rule}, where rule
    # is {"by": "folder", "train": name, "test": name} or {"by": "index", "train": [lo, hi], ...}
    layout: dict = field(default_factory=lambda: {"kind": "trials"})
    reader_args: dict = field(default_factory=dict)
    transform: str | None = None       # key of pipeline.transforms.TRANSFORMS
    help: str = ""                     # where to get the files by hand ({archive_dir} is filled in)
    config: str = ""                   # the paper's params file
    # built on this machine from params.<name> (the demo: pipeline.demo), not downloaded: no
    # mirrors apply, the sample counts come from the params, and the archive is not kept
    generated: bool = False
    # "events": recordings integrated into T frames of 2 polarity channels; "images": static
    # images (MNIST, CIFAR-10) stored once as uint8 (N, C, H, W), the network repeats them T times
    kind: str = "events"
    channels: int = 2                  # input channels of the network (images: 1 grey or 3 RGB)
    augment: str | None = None         # key of pipeline.augment.AUGMENTATIONS (training only)
    mean: tuple[float, ...] = ()       # images: per-channel normalisation of x / 255
    std: tuple[float, ...] = ()


DVSGESTURE = DatasetSpec(
    name="dvsgesture",
    files=(Remote("DvsGesture.tar.gz", "8a5c71fb11e24e5ca5b11866ca6c00a1"),),
    reader="aedat3",
    sensor_size=(128, 128),
    classes=("hand_clap", "right_hand_wave", "left_hand_wave", "right_arm_clockwise",
             "right_arm_counter_clockwise", "left_arm_clockwise", "left_arm_counter_clockwise",
             "arm_roll", "air_drums", "air_guitar", "other_gestures"),
    expected={"train": 1176, "test": 288},
    help=(
        "DVS128 Gesture is distributed by IBM Research as DvsGesture.tar.gz (about 2.7 GB, "
        "md5 8a5c71fb11e24e5ca5b11866ca6c00a1) from https://research.ibm.com/interactive/dvsgesture/ "
        "(the download is a browser-only folder). Download it with a browser and place it in "
        "{archive_dir}, or list a mirror you can reach under download.mirrors in params.yaml "
        "(http://, https:// or file:// URLs), then run `dvc repro` again."
    ),
    config="configs/dvsgesture-paper.yaml",
)

DEMO = DatasetSpec(
    name="demo",
    files=(),                          # pipeline.demo records a DvsGesture-layout archive
    reader="aedat3",
    sensor_size=(128, 128),
    classes=DEMO_CLASSES,
    expected=None,                     # from params.demo, recorded by the download stage
    config="configs/demo.yaml",
    generated=True,
)

_MENDELEY = "https://data.mendeley.com/public-files/datasets/468j46mzdv/files/"
NMNIST = DatasetSpec(
    name="nmnist",
    files=(
        Remote("Train.zip", "20959b8e626244a1b502305a9e6e2031",
               (_MENDELEY + "39c25547-014b-4137-a934-9d29fa53c7a0/file_downloaded",)),
        Remote("Test.zip", "69ca8762b2fe404d9b9bad1103e97832",
               (_MENDELEY + "05a4d654-7e03-4c15-bdfa-9bb2bcbea494/file_downloaded",)),
    ),
    reader="nmnist",
    sensor_size=(34, 34),
    classes=tuple(str(d) for d in range(10)),
    expected={"train": 60000, "test": 10000},
    layout={"kind": "files", "pattern": "*.bin", "label": "folder",
            "split": {"by": "folder", "train": "Train", "test": "Test"}},
    help=("N-MNIST (Orchard et al. 2015) is on Mendeley Data, dataset 468j46mzdv: Train.zip "
          "(md5 20959b8e626244a1b502305a9e6e2031) and Test.zip (md5 69ca8762b2fe404d9b9bad1103e97832). "
          "Place them in {archive_dir} or list a mirror folder under download.mirrors."),
    config="configs/nmnist-paper.yaml",
)

_CIFAR_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
_CIFAR_MD5 = ("0afd5c4bf9ae06af762a77b180354fdd", "8438dfeba3bc970c94962d995b1b9bdd",
              "a9c207c91c55b9dc2002dc21c684d785", "52c63c677c2b15fa5146a8daf4d56687",
              "b6bf21f6c04d21ba4e23fc3e36c8a4a3", "f379ebdf6703d16e0a690782e62639c3",
              "cad6ed91214b1c7388a5f6ee56d08803", "e7cbbf77bec584ffbf913f00e682782a",
              "41c7bd7d6b251be82557c6cce9a7d5c9", "89f3922fd147d9aeff89e76a2b0b70a7")
_CIFAR_FIGSHARE = (7712788, 7712791, 7712794, 7712812, 7712815, 7712818, 7712842, 7712851, 7712836, 7712839)
CIFAR10_DVS = DatasetSpec(
    name="cifar10_dvs",
    files=tuple(
        # figshare's ndownloader answers scripted clients "202 Accepted" with an empty body;
        # its API endpoint serves the same file id, so it comes first.
        Remote(f"{c}.zip", md5, (f"https://api.figshare.com/v2/file/download/{fid}",
                                 f"https://ndownloader.figshare.com/files/{fid}"))
        for c, md5, fid in zip(_CIFAR_CLASSES, _CIFAR_MD5, _CIFAR_FIGSHARE)
    ),
    reader="jaer",
    reader_args={"layout": "dvs128"},
    sensor_size=(128, 128),
    classes=_CIFAR_CLASSES,
    expected={"train": 9000, "test": 1000},
    # the paper's split: within each class, file index 0-899 train, 900-999 test (numeric order)
    layout={"kind": "files", "pattern": "*.aedat", "label": "archive",
            "split": {"by": "index", "train": [0, 899], "test": [900, 999]}},
    transform="cifar10_dvs",
    help=("CIFAR10-DVS (Li et al. 2017) is on figshare (collection 3618071): one zip per class, "
          "airplane.zip ... truck.zip. Place them in {archive_dir} or list a mirror folder under "
          "download.mirrors."),
    config="configs/cifar10_dvs-paper.yaml",
)

DATASETS = {d.name: d for d in (DEMO, DVSGESTURE, NMNIST, CIFAR10_DVS)}


def get(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise LayoutError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}") from None
