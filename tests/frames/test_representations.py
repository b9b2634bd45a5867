"""Tonic's fixed-T representations (issue 26) against Tonic 1.7 itself, the independent reference:
``integrate`` with ``time_bins`` / ``event_bins`` (``ToFrame(n_time_bins / n_event_bins, overlap)``),
``voxel_grid`` (``ToVoxelGrid``) and ``binarep`` (``ToBinaRep`` of ``ToFrame(n_event_bins=T*n_bits)``),
on every real recording of ../shared/data/real and on random streams with the edge cases; plus
hand-computed cases where Tonic fails, and the refusals."""

import numpy as np
import pytest
import tonic.transforms as TT
from conftest import real_file
from tonicevents import REAL, TONIC_INT, TONIC_SMALL, to_tonic

from pipeline.core.events import make_events
from pipeline.frames import binarep, integrate, voxel_grid
from pipeline.frames.representations import binarep_codes
from pipeline.io import read_events

BINS = {"time_bins": "n_time_bins", "event_bins": "n_event_bins"}


def tonic_frames(ev, H, W, split_by, T, overlap=0.0, dtype=TONIC_INT):
    return TT.ToFrame(sensor_size=(W, H, 2), overlap=overlap, **{BINS[split_by]: T})(to_tonic(ev, dtype))


def tonic_voxel(ev, H, W, T):
    return TT.ToVoxelGrid(sensor_size=(W, H, 2), n_time_bins=T)(to_tonic(ev))


def tonic_voxel_fails(ev, H, W, T) -> bool:
    """Tonic's voxel grid of events with equal first and last timestamps: 0 / 0 gives NaN times,
    whose integer cast (INT64_MIN) makes an index that wraps: an IndexError, or NaN written somewhere."""
    with np.errstate(invalid="ignore", divide="ignore"):
        try:
            return bool(np.isnan(tonic_voxel(ev, H, W, T)).any())
        except IndexError:
            return True


def tonic_binarep(ev, H, W, T, n_bits):
    return TT.ToBinaRep(n_frames=T, n_bits=n_bits)(tonic_frames(ev, H, W, "event_bins", T * n_bits))


def assert_all_equal_tonic(ev, H, W, T, overlaps=(0.0, 0.25, 0.5), n_bits=(2, 4), voxel=True):
    for split_by in BINS:
        for overlap in overlaps:
            ours = integrate(ev, T, split_by, (H, W), overlap=overlap)
            theirs = tonic_frames(ev, H, W, split_by, T, overlap)
            assert ours.shape == theirs.shape == (T, 2, H, W)
            assert np.array_equal(ours, theirs.astype(np.int64)), (split_by, T, overlap)
    ours = voxel_grid(ev, T, (H, W))
    theirs = tonic_voxel(ev, H, W, T) if voxel else ours
    assert ours.dtype == np.float32 and ours.shape == theirs.shape == (T, 1, H, W)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=0)       # the bound, per element
    assert np.array_equal(ours, theirs.astype(np.float32))            # in fact Tonic's sums, rounded once
    for nb in n_bits:
        ours = binarep(ev, T, nb, (H, W))
        theirs = tonic_binarep(ev, H, W, T, nb)
        assert ours.dtype == theirs.dtype == np.float32 and np.array_equal(ours, theirs), (T, nb)


# --------------------------------------------------------------------------- real recordings


@pytest.mark.parametrize("relative, sensor", REAL, ids=[r for r, _ in REAL])
def test_real_recordings_equal_tonic(relative, sensor):
    ev = read_events(real_file(relative))
    H, W = sensor
    for T in (1, 5, 16):
        assert_all_equal_tonic(ev, H, W, T)


def test_real_dvs128_time_bins_leave_out_the_last_timestamp():
    """The edge the docs quote: n_time_bins without overlap counts every event but those at the
    last timestamp (one event on this recording), as Tonic does."""
    ev = read_events(real_file("aedat2_jaer/dvs128/alex_walking_again.aedat"))
    last = int((ev["t"] == ev["t"][-1]).sum())
    assert (ev.size, last) == (19_182, 1)
    ours = integrate(ev, 1, "time_bins", (128, 128))
    assert int(ours.sum()) == 19_181 == int(tonic_frames(ev, 128, 128, "time_bins", 1).sum())


def test_tonic_small_dtype_frames_equal_too():
    """ToFrame gives the same counts on Tonic's own column types (int16 x, y; bool p)."""
    ev = read_events(real_file("nmnist/tonic/sample_nmnist.bin"))
    for split_by in BINS:
        theirs = tonic_frames(ev, 34, 34, split_by, 5, 0.25, dtype=TONIC_SMALL)
        assert np.array_equal(integrate(ev, 5, split_by, (34, 34), overlap=0.25), theirs.astype(np.int64))


def test_tonic_voxel_grid_on_unsigned_polarity_columns():
    """The trap the docs describe: Tonic turns p = 0 into -1 in the column's own type. On a bool
    column (Tonic's datasets') OFF events then weigh +1; a uint8 column (ours) NumPy 2 refuses.
    Ours, like Tonic's on a signed column, weighs OFF -1."""
    ev = make_events([0, 10, 20], [0, 1, 0], [0, 0, 0], [0, 1, 1])
    # hand: s = 0, 1, 2 -> event 0 (OFF) adds -1 to bin 0; event 1 (ON) adds 1 to bin 1; event 2 at s = T: nothing
    assert voxel_grid(ev, 2, (1, 2))[:, 0, 0].tolist() == [[-1.0, 0.0], [0.0, 1.0]]
    grid = TT.ToVoxelGrid(sensor_size=(2, 1, 2), n_time_bins=2)
    assert grid(to_tonic(ev, TONIC_SMALL))[:, 0, 0].tolist() == [[1.0, 0.0], [0.0, 1.0]]
    with pytest.raises(OverflowError):
        grid(ev[["x", "y", "t", "p"]].copy())


# --------------------------------------------------------------------------- random streams


def random_stream(rng, n, H, W, ties):
    t = np.sort(rng.integers(0, ties, n)) * rng.integers(1, 1000)     # few distinct times: many ties
    return make_events(t + 10_000, rng.integers(0, W, n), rng.integers(0, H, n), rng.integers(0, 2, n))


@pytest.mark.parametrize("seed", range(12))
def test_random_streams_equal_tonic(seed):
    rng = np.random.default_rng(seed)
    H, W = int(rng.integers(1, 9)), int(rng.integers(1, 9))
    n = int(rng.integers(2, 400))
    ev = random_stream(rng, n, H, W, ties=int(rng.integers(1, 40)))
    T = int(rng.integers(1, 24))
    assert_all_equal_tonic(ev, H, W, T, overlaps=(0.0, 0.1, 0.5, 0.9, 0.99, 0.999))


def test_ties_at_bin_edges():
    """t0 = 0, t_last = 12, T = 3: time bins [0, 4) [4, 8) [8, 12); events at exactly 4, 8 and 12
    open the next bin (12: none), three of each."""
    t = np.repeat([0, 3, 4, 7, 8, 11, 12], 3)
    ev = make_events(t, np.arange(t.size) % 4, np.zeros(t.size, int), np.arange(t.size) % 2)
    frames = integrate(ev, 3, "time_bins", (1, 4))
    assert frames.reshape(3, -1).sum(1).tolist() == [6, 6, 6]
    assert_all_equal_tonic(ev, 1, 4, 3, overlaps=(0.0, 0.5))


def test_empty_stream():
    ev = make_events([], [], [], [])
    for split_by in BINS:
        for overlap in (0.0, 0.5):
            ours = integrate(ev, 4, split_by, (3, 3), overlap=overlap)
            theirs = tonic_frames(ev, 3, 3, split_by, 4, overlap)        # square: Tonic's empty shape is (T, P, W, H)
            assert ours.shape == theirs.shape and not ours.any() and not theirs.any()
    assert voxel_grid(ev, 4, (3, 5)).shape == (4, 1, 3, 5) and not voxel_grid(ev, 4, (3, 5)).any()
    with pytest.raises(IndexError):                                   # Tonic: t[0] of nothing
        tonic_voxel(ev, 3, 5, 4)
    assert np.array_equal(binarep(ev, 4, 2, (3, 3)), tonic_binarep(ev, 3, 3, 4, 2))


def test_one_event():
    ev = make_events([5], [1], [2], [1])
    assert_all_equal_tonic(ev, 3, 4, 1, overlaps=(0.0, 0.5), voxel=False)   # Tonic's voxel grid: 0 / 0 below
    for T in (1, 3):
        for split_by in BINS:
            assert np.array_equal(integrate(ev, T, split_by, (3, 4)), tonic_frames(ev, 3, 4, split_by, T))
    # event_bins, T = 1: the event; time_bins: a span of 0 < T -> empty windows
    assert integrate(ev, 1, "event_bins", (3, 4))[0, 1, 2, 1] == 1
    assert not integrate(ev, 1, "time_bins", (3, 4)).any()
    # the voxel grid of one event: the whole polarity in bin 0 (hand); Tonic fails on 0 / 0
    vox = voxel_grid(ev, 3, (3, 4))
    assert vox[0, 0, 2, 1] == 1.0 and vox.sum() == 1.0
    assert tonic_voxel_fails(ev, 3, 4, 3) and tonic_voxel_fails(ev, 1, 1, 2)
    # Bina-Rep of one event, T = 1, 2 bits: 1 // 2 = 0 events per bin -> nothing (Tonic's too)
    assert np.array_equal(binarep(ev, 1, 2, (3, 4)), tonic_binarep(ev, 3, 4, 1, 2)) and not binarep(ev, 1, 2, (3, 4)).any()


def test_more_frames_than_events():
    rng = np.random.default_rng(7)
    ev = random_stream(rng, 5, 4, 4, ties=100)
    assert_all_equal_tonic(ev, 4, 4, 9, overlaps=(0.0, 0.5))
    assert not integrate(ev, 9, "event_bins", (4, 4)).any()            # 5 // 9 = 0 events per bin


def test_equal_first_and_last_timestamps():
    ev = make_events([7, 7, 7, 7], [0, 1, 2, 1], [0, 0, 0, 0], [1, 0, 1, 1])
    for split_by in BINS:
        assert np.array_equal(integrate(ev, 2, split_by, (1, 3)), tonic_frames(ev, 1, 3, split_by, 2))
    assert np.array_equal(binarep(ev, 2, 2, (1, 3)), tonic_binarep(ev, 1, 3, 2, 2))
    # voxel grid (hand): every event's whole polarity in bin 0: x = 0: +1, x = 1: -1 + 1, x = 2: +1
    assert tonic_voxel_fails(ev, 1, 3, 2)
    assert voxel_grid(ev, 2, (1, 3))[:, 0, 0].tolist() == [[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]]


def test_voxel_grid_hand_computed():
    """t = 0, 5, 10, 20 with T = 2: s = 0, 0.5, 1, 2. Event 0 (ON): +1 to bin 0; event 1 (OFF):
    -0.5 to bin 0 and -0.5 to bin 1; event 2 (ON): +1 to bin 1; event 3 (s = T): nothing."""
    ev = make_events([0, 5, 10, 20], [0, 0, 1, 1], [0, 0, 0, 0], [1, 0, 1, 1])
    vox = voxel_grid(ev, 2, (1, 2))
    assert vox[:, 0, 0].tolist() == [[0.5, 0.0], [-0.5, 1.0]]


def test_binarep_hand_computed():
    """8 events, T = 1, n_bits = 3: event bins of 8 // 3 = 2 events ([0,2) [2,4) [4,6); 6, 7 in
    none). Pixel x = 0 fires in bins 0 and 2 -> 0b101 = 5; x = 1 in bin 1 -> 0b010 = 2."""
    ev = make_events(np.arange(8), [0, 0, 1, 1, 0, 0, 1, 1], np.zeros(8, int), np.ones(8, int))
    codes = binarep_codes(ev, 1, 3, (1, 2))
    assert codes.dtype == np.uint8 and codes[0, 1, 0].tolist() == [5, 2] and not codes[0, 0].any()
    assert binarep(ev, 1, 3, (1, 2))[0, 1, 0].tolist() == [np.float32(5) / np.float32(7), np.float32(2) / np.float32(7)]


def test_downsample_equals_tonic_on_divided_coordinates():
    rng = np.random.default_rng(3)
    ev = random_stream(rng, 300, 7, 9, ties=50)
    small = ev.copy()
    small["x"] //= 2
    small["y"] //= 2
    for split_by in BINS:
        assert np.array_equal(integrate(ev, 4, split_by, (7, 9), 2, overlap=0.25),
                              tonic_frames(small, 4, 5, split_by, 4, 0.25).astype(np.int64))
    assert np.array_equal(voxel_grid(ev, 4, (7, 9), 2), tonic_voxel(small, 4, 5, 4).astype(np.float32))
    assert np.array_equal(binarep(ev, 4, 2, (7, 9), 2), tonic_binarep(small, 4, 5, 4, 2))


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("fn", ["time_bins", "event_bins", "voxel_grid", "binarep"])
def test_outside_the_sensor_names_the_first_bad_event(fn):
    ev = make_events([0, 1, 2, 3], [0, 1, 5, 9], [0, 0, 0, 0], [0, 1, 1, 1])
    call = {"time_bins": lambda: integrate(ev, 2, "time_bins", (2, 5)),
            "event_bins": lambda: integrate(ev, 2, "event_bins", (2, 5)),
            "voxel_grid": lambda: voxel_grid(ev, 2, (2, 5)),
            "binarep": lambda: binarep(ev, 2, 2, (2, 5))}[fn]
    who = "integrate" if fn.endswith("bins") else fn
    with pytest.raises(ValueError, match=rf"^{who}: event 2: x = 5 is outside the sensor width 5$"):
        call()


def test_bad_polarity_and_nan():
    ev = make_events([0, 1, 2], [0, 0, 0], [0, 0, 0], [0, 1, 2])
    with pytest.raises(ValueError, match=r"^voxel_grid: event 2: polarity p = 2 is not 0 or 1$"):
        voxel_grid(ev, 2, (1, 1))
    fl = np.zeros(3, [("t", "f8"), ("x", "f8"), ("y", "f8"), ("p", "f8")])
    fl["t"] = [0, np.nan, 2]
    with pytest.raises(ValueError, match=r"^binarep: event 1: t = nan is not an integer$"):
        binarep(fl, 1, 2, (1, 1))


def test_unsorted_refused_where_order_matters():
    ev = make_events([0, 5, 3, 9], [0, 0, 0, 0], [0, 0, 0, 0], [0, 1, 1, 1])
    msg = r"event 2: timestamps not sorted \(t\[2\] = 3 < t\[1\] = 5\)$"
    with pytest.raises(ValueError, match="^integrate: " + msg):
        integrate(ev, 2, "time_bins", (1, 1))
    with pytest.raises(ValueError, match="^voxel_grid: " + msg):
        voxel_grid(ev, 2, (1, 1))
    # by events, the order of timestamps does not matter (Tonic's slicing by index)
    assert np.array_equal(integrate(ev, 2, "event_bins", (1, 1)), tonic_frames(ev, 1, 1, "event_bins", 2))
    assert np.array_equal(binarep(ev, 1, 2, (1, 1)), tonic_binarep(ev, 1, 1, 1, 2))


def test_bad_arguments():
    ev = make_events([0, 1], [0, 0], [0, 0], [0, 1])
    with pytest.raises(ValueError, match=r"^integrate: split_by 'number' takes no overlap \(only time_bins and "
                                         r"event_bins do\), got 0.5$"):
        integrate(ev, 2, "number", (1, 1), overlap=0.5)
    for bad in (1.0, -0.1, float("nan"), True, "0.5"):
        with pytest.raises(ValueError, match=r"^integrate: overlap must be a number in \[0, 1\)"):
            integrate(ev, 2, "time_bins", (1, 1), overlap=bad)
    for bad in (1, 9, 2.0, True):
        with pytest.raises(ValueError, match=r"^binarep: n_bits must be an integer from 2 to 8"):
            binarep(ev, 2, bad, (1, 1))
    with pytest.raises(ValueError, match=r"^voxel_grid: T must be a positive integer, got True$"):
        voxel_grid(ev, True, (1, 1))
    with pytest.raises(ValueError, match=r"^voxel_grid: events must be a 1-D numpy structured array"):
        voxel_grid(np.zeros(3), 2, (1, 1))


def test_events_in_no_window_are_checked_too():
    """The kernels check each event as they use it, and alone the events no window takes: a bad
    event among the N % T left over (event_bins, Bina-Rep) or at the last timestamp (time_bins)
    is refused all the same, by its index."""
    ev = make_events([0, 1, 2, 3, 4], [0, 1, 0, 1, 7], [0, 0, 0, 0, 0], [0, 1, 1, 0, 1])   # event 4: x = 7
    for call, who in ((lambda: integrate(ev, 2, "event_bins", (1, 2)), "integrate"),
                      (lambda: integrate(ev, 2, "time_bins", (1, 2)), "integrate"),
                      (lambda: binarep(ev, 1, 2, (1, 2)), "binarep"),
                      (lambda: voxel_grid(ev, 2, (1, 2)), "voxel_grid")):
        with pytest.raises(ValueError, match=rf"^{who}: event 4: x = 7 is outside the sensor width 2$"):
            call()
    late = make_events([0, 1, 2, 3, 1], [0, 1, 0, 1, 0], [0, 0, 0, 0, 0], [0, 1, 1, 0, 1])  # event 4 goes back
    with pytest.raises(ValueError, match=r"^integrate: event 4: timestamps not sorted"):
        integrate(late, 2, "time_bins", (1, 2))
    assert np.array_equal(integrate(late, 2, "event_bins", (1, 2)), tonic_frames(late, 1, 2, "event_bins", 2))


def test_voxel_grid_refuses_what_it_would_misplace():
    """t = 0, 10, -5: the span is negative, so event 1's s would be -2T (an index before the
    grid) if it were used before the order is checked: refused, naming event 2."""
    ev = make_events([0, 10, -5], [0, 0, 0], [0, 0, 0], [1, 1, 1])
    with pytest.raises(ValueError, match=r"^voxel_grid: event 2: timestamps not sorted \(t\[2\] = -5 < t\[1\] = 10\)$"):
        voxel_grid(ev, 4, (1, 1))


@pytest.mark.parametrize("T, overlap", [(16, 0.5), (3, 0.5), (1, 0.5), (7, 0.25)])
def test_time_bins_last_window_end_as_documented(T, overlap):
    """bins.py and formats.md: with d = span // T the last window ends at
    t0 + T*d + d*o*(1 + o - T*o) (hand formula), Tonic's windows' end to the µs."""
    span = 1600
    t = np.arange(span + 1, dtype=np.int64)               # one event per µs: a window's end is an index
    d = span // T
    end = T * d + d * overlap * (1 + overlap - T * overlap)
    from pipeline.frames.bins import time_bin_windows
    starts, ends = time_bin_windows(t, T, overlap)
    assert ends[-1] == min(int(np.ceil(end)), t.size)
    ev = make_events(t, np.zeros(t.size, int), np.zeros(t.size, int), np.ones(t.size, int))
    assert np.array_equal(integrate(ev, T, "time_bins", (1, 1), overlap=overlap),
                          tonic_frames(ev, 1, 1, "time_bins", T, overlap))


def test_time_bins_with_overlap_count_the_last_timestamp_at_small_T():
    ev = read_events(real_file("aedat2_jaer/dvs128/alex_walking_again.aedat"))
    assert int(integrate(ev, 1, "time_bins", (128, 128), overlap=0.5).sum()) == 19_182
