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
    # is {"by": "folder", "train": name, "test": name} or {"by": "index", "train": [lo, hi], ...};
    # images (pipeline.images): {"kind": "idx", split: {"images": file, "labels": file}} or
    # {"kind": "cifar", split: [batch file, ...]}, files named as unpacked (found under data/raw)
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
    # a subfolder of download.archive_dir for the files, where another dataset's have the same
    # names (MNIST and Fashion-MNIST): each keeps its own copies, neither refuses the other's
    archive_subdir: str = ""


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

# idx files of MNIST and Fashion-MNIST: (name, md5, size in bytes); torchvision's md5s
_IDX_NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
              "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
_IDX_LAYOUT = {"kind": "idx",
               "train": {"images": "train-images-idx3-ubyte", "labels": "train-labels-idx1-ubyte"},
               "test": {"images": "t10k-images-idx3-ubyte", "labels": "t10k-labels-idx1-ubyte"}}


def _idx_files(md5s: tuple[str, ...], sizes: tuple[int, ...], mirrors: tuple[str, ...]) -> tuple[Remote, ...]:
    return tuple(Remote(name, md5, tuple(m + name for m in mirrors), size)
                 for name, md5, size in zip(_IDX_NAMES, md5s, sizes))


_MNIST_MD5 = ("f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
              "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c")
MNIST = DatasetSpec(
    name="mnist",
    # yann.lecun.com answers scripted clients 403 Forbidden; torchvision's S3 mirror serves them
    files=_idx_files(_MNIST_MD5, (9912422, 28881, 1648877, 4542),
                     ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")),
    reader="",
    sensor_size=(28, 28),
    classes=tuple(str(d) for d in range(10)),
    expected={"train": 60000, "test": 10000},
    layout=_IDX_LAYOUT,
    help=("MNIST (LeCun et al. 1998) is four idx files: " + ", ".join(
              f"{n} (md5 {m})" for n, m in zip(_IDX_NAMES, _MNIST_MD5))
          + ", from https://ossci-datasets.s3.amazonaws.com/mnist/ (torchvision's mirror; "
          "http://yann.lecun.com/exdb/mnist/ refuses scripted downloads). Place them in "
          "{archive_dir} or list a mirror folder under download.mirrors."),
    config="configs/mnist-paper.yaml",
    archive_subdir="mnist",
    kind="images",
    channels=1,
    augment="mnist",
    mean=(0.1307,),
    std=(0.3081,),
)

_FASHION_MD5 = ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
                "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310")
FASHION_MNIST = DatasetSpec(
    name="fashion_mnist",
    files=_idx_files(_FASHION_MD5, (26421880, 29515, 4422102, 5148),
                     ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                      "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/")),
    reader="",
    sensor_size=(28, 28),
    classes=("t_shirt_top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
             "ankle_boot"),
    expected={"train": 60000, "test": 10000},
    layout=_IDX_LAYOUT,
    help=("Fashion-MNIST (Xiao et al. 2017) is four idx files in MNIST's format: " + ", ".join(
              f"{n} (md5 {m})" for n, m in zip(_IDX_NAMES, _FASHION_MD5))
          + ", from http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/ or "
          "https://github.com/zalandoresearch/fashion-mnist (data/fashion). Place them in "
          "{archive_dir} or list a mirror folder under download.mirrors."),
    config="configs/fashion_mnist-paper.yaml",
    archive_subdir="fashion_mnist",
    kind="images",
    channels=1,
    augment=None,
    mean=(0.2860,),
    std=(0.3530,),
)

CIFAR10 = DatasetSpec(
    name="cifar10",
    files=(Remote("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a",
                  ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",), 170498071),),
    reader="",
    sensor_size=(32, 32),
    classes=_CIFAR_CLASSES,
    expected={"train": 50000, "test": 10000},
    layout={"kind": "cifar", "train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]},
    help=("CIFAR-10 (Krizhevsky 2009) is cifar-10-python.tar.gz (about 163 MB, md5 "
          "c58f30108f718f92721af3b95e74349a) from https://www.cs.toronto.edu/~kriz/cifar.html. "
          "Place it in {archive_dir} or list a mirror folder under download.mirrors."),
    config="configs/cifar10-paper.yaml",
    kind="images",
    channels=3,
    augment="cifar10",
    mean=(0.4914, 0.4822, 0.4465),
    std=(0.2023, 0.1994, 0.2010),
)

DATASETS = {d.name: d for d in (DEMO, DVSGESTURE, NMNIST, CIFAR10_DVS, MNIST, FASHION_MNIST, CIFAR10)}


def get(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise LayoutError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}") from None
