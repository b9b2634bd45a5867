"""The dataset registry: every dataset the pipeline knows, as data (:mod:`.spec`).

Adding a dataset is one entry here (and its help prose in ``help.yaml``); adding a family of
datasets is one layout type in :mod:`.spec` and its implementation in
:mod:`pipeline.frames.families`.
"""

from __future__ import annotations

from .spec import (
    ByFolder,
    ByIndex,
    DatasetSpec,
    EventFiles,
    Generated,
    ImageFiles,
    Remote,
    TonicClass,
    TonicFetch,
    Trials,
)

#: the demo's classes (pipeline.download.demo simulates them, in this order)
DEMO_CLASSES = ("rotate_clockwise", "rotate_counter_clockwise", "swipe_right", "swipe_left", "swipe_down",
                "swipe_up", "clap", "drum")

DVSGESTURE = DatasetSpec(
    name="dvsgesture",
    files=(Remote("DvsGesture.tar.gz", "8a5c71fb11e24e5ca5b11866ca6c00a1"),),
    layout=Trials(reader="aedat3"),
    sensor_size=(128, 128),
    classes=("hand_clap", "right_hand_wave", "left_hand_wave", "right_arm_clockwise",
             "right_arm_counter_clockwise", "left_arm_clockwise", "left_arm_counter_clockwise",
             "arm_roll", "air_drums", "air_guitar", "other_gestures"),
    expected={"train": 1176, "test": 288},
    config="configs/dvsgesture-paper.yaml",
)

DEMO = DatasetSpec(
    name="demo",
    source=Generated("demo"),          # pipeline.download.demo records a DvsGesture-layout archive
    layout=Trials(reader="aedat3"),
    sensor_size=(128, 128),
    classes=DEMO_CLASSES,
    expected=None,                     # from params.demo, recorded by the download stage
    config="configs/demo.yaml",
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
    layout=EventFiles(pattern="*.bin", label="folder", split=ByFolder("Train", "Test"), reader="nmnist"),
    sensor_size=(34, 34),
    classes=tuple(str(d) for d in range(10)),
    expected={"train": 60000, "test": 10000},
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
    # the paper's split: within each class, file index 0-899 train, 900-999 test (numeric order)
    layout=EventFiles(pattern="*.aedat", label="archive", split=ByIndex((0, 899), (900, 999)), reader="jaer",
                      reader_args=(("layout", "dvs128"),), transform="cifar10_dvs"),
    sensor_size=(128, 128),
    classes=_CIFAR_CLASSES,
    expected={"train": 9000, "test": 1000},
    config="configs/cifar10_dvs-paper.yaml",
)

# idx files of MNIST and Fashion-MNIST: (name, md5, size in bytes); torchvision's md5s
_IDX_NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
              "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
_IDX_SPLITS = (("train", ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")),
               ("test", ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")))


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
    layout=ImageFiles(format="idx", splits=_IDX_SPLITS, channels=1, mean=(0.1307,), std=(0.3081,),
                      augment="mnist"),
    sensor_size=(28, 28),
    classes=tuple(str(d) for d in range(10)),
    expected={"train": 60000, "test": 10000},
    config="configs/mnist-paper.yaml",
    archive_subdir="mnist",
)

_FASHION_MD5 = ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
                "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310")
FASHION_MNIST = DatasetSpec(
    name="fashion_mnist",
    files=_idx_files(_FASHION_MD5, (26421880, 29515, 4422102, 5148),
                     ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                      "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/")),
    layout=ImageFiles(format="idx", splits=_IDX_SPLITS, channels=1, mean=(0.2860,), std=(0.3530,), augment=None),
    sensor_size=(28, 28),
    classes=("t_shirt_top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
             "ankle_boot"),
    expected={"train": 60000, "test": 10000},
    config="configs/fashion_mnist-paper.yaml",
    archive_subdir="fashion_mnist",
)

CIFAR10 = DatasetSpec(
    name="cifar10",
    files=(Remote("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a",
                  ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",), 170498071),),
    layout=ImageFiles(format="cifar", splits=(("train", tuple(f"data_batch_{i}" for i in range(1, 6))),
                                              ("test", ("test_batch",))),
                      channels=3, mean=(0.4914, 0.4822, 0.4465), std=(0.2023, 0.1994, 0.2010), augment="cifar10"),
    sensor_size=(32, 32),
    classes=_CIFAR_CLASSES,
    expected={"train": 50000, "test": 10000},
    config="configs/cifar10-paper.yaml",
)

# --------------------------------------------------------------------------------------------
# Tonic's event-camera classification datasets, as ``dataset: tonic.<Class>``. Tonic's own
# class fetches, md5-checks and unpacks the files into download.archive_dir/tonic/<Class>/
# (pipeline.download.tonic) and parses them in the frames stage (pipeline.frames.families.tonic);
# our side turns its events into T frames. Tonic's sensor_size is (W, H, P); ours is (H, W).
# Sample counts are Tonic's versions'.

_OFFICIAL = (("train", (("train", True),)), ("test", (("train", False),)))
_TONIC = dict(source=TonicFetch(), archive_subdir="tonic")


def _tonic(name: str, tonic_class: str, sensor_size, classes, expected, **layout) -> DatasetSpec:
    return DatasetSpec(name=name, sensor_size=sensor_size, classes=classes, expected=expected,
                       layout=TonicClass(tonic_class=tonic_class, **layout), **_TONIC)


TONIC_NMNIST = _tonic(
    "tonic.NMNIST", "NMNIST", (34, 34),
    ("0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven", "8 - eight",
     "9 - nine"),
    {"train": 60000, "test": 10000}, splits=_OFFICIAL, data=("Train/**/*.bin", "Test/**/*.bin"))

TONIC_DVSGESTURE = _tonic(
    "tonic.DVSGesture", "DVSGesture", (128, 128),
    ("Hand clapping", "Right hand wave", "Left hand wave", "Right arm cw", "Right arm ccw", "Left arm cw",
     "Left arm ccw", "Arm roll", "Air drums", "Air guitar", "Other gestures"),
    {"train": 1077, "test": 264}, splits=_OFFICIAL, data=("ibmGestureTrain/**/*.npy", "ibmGestureTest/**/*.npy"))

TONIC_CIFAR10DVS = _tonic(
    "tonic.CIFAR10DVS", "CIFAR10DVS", (128, 128), _CIFAR_CLASSES,
    None,                              # no official split: frames.test_fraction of each class
    split="stratified", total=10000, data=("**/*.aedat4",))

TONIC_POKERDVS = _tonic(
    "tonic.POKERDVS", "POKERDVS", (35, 35), ("cl", "he", "di", "sp"),
    None,                              # Tonic states no sample counts
    splits=_OFFICIAL, data=("pips_train/**/*.npy", "pips_test/**/*.npy"))

TONIC_ASLDVS = _tonic(
    "tonic.ASLDVS", "ASLDVS", (180, 240),
    tuple(chr(c) for c in range(97, 123)),   # Tonic's a..z; j and z (motion signs) have no samples
    None,                              # no official split: frames.test_fraction of each class
    split="stratified", total=100800, data=("**/*.mat",),
    note="Tonic flips y (y = 179 - y_raw); classes are Tonic's a..z, j and z have no samples")

TONIC_DVSLIP = _tonic(
    "tonic.DVSLip", "DVSLip", (128, 128),
    ("accused", "action", "allow", "allowed", "america", "american", "another", "around",
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
    {"train": 14896, "test": 4975}, splits=_OFFICIAL, data=("DVS-Lip/train/**/*.npy", "DVS-Lip/test/**/*.npy"))

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
TONIC_NCALTECH101 = _tonic(
    "tonic.NCALTECH101", "NCALTECH101", (180, 240), _NCALTECH101_CLASSES,
    None,                              # no official split: frames.test_fraction of each class
    split="stratified", total=8709, data=("Caltech101/**/*.bin",),
    note=("recordings differ in size: Tonic shifts each sample to x - min(x), y - min(y); "
          "it is placed at the top left of a 240 x 180 (W x H) frame, the size the "
          "Caltech101 images were scaled to fit, and an event beyond it is refused"))

# audio spike datasets: a 1-D sensor of channels, events (t, x, p): stored as y = 0 and p = 0,
# frames of (T, 2, 1, channels) with the second polarity channel empty. The train stage's
# convolutional network cannot pool a 1-pixel-high frame: params validation refuses them there.
_AUDIO_NOTE = ("audio: a 1-D sensor (H = 1, W = channels); Tonic's events (t, x, p = 1) are stored with "
               "y = 0 and p = 0, so frames are (T, 2, 1, channels) with the second polarity channel empty")
TONIC_SHD = _tonic(
    "tonic.SHD", "SHD", (1, 700),
    ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
     "null", "eins", "zwei", "drei", "vier", "fuenf", "sechs", "sieben", "acht", "neun"),
    {"train": 8156, "test": 2264}, splits=_OFFICIAL, data=("shd_train.h5", "shd_test.h5"), one_d=True,
    note=_AUDIO_NOTE)
TONIC_SSC = _tonic(
    "tonic.SSC", "SSC", (1, 700),
    ("backward", "bed", "bird", "cat", "dog", "down", "eight", "five", "follow", "forward",
     "four", "go", "happy", "house", "learn", "left", "marvin", "nine", "no", "off", "on", "one",
     "right", "seven", "sheila", "six", "stop", "three", "tree", "two", "up", "visual", "wow",
     "yes", "zero"),
    {"train": 75466, "test": 20382}, splits=(("train", (("split", "train"),)), ("test", (("split", "test"),))),
    data=("ssc_train.h5", "ssc_test.h5"), one_d=True, note=_AUDIO_NOTE)
TONIC_NTIDIGITS18 = _tonic(
    "tonic.NTIDIGITS18", "NTIDIGITS18", (1, 64), ("o", "1", "2", "3", "4", "5", "6", "7", "8", "9", "z"),
    None,                              # Tonic states no counts for its single-digit subset
    splits=(("train", (("train", True), ("single_digits", True))),
            ("test", (("train", False), ("single_digits", True)))),
    data=("n-tidigits.hdf5",), one_d=True, note=_AUDIO_NOTE)

TONIC_DATASETS = (TONIC_NMNIST, TONIC_DVSGESTURE, TONIC_CIFAR10DVS, TONIC_POKERDVS, TONIC_ASLDVS,
                  TONIC_DVSLIP, TONIC_NCALTECH101, TONIC_SHD, TONIC_SSC, TONIC_NTIDIGITS18)

DATASETS = {d.name: d for d in (DEMO, DVSGESTURE, NMNIST, CIFAR10_DVS, MNIST, FASHION_MNIST, CIFAR10,
                                *TONIC_DATASETS)}
