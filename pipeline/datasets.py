"""The dataset registry: everything that differs between datasets is data here, not code.

Adding a dataset means one new ``DatasetSpec``: its source files with checksums and URLs,
the reader, sensor size, classes, how samples and splits are found, and its paper config.
Every stage imports this module (params are checked against it), so it imports no code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .core.errors import LayoutError

#: the demo's classes (pipeline.download.demo simulates them, in this order)
DEMO_CLASSES = ("rotate_clockwise", "rotate_counter_clockwise", "swipe_right", "swipe_left", "swipe_down",
                "swipe_up", "clap", "drum")


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
    # images (pipeline.frames.images): {"kind": "idx", split: {"images": file, "labels": file}} or
    # {"kind": "cifar", split: [batch file, ...]}, files named as unpacked (found under data/raw)
    layout: dict = field(default_factory=lambda: {"kind": "trials"})
    reader_args: dict = field(default_factory=dict)
    transform: str | None = None       # key of pipeline.frames.transforms.TRANSFORMS
    help: str = ""                     # where to get the files by hand ({archive_dir} is filled in)
    config: str = ""                   # the paper's params file
    # built on this machine from params.<name> (the demo: pipeline.download.demo), not downloaded: no
    # mirrors apply, the sample counts come from the params, and the archive is not kept
    generated: bool = False
    # "events": recordings integrated into T frames of 2 polarity channels; "images": static
    # images (MNIST, CIFAR-10) stored once as uint8 (N, C, H, W), the network repeats them T times
    kind: str = "events"
    channels: int = 2                  # input channels of the network (images: 1 grey or 3 RGB)
    augment: str | None = None         # key of pipeline.train.augment.AUGMENTATIONS (training only)
    # "ours": files this registry lists, read by our readers; "tonic": Tonic's dataset class
    # ``tonic_class`` fetches and parses them (pipeline.download.tonic)
    source: str = "ours"
    tonic_class: str = ""
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
    files=(),                          # pipeline.download.demo records a DvsGesture-layout archive
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

# --------------------------------------------------------------------------------------------
# Tonic's event-camera classification datasets, as ``dataset: tonic.<Class>``. Tonic's own
# class fetches, md5-checks and unpacks the files into download.archive_dir/tonic/<Class>/
# (pipeline.download.tonic) and parses them in the frames stage (pipeline.frames.tonic); our
# side turns its events into T frames. ``layout`` says how: {"kind": "tonic", "split":
# "official", "splits": {split: constructor kwargs}} for a class with its own train/test sets,
# or {"kind": "tonic", "split": "stratified", "kwargs": {...}, "total": N} for one without
# (frames.test_fraction of each class to test, drawn from frames.split_seed); "data": globs
# (relative to Tonic's folder) of the files Tonic reads, which the download stage links into
# data/raw; "one_d": a 1-D (audio) sensor whose events have no y (y = 0, p = 0); "note": the
# class's own rule (stored in the frames file's attributes).
# Tonic's sensor_size is (W, H, P); ours is (H, W). Sample counts are Tonic's versions'.

_TONIC_OFFICIAL = {"train": {"train": True}, "test": {"train": False}}
_TONIC_SKIP = ("Tonic skips its download when the archive is in that folder and its unpacked "
               "files are beside it ({check}); with the archive alone it md5-checks and unpacks it. ")

TONIC_NMNIST = DatasetSpec(
    name="tonic.NMNIST",
    files=(), reader="", source="tonic", tonic_class="NMNIST", archive_subdir="tonic",
    sensor_size=(34, 34),
    classes=("0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
             "7 - seven", "8 - eight", "9 - nine"),
    expected={"train": 60000, "test": 10000},
    layout={"kind": "tonic", "split": "official", "splits": _TONIC_OFFICIAL,
            "data": ["Train/**/*.bin", "Test/**/*.bin"]},
    help=("N-MNIST through Tonic's NMNIST class: Tonic downloads train.zip (md5 "
          "20959b8e626244a1b502305a9e6e2031, " + _MENDELEY + "39c25547-014b-4137-a934-9d29fa53c7a0/"
          "file_downloaded) and test.zip (md5 69ca8762b2fe404d9b9bad1103e97832, " + _MENDELEY
          + "05a4d654-7e03-4c15-bdfa-9bb2bcbea494/file_downloaded) from Mendeley Data into "
          "{archive_dir}/NMNIST/ and unpacks them to "
          "Train/<digit>/*.bin and Test/<digit>/*.bin. Offline, place the two zips there under these "
          "(lower-case) names. " + _TONIC_SKIP.format(check="at least 10000 .bin files under Train/ "
                                                           "and under Test/")
          + "Same recordings as `nmnist` (our own reader, 60000 / 10000)."),
)

TONIC_DVSGESTURE = DatasetSpec(
    name="tonic.DVSGesture",
    files=(), reader="", source="tonic", tonic_class="DVSGesture", archive_subdir="tonic",
    sensor_size=(128, 128),
    classes=("Hand clapping", "Right hand wave", "Left hand wave", "Right arm cw", "Right arm ccw",
             "Left arm cw", "Left arm ccw", "Arm roll", "Air drums", "Air guitar", "Other gestures"),
    expected={"train": 1077, "test": 264},
    layout={"kind": "tonic", "split": "official", "splits": _TONIC_OFFICIAL,
            "data": ["ibmGestureTrain/**/*.npy", "ibmGestureTest/**/*.npy"]},
    help=("DVS128 Gesture in Tonic's preprocessed version (recordings already cut into one .npy "
          "per gesture, timestamps in ms; 1077 / 264 samples, not IBM's 1176 / 288: see `dvsgesture` "
          "for the original): Tonic downloads ibmGestureTrain.tar.gz (md5 "
          "3a8f0d4120a166bac7591f77409cb105, https://figshare.com/ndownloader/files/38022171) and "
          "ibmGestureTest.tar.gz (md5 56070e45dadaa85fff82e0fbfbc06de5, "
          "https://figshare.com/ndownloader/files/38020584) into {archive_dir}/DVSGesture/ and "
          "unpacks them to ibmGestureTrain/userNN_<lighting>/<class>.npy (and ibmGestureTest/). "
          "Offline, place the two archives there. "
          + _TONIC_SKIP.format(check="at least 100 .npy files under ibmGestureTrain/ and under "
                                     "ibmGestureTest/")),
)

TONIC_CIFAR10DVS = DatasetSpec(
    name="tonic.CIFAR10DVS",
    files=(), reader="", source="tonic", tonic_class="CIFAR10DVS", archive_subdir="tonic",
    sensor_size=(128, 128),
    classes=_CIFAR_CLASSES,
    expected=None,                     # no official split: frames.test_fraction of each class
    layout={"kind": "tonic", "split": "stratified", "kwargs": {}, "total": 10000,
            "data": ["**/*.aedat4"]},
    help=("CIFAR10-DVS in Tonic's AEDAT 4 conversion: Tonic downloads CIFAR10DVS.zip (md5 "
          "ce3a4a0682dc0943703bd8f749a7701c, https://figshare.com/ndownloader/files/38023437) into "
          "{archive_dir}/CIFAR10DVS/ and unpacks it and the ten class zips inside to "
          "<class>/*.aedat4 (10000 recordings). Offline, place CIFAR10DVS.zip there. "
          + _TONIC_SKIP.format(check="at least 1000 .aedat4 files in the folder")
          + "Tonic's class has no train/test split: frames.test_fraction of each class goes to test, "
          "drawn from frames.split_seed (`cifar10_dvs`, our reader of the original files, has the "
          "paper's 900 / 100 split and orientation)."),
)

TONIC_POKERDVS = DatasetSpec(
    name="tonic.POKERDVS",
    files=(), reader="", source="tonic", tonic_class="POKERDVS", archive_subdir="tonic",
    sensor_size=(35, 35),
    classes=("cl", "he", "di", "sp"),
    expected=None,                     # Tonic states no sample counts
    layout={"kind": "tonic", "split": "official", "splits": _TONIC_OFFICIAL,
            "data": ["pips_train/**/*.npy", "pips_test/**/*.npy"]},
    help=("POKER-DVS (card pips: club, heart, diamond, spade) through Tonic's POKERDVS class: "
          "pips_train.tar.gz (md5 412bcfb96826e4fcb290558e8c150aae) and pips_test.tar.gz (md5 "
          "eef2bf7d0d3defae89a6fa98b07c17af). Tonic 1.7 has no URL for them (Tonic 1.2-1.6 "
          "downloaded https://nextcloud.lenzgregor.com/s/ZeCPYBS8kx4Wyjd/download/pips_train.tar.gz "
          "and https://nextcloud.lenzgregor.com/s/2iRfwg3y9eAMpGL/download/pips_test.tar.gz): place "
          "both archives in {archive_dir}/POKERDVS/; the download stage md5-checks and unpacks "
          "them to pips_train/<pip>/*.npy and pips_test/<pip>/*.npy, and Tonic then finds them "
          "(it needs the archive and at least 20 .npy files under its folder). Sample counts are "
          "not checked (Tonic states none)."),
)

TONIC_ASLDVS = DatasetSpec(
    name="tonic.ASLDVS",
    files=(), reader="", source="tonic", tonic_class="ASLDVS", archive_subdir="tonic",
    sensor_size=(180, 240),
    classes=tuple(chr(c) for c in range(97, 123)),   # Tonic's a..z; j and z (motion signs) have no samples
    expected=None,                     # no official split: frames.test_fraction of each class
    layout={"kind": "tonic", "split": "stratified", "kwargs": {}, "total": 100800,
            "data": ["**/*.mat"],
            "note": "Tonic flips y (y = 179 - y_raw); classes are Tonic's a..z, j and z have no samples"},
    help=("ASL-DVS (24 static letters of American Sign Language, DAVIS240C, 240x180) through "
          "Tonic's ASLDVS class: Tonic downloads ASLDVS.zip (md5 33f8b87bf45edc0bfed0de41822279b9, "
          "https://www.dropbox.com/sh/ibq0jsicatn7l6r/AACNrNELV56rs1YInMWUs9CAa?dl=1) into "
          "{archive_dir}/ASLDVS/ and unpacks it and the Yin*.zip files inside to <letter>/*.mat. "
          "Offline, place ASLDVS.zip there. "
          + _TONIC_SKIP.format(check="at least 100800 .mat files in the folder")
          + "Labels are Tonic's indices into a..z (j and z have no samples). No official split: "
          "frames.test_fraction of each class goes to test, drawn from frames.split_seed."),
)

TONIC_DVSLIP = DatasetSpec(
    name="tonic.DVSLip",
    files=(), reader="", source="tonic", tonic_class="DVSLip", archive_subdir="tonic",
    sensor_size=(128, 128),
    classes=("accused", "action", "allow", "allowed", "america", "american", "another", "around",
             "attacks", "banks", "become", "being", "benefit", "benefits", "between", "billion",
             "called", "capital", "challenge", "change", "chief", "couple", "court", "death",
             "described", "difference", "different", "during", "economic", "education", "election",
             "england", "evening", "everything", "exactly", "general", "germany", "giving", "ground",
             "happen", "happened", "having", "heavy", "house", "hundreds", "immigration", "judge",
             "labour", "leaders", "legal", "little", "london", "majority", "meeting", "military",
             "million", "minutes", "missing", "needs", "number", "numbers", "paying", "perhaps",
             "point", "potential", "press", "price", "question", "really", "right", "russia",
             "russian", "saying", "security", "several", "should", "significant", "spend", "spent",
             "started", "still", "support", "syria", "syrian", "taken", "taking", "terms", "these",
             "thing", "think", "times", "tomorrow", "under", "warning", "water", "welcome", "words",
             "worst", "years", "young"),
    expected={"train": 14896, "test": 4975},
    layout={"kind": "tonic", "split": "official", "splits": _TONIC_OFFICIAL,
            "data": ["DVS-Lip/train/**/*.npy", "DVS-Lip/test/**/*.npy"]},
    help=("DVS-Lip (100 words, Tan et al. 2022) through Tonic's DVSLip class. It is on Google Drive, "
          "which Tonic cannot download from: download DVS-Lip.zip (md5 2dcb959255122d4cdeb6094ca282494b) "
          "from https://drive.google.com/file/d/1dBEgtmctTTWJlWnuWxFtk8gfOdVVpkQ0/view with a browser "
          "and place it in {archive_dir}/DVSLip/; the download stage md5-checks it and Tonic unpacks it "
          "(deleting the zip) to DVS-Lip/train/<word>/*.npy and DVS-Lip/test/<word>/*.npy. Tonic "
          "skips this when DVS-Lip/train (test) holds at least 100 .npy files."),
)

# N-Caltech101's 101 folders (Caltech101 without Faces; BACKGROUND_Google included), sorted as
# Tonic walks them: Tonic's targets are these names, our labels their index here
_NCALTECH101_CLASSES = (
    "BACKGROUND_Google", "Faces_easy", "Leopards", "Motorbikes", "accordion", "airplanes", "anchor", "ant",
    "barrel", "bass", "beaver", "binocular", "bonsai", "brain", "brontosaurus", "buddha", "butterfly",
    "camera", "cannon", "car_side", "ceiling_fan", "cellphone", "chair", "chandelier", "cougar_body",
    "cougar_face", "crab", "crayfish", "crocodile", "crocodile_head", "cup", "dalmatian", "dollar_bill",
    "dolphin", "dragonfly", "electric_guitar", "elephant", "emu", "euphonium", "ewer", "ferry", "flamingo",
    "flamingo_head", "garfield", "gerenuk", "gramophone", "grand_piano", "hawksbill", "headphone",
    "hedgehog", "helicopter", "ibis", "inline_skate", "joshua_tree", "kangaroo", "ketch", "lamp", "laptop",
    "llama", "lobster", "lotus", "mandolin", "mayfly", "menorah", "metronome", "minaret", "nautilus",
    "octopus", "okapi", "pagoda", "panda", "pigeon", "pizza", "platypus", "pyramid", "revolver", "rhino",
    "rooster", "saxophone", "schooner", "scissors", "scorpion", "sea_horse", "snoopy", "soccer_ball",
    "stapler", "starfish", "stegosaurus", "stop_sign", "strawberry", "sunflower", "tick", "trilobite",
    "umbrella", "watch", "water_lilly", "wheelchair", "wild_cat", "windsor_chair", "wrench", "yin_yang")
TONIC_NCALTECH101 = DatasetSpec(
    name="tonic.NCALTECH101",
    files=(), reader="", source="tonic", tonic_class="NCALTECH101", archive_subdir="tonic",
    sensor_size=(180, 240),
    classes=_NCALTECH101_CLASSES,
    expected=None,                     # no official split: frames.test_fraction of each class
    layout={"kind": "tonic", "split": "stratified", "kwargs": {}, "total": 8709,
            "data": ["Caltech101/**/*.bin"],
            "note": ("recordings differ in size: Tonic shifts each sample to x - min(x), y - min(y); "
                     "it is placed at the top left of a 240 x 180 (W x H) frame, the size the "
                     "Caltech101 images were scaled to fit, and an event beyond it is refused")},
    help=("N-Caltech101 (Orchard et al. 2015) through Tonic's NCALTECH101 class: Tonic downloads "
          "N-Caltech101-archive.zip (md5 66201824eabb0239c7ab992480b50ba3, https://data.mendeley.com/"
          "public-files/datasets/cy6cvx3ryv/files/36b5c52a-b49d-4853-addb-a836a8883e49/file_downloaded) "
          "into {archive_dir}/NCALTECH101/ and unpacks it; the download stage unpacks the "
          "Caltech101.zip inside (Tonic 1.7 leaves it packed) to Caltech101/<class>/*.bin. Offline, "
          "place the archive there. "
          + _TONIC_SKIP.format(check="at least 8709 .bin files under Caltech101/")
          + "Recordings have no fixed size: Tonic moves each to start at x = 0, y = 0, and we place "
          "it in a 240 x 180 (W x H) frame; an event beyond it is refused, naming the sample. No "
          "official split: frames.test_fraction of each class goes to test (frames.split_seed)."),
)

# audio spike datasets: a 1-D sensor of channels, events (t, x, p): stored as y = 0 and p = 0,
# frames of (T, 2, 1, channels) with the second polarity channel empty. The train stage's
# convolutional network cannot pool a 1-pixel-high frame: params validation refuses them there.
_AUDIO_NOTE = ("audio: a 1-D sensor (H = 1, W = channels); Tonic's events (t, x, p = 1) are stored with "
               "y = 0 and p = 0, so frames are (T, 2, 1, channels) with the second polarity channel empty")
_AUDIO_HELP = (" Events have no y: frames are (T, 2, 1, channels), y = 0 and p = 0 (the second polarity "
               "channel stays empty). Through the download and frames functions only: the convolutional "
               "network cannot pool a 1-pixel-high input, so params validation refuses this dataset "
               "for the pipeline's stages.")
_SHD_URL = "https://zenkelab.org/datasets/"
TONIC_SHD = DatasetSpec(
    name="tonic.SHD",
    files=(), reader="", source="tonic", tonic_class="SHD", archive_subdir="tonic",
    sensor_size=(1, 700),
    classes=("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
             "null", "eins", "zwei", "drei", "vier", "fuenf", "sechs", "sieben", "acht", "neun"),
    expected={"train": 8156, "test": 2264},
    layout={"kind": "tonic", "split": "official", "splits": _TONIC_OFFICIAL,
            "data": ["shd_train.h5", "shd_test.h5"], "one_d": True, "note": _AUDIO_NOTE},
    help=("Spiking Heidelberg Digits (Cramer et al. 2020; 20 spoken digits, English then German, "
          "700 cochlea channels) through Tonic's SHD class: Tonic downloads shd_train.h5.zip (md5 "
          "f3252aeb598ac776c1b526422d90eecb) and shd_test.h5.zip (md5 1503a5064faa34311c398fb0a1ed0a6f) "
          "from " + _SHD_URL + " into {archive_dir}/SHD/ and unpacks them. Offline, place the zips "
          "there (Tonic skips its download when a zip and an .h5 file are there)." + _AUDIO_HELP),
)
TONIC_SSC = DatasetSpec(
    name="tonic.SSC",
    files=(), reader="", source="tonic", tonic_class="SSC", archive_subdir="tonic",
    sensor_size=(1, 700),
    classes=("backward", "bed", "bird", "cat", "dog", "down", "eight", "five", "follow", "forward",
             "four", "go", "happy", "house", "learn", "left", "marvin", "nine", "no", "off", "on", "one",
             "right", "seven", "sheila", "six", "stop", "three", "tree", "two", "up", "visual", "wow",
             "yes", "zero"),
    expected={"train": 75466, "test": 20382},
    layout={"kind": "tonic", "split": "official",
            "splits": {"train": {"split": "train"}, "test": {"split": "test"}},
            "data": ["ssc_train.h5", "ssc_test.h5"], "one_d": True, "note": _AUDIO_NOTE},
    help=("Spiking Speech Commands (Cramer et al. 2020; 35 words, 700 channels) through Tonic's SSC "
          "class: Tonic downloads ssc_train.h5.zip (md5 d102be95e7144fcc0553d1f45ba94170) and "
          "ssc_test.h5.zip (md5 a35ff1e9cffdd02a20eb850c17c37748) from " + _SHD_URL + " into "
          "{archive_dir}/SSC/ (its validation set, ssc_valid.h5.zip, is not used). Offline, place "
          "the zips there. Class names are the words in alphabetical order (the file's extra/keys "
          "are recorded beside them)." + _AUDIO_HELP),
)
TONIC_NTIDIGITS18 = DatasetSpec(
    name="tonic.NTIDIGITS18",
    files=(), reader="", source="tonic", tonic_class="NTIDIGITS18", archive_subdir="tonic",
    sensor_size=(1, 64),
    classes=("o", "1", "2", "3", "4", "5", "6", "7", "8", "9", "z"),
    expected=None,                     # Tonic states no counts for its single-digit subset
    layout={"kind": "tonic", "split": "official",
            "splits": {"train": {"train": True, "single_digits": True},
                       "test": {"train": False, "single_digits": True}},
            "data": ["n-tidigits.hdf5"], "one_d": True, "note": _AUDIO_NOTE},
    help=("N-TIDIGITS18 (Anumula et al. 2018; spoken digits on a 64-channel silicon cochlea), its "
          "single-digit samples (11 classes: o, 1-9, z) through Tonic's NTIDIGITS18 class: Tonic "
          "downloads n-tidigits.hdf5 (md5 360a2d11e5429555c9197381cf6b58e0) from Dropbox "
          "(https://www.dropbox.com/scl/fi/1x4lxt9yyw25sc3tez8oi/n-tidigits.hdf5?e=2&rlkey="
          "w8gi5udvib2zqzosusa5tr3wq&dl=1) into {archive_dir}/NTIDIGITS18/; offline, place the file "
          "there (the download stage md5-checks it: Tonic does not)." + _AUDIO_HELP),
)

TONIC_DATASETS = (TONIC_NMNIST, TONIC_DVSGESTURE, TONIC_CIFAR10DVS, TONIC_POKERDVS, TONIC_ASLDVS,
                  TONIC_DVSLIP, TONIC_NCALTECH101, TONIC_SHD, TONIC_SSC, TONIC_NTIDIGITS18)


DATASETS = {d.name: d for d in (DEMO, DVSGESTURE, NMNIST, CIFAR10_DVS, MNIST, FASHION_MNIST, CIFAR10,
                                *TONIC_DATASETS)}


def get(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise LayoutError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}") from None
