"""Tonic's datasets as ``dataset: tonic.<Class>``: registry, dtype conversion, download, frames.

Offline: no machine here reaches Tonic's hosts. Files are placed in the exact layout each Tonic
class checks for (its ``_check_exists``), under ``archive_dir/tonic/<Class>/``, so Tonic skips
its download; ``urllib``'s ``urlopen`` is made to fail, so a download attempt would show.
N-MNIST and N-Caltech101 use the real N-MNIST recordings of ../shared/data/real/ (hard-linked
many times: Tonic counts files); POKER-DVS, ASL-DVS and SHD use synthetic files in Tonic's format.
Tonic is the reference for parsing: stored frames must equal our ``integrate`` of Tonic's own
``dataset[i]`` events, and labels Tonic's targets.
"""

import ast
import dataclasses
import hashlib
import io
import json
import os
import tarfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from tonicfiles import (
    assert_matches_tonic, link_many, params, real_nmnist, tonic_by_recording, write_raw_source,
)
from pipeline import datasets
from pipeline.datasets.spec import TonicClass, TonicFetch
from pipeline.download.stage import download
from pipeline.core.errors import DownloadError, EventFormatError, LayoutError
from pipeline.core.events import EVENT_DTYPE
from pipeline.frames.stage import make_frames
from pipeline.frames.integration import integrate
from pipeline.core.sourcerecord import Archive, read_source
from pipeline.frames.families.tonic import offline_class, stratified_split, to_events
from pipeline.download.tonic import calls, wanted
from pipeline.core.store import read_meta

tonic = pytest.importorskip("tonic")
import tonic.datasets as td  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SPECS = [s for s in datasets.DATASETS.values() if isinstance(s.source, TonicFetch)]
SEVEN = ["tonic.NMNIST", "tonic.DVSGesture", "tonic.CIFAR10DVS", "tonic.POKERDVS", "tonic.ASLDVS",
         "tonic.DVSLip", "tonic.NCALTECH101"]


# ------------------------------------------------------------------------------- registry

def test_registry_has_every_supported_tonic_class_as_data():
    names = {s.name for s in SPECS}
    assert set(SEVEN) <= names and {"tonic.SHD", "tonic.SSC", "tonic.NTIDIGITS18"} <= names
    for spec in SPECS:
        cls = getattr(td, spec.layout.tonic_class)
        assert spec.name == f"tonic.{spec.layout.tonic_class}" and spec.files == ()
        assert not spec.images and spec.archive_subdir == "tonic" and isinstance(spec.layout, TonicClass)
        assert spec.layout.split in ("official", "stratified") and spec.layout.data
        # Tonic's sensor_size is (W, H, P); ours (H, W); NCALTECH101 has none (our 240 x 180 rule)
        if cls.sensor_size is None:
            assert spec.sensor_size == (180, 240) and "240 x 180" in spec.layout.note
        elif spec.layout.one_d:
            assert spec.sensor_size == (1, cls.sensor_size[0])
        else:
            assert spec.sensor_size == (cls.sensor_size[1], cls.sensor_size[0])
        tonic_classes = getattr(cls, "classes", None)
        if isinstance(tonic_classes, dict):
            assert list(spec.classes) == sorted(tonic_classes, key=tonic_classes.get)
        elif isinstance(tonic_classes, list):
            assert list(spec.classes) == tonic_classes
        if spec.layout.tonic_class == "NTIDIGITS18":
            assert list(spec.classes) == sorted(cls.class_map, key=cls.class_map.get)
        text = datasets.help_text(spec.name, archive_dir="/A")
        assert f"/A/{spec.layout.tonic_class}/" in text
        for split, kwargs in calls(spec):          # the help names what Tonic fetches, as Tonic does
            name, md5, url = wanted(cls, kwargs)
            assert name in text and (md5 is None or md5 in text), (spec.name, name, md5)
            assert url is None or url in text or (cls.base_url in text and name in url), (spec.name, url)
    assert datasets.get("tonic.NMNIST").expected == {"train": 60000, "test": 10000}
    assert datasets.get("tonic.DVSGesture").expected == {"train": 1077, "test": 264}
    assert len(datasets.get("tonic.NCALTECH101").classes) == 101
    assert datasets.get("tonic.NCALTECH101").layout.total == 8709


def test_datasets_module_imports_no_code():
    """The registry is data: it imports neither Tonic nor any stage's code."""
    for path in (ROOT / "pipeline" / "datasets").glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not any("tonic" in (m or "") or (m or "").split(".")[0] in ("download", "frames", "train", "evaluate")
                       for m in imported), (path, imported)


# ------------------------------------------------------------------------------- dtypes

HAND = {"t": [5, 7, 2**40, 2**40 + 3], "x": [0, 3, 1, 2], "y": [2, 0, 1, 3], "p": [1, 0, 0, 1]}


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_each_class_dtype_converts_exactly(spec):
    """Hand values in each Tonic class's own dtype (its field order, widths, signedness, bool
    polarity) -> EVENT_DTYPE, value for value."""
    dtype = getattr(td, spec.layout.tonic_class).dtype
    ev = np.zeros(4, dtype)
    for name in dtype.names:
        ev[name] = np.array(HAND[name]).astype(dtype[name])
    out = to_events(ev, spec.name, one_d=bool(spec.layout.one_d))
    assert out.dtype == EVENT_DTYPE
    assert out["t"].tolist() == HAND["t"] and out["x"].tolist() == HAND["x"]
    if spec.layout.one_d:
        assert out["y"].tolist() == [0] * 4 and out["p"].tolist() == [0] * 4   # no y; p set to 0
    else:
        assert out["y"].tolist() == HAND["y"] and out["p"].tolist() == HAND["p"]


def test_dtype_details_bool_unsigned_order_and_shapes():
    # field order does not matter, bool polarity becomes 0/1
    ev = np.zeros(2, [("p", "?"), ("y", ">i2"), ("t", "<u8"), ("x", "u1")])
    ev["p"], ev["y"], ev["t"], ev["x"] = [True, False], [9, 8], [2**63 - 1, 0], [255, 0]
    out = to_events(ev, "d: s")
    assert out.tolist() == [(2**63 - 1, 255, 9, 1), (0, 0, 8, 0)]
    # MATLAB-style (N, 1) arrays (Tonic's ASLDVS) are N events
    assert to_events(ev.reshape(2, 1), "d: s").tolist() == out.tolist()
    # -1/1 polarity (all of a sample) maps -1 to 0
    ev = np.zeros(3, [("t", int), ("x", int), ("y", int), ("p", np.int8)])
    ev["p"] = [-1, 1, -1]
    assert to_events(ev, "d: s")["p"].tolist() == [0, 1, 0]
    # integral floats are taken, as integers
    ev = np.zeros(2, [("t", float), ("x", np.float32), ("y", float), ("p", float)])
    ev["t"], ev["x"] = [1.0, 3e6], [2.0, 33.0]
    assert to_events(ev, "d: s")[["t", "x"]].tolist() == [(1, 2), (3000000, 33)]


@pytest.mark.parametrize("make, what", [
    (lambda: np.zeros(2, [("t", "<u8"), ("x", "u2"), ("y", "u2"), ("p", "?")]), None),
    (lambda: np.array([(2**63, 1, 1, 1)], [("t", "<u8"), ("x", "u2"), ("y", "u2"), ("p", "?")]),
     "event 0: t = 9223372036854775808 does not fit"),
    (lambda: np.array([(0, 1, 1, 1), (1, -1, 0, 0)], [("t", int), ("x", np.int16), ("y", int), ("p", int)]),
     "event 1: x = -1 does not fit in 0..65535"),
    (lambda: np.array([(0, 1, 70000, 1)], [("t", int), ("x", int), ("y", int), ("p", int)]),
     "event 0: y = 70000 does not fit"),
    (lambda: np.array([(0, 1, 1, 2)], [("t", int), ("x", int), ("y", int), ("p", int)]),
     "event 0: p = 2 does not fit in -1..1"),
    (lambda: np.array([(0, 1, 1, -1), (1, 1, 1, 0)], [("t", int), ("x", int), ("y", int), ("p", int)]),
     "event 1: p = 0 mixes with p = -1"),
    (lambda: np.array([(0.5, 1, 1, 1)], [("t", float), ("x", int), ("y", int), ("p", int)]),
     "event 0: t = 0.5 is not a whole number"),
    (lambda: np.array([(0, np.nan, 1, 1)], [("t", int), ("x", float), ("y", int), ("p", int)]),
     "event 0: x = nan is not a whole number"),
    (lambda: np.zeros(2, [("t", int), ("x", int), ("y", int)]),
     "Tonic's events have the fields t, x, y, no p"),
    (lambda: np.zeros(2, [("t", int), ("x", int), ("y", int), ("p", "U2")]),
     "field 'p' is of type <U2, not a number"),
    (lambda: np.zeros((2, 4), int), "not a structured array of events"),
    (lambda: np.zeros((2, 2), [("t", int), ("x", int), ("y", int), ("p", int)]), "have shape (2, 2)"),
])
def test_dtype_refused_with_dataset_and_sample(make, what):
    if what is None:
        assert to_events(make(), "tonic.X: sample a/b.npy").size == 2
        return
    with pytest.raises(EventFormatError) as e:
        to_events(make(), "tonic.X: sample a/b.npy")
    assert str(e.value).startswith("tonic.X: sample a/b.npy: ") and what in str(e.value)


def test_audio_events_need_no_y():
    ev = np.zeros(3, td.SHD.dtype)
    ev["t"], ev["x"], ev["p"] = [1, 2, 3], [0, 699, 5], 1
    out = to_events(ev, "tonic.SHD: train/0", one_d=True)
    assert out.tolist() == [(1, 0, 0, 0), (2, 699, 0, 0), (3, 5, 0, 0)]
    with pytest.raises(EventFormatError, match="no y"):
        to_events(ev, "tonic.SHD: train/0")


# ------------------------------------------------------------------------------- split rule

def test_stratified_split_is_per_class_seeded_and_disjoint():
    labels = np.array([0] * 10 + [1] * 7 + [2] * 1 + [3] * 5)
    rng = np.random.default_rng(3)
    labels = labels[rng.permutation(labels.size)]
    train, test = stratified_split(labels, 5, 0.2, seed=7)
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(labels.size))
    assert list(train) == sorted(train) and list(test) == sorted(test)
    per_class = {c: int((labels[test] == c).sum()) for c in range(5)}
    assert per_class == {0: 2, 1: 1, 2: 0, 3: 1, 4: 0}          # floor(n * 0.2 + 0.5)
    again = stratified_split(labels, 5, 0.2, seed=7)
    assert all(np.array_equal(a, b) for a, b in zip(again, (train, test)))
    assert not np.array_equal(stratified_split(labels, 5, 0.2, seed=8)[1], test)


# ------------------------------------------------------------------------------- N-MNIST (real files)

@pytest.fixture(scope="module")
def nmnist(tmp_path_factory):
    """Tonic's exact NMNIST layout from the real recordings: train.zip, test.zip (Tonic checks
    only that they exist), Train/<digit>/*.bin and Test/<digit>/*.bin, 10000 each (Tonic's
    threshold), each file a hard link of a real recording of that digit. Then the download stage."""
    files = sorted(real_nmnist().items())
    root = tmp_path_factory.mktemp("nmnist")
    location = root / "downloads" / "tonic" / "NMNIST"
    for split, folder in (("train", "Train"), ("test", "Test")):
        link_many([(files[k % len(files)][1], location / folder / str(files[k % len(files)][0]) / f"{k:05d}.bin")
                   for k in range(10000)])
        (location / f"{split}.zip").write_bytes(b"placed by hand")
    spec = dataclasses.replace(datasets.get("tonic.NMNIST"), expected={"train": 10000, "test": 10000})
    mp = pytest.MonkeyPatch()
    opened = []
    mp.setattr(urllib.request, "urlopen", lambda r, *a, **k: opened.append(r) or (_ for _ in ()).throw(
        urllib.error.URLError("offline")))
    try:
        source = download(params(root, "tonic.NMNIST"), root / "raw", spec)
    finally:
        mp.undo()
    assert opened == []                          # Tonic skipped its download
    return root, spec, source, location


def test_nmnist_download_links_tonic_layout_and_records_source(nmnist):
    root, spec, source, location = nmnist
    raw = root / "raw"
    assert source.archives == (Archive("train.zip", "20959b8e626244a1b502305a9e6e2031"),
                               Archive("test.zip", "69ca8762b2fe404d9b9bad1103e97832"))
    record = json.loads((raw / "SOURCE.json").read_text())
    assert record["dataset"] == "tonic.NMNIST" and record["expected"] == {"train": 10000, "test": 10000}
    assert record["tonic"]["class"] == "NMNIST" and record["tonic"]["version"] == tonic.__version__
    assert record["tonic"]["files"] == 20000 and any("mendeley" in u for u in record["tonic"]["urls"])
    assert read_source(raw).dataset == "tonic.NMNIST"
    bins = sorted((raw / "NMNIST").rglob("*.bin"))
    assert len(bins) == 20000 and not (raw / "NMNIST" / "train.zip").exists()   # archives stay in the cache
    a, b = raw / "NMNIST/Train/0/00000.bin", location / "Train/0/00000.bin"
    assert a.read_bytes() == b.read_bytes() and os.path.samefile(a, b)          # hard-linked, not copied


def test_nmnist_frames_equal_tonic_any_worker_count(nmnist, tmp_path):
    root, spec, source, location = nmnist
    p = params(root, "tonic.NMNIST")
    out1 = make_frames(p, root / "raw", tmp_path / "w1", spec)
    assert (out1["train"].samples, out1["test"].samples) == (10000, 10000)
    p2 = params(root, "tonic.NMNIST", workers=2)
    make_frames(p2, root / "raw", tmp_path / "w2", spec)
    for split in ("train", "test"):
        assert (tmp_path / "w1" / f"{split}.h5").read_bytes() == (tmp_path / "w2" / f"{split}.h5").read_bytes()
    # Tonic itself (the real class, on its cache folder) is the reference
    for split, train in (("train", True), ("test", False)):
        ds = td.NMNIST(save_to=str(root / "downloads" / "tonic"), train=train)
        index_of = {f"NMNIST/{Path(p).relative_to(location).as_posix()}": i for i, p in enumerate(ds.data)}
        h5 = tmp_path / "w1" / f"{split}.h5"
        assert_matches_tonic(h5, ds, index_of, spec, 4, [0, 1, 2, 3, 4, 5, 6, 7, 4321, 9999])
        with h5py.File(h5) as f:
            recs = [r.decode() for r in f["recording"][:]]
            assert recs == sorted(recs) and len(set(recs)) == 10000
            assert np.array_equal(f["labels"][:], [int(ds.targets[index_of[r]]) for r in recs])
            assert f["label_row"][:].tolist() == list(range(10000))
            a = read_meta(f)
            assert (a["source"], a["tonic_class"], a["tonic_version"]) == ("tonic", "NMNIST", tonic.__version__)
            assert a["split_rule"] == "official" and list(a["classes"]) == list(spec.classes)
            assert a["sensor_height"] == 34 and list(a["source_md5"])[0] == "20959b8e626244a1b502305a9e6e2031"
            assert json.loads(a["params"]) == {"dataset": "tonic.NMNIST", "frames": {
                "T": 4, "split_by": "number", "downsample": 1, "filters": []}}


def test_nmnist_download_again_reuses_the_cache_and_missing_files_fail_in_frames(nmnist, tmp_path, offline):
    root, spec, source, location = nmnist
    download(params(root, "tonic.NMNIST"), tmp_path / "raw", spec)     # `dvc repro --force`: no download
    assert offline == [] and len(list((tmp_path / "raw" / "NMNIST" / "Test").rglob("*.bin"))) == 10000
    # the frames stage never downloads: a file gone from data/raw is a count error
    next((tmp_path / "raw" / "NMNIST" / "Test").rglob("*.bin")).unlink()
    with pytest.raises(LayoutError, match=r"frames\[test\]: found 9999 samples, expected 10000"):
        make_frames(params(root, "tonic.NMNIST"), tmp_path / "raw", tmp_path / "frames", spec)
    assert offline == [] and not (tmp_path / "frames").exists()


def test_download_failure_is_one_line_naming_dataset_url_and_folder(tmp_path, offline):
    with pytest.raises(DownloadError) as e:
        download(params(tmp_path, "tonic.NMNIST"), tmp_path / "raw")
    msg = str(e.value)
    folder = (tmp_path / "downloads" / "tonic" / "NMNIST").resolve()
    assert "\n" not in msg and msg.startswith("tonic.NMNIST: Tonic ")
    assert "URLError" in msg and str(folder) in msg
    assert "train.zip from data.mendeley.com" in msg and len(msg) <= 200 + len(str(folder))   # URLs: docs/tonic.md
    assert offline and offline[0] == td.NMNIST.train_url
    assert not (tmp_path / "raw").exists()


def nmnist_zip(folder: str, members) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members:
            z.writestr(zipfile.ZipInfo(name), data)
    return buf.getvalue()


def test_tonic_unpacks_placed_archives_through_our_checks(tmp_path, offline, monkeypatch):
    """Zips placed alone: Tonic md5-checks them and unpacks them, with pipeline.download.unpack's checks
    (a member leaving the folder refuses the archive before anything is written)."""
    files = sorted(real_nmnist().items())[:3]
    location = tmp_path / "downloads" / "tonic" / "NMNIST"
    location.mkdir(parents=True)
    for split, folder in (("train", "Train"), ("test", "Test")):
        data = nmnist_zip(folder, [(f"{folder}/{d}/{path.stem}.bin", path.read_bytes()) for d, path in files])
        (location / f"{split}.zip").write_bytes(data)
        monkeypatch.setattr(td.NMNIST, f"{split}_md5", hashlib.md5(data).hexdigest())
    source = download(params(tmp_path, "tonic.NMNIST"), tmp_path / "raw")
    assert offline == [] and source.archives[0].md5 == td.NMNIST.train_md5
    got = sorted(q.relative_to(tmp_path / "raw").as_posix() for q in (tmp_path / "raw").rglob("*.bin"))
    assert got == sorted(f"NMNIST/{f}/{d}/{path.stem}.bin" for f in ("Train", "Test") for d, path in files)

    evil = tmp_path / "evil" / "downloads" / "tonic" / "NMNIST"
    evil.mkdir(parents=True)
    data = nmnist_zip("Train", [("Train/0/a.bin", b"12345"), ("../escaped.bin", b"12345")])
    (evil / "train.zip").write_bytes(data)
    monkeypatch.setattr(td.NMNIST, "train_md5", hashlib.md5(data).hexdigest())
    with pytest.raises(DownloadError) as e:
        download(params(tmp_path / "evil", "tonic.NMNIST"), tmp_path / "evil" / "raw")
    assert "unsafe member '../escaped.bin'" in str(e.value) and "\n" not in str(e.value)
    assert not (evil.parent / "escaped.bin").exists() and not (evil / "Train").exists()
    assert not (tmp_path / "evil" / "raw").exists()


def test_dvslip_without_its_zip_is_a_download_error_not_an_exit(tmp_path, offline):
    with pytest.raises(DownloadError) as e:
        download(params(tmp_path, "tonic.DVSLip"), tmp_path / "raw")
    msg = str(e.value)
    assert "SystemExit" in msg and "drive.google.com" in msg and "DVS-Lip.zip" in msg
    assert str((tmp_path / "downloads" / "tonic" / "DVSLip").resolve()) in msg


# ------------------------------------------------------------------------------- POKER-DVS (synthetic)

PIPS = ("cl", "he", "di", "sp")


def poker_sample(seed: int, n: int = 300, x_max: int = 35) -> np.ndarray:
    """Tonic's POKERDVS file content: an unstructured (N, 4) int array of t, x, y, p."""
    rng = np.random.default_rng(seed)
    return np.stack([np.sort(rng.integers(0, 50_000, n)), rng.integers(0, x_max, n),
                     rng.integers(0, 35, n), rng.integers(0, 2, n)], axis=1).astype(np.int64)


def place_poker(location: Path, per_class=(12, 5), archives=True) -> None:
    """Tonic's exact POKERDVS layout: pips_{train,test}/<pip>/*.npy (at least 20 per split)
    beside the archives pips_{train,test}.tar.gz (Tonic checks that they exist)."""
    for (split, n), offset in zip(zip(("train", "test"), per_class), (0, 1000)):
        for c, pip in enumerate(PIPS):
            for k in range(n):
                path = location / f"pips_{split}" / pip / f"{pip}{k:03d}.npy"
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, poker_sample(offset + 100 * c + k))
        if archives:
            (location / f"pips_{split}.tar.gz").write_bytes(b"placed by hand")


def poker_index(location: Path, split: str) -> dict[str, int]:
    """{our recording name: Tonic's index}: POKERDVS keeps arrays, not paths; its own walk of
    the folder (files sorted, folders in the file system's order) gives each index's file."""
    paths = [os.path.join(d, f) for d, _, fs in os.walk(location / f"pips_{split}") for f in sorted(fs)]
    return {f"POKERDVS/{Path(q).relative_to(location).as_posix()}": i for i, q in enumerate(paths)}


def test_pokerdvs_download_and_frames_equal_tonic(tmp_path, offline):
    location = tmp_path / "downloads" / "tonic" / "POKERDVS"
    place_poker(location)
    p = params(tmp_path, "tonic.POKERDVS")
    source = download(p, tmp_path / "raw")
    assert offline == [] and [a.name for a in source.archives] == ["pips_train.tar.gz", "pips_test.tar.gz"]
    assert source.expected is None
    out = make_frames(p, tmp_path / "raw", tmp_path / "f1")
    assert (out["train"].samples, out["test"].samples) == (48, 20)
    make_frames(params(tmp_path, "tonic.POKERDVS", workers=2), tmp_path / "raw", tmp_path / "f2")
    spec = datasets.get("tonic.POKERDVS")
    for split, train in (("train", True), ("test", False)):
        a, b = (tmp_path / d / f"{split}.h5" for d in ("f1", "f2"))
        assert a.read_bytes() == b.read_bytes()
        ds = td.POKERDVS(save_to=str(tmp_path / "downloads" / "tonic"), train=train)
        index_of = poker_index(location, split)
        for q, i in index_of.items():
            assert np.array_equal(np.load(location / q.split("/", 1)[1]),
                                  np.lib.recfunctions.structured_to_unstructured(ds[i][0]))
        assert_matches_tonic(a, ds, index_of, spec, 4, range(out[split].samples))
        with h5py.File(a) as f:
            assert f["frames"].shape == (out[split].samples, 4, 2, 35, 35)
            assert f["recording"][0].decode() == f"POKERDVS/pips_{split}/cl/cl000.npy"


def test_pokerdvs_event_filters_apply_to_tonic_samples(tmp_path):
    from pipeline.frames.filters import apply
    place_poker(tmp_path / "downloads" / "tonic" / "POKERDVS")
    download(params(tmp_path, "tonic.POKERDVS"), tmp_path / "raw")
    filters = [{"decimate": {"n": 2}}]
    p = params(tmp_path, "tonic.POKERDVS", filters=filters, workers=2)
    make_frames(p, tmp_path / "raw", tmp_path / "frames")
    ds = offline_class("POKERDVS")(save_to=str(tmp_path / "raw"), train=False)
    with h5py.File(tmp_path / "frames" / "test.h5") as f:
        assert json.loads(read_meta(f)["params"])["frames"]["filters"] == filters
        assert f["recording"][0].decode() == "POKERDVS/pips_test/cl/cl000.npy"
        tonic_events = ds[poker_index(tmp_path / "raw" / "POKERDVS", "test")["POKERDVS/pips_test/cl/cl000.npy"]][0]
        events = apply(to_events(tonic_events, "x"), filters, (35, 35))
        assert 0 < f["n_events"][0] == events.size < tonic_events.size
        assert np.array_equal(f["frames"][0], integrate(events, 4, "number", (35, 35), 1))


def test_pokerdvs_placed_archives_are_md5_checked_and_unpacked(tmp_path, offline, monkeypatch):
    """Tonic 1.7 cannot unpack placed POKERDVS archives: the download stage checks and unpacks them."""
    staging = tmp_path / "staging"
    place_poker(staging, archives=False)
    location = tmp_path / "downloads" / "tonic" / "POKERDVS"
    location.mkdir(parents=True)
    md5s = {}
    for split in ("train", "test"):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            tar.add(staging / f"pips_{split}", arcname=f"pips_{split}")
        (location / f"pips_{split}.tar.gz").write_bytes(buf.getvalue())
        md5s[split] = hashlib.md5(buf.getvalue()).hexdigest()
    p = params(tmp_path, "tonic.POKERDVS")
    with pytest.raises(DownloadError, match="has md5 .* expects 412bcfb96826e4fcb290558e8c150aae"):
        download(p, tmp_path / "raw")                     # not the official archives
    assert not (tmp_path / "raw").exists() and not (location / "pips_train").exists()
    monkeypatch.setattr(td.POKERDVS, "train_md5", md5s["train"])
    monkeypatch.setattr(td.POKERDVS, "test_md5", md5s["test"])
    source = download(p, tmp_path / "raw")
    assert [a.md5 for a in source.archives] == [md5s["train"], md5s["test"]]
    assert len(list((tmp_path / "raw" / "POKERDVS").rglob("*.npy"))) == 68 and offline == []


def test_pokerdvs_event_outside_the_sensor_names_dataset_and_sample(tmp_path):
    location = tmp_path / "downloads" / "tonic" / "POKERDVS"
    place_poker(location)
    bad = poker_sample(5, x_max=40)
    np.save(location / "pips_test" / "sp" / "sp002.npy", bad)
    download(params(tmp_path, "tonic.POKERDVS"), tmp_path / "raw")
    with pytest.raises(EventFormatError) as e:
        make_frames(params(tmp_path, "tonic.POKERDVS", workers=2), tmp_path / "raw", tmp_path / "frames")
    k = int(np.argmax(bad[:, 1] >= 35))
    assert str(e.value).startswith(f"tonic.POKERDVS: POKERDVS/pips_test/sp/sp002.npy: event {k} ")
    assert "outside the sensor width 35" in str(e.value)
    assert not (tmp_path / "frames" / "test.h5").exists()


# ------------------------------------------------------------------------------- DVS Gesture (synthetic)

def test_dvsgesture_synthetic_download_and_frames_equal_tonic(tmp_path, offline):
    """Tonic's preprocessed DVSGesture layout: ibmGesture{Train,Test}/userNN_<lighting>/<class>.npy,
    (N, 4) arrays of x, y, p, t in ms (Tonic makes t microseconds, p bool), >= 100 per split."""
    location = tmp_path / "downloads" / "tonic" / "DVSGesture"
    rng = np.random.default_rng(2)
    for split, folder, first in (("train", "ibmGestureTrain", 1), ("test", "ibmGestureTest", 24)):
        for user in range(first, first + 10):
            for c in range(11):
                n = 50 + c
                ev = np.stack([rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n),
                               np.sort(rng.integers(0, 6000, n))], axis=1)
                path = location / folder / f"user{user:02d}_{('led', 'lab')[user % 2]}" / f"{c}.npy"
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, ev)
        (location / f"{folder}.tar.gz").write_bytes(b"placed by hand")
    spec = dataclasses.replace(datasets.get("tonic.DVSGesture"), expected={"train": 110, "test": 110})
    p = params(tmp_path, "tonic.DVSGesture", downsample=4)
    download(p, tmp_path / "raw", spec)
    assert offline == []
    make_frames(p, tmp_path / "raw", tmp_path / "f1", spec)
    make_frames(params(tmp_path, "tonic.DVSGesture", downsample=4, workers=2), tmp_path / "raw", tmp_path / "f2", spec)
    for split, train in (("train", True), ("test", False)):
        h5 = tmp_path / "f1" / f"{split}.h5"
        assert h5.read_bytes() == (tmp_path / "f2" / f"{split}.h5").read_bytes()
        ds = td.DVSGesture(save_to=str(tmp_path / "downloads" / "tonic"), train=train)
        index_of = {f"DVSGesture/{Path(q).relative_to(location).as_posix()}": i for i, q in enumerate(ds.data)}
        assert_matches_tonic(h5, ds, index_of, spec, 4, [0, 5, 57, 109], downsample=4)
        assert ds[0][0]["t"].max() % 1000 == 0 and ds[0][0].dtype["p"] == bool
        with h5py.File(h5) as f:
            assert sorted(f["labels"][:].tolist()) == sorted(list(range(11)) * 10)


# ------------------------------------------------------------------------------- stratified: N-Caltech101

NCALTECH_FOLDERS = ("BACKGROUND_Google", "Faces_easy", "airplanes", "yin_yang", "wild_cat")


def test_ncaltech101_download_and_stratified_split(tmp_path, offline):
    """Real N-MNIST recordings in N-Caltech101's layout (same .bin format): 8709 files, Tonic's count."""
    files = sorted(real_nmnist().values())
    location = tmp_path / "downloads" / "tonic" / "NCALTECH101"
    counts = {"BACKGROUND_Google": 8000, "Faces_easy": 600, "airplanes": 100, "yin_yang": 8, "wild_cat": 1}
    pairs, k = [], 0
    for folder, n in counts.items():
        for j in range(n):
            pairs.append((files[k % len(files)], location / "Caltech101" / folder / f"image_{j + 1:04d}.bin"))
            k += 1
    link_many(pairs)
    (location / "N-Caltech101-archive.zip").write_bytes(b"placed by hand")
    p = params(tmp_path, "tonic.NCALTECH101", test_fraction=0.25, split_seed=3, downsample=4)
    source = download(p, tmp_path / "raw")
    assert offline == [] and source.expected is None
    assert json.loads((tmp_path / "raw" / "SOURCE.json").read_text())["tonic"]["total"] == 8709
    out = make_frames(p, tmp_path / "raw", tmp_path / "frames")
    want_test = {"BACKGROUND_Google": 2000, "Faces_easy": 150, "airplanes": 25, "yin_yang": 2, "wild_cat": 0}
    assert out["test"].samples == sum(want_test.values()) and out["train"].samples == 8709 - out["test"].samples
    spec = datasets.get("tonic.NCALTECH101")
    ds = td.NCALTECH101(save_to=str(tmp_path / "downloads" / "tonic"))
    index_of = {f"NCALTECH101/{Path(q).relative_to(location).as_posix()}": i for i, q in enumerate(ds.data)}
    rows = {}
    for split in ("train", "test"):
        h5 = tmp_path / "frames" / f"{split}.h5"
        with h5py.File(h5) as f:
            labels, recs = f["labels"][:], [r.decode() for r in f["recording"][:]]
            rows[split] = f["label_row"][:]
            a = read_meta(f)
            assert (a["split_rule"], a["test_fraction"], a["split_seed"]) == ("stratified", 0.25, 3)
            assert json.loads(a["params"])["frames"]["test_fraction"] == 0.25
            assert json.loads(a["params"])["frames"]["split_seed"] == 3 and "240 x 180" in a["tonic_note"]
            assert (a["sensor_height"], a["sensor_width"]) == (180, 240)
        if split == "test":
            assert {c: int((labels == spec.classes.index(c)).sum()) for c in want_test} == want_test
        assert [spec.classes[x] for x in labels] == [ds.targets[index_of[r]] for r in recs]   # Tonic's targets
        assert_matches_tonic(h5, ds, index_of, spec, 4, [0, 1, 2, len(recs) - 1], downsample=4)
    assert sorted(np.concatenate([rows["train"], rows["test"]]).tolist()) == list(range(8709))
    # the split is the documented rule on the dataset's fixed order (label_row) ...
    all_labels = np.zeros(8709, np.int64)
    for split in ("train", "test"):
        with h5py.File(tmp_path / "frames" / f"{split}.h5") as f:
            all_labels[f["label_row"][:]] = f["labels"][:]
    assert np.array_equal(stratified_split(all_labels, 101, 0.25, 3)[1], rows["test"])
    # ... and the same seed gives the same file, whatever the worker count
    make_frames(params(tmp_path, "tonic.NCALTECH101", test_fraction=0.25, split_seed=3, downsample=4, workers=2),
                tmp_path / "raw", tmp_path / "again")
    assert (tmp_path / "again" / "test.h5").read_bytes() == (tmp_path / "frames" / "test.h5").read_bytes()


# ------------------------------------------------------------------------------- ASL-DVS, SHD (frames only)

def test_asldvs_matlab_columns_and_flipped_y_through_tonic(tmp_path, offline):
    """ASL-DVS .mat files (column vectors: Tonic gives (N, 1) event arrays); stratified split."""
    scio = pytest.importorskip("scipy.io")
    raw = tmp_path / "raw"
    rng = np.random.default_rng(0)
    for letter, n in (("a", 6), ("b", 4), ("y", 5)):
        (raw / "ASLDVS" / letter).mkdir(parents=True)
        for k in range(n):
            m = 50 + k
            scio.savemat(raw / "ASLDVS" / letter / f"{letter}_{k:04d}.mat",
                         {"ts": np.sort(rng.integers(0, 10**6, m))[:, None], "x": rng.integers(0, 240, m)[:, None],
                          "y": rng.integers(0, 180, m)[:, None], "pol": rng.integers(0, 2, m)[:, None]})
    write_raw_source(raw, "tonic.ASLDVS", [Archive("ASLDVS.zip", td.ASLDVS.file_md5)])
    spec = dataclasses.replace(datasets.get("tonic.ASLDVS"),
                               layout=dataclasses.replace(datasets.get("tonic.ASLDVS").layout, total=15))
    p = params(tmp_path, "tonic.ASLDVS", test_fraction=0.5)
    out = make_frames(p, raw, tmp_path / "frames", spec)
    assert (out["train"].samples, out["test"].samples) == (7, 8)     # a: 3, b: 2, y: round(2.5 + 0.5) = 3
    ds = offline_class("ASLDVS")(save_to=str(raw))      # Tonic's parsing; only its archive check is off
    index_of = tonic_by_recording(ds, raw)
    assert ds[0][0].shape == (50, 1)                                 # Tonic's (N, 1) events
    for split in ("train", "test"):
        assert_matches_tonic(tmp_path / "frames" / f"{split}.h5", ds, index_of, spec, 4,
                             range(out[split].samples))


def test_shd_audio_frames_have_one_row_and_an_empty_second_channel(tmp_path, offline):
    raw = tmp_path / "raw"
    (raw / "SHD").mkdir(parents=True)
    rng = np.random.default_rng(1)
    counts = {"train": 6, "test": 3}
    keys = [k.encode() for k in datasets.get("tonic.SHD").classes]
    for split, n in counts.items():
        with h5py.File(raw / "SHD" / f"shd_{split}.h5", "w") as f:
            times = f.create_dataset("spikes/times", (n,), dtype=h5py.vlen_dtype(np.float32))
            units = f.create_dataset("spikes/units", (n,), dtype=h5py.vlen_dtype(np.uint16))
            for i in range(n):
                m = 40 + i
                times[i] = np.sort(rng.random(m)).astype(np.float32)
                units[i] = rng.integers(0, 700, m).astype(np.uint16)
            f.create_dataset("labels", data=np.arange(n) % 20)
            f.create_dataset("extra/keys", data=keys)
            f.create_dataset("extra/speaker", data=np.zeros(n, np.uint16))
    write_raw_source(raw, "tonic.SHD", [], counts)
    p = params(tmp_path, "tonic.SHD")
    spec = datasets.get("tonic.SHD")
    out = make_frames(p, raw, tmp_path / "frames", dataclasses.replace(spec, expected=counts))
    assert (out["train"].samples, out["test"].samples) == (6, 3)
    ds = offline_class("SHD")(save_to=str(raw), train=True)
    with h5py.File(tmp_path / "frames" / "train.h5") as f:
        assert f["frames"].shape == (6, 4, 2, 1, 700) and not f["frames"][:, :, 1].any()
        assert [r.decode() for r in f["recording"][:]] == [f"train/{i}" for i in range(6)]
        assert list(read_meta(f)["tonic_keys"]) == list(spec.classes) and "y = 0" in read_meta(f)["tonic_note"]
        for i in range(6):
            events, target = ds[i]
            want = integrate(to_events(events, "x", one_d=True), 4, "number", (1, 700), 1)
            assert np.array_equal(f["frames"][i], want) and f["labels"][i] == int(target)
            assert want[:, 0].sum() == events.size
    # the audio frames train the fully-connected PLIF network (model.blocks: 0)
    from pipeline.params import ModelParams, TrainParams
    from pipeline.train.stage import train

    mp = ModelParams(blocks=0, hidden=16, votes=2, dropout=0.0)
    tp = TrainParams(epochs=1, T_max=1, batch_size=3, protocol="A", threads=1)
    metrics = train(tmp_path / "frames" / "train.h5", tmp_path / "frames" / "test.h5", list(spec.classes), mp, tp,
                    tmp_path / "models", tmp_path / "log.csv", tmp_path / "train.json")
    assert len(metrics["tau"]) == 2 and metrics["train_samples"] == 6


# ------------------------------------------------------------------------------- the real dvc repro

@pytest.mark.slow
def test_tonic_pokerdvs_through_dvc_repro(tmp_path):
    """download -> frames -> train -> evaluate with ``dataset: tonic.POKERDVS``, the files placed
    by hand in Tonic's layout under the default archive folder; a forced rerun downloads nothing."""
    from dvcrepo import copy_repo, run
    repo = copy_repo(tmp_path / "repo", {
        "dataset": "tonic.POKERDVS",
        "frames": {"T": 4, "downsample": 1, "workers": 2},
        "model": {"channels": 4, "blocks": 2, "hidden": 16},
        "train": {"epochs": 2, "T_max": 2, "batch_size": 4, "threads": 1, "protocol": "A"}})
    place_poker(repo / "data" / "downloads" / "tonic" / "POKERDVS")
    out = run(["dvc", "repro"], repo)
    assert "Running stage 'evaluate'" in out
    with h5py.File(repo / "data" / "frames" / "train.h5") as f:
        assert f["frames"].shape == (48, 4, 2, 35, 35) and read_meta(f)["tonic_class"] == "POKERDVS"
    metrics = json.loads((repo / "results" / "metrics.json").read_text())
    assert metrics["test_samples"] == 20 and 0.0 <= metrics["test_accuracy"] <= 1.0
    out = run(["dvc", "repro", "--force", "download"], repo)
    assert "Running stage 'download'" in out and "Downloading" not in out
