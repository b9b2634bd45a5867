"""The demo dataset: DvsGesture layout, determinism, realism checks."""

import hashlib
import tarfile

import numpy as np
import pytest

from pipeline.download.demo.archive import build_archive, record
from pipeline.download.demo.gestures import CLASSES, gesture
from pipeline.frames.families.trials import read_labels, read_trials
from pipeline.io import read_aedat3
from pipeline.params import DemoParams

TINY = DemoParams(train_users=1, test_users=1, lightings=["fluorescent"], repeats=1, gesture_ms=300, gap_ms=200)


@pytest.fixture(scope="module")
def tiny_archive(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo")
    md5 = build_archive(d / "a" / "DvsGesture.tar.gz", TINY, workers=1)
    return d, md5


def test_layout_and_contents(tiny_archive):
    d, md5 = tiny_archive
    path = d / "a" / "DvsGesture.tar.gz"
    assert hashlib.md5(path.read_bytes()).hexdigest() == md5
    with tarfile.open(path) as tar:
        names = sorted(tar.getnames())
        tar.extractall(d / "x", filter="data")
    assert names == sorted(["DvsGesture/trials_to_train.txt", "DvsGesture/trials_to_test.txt",
                            "DvsGesture/user01_fluorescent.aedat", "DvsGesture/user01_fluorescent_labels.csv",
                            "DvsGesture/user02_fluorescent.aedat", "DvsGesture/user02_fluorescent_labels.csv"])
    root = d / "x" / "DvsGesture"
    assert read_trials(root / "trials_to_train.txt") == ["user01_fluorescent.aedat"]
    assert read_trials(root / "trials_to_test.txt") == ["user02_fluorescent.aedat"]
    rows = read_labels(root / "user01_fluorescent_labels.csv", len(CLASSES))
    assert sorted(rows[:, 0].tolist()) == list(range(1, len(CLASSES) + 1))   # every class once
    ev = read_aedat3(root / "user01_fluorescent.aedat")
    assert ev["x"].max() < 128 and ev["y"].max() < 128
    assert np.all(np.diff(ev["t"]) >= 0)
    assert ev["t"][0] >= 500_000                                 # microseconds, starts late
    inside = np.zeros(ev.size, bool)
    for _, a, b in rows:
        inside |= (ev["t"] >= a) & (ev["t"] < b)
    assert 0 < (~inside).sum() < 0.2 * ev.size                   # background noise between gestures
    assert 0.4 < ev["p"].mean() < 0.6
    raw = (root / "user01_fluorescent.aedat").read_bytes()
    assert raw.count(b"\x01\x00\x01\x00\x08\x00\x00\x00") >= 3    # several polarity packets


def test_same_params_same_bytes(tiny_archive, tmp_path):
    _, md5 = tiny_archive
    assert build_archive(tmp_path / "DvsGesture.tar.gz", TINY, workers=2) == md5
    other = TINY.model_copy(update={"seed": 1})
    assert build_archive(tmp_path / "other.tar.gz", other, workers=1) != md5


def _winding(label):
    """Signed turns of the (single) blob around the gesture centre."""
    b = gesture(label, 500, np.random.default_rng(3))
    c = b[:, 0, :2] - b[:, 0, :2].mean(0)
    ang = np.unwrap(np.arctan2(c[:, 1], c[:, 0]))
    return (ang[-1] - ang[0]) / (2 * np.pi)


def test_temporal_pairs_differ_only_in_direction():
    cw, ccw = CLASSES.index("rotate_clockwise"), CLASSES.index("rotate_counter_clockwise")
    assert _winding(cw) > 1.0 and _winding(ccw) < -1.0
    right, left = gesture(CLASSES.index("swipe_right"), 400, np.random.default_rng(0)), \
        gesture(CLASSES.index("swipe_left"), 400, np.random.default_rng(0))
    visible = right[:, 0, 3] > 0.5
    assert np.mean(np.diff(right[visible, 0, 0]) > 0) > 0.9
    assert np.mean(np.diff(left[visible, 0, 0]) < 0) > 0.9
    # the same random draws give mirror-image paths: the same pixels, opposite order
    np.testing.assert_allclose(right[:, 0, 0] - right[:, 0, 0].mean(), -(left[:, 0, 0] - left[:, 0, 0].mean()))


def test_every_class_makes_events():
    ev, rows = record("user01_fluorescent", TINY)
    assert len(rows) == len(CLASSES)
    for cls, a, b in rows:
        n = ((ev["t"] >= a) & (ev["t"] < b)).sum()
        assert n > 2000, f"class {CLASSES[cls - 1]} produced only {n} events"
