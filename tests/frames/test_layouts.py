"""Finding samples and splits in unpacked datasets: N-MNIST folders, CIFAR10-DVS indices."""

import pytest

from pipeline.datasets import CIFAR10_DVS, DATASETS, NMNIST
from pipeline.core.errors import LayoutError
from pipeline.core.events import make_events
from pipeline.frames.families.eventfiles import split_files
from pipeline.frames.transforms import cifar10_dvs_orientation


def split_recordings(root, spec, split):
    """The split's units as (path, [(label, start, end, row), ...]), the shape these tests compare."""
    from pathlib import Path

    return [(Path(u.path), [(it.label, it.start, it.end, it.row) for it in u.items])
            for u in split_files(root, spec, split)]


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")


def test_nmnist_official_folders(tmp_path):
    for rel in ["Train/Train/3/00010.bin", "Train/Train/0/00002.bin", "Train/Train/0/00001.bin",
                "Test/Test/7/00001.bin", "Test/Test/1/00005.bin"]:
        touch(tmp_path / rel)
    train = split_recordings(tmp_path, NMNIST, "train")
    assert [(p.relative_to(tmp_path).as_posix(), s) for p, s in train] == [
        ("Train/Train/0/00001.bin", [(0, None, None, -1)]),
        ("Train/Train/0/00002.bin", [(0, None, None, -1)]),
        ("Train/Train/3/00010.bin", [(3, None, None, -1)])]
    test = split_recordings(tmp_path, NMNIST, "test")
    assert [(p.name, s[0][0]) for p, s in test] == [("00005.bin", 1), ("00001.bin", 7)]


def test_cifar10_dvs_split_is_numeric_per_class(tmp_path):
    for i in [0, 9, 10, 91, 99, 100, 899, 900, 901, 999]:
        touch(tmp_path / "cat" / "cat" / f"cifar10_cat_{i}.aedat")
    touch(tmp_path / "airplane" / "airplane" / "cifar10_airplane_950.aedat")
    train = split_recordings(tmp_path, CIFAR10_DVS, "train")
    # a string sort would put 91 and 99 after 900; numeric order keeps them in train
    assert [p.name for p, _ in train] == [f"cifar10_cat_{i}.aedat" for i in [0, 9, 10, 91, 99, 100, 899]]
    assert {s[0][0] for _, s in train} == {3}
    test = split_recordings(tmp_path, CIFAR10_DVS, "test")
    assert [(p.name, s[0][0]) for p, s in test] == [
        ("cifar10_airplane_950.aedat", 0), ("cifar10_cat_900.aedat", 3),
        ("cifar10_cat_901.aedat", 3), ("cifar10_cat_999.aedat", 3)]


def test_unknown_class_and_missing_index(tmp_path):
    touch(tmp_path / "unicorn" / "x_1.aedat")
    with pytest.raises(LayoutError, match="unicorn"):
        split_recordings(tmp_path, CIFAR10_DVS, "train")
    (tmp_path / "unicorn" / "x_1.aedat").unlink()
    touch(tmp_path / "dog" / "readme.aedat")
    with pytest.raises(LayoutError, match="no sample index"):
        split_recordings(tmp_path, CIFAR10_DVS, "train")


def test_cifar10_dvs_orientation():
    e = make_events([1, 2], [0, 100], [127, 5], [1, 0])
    o = cifar10_dvs_orientation(e, "f.aedat")
    assert o["x"].tolist() == [0, 122] and o["y"].tolist() == [127, 27] and o["p"].tolist() == [0, 1]
    assert o["t"].tolist() == [1, 2]
    bad = make_events([1], [128], [0], [0])
    with pytest.raises(ValueError, match="f.aedat"):
        cifar10_dvs_orientation(bad, "f.aedat")


def test_registry_is_complete():
    for spec in DATASETS.values():
        assert len(spec.classes) == len(set(spec.classes)) >= 2
        for remote in spec.files:
            assert len(remote.md5) == 32 and remote.name
        if spec.expected:
            assert set(spec.expected) == {"train", "test"}
    assert [r.name for r in CIFAR10_DVS.files][:2] == ["airplane.zip", "automobile.zip"]
    ids = [7712788, 7712791, 7712794, 7712812, 7712815, 7712818, 7712842, 7712851, 7712836, 7712839]
    assert [r.urls[0] for r in CIFAR10_DVS.files] == [f"https://api.figshare.com/v2/file/download/{i}" for i in ids]
    assert [r.md5 for r in NMNIST.files] == ["20959b8e626244a1b502305a9e6e2031", "69ca8762b2fe404d9b9bad1103e97832"]
