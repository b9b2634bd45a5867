"""pipeline.frames.filters against Tonic 1.7 itself (the independent reference), on the real recordings
of ../shared/data/real and on random streams, plus hand-computed edge cases and the errors."""

import dataclasses
import functools

import numpy as np
import pytest
import tonic.functional as TF
import tonic.transforms as TT
from conftest import real_file
from tonicevents import REAL, TONIC_INT, TONIC_SMALL, to_tonic

from pipeline.frames import filters
from pipeline.core.errors import FilterError, ParamsError
from pipeline.core.events import EVENT_DTYPE, make_events
from pipeline.frames.filters import FILTERS, apply, validate
from pipeline.io import read_events


def from_tonic(tev):
    if tev.dtype.names is None:           # Tonic's decimate returns np.array([]) (float64) for "none kept"
        assert tev.size == 0
        return np.zeros(0, EVENT_DTYPE)
    return make_events(tev["t"], tev["x"], tev["y"], tev["p"])


def tonic_reference(name, events, args, dtype=TONIC_INT):
    """What Tonic's own function (or transform) gives for filter ``name`` with ``args``."""
    te = to_tonic(events, dtype)
    if name == "denoise":
        out = TF.denoise_numpy(te, filter_time=args["filter_time"])
    elif name == "refractory_period":
        out = TF.refractory_period_numpy(te, refractory_period=args["refractory_period"])
    elif name == "decimate":
        out = TF.decimate_numpy(te, n=args["n"])
    elif name == "drop_pixel":
        coords = [tuple(c) for c in args.get("coordinates") or []]
        if args.get("hot_pixel_frequency") and te.size:
            coords += [tuple(c) for c in TF.identify_hot_pixel(te, hot_pixel_frequency=args["hot_pixel_frequency"])]
        out = tonic_drop_pixel(te, coords) if te.size else te
        if args.get("hot_pixel_frequency") and not args.get("coordinates") and te.size:  # Tonic's transform too
            assert np.array_equal(out, TT.DropPixel(hot_pixel_frequency=args["hot_pixel_frequency"])(te))
    elif name == "crop_time":
        out = TT.CropTime(**{k: v for k, v in (("min", args.get("min_time")), ("max", args.get("max_time")))
                             if v is not None})(te)
    elif name == "time_skew":
        out = TF.time_skew_numpy(te.copy(), coefficient=args["coefficient"], offset=args.get("offset", 0))
    else:
        raise AssertionError(name)
    return from_tonic(out)


def tonic_drop_pixel(te, coords):
    """``TF.drop_pixel_numpy(te, coords)``, Tonic's loop run on one event per distinct pixel (x, y).
    Its mask depends on an event's x and y only, so the pixels it keeps are the events it keeps;
    on every event it costs len(coords) x len(te) (~20 s per hot-pixel case on the big recordings,
    where 20000 pixels are hot). The hot-only cases check this against Tonic's transform, which
    runs Tonic's own loop on every event."""
    def pixel(e):
        return e["x"].astype(np.int64) * 65536 + e["y"]
    kept = TF.drop_pixel_numpy(te[np.unique(pixel(te), return_index=True)[1]], coords)
    return te[np.isin(pixel(te), pixel(kept))]


def check_same(events, name, args, sensor, dtype=TONIC_INT):
    before = events.copy()
    ours = apply(events, [{name: args}], sensor)
    assert ours.dtype == EVENT_DTYPE
    assert np.array_equal(events, before), "the input was modified"
    ref = tonic_reference(name, events, args, dtype)
    assert ours.size == ref.size, (name, args, ours.size, ref.size)
    for f in ("t", "x", "y", "p"):
        assert np.array_equal(ours[f], ref[f]), (name, args, f)
    # no sensor given: inferred from the events, as Tonic does; the same events
    assert np.array_equal(apply(events, [{name: args}]), ours), (name, args, "sensor inferred")
    return ours


def ev(rows):
    """rows: (t, x, y, p)"""
    t, x, y, p = zip(*rows) if rows else ((), (), (), ())
    return make_events(np.array(t, np.int64), x, y, p)


def rows(events):
    return [tuple(int(v) for v in e) for e in events]


def run(name, args, events, sensor=(8, 8)):
    return rows(apply(events, [{name: args}], sensor))


# --------------------------------------------------------------------------- real recordings

@functools.cache
def _read(relative):
    return read_events(real_file(relative))


def real_params(name, events):
    t = events["t"]
    n = t.size
    if name == "denoise":
        return [{"filter_time": v} for v in (100, 5000, 50000)]
    if name == "refractory_period":
        return [{"refractory_period": v} for v in (0, 1000, 50000)]
    if name == "decimate":
        return [{"n": v} for v in (1, 2, 7)]
    if name == "drop_pixel":
        return [{"hot_pixel_frequency": 1}, {"hot_pixel_frequency": 20}, {"hot_pixel_frequency": 2.5},
                {"coordinates": [[0, 0], [3, 4], [10, 12]]},
                {"hot_pixel_frequency": 20, "coordinates": [[1, 2], [20, 20]]}]
    if name == "crop_time":   # bounds on event timestamps: the equality cases happen
        return [{"min_time": int(t[n // 4]), "max_time": int(t[3 * n // 4])}, {"min_time": int(t[n // 2])},
                {"max_time": int(t[n // 3])}, {}, {"min_time": int(t[0]) + 1, "max_time": int(t[-1]) - 1}]
    if name == "time_skew":
        return [{"coefficient": 2}, {"coefficient": 0.5, "offset": 100}, {"coefficient": 1.1, "offset": -3.5},
                {"coefficient": 3, "offset": 0.25}]
    raise AssertionError(name)


@pytest.mark.parametrize("name", list(FILTERS))
@pytest.mark.parametrize("relative, sensor", REAL, ids=[r for r, _ in REAL])
def test_real_recordings_equal_tonic(relative, sensor, name):
    events = _read(relative)
    assert events.size > 1000
    for args in real_params(name, events):
        check_same(events, name, args, sensor)


def test_real_recording_in_tonics_small_dtype():
    """Tonic's int16 / bool columns give the same results as its int64 ones."""
    events = _read("aedat2_jaer/dvs128/alex_walking_again.aedat")
    for name in FILTERS:
        for args in real_params(name, events)[:2]:
            check_same(events, name, args, (128, 128), TONIC_SMALL)


def test_real_chain_equals_tonic_composed():
    events = _read("aedat2_jaer/davis240c/IMU_translBoxes.aedat")
    chain = [{"crop_time": {"min_time": int(events["t"][1000])}}, {"refractory_period": {"refractory_period": 200}},
             {"denoise": {"filter_time": 3000}}, {"drop_pixel": {"hot_pixel_frequency": 30}}, {"decimate": {"n": 2}}]
    ref = events
    for entry in chain:
        (name, args), = entry.items()
        ref = tonic_reference(name, ref, args)
    ours = apply(events, chain, (180, 240))
    assert 0 < ours.size < events.size
    assert np.array_equal(ours, ref)


def test_sensor_inferred_as_tonic_does():
    """No sensor: one past the largest x and y; a listed pixel beyond them matches nothing
    (given a sensor, it is refused when outside it); a given sensor still refuses events."""
    events = ev([(0, 0, 0, 1), (5, 2, 1, 0), (9, 2, 1, 1), (12, 3, 2, 0)])
    assert run("drop_pixel", {"coordinates": [[2, 1], [60, 70]]}, events, None) == [(0, 0, 0, 1), (12, 3, 2, 0)]
    with pytest.raises(ParamsError, match=r"\[60, 70\] is outside the sensor \(width 8, height 8\)"):
        run("drop_pixel", {"coordinates": [[2, 1], [60, 70]]}, events)
    assert run("decimate", {"n": 2}, ev([]), None) == []
    with pytest.raises(FilterError, match="x = 3 is outside the sensor width 3"):
        run("decimate", {"n": 1}, events, (3, 3))


def test_real_header_only_file_is_empty_input():
    events = read_events(real_file("aedat2_jaer/davis346red_header_only/sample_aedat_header.aedat"))
    assert events.size == 0
    for name in FILTERS:
        for args in real_params(name, ev([(0, 0, 0, 0), (1, 0, 0, 0)]))[:2]:
            out = apply(events, [{name: args}], (260, 346))
            assert out.size == 0 and out.dtype == EVENT_DTYPE


# --------------------------------------------------------------------------- random streams

def random_stream(rng, n, W, H, t_span, order="sorted"):
    t = rng.integers(0, t_span, n)
    if order == "sorted":
        t.sort()
    elif order == "blocks":                      # sorted runs: readers' packets out of order
        t.sort()
        cut = rng.integers(0, n + 1)
        t = np.concatenate([t[cut:], t[:cut]])
    return make_events(t, rng.integers(0, W, n), rng.integers(0, H, n), rng.integers(0, 2, n))


def random_args(rng, name, events, W, H):
    t = events["t"]
    if name == "denoise":
        return {"filter_time": int(rng.choice([1, 2, 5, 20, 100, 1000]))}
    if name == "refractory_period":
        return {"refractory_period": int(rng.choice([0, 1, 3, 10, 50, 500]))}
    if name == "decimate":
        return {"n": int(rng.integers(1, 6))}
    if name == "drop_pixel":
        args = {}
        if t.size > 1 and t[-1] - t[0] == 10**6 and rng.random() < 0.7:
            # a span of 1 s and a frequency equal to some pixel's count: the "count > max" equality
            counts = np.bincount(events["y"].astype(np.int64) * W + events["x"])
            args["hot_pixel_frequency"] = int(rng.choice(counts[counts > 0]))
        elif rng.random() < 0.7:
            args["hot_pixel_frequency"] = float(rng.choice([1e3, 1e4, 5e4, 2e5, 12345.6]))
        if rng.random() < 0.5 or not args:
            k = int(rng.integers(0, 4))
            args["coordinates"] = [[int(rng.integers(0, W)), int(rng.integers(0, H))] for _ in range(k)]
        return args
    if name == "crop_time":
        args = {}
        a, b = (sorted(rng.choice(t, 2)) if t.size else (0, 10))
        if rng.random() < 0.8:
            args["min_time"] = int(a) + int(rng.integers(-1, 2))
        if rng.random() < 0.8:
            args["max_time"] = max(int(b) + int(rng.integers(-1, 2)), args.get("min_time", 0))
        return args
    if name == "time_skew":
        coefs, offsets = [2, 3, 1, 0.5, 1.3, 0.001, 7.25], [0, -100, 17, -0.5, 2.75, -1234.5]
        return {"coefficient": coefs[int(rng.integers(len(coefs)))], "offset": offsets[int(rng.integers(len(offsets)))]}
    raise AssertionError(name)


@pytest.mark.parametrize("seed", range(12))
def test_random_streams_equal_tonic(seed):
    """Small sensors (neighbours interact), few timestamps (many duplicates), some unsorted."""
    rng = np.random.default_rng(seed)
    for trial in range(10):
        W, H = int(rng.integers(1, 9)), int(rng.integers(1, 9))
        n = int(rng.integers(1, 400))
        span = int(rng.choice([1, 3, 50, 2000, 10**6]))
        order = ["sorted", "sorted", "blocks", "random"][trial % 4]
        events = random_stream(rng, n, W, H, span, order)
        if span == 10**6 and order == "sorted" and n > 1:
            events["t"][0], events["t"][-1] = 0, 10**6       # exactly 1 s
        for name in FILTERS:
            args = random_args(rng, name, events, W, H)
            check_same(events, name, args, (H, W), TONIC_SMALL if trial % 2 else TONIC_INT)


@pytest.mark.parametrize("seed", range(4))
def test_random_chains_equal_tonic_composed(seed):
    rng = np.random.default_rng(100 + seed)
    for _ in range(8):
        W, H = int(rng.integers(2, 12)), int(rng.integers(2, 12))
        events = random_stream(rng, int(rng.integers(50, 800)), W, H, int(rng.choice([100, 10**5])))
        names = rng.choice(list(FILTERS), size=int(rng.integers(1, 5)))
        chain, ref = [], events
        for name in names:
            if ref.size == 0:
                break
            args = random_args(rng, name, ref, W, H)
            chain.append({str(name): args})
            ref = tonic_reference(name, ref, args)
        assert np.array_equal(apply(events, chain, (H, W)), ref), chain
        assert np.array_equal(apply(events, chain), ref), chain                 # sensor inferred


# --------------------------------------------------------------------------- denoise by hand

def test_denoise_time_boundary_is_strict():
    # neighbour (1, 1) fired at 20000; filter_time 10000: 29999 kept, 30000 dropped
    base = [(20000, 1, 1, 0), (20000, 0, 0, 0), (0, 3, 3, 0)]     # (0,0) and (3,3): only to set the box
    assert run("denoise", {"filter_time": 10000}, ev([*base, (29999, 2, 1, 1)]))[-1] == (29999, 2, 1, 1)
    assert run("denoise", {"filter_time": 10000}, ev([*base[:2], (30000, 2, 1, 1), (30000, 3, 3, 0)])) == []


def test_denoise_unfired_neighbour_counts_as_t0():
    # Tonic's memory starts at filter_time: every pixel "fired" at t = 0
    e = ev([(5, 0, 0, 1), (6, 5, 5, 0)])            # isolated, but t < filter_time = 10
    assert run("denoise", {"filter_time": 10}, e) == [(5, 0, 0, 1), (6, 5, 5, 0)]
    assert run("denoise", {"filter_time": 6}, e) == [(5, 0, 0, 1)]     # 0 + 6 > 6 is false
    assert run("denoise", {"filter_time": 10}, ev([(5, 0, 0, 1)])) == []  # 1x1 box: no neighbour at all


def test_denoise_neighbourhood_is_the_datas_box_not_the_sensor():
    # the box is [0, max x] x [0, max y]: a lone event at (0, 0) has no neighbour at all ...
    assert run("denoise", {"filter_time": 1000}, ev([(100, 0, 0, 1)]), sensor=(8, 8)) == []
    # ... one at (3, 3) has (2, 3) and (3, 2), unfired ("t = 0"): 0 + 1000 > 100
    assert run("denoise", {"filter_time": 1000}, ev([(100, 3, 3, 1)])) == [(100, 3, 3, 1)]
    # (1, 0) is the box's right edge: its only neighbour is (0, 0), fired at -5000 (too long ago);
    # the unfired (2, 0) on the sensor does not count
    e = ev([(-5000, 0, 0, 0), (500, 1, 0, 1)])
    assert run("denoise", {"filter_time": 1000}, e, sensor=(1, 8)) == [(-5000, 0, 0, 0)]
    # a later event at x = 7 widens the box: now (2, 0) is a neighbour of (1, 0)
    e = ev([(-5000, 0, 0, 0), (500, 1, 0, 1), (-9999, 7, 0, 0)])
    assert run("denoise", {"filter_time": 1000}, e, sensor=(1, 8)) == rows(e)


def test_denoise_4_neighbours_only_and_order_of_equal_timestamps():
    far = (10**8, 7, 7, 0)                            # only sets the box (dropped)
    big = 10**6
    diag = ev([(big, 2, 2, 0), (big + 1, 3, 3, 1), (big + 2, 2, 2, 1), far])   # diagonal, and itself
    assert run("denoise", {"filter_time": 100}, diag) == []
    # two neighbours at the same t: only the second sees the first (array order)
    same = ev([(big, 2, 2, 0), (big, 3, 2, 1), far])
    assert run("denoise", {"filter_time": 1}, same) == [(big, 3, 2, 1)]
    # the four neighbours, one at a time
    for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        e = ev([(big, 3 + dx, 3 + dy, 0), (big + 50, 3, 3, 1), far])
        assert run("denoise", {"filter_time": 51}, e) == [(big + 50, 3, 3, 1)], (dx, dy)


def test_denoise_polarity_ignored_and_unsorted_input_processed_in_array_order():
    big = 10**6
    e = ev([(big + 10, 1, 0, 1), (big, 0, 0, 0), (big + 5, 1, 0, 1)])   # unsorted
    # event 0: (0, 0) not yet fired -> dropped; event 1: (1, 0) fired at big + 10 > big -> kept;
    # event 2: (0, 0) fired at big: big + 10 > big + 5 -> kept
    assert run("denoise", {"filter_time": 10}, e) == [(big, 0, 0, 0), (big + 5, 1, 0, 1)]


# --------------------------------------------------------------------------- refractory_period

def test_refractory_period_boundary_and_first_event():
    rp = {"refractory_period": 1000}
    # 1000 > 1000 is false, 1001 > 1000 true; polarity ignored (one memory per pixel)
    assert run("refractory_period", rp, ev([(5000, 1, 1, 1), (6000, 1, 1, 0)])) == [(5000, 1, 1, 1)]
    assert run("refractory_period", rp, ev([(5000, 1, 1, 1), (6001, 1, 1, 0)])) == [(5000, 1, 1, 1),
                                                                                   (6001, 1, 1, 0)]
    # a pixel's first event: kept iff t > 0, whatever the period (Tonic's memory starts at -period)
    assert run("refractory_period", rp, ev([(0, 1, 1, 1), (1, 2, 2, 1)])) == [(1, 2, 2, 1)]
    assert run("refractory_period", {"refractory_period": 0}, ev([(0, 1, 1, 1), (-3, 2, 2, 1)])) == []
    assert run("refractory_period", {"refractory_period": 0}, ev([(7, 1, 1, 1), (7, 1, 1, 0), (8, 1, 1, 0)])) == \
        [(7, 1, 1, 1), (8, 1, 1, 0)]                  # period 0: only same-time repeats go


def test_refractory_period_dropped_events_restart_it():
    e = ev([(5000, 3, 0, 1), (5600, 3, 0, 1), (6200, 3, 0, 1), (7300, 3, 0, 1), (5700, 4, 0, 1)])
    assert run("refractory_period", {"refractory_period": 1000}, e) == [(5000, 3, 0, 1), (7300, 3, 0, 1),
                                                                        (5700, 4, 0, 1)]


# --------------------------------------------------------------------------- drop_pixel

def test_drop_pixel_hot_threshold_is_strict():
    # span t[-1] - t[0] = 1 s, 3 Hz -> max 3 events: 3 stay, 4 go
    e = ev([(0, 0, 0, 0)] + [(i, 1, 0, 1) for i in range(1, 4)] + [(i, 2, 0, 1) for i in range(4, 8)]
           + [(1_000_000, 0, 0, 1)])
    assert run("drop_pixel", {"hot_pixel_frequency": 3}, e) == rows(e[:4]) + [(1_000_000, 0, 0, 1)]
    assert run("drop_pixel", {"hot_pixel_frequency": 2.99}, e) == [(0, 0, 0, 0), (1_000_000, 0, 0, 1)]
    assert len(run("drop_pixel", {"hot_pixel_frequency": 4}, e)) == e.size


def test_drop_pixel_span_is_last_minus_first_in_array_order():
    same_t = ev([(5, 0, 0, 0), (5, 1, 1, 1)])        # span 0: every pixel that fired is hot
    assert run("drop_pixel", {"hot_pixel_frequency": 1e9}, same_t) == []
    backwards = ev([(10**6, 0, 0, 0), (0, 1, 1, 1)])  # t[-1] - t[0] < 0
    assert run("drop_pixel", {"hot_pixel_frequency": 1}, backwards) == []
    assert run("drop_pixel", {"hot_pixel_frequency": 1}, ev([(1, 2, 3, 1)])) == []   # one event: span 0


def test_drop_pixel_coordinates_and_union_with_hot_pixels():
    e = ev([(0, 0, 0, 0), (1, 7, 7, 1), (2, 3, 4, 0), (10**6, 3, 4, 1), (10**6, 5, 5, 0), (10**6, 5, 5, 0)])
    assert run("drop_pixel", {"coordinates": [[3, 4], [6, 6]]}, e) == rows(e[[0, 1, 4, 5]])
    assert run("drop_pixel", {"coordinates": []}, e) == rows(e)
    # 1.5 Hz over 1 s: (3, 4) and (5, 5) fire twice -> hot; plus (0, 0) by coordinates
    assert run("drop_pixel", {"hot_pixel_frequency": 1.5, "coordinates": [[0, 0]]}, e) == [(1, 7, 7, 1)]
    assert run("drop_pixel", {"coordinates": [[7, 7]]}, e, sensor=(8, 8))
    with pytest.raises(ParamsError, match=r"^filters\[0\] drop_pixel: argument 'coordinates'\[0\] = \[8, 0\] is outside"):
        run("drop_pixel", {"coordinates": [[8, 0]]}, e, sensor=(8, 8))


# --------------------------------------------------------------------------- crop_time, decimate, time_skew

def test_crop_time_bounds_inclusive_and_defaults():
    e = ev([(-5, 0, 0, 0), (0, 1, 0, 0), (10, 2, 0, 0), (20, 3, 0, 1), (30, 4, 0, 1)])
    assert run("crop_time", {"min_time": 10, "max_time": 20}, e) == rows(e[2:4])
    assert run("crop_time", {}, e) == rows(e[1:])            # min_time 0 by default: t < 0 dropped
    assert run("crop_time", {"max_time": 10}, e) == rows(e[1:3])
    assert run("crop_time", {"min_time": -100, "max_time": None}, e) == rows(e)
    assert run("crop_time", {"min_time": 11, "max_time": 19}, e) == []
    unsorted = e[[3, 0, 4, 2, 1]]
    assert run("crop_time", {"min_time": 0, "max_time": 20}, unsorted) == rows(unsorted[[0, 3, 4]])


def test_decimate_keeps_every_nth_per_pixel():
    e = ev([(i, i % 2, 0, i % 3 == 0) for i in range(10)])   # pixel 0: t 0,2,4,6,8; pixel 1: 1,3,5,7,9
    assert [r[0] for r in run("decimate", {"n": 2}, e)] == [2, 3, 6, 7]
    assert [r[0] for r in run("decimate", {"n": 5}, e)] == [8, 9]
    assert run("decimate", {"n": 1}, e) == rows(e)
    out = apply(e, [{"decimate": {"n": 6}}], (8, 8))         # Tonic: a float64 [] here
    assert out.size == 0 and out.dtype == EVENT_DTYPE


def test_time_skew_truncates_toward_zero_and_stays_exact_in_int64():
    e = ev([(0, 0, 0, 0), (1, 1, 0, 1), (3, 2, 0, 0)])
    assert [r[0] for r in run("time_skew", {"coefficient": 1.0, "offset": -1.5}, e)] == [-1, 0, 1]
    assert [r[0] for r in run("time_skew", {"coefficient": 0.5}, e)] == [0, 0, 1]
    big = ev([(2**60 + 1, 0, 0, 0)])
    assert run("time_skew", {"coefficient": 3, "offset": -1}, big)[0][0] == 3 * (2**60 + 1) - 1   # int64 exact
    assert run("time_skew", {"coefficient": 1.0}, big)[0][0] == 2**60          # float64, as numpy
    with pytest.raises(FilterError, match=r"^filters\[0\] time_skew: t = 1152921504606846977 \* coefficient 8 "):
        run("time_skew", {"coefficient": 8}, big)
    with pytest.raises(FilterError, match="outside the int64 range"):
        run("time_skew", {"coefficient": 8.5, "offset": 0}, big)


# --------------------------------------------------------------------------- API and errors

def test_input_untouched_output_new_and_empty_inputs():
    rng = np.random.default_rng(0)
    e = random_stream(rng, 500, 8, 8, 10**4)
    keep = e.copy()
    for name in FILTERS:
        args = random_args(rng, name, e, 8, 8)
        out = apply(e, [{name: args}], (8, 8))
        assert out.dtype == EVENT_DTYPE and not np.shares_memory(out, e)
        assert np.array_equal(e, keep), name
        empty = apply(ev([]), [{name: args}], (8, 8))
        assert empty.size == 0 and empty.dtype == EVENT_DTYPE
    same = apply(e, [], (8, 8))
    assert np.array_equal(same, e) and not np.shares_memory(same, e)
    assert np.array_equal(apply(e, None, (8, 8)), e)
    # everything kept: still a copy
    out = apply(e, [{"crop_time": {"min_time": -1}}], (8, 8))
    assert np.array_equal(out, e) and not np.shares_memory(out, e)


def test_validate_normalises_and_fills_defaults():
    got = validate([{"denoise": {"filter_time": np.int32(10)}}, {"crop_time": None},
                    {"drop_pixel": {"coordinates": [(1, 2)]}}, {"time_skew": {"coefficient": np.float32(0.5)}}],
                   (4, 4))
    assert got == [("denoise", {"filter_time": 10}), ("crop_time", {"min_time": 0, "max_time": None}),
                   ("drop_pixel", {"hot_pixel_frequency": None, "coordinates": [(1, 2)]}),
                   ("time_skew", {"coefficient": 0.5, "offset": 0})]
    assert type(got[0][1]["filter_time"]) is int
    for f in FILTERS.values():
        assert f.usage().startswith(f.name + " {") and f.tonic.startswith("tonic.")


BAD_LISTS = [
    ({"denoise": {"filter_time": 1}}, r"^filters: expected a list of one-key mappings"),
    ("denoise", r"^filters: expected a list"),
    ([["denoise", {}]], r"^filters\[0\]: expected a one-key mapping \{filter_name: \{arguments\}\}, got list"),
    ([{"denoise": {"filter_time": 1}, "decimate": {"n": 2}}], r"^filters\[0\]: expected a one-key mapping"),
    ([{}], r"^filters\[0\]: expected a one-key mapping"),
    ([{"decimate": {"n": 2}}, {"denoize": {"filter_time": 1}}],
     r"^filters\[1\]: unknown filter 'denoize' \(did you mean 'denoise'\?\); filters: denoise, "),
    ([{"drop_event": {"p": 0.1}}], r"^filters\[0\]: unknown filter 'drop_event'"),
    ([{3: {}}], r"^filters\[0\]: unknown filter 3"),
    ([{"denoise": 10000}], r"^filters\[0\] denoise: arguments must be a mapping \{filter_time: \.\.\.\}, got int"),
    ([{"denoise": {}}], r"^filters\[0\] denoise: missing argument 'filter_time' \(filter_time: integer >= 1\)"),
    ([{"denoise": {"filter_time": 10, "time": 3}}], r"^filters\[0\] denoise: unknown argument 'time'"),
    ([{"refractory_period": {"delta": 3}}], (r"^filters\[0\] refractory_period: unknown argument 'delta'; arguments: "
                                            r"refractory_period")),
    ([{"denoise": {"filter_time": 0}}], r"^filters\[0\] denoise: argument 'filter_time' = 0 must be >= 1"),
    ([{"denoise": {"filter_time": 10.0}}], (r"^filters\[0\] denoise: argument 'filter_time' must be an integer \(µs\), "
                                           r"got float 10.0")),
    ([{"denoise": {"filter_time": True}}], r"argument 'filter_time' must be an integer \(µs\), got bool"),
    ([{"denoise": {"filter_time": "10000"}}], r"argument 'filter_time' must be an integer \(µs\), got str '10000'"),
    ([{"denoise": {"filter_time": 2**63}}], r"argument 'filter_time' = 9223372036854775808 is outside the int64"),
    ([{"refractory_period": {"refractory_period": -1}}], (r"^filters\[0\] refractory_period: argument "
                                                         r"'refractory_period' = -1 must be >= 0")),
    ([{"decimate": {"n": 0}}], r"^filters\[0\] decimate: argument 'n' = 0 must be >= 1"),
    ([{"drop_pixel": {}}], r"^filters\[0\] drop_pixel: give 'hot_pixel_frequency' and/or 'coordinates'"),
    ([{"drop_pixel": {"hot_pixel_frequency": 0}}], r"argument 'hot_pixel_frequency' = 0 must be > 0"),
    ([{"drop_pixel": {"hot_pixel_frequency": float("nan")}}], r"argument 'hot_pixel_frequency' = nan is not finite"),
    ([{"drop_pixel": {"coordinates": [[1, 2, 3]]}}], r"argument 'coordinates'\[0\] must be an \[x, y\] pair"),
    ([{"drop_pixel": {"coordinates": [[1, -2]]}}], r"argument 'coordinates'\[0\] = \[1, -2\] is negative"),
    ([{"drop_pixel": {"coordinates": [[1.0, 2]]}}], r"argument 'coordinates'\[0\] must be an \[x, y\] pair"),
    ([{"drop_pixel": {"coordinates": "1,2"}}], r"argument 'coordinates' must be a list of \[x, y\] pairs"),
    ([{"crop_time": {"min_time": 10, "max_time": 9}}], r"^filters\[0\] crop_time: min_time 10 > max_time 9"),
    ([{"crop_time": {"min_time": None}}], r"argument 'min_time' must be an integer"),
    ([{"time_skew": {"coefficient": 0}}], r"^filters\[0\] time_skew: argument 'coefficient' = 0 must be > 0"),
    ([{"time_skew": {"coefficient": -1.5}}], r"argument 'coefficient' = -1.5 must be > 0"),
    ([{"time_skew": {"coefficient": 1, "offset": float("inf")}}], r"argument 'offset' = inf is not finite"),
]


@pytest.mark.parametrize("bad, match", BAD_LISTS, ids=range(len(BAD_LISTS)))
def test_bad_filter_lists_refused_before_any_work(bad, match, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("a filter ran before the list was checked")
    for name in FILTERS:
        monkeypatch.setitem(FILTERS, name, dataclasses.replace(FILTERS[name], run=boom))
    with pytest.raises(ParamsError, match=match) as info:
        apply(ev([(1, 0, 0, 0)]), bad, (8, 8))
    assert "\n" not in str(info.value)
    with pytest.raises(ParamsError, match=match):
        validate(bad)


def test_bad_events_and_sensor():
    good = [{"decimate": {"n": 2}}]
    with pytest.raises(FilterError, match=r"^filters: event 2: x = 8 is outside the sensor width 8$"):
        apply(ev([(0, 0, 0, 0), (1, 7, 3, 1), (2, 8, 1, 0), (3, 0, 9, 0)]), good, (8, 8))
    with pytest.raises(FilterError, match=r"^filters: event 1: y = 4 is outside the sensor height 4$"):
        apply(ev([(0, 7, 3, 0), (1, 0, 4, 1)]), [{"crop_time": {}}], (4, 8))
    with pytest.raises(FilterError, match=r"^filters: events must be a 1-D pipeline.core.events.EVENT_DTYPE array"):
        apply(to_tonic(ev([(0, 0, 0, 0)])), good, (8, 8))
    with pytest.raises(FilterError, match=r"got list"):
        apply([(0, 0, 0, 0)], good, (8, 8))
    with pytest.raises(FilterError, match=r"^filters: sensor_size must be two integers \(H, W\) in \[1, 65536\]"):
        apply(ev([]), good, (8, 8, 2))
    with pytest.raises(ParamsError, match=r"^filters: sensor_size"):
        validate(good, (0, 8))
    # t +- argument beyond int64: refused, not wrapped around
    early = ev([(0, 0, 0, 0), (-(2**63) + 5, 1, 0, 1)])
    with pytest.raises(FilterError, match=r"^filters\[0\] denoise: event 1: t = -9223372036854775803: "
                                          r"t - filter_time 10 is outside the int64 range$"):
        apply(early, [{"denoise": {"filter_time": 10}}], (8, 8))
    assert apply(early, [{"denoise": {"filter_time": 5}}], (8, 8)).size == 2
    late = ev([(0, 0, 0, 0), (2**63 - 5, 1, 0, 1)])
    assert apply(late, [{"denoise": {"filter_time": 10}}], (8, 8)).size == 1   # (0, 0) counts as fired at 0
    with pytest.raises(FilterError, match=r"^filters\[1\] refractory_period: event 1: t = 9223372036854775803: "
                                          r"t \+ refractory_period 5 is outside the int64 range$"):
        apply(late, [{"decimate": {"n": 1}}, {"refractory_period": {"refractory_period": 5}}], (8, 8))
    assert apply(late, [{"refractory_period": {"refractory_period": 4}}], (8, 8)).size == 1
    with pytest.raises(FilterError, match=r"^filters\[0\] drop_pixel: t\[-1\] - t\[0\] = -9223372036854775803"):
        apply(late[::-1].copy(), [{"drop_pixel": {"hot_pixel_frequency": 3}}], (8, 8))


def test_kernels_are_numba_cached():
    assert [f.kernel for f in FILTERS.values()] == [filters._denoise, filters._refractory_period, filters._drop_pixel,
                                                    filters._crop_time, filters._decimate, filters._time_skew]
    for k in (f.kernel for f in FILTERS.values()):
        assert k.targetoptions["nopython"] and type(k._cache).__name__ == "FunctionCache"
