"""Every Tonic class the registry supports, through the frames driver, from files written here
in that class's own on-disk format (CIFAR10-DVS's AEDAT 4 files, DVS-Lip's .npy arrays, SSC's
and N-TIDIGITS18's HDF5 files). Tonic's own parsing of the same files is the reference: the
stored frames equal our ``integrate`` of Tonic's ``dataset[i]`` events, labels Tonic's targets.
(N-MNIST, DVS Gesture, POKER-DVS, ASL-DVS, N-Caltech101 and SHD: test_tonic_datasets.py.)"""

import dataclasses

import h5py
import numpy as np
import pytest

from aedat4files import aedat4_file, dv_xml, event_packet, ioheader
from pipeline import datasets
from pipeline.core.store import read_meta
from pipeline.frames.families.tonic import offline_class, stratified_split, to_events
from pipeline.frames.integration import integrate
from pipeline.frames.stage import make_frames
from tonicfiles import assert_matches_tonic, params, tonic_by_recording, write_raw_source

tonic = pytest.importorskip("tonic")


def spec_with(name: str, **changes):
    """The registry's spec, its expected counts (or layout total) set to this test's files."""
    spec = datasets.get(name)
    layout = {k: changes.pop(k) for k in ("total",) if k in changes}
    if layout:
        spec = dataclasses.replace(spec, layout=dataclasses.replace(spec.layout, **layout))
    return dataclasses.replace(spec, **changes)


def random_events(rng, n: int, width: int, height: int) -> list[tuple[int, int, int, int]]:
    t = np.sort(rng.integers(0, 2_000_000, n))
    return [(int(t[i]), int(rng.integers(0, width)), int(rng.integers(0, height)), int(rng.integers(0, 2)))
            for i in range(n)]


def test_cifar10dvs_aedat4_files_stratified(tmp_path, offline):
    """CIFAR10DVS/<class>/<n>.aedat4 (AEDAT 4.0 as Tonic reads it with the `aedat` package);
    no official split: frames.test_fraction of each class."""
    pytest.importorskip("aedat")
    raw, rng = tmp_path / "raw", np.random.default_rng(2)
    counts = {"airplane": 4, "cat": 3, "truck": 2}
    for cls, n in counts.items():
        (raw / "CIFAR10DVS" / cls).mkdir(parents=True)
        for k in range(n):
            events = random_events(rng, 200 + 37 * k, 128, 128)
            packets = [event_packet(events[:100]), event_packet(events[100:])]      # two packets, one stream
            (raw / "CIFAR10DVS" / cls / f"cifar10_{cls}_{k}.aedat4").write_bytes(
                aedat4_file(ioheader(xml=dv_xml(128, 128)), packets))
    write_raw_source(raw, "tonic.CIFAR10DVS")
    spec = spec_with("tonic.CIFAR10DVS", total=9)
    out = make_frames(params(tmp_path, "tonic.CIFAR10DVS", test_fraction=0.5, split_seed=1), raw,
                      tmp_path / "frames", spec)
    # round half up per class: airplane 2 of 4, cat 2 of 3 (1.5 -> 2), truck 1 of 2
    assert (out["train"].samples, out["test"].samples) == (4, 5)
    ds = offline_class("CIFAR10DVS")(save_to=str(raw))
    index_of = tonic_by_recording(ds, raw)
    all_labels = np.zeros(9, np.int64)
    for split in ("train", "test"):
        h5 = tmp_path / "frames" / f"{split}.h5"
        assert_matches_tonic(h5, ds, index_of, spec, 4, range(out[split].samples))
        with h5py.File(h5) as f:
            all_labels[f["label_row"][:]] = f["labels"][:]
            assert read_meta(f)["split_rule"] == "stratified"
            if split == "test":
                test_rows = f["label_row"][:]
    assert np.array_equal(stratified_split(all_labels, 10, 0.5, 1)[1], test_rows)
    assert sorted(all_labels.tolist()) == [0] * 4 + [3] * 3 + [9] * 2        # airplane, cat, truck


def test_dvslip_npy_words_official_split(tmp_path, offline):
    """DVSLip/DVS-Lip/{train,test}/<word>/<n>.npy: structured arrays (t, x, y, p) that Tonic
    copies field by field into its own dtype (x, y int16, p bool, t int64)."""
    raw, rng = tmp_path / "raw", np.random.default_rng(3)
    on_disk = np.dtype([("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "u1")])
    counts = {"train": {"accused": 3, "young": 2, "water": 1}, "test": {"accused": 1, "young": 2}}
    for split, words in counts.items():
        for word, n in words.items():
            folder = raw / "DVSLip" / "DVS-Lip" / split / word
            folder.mkdir(parents=True)
            for k in range(n):
                m = 120 + 11 * k
                ev = np.zeros(m, on_disk)
                ev["t"] = np.sort(rng.integers(0, 1_000_000, m))
                ev["x"], ev["y"], ev["p"] = rng.integers(0, 128, m), rng.integers(0, 128, m), rng.integers(0, 2, m)
                np.save(folder / f"{k}.npy", ev)
    write_raw_source(raw, "tonic.DVSLip")
    spec = spec_with("tonic.DVSLip", expected={"train": 6, "test": 3})
    out = make_frames(params(tmp_path, "tonic.DVSLip", workers=2), raw, tmp_path / "frames", spec)
    assert (out["train"].samples, out["test"].samples) == (6, 3)
    for split in ("train", "test"):
        ds = offline_class("DVSLip")(save_to=str(raw), train=split == "train")
        h5 = tmp_path / "frames" / f"{split}.h5"
        assert_matches_tonic(h5, ds, tonic_by_recording(ds, raw), spec, 4, range(out[split].samples))
        with h5py.File(h5) as f:
            recordings = [r.decode() for r in f["recording"][:]]
        assert recordings == sorted(recordings) and recordings[0] == f"DVSLip/DVS-Lip/{split}/accused/0.npy"


def write_hsd(path, rng, n: int, keys: list[bytes], channels: int = 700):
    """An SHD/SSC file: spikes/times (seconds, float32), spikes/units (uint16), labels, extra/."""
    with h5py.File(path, "w") as f:
        times = f.create_dataset("spikes/times", (n,), dtype=h5py.vlen_dtype(np.float32))
        units = f.create_dataset("spikes/units", (n,), dtype=h5py.vlen_dtype(np.uint16))
        for i in range(n):
            m = 30 + 7 * i
            times[i] = np.sort(rng.random(m)).astype(np.float32)
            units[i] = rng.integers(0, channels, m).astype(np.uint16)
        f.create_dataset("labels", data=(np.arange(n) * 7) % len(keys))
        f.create_dataset("extra/keys", data=keys)
        f.create_dataset("extra/speaker", data=np.zeros(n, np.uint16))


def test_ssc_hdf5_audio_spikes(tmp_path, offline):
    """SSC/ssc_{train,test}.h5 (Tonic's split="train"/"test"): 700 channels, labels of 35 commands."""
    raw, rng = tmp_path / "raw", np.random.default_rng(4)
    (raw / "SSC").mkdir(parents=True)
    spec = datasets.get("tonic.SSC")
    keys = [k.encode() for k in spec.classes]
    counts = {"train": 7, "test": 4}
    for split, n in counts.items():
        write_hsd(raw / "SSC" / f"ssc_{split}.h5", rng, n, keys)
    write_raw_source(raw, "tonic.SSC", [], counts)
    spec = spec_with("tonic.SSC", expected=counts)
    out = make_frames(params(tmp_path, "tonic.SSC"), raw, tmp_path / "frames", spec)
    assert (out["train"].samples, out["test"].samples) == (7, 4)
    for split, n in counts.items():
        ds = offline_class("SSC")(save_to=str(raw), split=split)
        with h5py.File(tmp_path / "frames" / f"{split}.h5") as f:
            assert f["frames"].shape == (n, 4, 2, 1, 700) and not f["frames"][:, :, 1].any()
            assert [r.decode() for r in f["recording"][:]] == [f"{split}/{i}" for i in range(n)]
            assert list(read_meta(f)["tonic_keys"]) == list(spec.classes)
            for i in range(n):
                events, target = ds[i]
                want = integrate(to_events(events, "x", one_d=True), 4, "number", (1, 700), 1)
                assert np.array_equal(f["frames"][i], want) and f["labels"][i] == int(target) == (7 * i) % 35
                assert want.sum() == events.size == f["n_events"][i]


def test_ntidigits18_hdf5_single_digits(tmp_path, offline):
    """NTIDIGITS18/n-tidigits.hdf5: {train,test}_labels (sample ids ending in their digits),
    {train,test}_addresses/<id> (channel 0..63) and _timestamps/<id> (seconds). Tonic's
    single_digits keeps the ids ending in one digit; the class is that digit (o, 1..9, z)."""
    raw, rng = tmp_path / "raw", np.random.default_rng(5)
    (raw / "NTIDIGITS18").mkdir(parents=True)
    ids = {"train": ["man-ae-o", "woman-bc-3", "man-cd-1z2", "boy-de-z", "girl-ef-7", "man-fg-44"],
           "test": ["woman-gh-9", "man-hi-21", "boy-ij-1"]}
    with h5py.File(raw / "NTIDIGITS18" / "n-tidigits.hdf5", "w") as f:
        for split, names in ids.items():
            f.create_dataset(f"{split}_labels", data=[n.encode() for n in names])
            for k, name in enumerate(names):
                m = 25 + 9 * k
                f.create_dataset(f"{split}_addresses/{name}", data=rng.integers(0, 64, m).astype(np.uint8))
                f.create_dataset(f"{split}_timestamps/{name}", data=np.sort(rng.random(m)) * 0.9)
    write_raw_source(raw, "tonic.NTIDIGITS18")
    spec = spec_with("tonic.NTIDIGITS18", expected={"train": 4, "test": 2})
    out = make_frames(params(tmp_path, "tonic.NTIDIGITS18"), raw, tmp_path / "frames", spec)
    assert (out["train"].samples, out["test"].samples) == (4, 2)      # 1z2, 44 and 21 are not single digits
    singles = {"train": ["man-ae-o", "woman-bc-3", "boy-de-z", "girl-ef-7"], "test": ["woman-gh-9", "boy-ij-1"]}
    for split, names in singles.items():
        ds = offline_class("NTIDIGITS18")(save_to=str(raw), train=split == "train", single_digits=True)
        with h5py.File(tmp_path / "frames" / f"{split}.h5") as f:
            assert [r.decode() for r in f["recording"][:]] == [f"{split}/{n}" for n in names]
            assert [spec.classes[c] for c in f["labels"][:]] == [n[-1] for n in names]
            assert f["frames"].shape == (len(names), 4, 2, 1, 64)
            for i in range(len(names)):
                events, target = ds[i]
                want = integrate(to_events(events, "x", one_d=True), 4, "number", (1, 64), 1)
                assert np.array_equal(f["frames"][i], want) and f["labels"][i] == int(target)
                assert want.sum() == events.size == f["n_events"][i]
