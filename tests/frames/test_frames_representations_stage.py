"""Issue 26 through the frames stage: ``frames.split_by`` time_bins / event_bins (with
``frames.overlap``) and ``frames.representation`` voxel_grid / binarep, on a Tonic-class dataset
(DVS-Lip's .npy files, written here) and on a hand-made DvsGesture layout.

Each stored sample equals the kernel called on that sample's events and, independently, Tonic
1.7's own transform (``ToFrame``, ``ToVoxelGrid``, ``ToBinaRep``) of Tonic's ``dataset[i]``; the
file records the representation in its metadata only where it is not the default, so the
default counts file keeps its bytes."""

import dataclasses
import json

import h5py
import numpy as np
import pytest

from pipeline import datasets
from pipeline.cli.info import describe
from pipeline.core.errors import EventFormatError
from pipeline.core.events import make_events
from pipeline.core.store import read_frames, read_meta, open_frames
from pipeline.datasets import DatasetSpec
from pipeline.datasets.spec import Trials
from pipeline.download.demo.aedat3_write import write_aedat3
from pipeline.frames.driver import FrameJob, write_split
from pipeline.frames.families.base import Item, Unit
from pipeline.frames.families.tonic import offline_class
from pipeline.frames.families.trials import TrialsFamily
from pipeline.frames.integration import integrate
from pipeline.frames.representations import binarep_codes, binarep_scale, voxel_grid
from pipeline.frames.stage import make_frames
from pipeline.train.data import narrow_dtype
from tonicfiles import params, tonic_by_recording, write_raw_source

tonic = pytest.importorskip("tonic")

T = 4
H = W = 128                              # DVS-Lip's sensor in the registry (Tonic's 128 x 128)
COUNTS = {"train": {"accused": 2, "young": 1}, "test": {"young": 2}}
NEW_KEYS = ("representation", "n_bits", "overlap")


@pytest.fixture(scope="module")
def dvslip(tmp_path_factory):
    """DVSLip/DVS-Lip/{train,test}/<word>/<n>.npy of random sorted events, its SOURCE.json, the spec."""
    raw, rng = tmp_path_factory.mktemp("dvslip") / "raw", np.random.default_rng(26)
    on_disk = np.dtype([("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "u1")])
    for split, words in COUNTS.items():
        for word, n in words.items():
            folder = raw / "DVSLip" / "DVS-Lip" / split / word
            folder.mkdir(parents=True)
            for k in range(n):
                m = 300 + 37 * k                 # not a multiple of T or T * n_bits: some events left out
                ev = np.zeros(m, on_disk)
                ev["t"] = np.sort(rng.integers(0, 1_000_000, m))
                ev["x"], ev["y"] = rng.integers(0, 16, m), rng.integers(0, 16, m)   # a few pixels: sums > 1
                ev["p"] = rng.integers(0, 2, m)
                np.save(folder / f"{k}.npy", ev)
    expected = {s: sum(w.values()) for s, w in COUNTS.items()}
    write_raw_source(raw, "tonic.DVSLip")
    return raw, dataclasses.replace(datasets.get("tonic.DVSLip"), expected=expected)


def tonic_reference(events: np.ndarray, frames: dict) -> np.ndarray:
    """Tonic 1.7's own transform of ``events`` (Tonic's dtype for DVS-Lip: p bool), as the
    frames stage stores it: counts, the voxel grid, Bina-Rep's codes."""
    from tonic import transforms

    sensor = (W, H, 2)
    ev = np.zeros(events.size, [("t", "<i8"), ("x", "<i8"), ("y", "<i8"), ("p", "<i8")])   # a signed polarity
    for name in ev.dtype.names:                       # by name (astype assigns fields by position)
        ev[name] = events[name]
    representation = frames.get("representation", "counts")
    if representation == "voxel_grid":                # float64 sums, stored rounded once to float32
        return transforms.ToVoxelGrid(sensor_size=sensor, n_time_bins=T)(ev).astype(np.float32)
    if representation == "binarep":
        n_bits = frames["n_bits"]
        binned = transforms.ToFrame(sensor_size=sensor, n_event_bins=T * n_bits)(ev)
        values = transforms.ToBinaRep(n_frames=T, n_bits=n_bits)(binned)
        return values * binarep_scale(n_bits)          # the codes: exact in float32
    split_by, overlap = frames["split_by"], frames.get("overlap", 0.0)
    key = "n_time_bins" if split_by == "time_bins" else "n_event_bins"
    return transforms.ToFrame(sensor_size=sensor, overlap=overlap, **{key: T})(ev)


def kernel(events: np.ndarray, frames: dict) -> np.ndarray:
    representation = frames.get("representation", "counts")
    if representation == "voxel_grid":
        return voxel_grid(events, T, (H, W))
    if representation == "binarep":
        return binarep_codes(events, T, frames["n_bits"], (H, W))
    return integrate(events, T, frames["split_by"], (H, W), 1, frames.get("overlap", 0.0))


CASES = {
    "voxel_grid": ({"representation": "voxel_grid"}, np.float32, 1, {"representation": "voxel_grid"}),
    "binarep4": ({"representation": "binarep", "n_bits": 4}, np.uint8, 2, {"representation": "binarep", "n_bits": 4}),
    "event_bins+overlap": ({"split_by": "event_bins", "overlap": 0.5}, np.uint32, 2, {"overlap": 0.5}),
    "time_bins": ({"split_by": "time_bins"}, np.uint32, 2, {}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_representation_is_the_kernel_and_tonic(case, dvslip, tmp_path, offline):
    raw, spec = dvslip
    frames, dtype, C, recorded = CASES[case]
    out = make_frames(params(tmp_path, "tonic.DVSLip", **frames), raw, tmp_path / "frames", spec)
    assert (out["train"].samples, out["test"].samples) == (3, 2)
    settings = {"split_by": "number", **frames}
    for split in ("train", "test"):
        ds = offline_class("DVSLip")(save_to=str(raw), train=split == "train")
        index_of = tonic_by_recording(ds, raw)
        h5 = tmp_path / "frames" / f"{split}.h5"
        with h5py.File(h5) as f:
            stored = f["frames"]
            assert stored.dtype == dtype and stored.shape == (out[split].samples, T, C, H, W)
            meta = read_meta(f)
            for k, recording in enumerate(r.decode() for r in f["recording"][:]):
                events, _ = ds[index_of[recording]]
                got = stored[k]
                want = kernel(events, settings)
                assert got.dtype == want.dtype and np.array_equal(got, want), (case, split, k)
                ref = tonic_reference(events, settings)
                assert ref.shape == got.shape and np.array_equal(got, ref), (case, split, k)
                assert got.any()
        # the metadata and the params it records: the new keys only where not the defaults
        assert {k: meta[k] for k in NEW_KEYS if k in meta} == recorded
        recorded_params = json.loads(meta["params"])["frames"]
        assert {k: recorded_params[k] for k in NEW_KEYS if k in recorded_params} == recorded
        counts = settings.get("representation", "counts") == "counts"
        if counts:
            assert meta["split_by"] == settings["split_by"] == recorded_params["split_by"]
        else:                                   # split_by bins counts only: not recorded
            assert "split_by" not in meta and "split_by" not in recorded_params
        # what training reads, and what `info` says
        with open_frames(h5) as f:
            assert np.array_equal(read_frames(f, 0), kernel(ds[index_of[f["recording"][0].decode()]][0], settings))
        assert narrow_dtype(h5) == {np.float32: np.float32, np.uint8: np.uint8, np.uint32: np.uint8}[dtype]
        text = describe(h5)
        assert f"x {(T, C, H, W)} {np.dtype(dtype)} (T, " in text
        values = next(line for line in text.splitlines() if line.startswith("values:"))
        if "representation" in frames and frames["representation"] == "voxel_grid":
            assert values.startswith("values:      representation voxel_grid (Tonic's ToVoxelGrid")
        elif "representation" in frames:
            assert values.startswith("values:      representation binarep, n_bits 4 (Tonic's ToBinaRep") \
                and "divide by 15" in values
        else:
            assert values == f"values:      representation counts, split_by {settings['split_by']}, " \
                             f"overlap {frames.get('overlap', 0.0)}"


def test_the_default_counts_file_records_none_of_the_new_keys(dvslip, tmp_path, offline):
    raw, spec = dvslip
    make_frames(params(tmp_path, "tonic.DVSLip"), raw, tmp_path / "frames", spec)
    h5 = tmp_path / "frames" / "train.h5"
    with h5py.File(h5) as f:
        meta = read_meta(f)
        assert f["frames"].dtype == np.uint32 and f["frames"].shape[1:] == (T, 2, H, W)
    assert not set(NEW_KEYS) & set(meta)
    assert json.loads(meta["params"])["frames"] == {"T": T, "split_by": "number", "downsample": 1, "filters": []}
    assert "values:      representation counts, split_by number, overlap 0.0" in describe(h5)


def test_voxel_grid_files_are_byte_identical_whatever_the_worker_count(dvslip, tmp_path, offline):
    raw, spec = dvslip
    for workers in (1, 2):
        make_frames(params(tmp_path, "tonic.DVSLip", representation="voxel_grid", workers=workers), raw,
                    tmp_path / f"w{workers}", spec)
    for split in ("train", "test"):
        assert (tmp_path / "w1" / f"{split}.h5").read_bytes() == (tmp_path / "w2" / f"{split}.h5").read_bytes()


# the driver on a hand-made DvsGesture layout (a 2 x 4 sensor)

HAND = DatasetSpec(name="hand", sensor_size=(2, 4), classes=("a", "b", "c"), layout=Trials(reader="aedat3"))
FAMILY = TrialsFamily(HAND, ".")


def job(**kw):
    return FrameJob(FAMILY, T=2, sensor_size=(2, 4), **kw)


@pytest.mark.parametrize("kw,dtype,shape", [
    ({"representation": "voxel_grid"}, np.float32, (2, 1, 2, 4)),
    ({"representation": "binarep", "n_bits": 3}, np.uint8, (2, 2, 2, 4)),
    ({"split_by": "time_bins", "overlap": 0.25}, np.uint32, (2, 2, 2, 4)),
    ({}, np.uint32, (2, 2, 2, 4)),
])
def test_frame_job_shape_dtype_and_a_whole_file_sample(kw, dtype, shape, tmp_path):
    rec = tmp_path / "one.aedat"
    ev = make_events(np.arange(0, 50, 2), np.arange(25) % 4, np.arange(25) % 2, (np.arange(25) // 3) % 2)
    write_aedat3(rec, ev)
    j = job(**kw)
    assert j.shape == shape and j.dtype == dtype
    write_split([Unit(str(rec), (Item(0, rec.name),), rec)], j, tmp_path / "a.h5", {}, workers=1)
    with h5py.File(tmp_path / "a.h5") as f:
        assert f["frames"].dtype == dtype and f["frames"].shape == (1, *shape)
        assert np.array_equal(f["frames"][0], j.frames(ev))


def test_kernel_errors_name_the_file_and_sample(tmp_path):
    """Unsorted timestamps inside a labelled window: the voxel grid's error, as integrate's."""
    unsorted = tmp_path / "two.aedat"
    write_aedat3(unsorted, make_events(np.arange(5), np.zeros(5), np.zeros(5), np.ones(5)))
    raw = bytearray(unsorted.read_bytes())
    raw[-4:] = (1).to_bytes(4, "little")             # the last event's timestamp: 4 -> 1
    unsorted.write_bytes(bytes(raw))
    units = [Unit(str(unsorted), (Item(0, unsorted.name, 7, 0, 10),), unsorted)]
    for kw, who in (({"representation": "voxel_grid"}, "voxel_grid"), ({"split_by": "time_bins"}, "integrate")):
        with pytest.raises(EventFormatError, match=rf"two\.aedat: the sample of labels row 7: {who}: event 4: "
                                                   r"timestamps not sorted"):
            write_split(units, job(**kw), tmp_path / "b.h5", {}, workers=1)
    # Bina-Rep does not use the timestamps
    write_split(units, job(representation="binarep", n_bits=2), tmp_path / "c.h5", {}, workers=1)
    assert list(tmp_path.glob("b.h5*")) == []


@pytest.mark.parametrize("kw,message", [
    ({"overlap": 0.5}, "frames.overlap: split_by number takes no overlap (only time_bins and event_bins do), got 0.5"),
    ({"representation": "voxel_grid", "split_by": "time_bins", "overlap": 0.5}, "frames.overlap: representation "
     "voxel_grid takes no overlap"),
    ({"representation": "binarep"}, "frames.n_bits: representation binarep needs n_bits"),
    ({"n_bits": 4}, "frames.n_bits: only representation binarep takes n_bits"),
    ({"representation": "timesurface"}, "frames: unknown representation 'timesurface'"),
])
def test_frame_job_refuses_what_params_refuse(kw, message):
    with pytest.raises(ValueError) as e:
        job(**kw)
    assert str(e.value).startswith(message)
