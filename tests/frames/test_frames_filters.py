"""`frames.filters` in the frames stage: each sample's events filtered as Tonic would, then
integrated; the filters recorded in the file; a bad filter refused when params are loaded."""

import json

import numpy as np
import pytest
import tonic.functional as tf
import yaml

from pipeline.core.events import make_events
from pipeline.cli.info import describe
from pipeline.frames.integration import integrate
from pipeline.io import read_events
from pipeline.params import validate_params
from pipeline.datasets import DatasetSpec
from pipeline.datasets.spec import Trials
from pipeline.frames.driver import FrameJob as _FrameJob
from pipeline.frames.driver import write_split as build_split
from pipeline.frames.families.base import Item, Unit
from pipeline.frames.families.trials import TrialsFamily
from pipeline.core.store import read_attrs, read_sample
from conftest import ROOT

def FrameJob(T, split_by, sensor_size, downsample, reader, filters=()):
    """The driver's job for files that ``reader`` reads, each a unit of the samples given."""
    spec = DatasetSpec(name="t", classes=("a", "b", "c", "d"), sensor_size=sensor_size, layout=Trials(reader=reader))
    return _FrameJob(TrialsFamily(spec, "."), T, split_by, sensor_size, downsample, tuple(filters))


def Recording(path, items):
    return Unit(str(path), tuple(items), path)


def Sample(label, start=None, end=None, row=-1):
    return Item(label, "rec", row, start, end)


TONIC = np.dtype([("x", "<i8"), ("y", "<i8"), ("t", "<i8"), ("p", "<i8")])


def to_tonic(events):
    out = np.empty(events.size, TONIC)
    for f in TONIC.names:
        out[f] = events[f]
    return out


def from_tonic(tev):
    return make_events(tev["t"], tev["x"], tev["y"], tev["p"])


NMNIST = ["nmnist/tonic/sample_nmnist.bin", "nmnist/slayerPytorch_NMNISTsmall/1.bs2",
          "nmnist/slayerPytorch_NMNISTsmall/2.bs2"]


def test_whole_file_samples_are_filtered_as_tonic_filters_them(tmp_path, real):
    paths = [real(p) for p in NMNIST]
    filters = [{"denoise": {"filter_time": 3000}}, {"refractory_period": {"refractory_period": 500}}]
    job = FrameJob(5, "number", (34, 34), 1, "nmnist", filters=tuple(filters))
    out = tmp_path / "f.h5"
    build_split([Recording(p, [Sample(i)]) for i, p in enumerate(paths)], job, out, {"dataset": "t"}, workers=1)
    for i, path in enumerate(paths):
        # the reference: Tonic's own numpy filters, one after the other, on the file's events
        tev = tf.refractory_period_numpy(tf.denoise_numpy(to_tonic(read_events(path)), 3000), 500)
        want = integrate(from_tonic(tev), 5, "number", (34, 34))
        got, label = read_sample(out, i)
        assert label == i and np.array_equal(got, want)


def test_a_cut_sample_is_filtered_on_its_own_clock(tmp_path):
    """Two samples cut from one recording; crop_time counts from each sample's window start."""
    t = np.arange(0, 10_000, 10, dtype=np.int64)                  # 1000 events, one every 10 us
    ev = make_events(t, t % 8, (t // 8) % 8, (t // 10) % 2)
    path = tmp_path / "rec.npy"
    np.save(path, ev)
    job = FrameJob(4, "number", (8, 8), 1, "npy", filters=({"crop_time": {"min_time": 100, "max_time": 300}},))
    samples = [Sample(0, 2000, 4000, 0), Sample(1, 6000, 9000, 1)]
    from pipeline.io import READERS
    READERS["npy"] = lambda p: np.load(p)
    try:
        build_split([Recording(path, samples)], job, tmp_path / "f.h5", {"dataset": "t"}, workers=1)
    finally:
        del READERS["npy"]
    for i, s in enumerate(samples):
        # by hand: the events with start + 100 <= t <= start + 300, both bounds inclusive (CropTime)
        keep = ev[(ev["t"] >= s.start + 100) & (ev["t"] <= s.start + 300)]
        assert keep.size == 21
        got, _ = read_sample(tmp_path / "f.h5", i)
        assert np.array_equal(got, integrate(keep, 4, "number", (8, 8)))


def test_the_file_records_its_filters_and_info_prints_them(tmp_path, real):
    filters = ({"denoise": {"filter_time": 1000}}, {"crop_time": {"min_time": 0, "max_time": 50000}})
    out = tmp_path / "f.h5"
    build_split([Recording(real(NMNIST[0]), [Sample(3)])], FrameJob(2, "number", (34, 34), 1, "nmnist",
                filters=filters), out, {"dataset": "t", "filters": json.dumps(list(filters))}, workers=1)
    assert json.loads(read_attrs(out)["filters"]) == list(filters)
    assert "filters:     denoise(filter_time=1000) -> crop_time(min_time=0, max_time=50000)" in describe(out)


def params_with(filters):
    raw = yaml.safe_load((ROOT / "configs" / "demo.yaml").read_text())
    raw["frames"]["filters"] = filters
    return raw


@pytest.mark.parametrize("filters, message", [
    ([{"denoize": {"filter_time": 10}}], "unknown filter 'denoize' (did you mean 'denoise'?)"),
    ([{"denoise": {"filter_time": 0}}], "argument 'filter_time' = 0 must be >= 1"),
    ([{"denoise": {}, "decimate": {"n": 2}}], "one-key mapping"),
    ({"denoise": {"filter_time": 10}}, "expected a list"),
])
def test_a_bad_filter_is_refused_when_params_are_loaded(filters, message):
    from pipeline.core.errors import ParamsError

    with pytest.raises(ParamsError) as e:
        validate_params(params_with(filters))
    assert "frames.filters" in str(e.value) and message in str(e.value) and "\n" not in str(e.value)


def test_filters_written_without_arguments_get_their_defaults():
    p = validate_params(params_with([{"crop_time": None}, {"denoise": {"filter_time": 5}}]))
    assert p.frames.filters == [{"crop_time": {}}, {"denoise": {"filter_time": 5}}]
