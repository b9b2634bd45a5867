"""Integration into T frames against hand-computed cases and a plain-Python reference."""

import numpy as np
import pytest

from pipeline.events import make_events
from pipeline.frames import integrate


def ev(rows):
    """rows: (t, x, y, p)"""
    t, x, y, p = zip(*rows) if rows else ((), (), (), ())
    return make_events(np.array(t, np.int64), x, y, p)


def counts(frames):
    """Per-frame totals, the easiest thing to compute by hand."""
    return frames.reshape(frames.shape[0], -1).sum(1).tolist()


def test_number_remainder_goes_to_last_frame():
    e = ev([(i, i, 0, i % 2) for i in range(7)])      # N=7, T=3 -> di=2: [0,2) [2,4) [4,7)
    f = integrate(e, 3, "number", sensor_size=(1, 8))
    assert f.shape == (3, 2, 1, 8)
    assert counts(f) == [2, 2, 3]
    # frame 2 holds events 4,5,6 at x=4 (p0), 5 (p1), 6 (p0)
    assert f[2, 0, 0].tolist() == [0, 0, 0, 0, 1, 0, 1, 0]
    assert f[2, 1, 0].tolist() == [0, 0, 0, 0, 0, 1, 0, 0]
    assert f[0, 0, 0, 0] == 1 and f[0, 1, 0, 1] == 1


def test_number_fewer_events_than_frames():
    e = ev([(0, 1, 1, 1), (5, 1, 1, 1)])              # N=2 < T=4 -> di=0, all in the last frame
    f = integrate(e, 4, "number", sensor_size=(2, 2))
    assert counts(f) == [0, 0, 0, 2]
    assert f[3, 1, 1, 1] == 2


def test_time_windows_and_empty_frames():
    # t0=100, t_last=200, T=4 -> dt=25: [100,125) [125,150) [150,175) [175, end]
    e = ev([(100, 0, 0, 1), (124, 0, 0, 0), (125, 1, 0, 1), (180, 2, 0, 1), (199, 3, 0, 0), (200, 3, 0, 0)])
    f = integrate(e, 4, "time", sensor_size=(1, 4))
    assert counts(f) == [2, 1, 0, 3]
    assert f[2].sum() == 0                           # empty window: all-zero frame, no error
    assert f[3, 0, 0, 3] == 2 and f[3, 1, 0, 2] == 1


def test_time_remainder_and_equal_timestamps():
    # t0=0, t_last=10, T=3 -> dt=3: [0,3) [3,6) [6, end] (the last window takes 6..10)
    e = ev([(0, 0, 0, 0), (2, 0, 0, 0), (3, 0, 0, 0), (6, 0, 0, 0), (9, 0, 0, 0), (10, 0, 0, 0)])
    assert counts(integrate(e, 3, "time", sensor_size=(1, 1))) == [2, 1, 3]
    same = ev([(7, 0, 0, 1)] * 5)                     # all timestamps equal -> dt=0
    assert counts(integrate(same, 3, "time", sensor_size=(1, 1))) == [0, 0, 5]


def test_empty_input():
    for mode in ("number", "time"):
        f = integrate(ev([]), 5, mode, sensor_size=(3, 4))
        assert f.shape == (5, 2, 3, 4) and f.sum() == 0


def test_downsample():
    e = ev([(0, 0, 0, 1), (1, 1, 1, 1), (2, 3, 2, 0), (3, 4, 4, 1)])
    f = integrate(e, 1, "number", sensor_size=(5, 5), downsample=2)
    assert f.shape == (1, 2, 3, 3)                    # ceil(5/2) = 3
    assert f[0, 1, 0, 0] == 2 and f[0, 0, 1, 1] == 1 and f[0, 1, 2, 2] == 1


def reference(e, T, mode, H, W):
    """A second, deliberately naive implementation of the documented definitions."""
    out = np.zeros((T, 2, H, W), np.int64)
    n = len(e)
    for k in range(n):
        if mode == "number":
            di = n // T
            i = T - 1 if di == 0 else min(k // di, T - 1)
        else:
            t0, dt = int(e["t"][0]), (int(e["t"][-1]) - int(e["t"][0])) // T
            i = T - 1 if dt == 0 else min((int(e["t"][k]) - t0) // dt, T - 1)
        out[i, e["p"][k], e["y"][k], e["x"][k]] += 1
    return out


@pytest.mark.parametrize("mode", ["number", "time"])
@pytest.mark.parametrize("n,T", [(1000, 7), (37, 10), (5, 9), (1, 1)])
def test_against_naive_reference(mode, n, T):
    rng = np.random.default_rng(n * T)
    e = make_events(np.sort(rng.integers(0, 5000, n)), rng.integers(0, 16, n), rng.integers(0, 12, n),
                    rng.integers(0, 2, n))
    np.testing.assert_array_equal(integrate(e, T, mode, sensor_size=(12, 16)), reference(e, T, mode, 12, 16))


@pytest.mark.parametrize("field,value,msg", [("x", 16, "x = 16 outside the sensor width 16"),
                                             ("y", 12, "y = 12 outside the sensor height 12"),
                                             ("p", 2, "polarity p = 2")])
def test_out_of_range_is_rejected_before_indexing(field, value, msg):
    e = ev([(0, 1, 1, 1), (1, 2, 2, 0), (2, 3, 3, 1)])
    e[field][1] = value
    for mode in ("number", "time"):
        with pytest.raises(ValueError, match="event 1: " + msg):
            integrate(e, 2, mode, sensor_size=(12, 16))


def test_time_mode_needs_sorted_events_and_bad_params():
    e = ev([(5, 0, 0, 0), (3, 0, 0, 0)])
    with pytest.raises(ValueError, match="not sorted"):
        integrate(e, 2, "time", sensor_size=(1, 1))
    with pytest.raises(ValueError, match="T must be"):
        integrate(e, 0, "number", sensor_size=(1, 1))
    with pytest.raises(ValueError, match="split_by"):
        integrate(e, 2, "frames", sensor_size=(1, 1))
    with pytest.raises(ValueError, match="downsample"):
        integrate(e, 2, "number", sensor_size=(1, 1), downsample=0)


def test_time_mode_reports_the_first_bad_event_in_file_order():
    # a coordinate error before an unsorted timestamp in the same frame wins, and vice versa
    e = ev([(0, 0, 0, 0), (1, 9, 0, 0), (0, 0, 0, 0), (9, 0, 0, 0)])
    with pytest.raises(ValueError, match="event 1: x = 9"):
        integrate(e, 2, "time", sensor_size=(1, 4))
    e = ev([(0, 0, 0, 0), (2, 0, 0, 0), (1, 9, 0, 0), (9, 0, 0, 0)])
    with pytest.raises(ValueError, match=r"event 2: timestamps not sorted \(t\[2\] = 1 < t\[1\] = 2\)"):
        integrate(e, 2, "time", sensor_size=(1, 4))


@pytest.mark.parametrize("mode", ["number", "time"])
@pytest.mark.parametrize("f", [2, 3, 5])
def test_downsample_against_naive_reference(mode, f):
    rng = np.random.default_rng(f)
    n, T, H, W = 3000, 6, 13, 17
    e = make_events(np.sort(rng.integers(0, 10_000, n)), rng.integers(0, W, n), rng.integers(0, H, n),
                    rng.integers(0, 2, n))
    full = reference(e, T, mode, H, W)
    Hf, Wf = -(-H // f), -(-W // f)
    expected = np.zeros((T, 2, Hf, Wf), np.int64)
    for yy in range(H):
        for xx in range(W):
            expected[:, :, yy // f, xx // f] += full[:, :, yy, xx]
    np.testing.assert_array_equal(integrate(e, T, mode, sensor_size=(H, W), downsample=f), expected)
