"""The frames stage core on a tiny hand-made DvsGesture layout: values, determinism, failures."""

import h5py
import numpy as np
import pytest

from pipeline.core.errors import LayoutError
from pipeline.core.store import read_meta
from pipeline.datasets import DatasetSpec
from pipeline.datasets.spec import Trials
from pipeline.frames.driver import FrameJob
from pipeline.frames.driver import write_split as build_split
from pipeline.frames.families.base import Item, Unit
from pipeline.frames.families.trials import TrialsFamily
from pipeline.frames.families.trials import split_recordings as trials_split
from pipeline.core.events import make_events
from pipeline.io import AedatFormatError
from pipeline.download.demo.aedat3_write import write_aedat3

HAND = DatasetSpec(name="hand", sensor_size=(2, 4), classes=("a", "b", "c"), layout=Trials(reader="aedat3"))
FAMILY = TrialsFamily(HAND, ".")
SPEC = FrameJob(FAMILY, T=2, split_by="number", sensor_size=(2, 4), downsample=1)


def split_recordings(root, split):
    return trials_split(root, len(HAND.classes), split)


def make_layout(root):
    root.mkdir()
    t = np.arange(100)
    write_aedat3(root / "user01_lab.aedat", make_events(t, t % 4, np.zeros(100), np.ones(100)), packet_events=30)
    (root / "user01_lab_labels.csv").write_text("class,startTime_usec,endTime_usec\n1,0,50\n3,40,100\n")
    t2 = np.arange(1000, 1010)
    write_aedat3(root / "user02_lab.aedat", make_events(t2, np.full(10, 3), np.ones(10), t2 % 2))
    (root / "user02_lab_labels.csv").write_text("class,startTime_usec,endTime_usec\n2,1000,1010\n")
    (root / "trials_to_train.txt").write_text("user01_lab.aedat\nuser02_lab.aedat\n")
    return root


def test_values_and_provenance(tmp_path):
    root = make_layout(tmp_path / "DvsGesture")
    out = tmp_path / "train.h5"
    s = build_split(split_recordings(root, "train"), SPEC, out, {"dataset": "hand"}, workers=1)
    assert (s.samples, s.events) == (3, 50 + 60 + 10)
    with h5py.File(out) as f:
        assert f["frames"].shape == (3, 2, 2, 2, 4)
        assert f["frames"].chunks == (1, 2, 2, 2, 4)
        assert f["labels"][:].tolist() == [0, 2, 1]
        assert [r.decode() for r in f["recording"][:]] == ["user01_lab.aedat", "user01_lab.aedat", "user02_lab.aedat"]
        assert f["label_row"][:].tolist() == [0, 1, 0]
        assert f["n_events"][:].tolist() == [50, 60, 10]
        assert read_meta(f)["T"] == 2 and read_meta(f)["dataset"] == "hand"
        fr = f["frames"][:]
    # sample 0: t = 0..49, x = t % 4, all ON, y = 0; frame 0 = t 0..24, frame 1 = t 25..49
    assert fr[0, 0, 1, 0].tolist() == [7, 6, 6, 6] and fr[0, 1, 1, 0].tolist() == [6, 7, 6, 6]
    assert fr[0, :, 0].sum() == 0 and fr[0, :, :, 1].sum() == 0
    # sample 1 (overlapping window): t = 40..99 -> frames t 40..69 and 70..99
    assert fr[1, 0, 1, 0].tolist() == [8, 8, 7, 7] and fr[1, 1, 1, 0].tolist() == [7, 7, 8, 8]
    # sample 2: 10 events at (x=3, y=1), polarity t % 2, 5 per frame
    assert fr[2, 0, :, 1, 3].tolist() == [3, 2] and fr[2, 1, :, 1, 3].tolist() == [2, 3]


def test_byte_identical_whatever_the_worker_count(tmp_path):
    root = make_layout(tmp_path / "DvsGesture")
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    build_split(split_recordings(root, "train"), SPEC, a, {"x": 1}, workers=1)
    build_split(split_recordings(root, "train"), SPEC, b, {"x": 1}, workers=2)
    assert a.read_bytes() == b.read_bytes()


def test_sample_count_mismatch_fails_before_writing(tmp_path):
    root = make_layout(tmp_path / "DvsGesture")
    with pytest.raises(LayoutError, match="found 3 samples, expected 4"):
        build_split(split_recordings(root, "train"), SPEC, tmp_path / "t.h5", {}, workers=1, expected=4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["DvsGesture"]


@pytest.mark.parametrize("workers", [1, 2])
def test_corrupt_recording_names_file_and_leaves_nothing(tmp_path, workers):
    root = make_layout(tmp_path / "DvsGesture")
    rec = root / "user02_lab.aedat"
    rec.write_bytes(rec.read_bytes()[:-5])
    with pytest.raises(AedatFormatError, match="user02_lab.aedat.*offset"):
        build_split(split_recordings(root, "train"), SPEC, tmp_path / "t.h5", {}, workers=workers)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["DvsGesture"]


def test_missing_recording(tmp_path):
    root = make_layout(tmp_path / "DvsGesture")
    (root / "user02_lab.aedat").unlink()
    with pytest.raises(LayoutError, match="lists user02_lab.aedat"):
        split_recordings(root, "train")


def test_errors_name_the_file_and_sample(tmp_path):
    """An event outside the sensor in a whole-file sample, and unsorted timestamps inside a
    labelled window (split_by: time), each name the file and which sample."""
    from pipeline.core.errors import EventFormatError

    rec = tmp_path / "one.aedat"
    write_aedat3(rec, make_events(np.arange(5), [0, 1, 2, 9, 0], np.zeros(5), np.ones(5)))
    with pytest.raises(EventFormatError, match=r"one\.aedat: event 3 \(t = 3 us, in the whole file\): "
                                               r"x = 9 is outside the sensor width 4"):
        build_split([Unit(str(rec), (Item(0, rec.name),), rec)], SPEC, tmp_path / "a.h5", {}, workers=1)
    # timestamps 0 1 2 3 1 (unsorted: the writer refuses them, so patch the file's last event)
    unsorted = tmp_path / "two.aedat"
    write_aedat3(unsorted, make_events(np.arange(5), np.zeros(5), np.zeros(5), np.ones(5)))
    raw = bytearray(unsorted.read_bytes())
    raw[-4:] = (1).to_bytes(4, "little")
    unsorted.write_bytes(bytes(raw))
    job = FrameJob(FAMILY, T=2, split_by="time", sensor_size=(2, 4), downsample=1)
    with pytest.raises(EventFormatError, match=r"two\.aedat: the sample of labels row 7: integrate: event 4: "
                                               r"timestamps not sorted"):
        build_split([Unit(str(unsorted), (Item(0, unsorted.name, 7, 0, 10),), unsorted)], job, tmp_path / "b.h5", {},
                    workers=1)
    assert list(tmp_path.glob("*.h5*")) == []
