"""Integration into T frames against hand-computed cases and plain-Python / numpy references,
and the refusal of every input the kernels cannot count (crash-prone cases run in a subprocess)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.core.events import make_events
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


@pytest.mark.parametrize("field,value,msg", [("x", 16, "x = 16 is outside the sensor width 16"),
                                             ("y", 12, "y = 12 is outside the sensor height 12"),
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


# --- input types: signed, unsigned, float, big-endian and malformed arrays ---------------------

ROOT = Path(__file__).resolve().parents[2]
TONIC = np.dtype([("x", "<i8"), ("y", "<i8"), ("p", "<i8"), ("t", "<i8")])   # tonic's usual layout


def typed(rows, dtype):
    """rows (t, x, y, p) as a structured array of ``dtype`` (any field order)."""
    e = np.zeros(len(rows), dtype)
    for name, col in zip("txyp", zip(*rows) if rows else [()] * 4):
        e[name] = np.array(col, dtype=np.float64 if e.dtype[name].kind == "f" else object).astype(e.dtype[name])
    return e


def with_field(dtype, name, ftype):
    """``dtype`` (t, x, y, p) with field ``name`` of type ``ftype``."""
    return np.dtype([(n, ftype if n == name else dtype[n]) for n in dtype.names])


def numpy_reference(e, T, mode, H, W, f=1):
    """Independent reference: frame boundaries as the module docstring defines them, np.add.at."""
    t = [int(v) for v in e["t"]]
    n = len(t)
    out = np.zeros((T, 2, -(-H // f), -(-W // f)), np.int64)
    if n == 0:
        return out
    if mode == "number":
        ends = [(i + 1) * (n // T) for i in range(T - 1)] + [n]
    else:
        dt = (t[-1] - t[0]) // T                       # Python ints: no overflow
        ends = [sum(1 for v in t if v < t[0] + (i + 1) * dt) for i in range(T - 1)] + [n]
    frame = np.searchsorted(np.array(ends), np.arange(n), side="right")
    np.add.at(out, (frame, e["p"].astype(np.int64), e["y"].astype(np.int64) // f,
                    e["x"].astype(np.int64) // f), 1)
    return out


def random_rows(n, H, W, seed, t_max=10_000):
    rng = np.random.default_rng(seed)
    return list(zip(np.sort(rng.integers(0, t_max, n)).tolist(), rng.integers(0, W, n).tolist(),
                    rng.integers(0, H, n).tolist(), rng.integers(0, 2, n).tolist()))


def one_line_error(call, match):
    with pytest.raises(ValueError, match=match) as info:
        call()
    assert "\n" not in str(info.value), str(info.value)
    assert str(info.value).startswith("integrate: ")
    return str(info.value)


@pytest.mark.parametrize("mode", ["number", "time"])
@pytest.mark.parametrize("dtype", [TONIC,
                                   np.dtype([("t", "<f8"), ("x", "<i8"), ("y", "<i8"), ("p", "?")]),
                                   np.dtype([("t", ">i8"), ("x", ">u2"), ("y", ">i4"), ("p", ">i2")]),
                                   np.dtype([("p", "<f4"), ("y", "<f8"), ("x", "<f8"), ("t", "<f8")]),
                                   np.dtype([("t", "<u8"), ("x", "<u4"), ("y", "u1"), ("p", "i1")])],
                         ids=["tonic-int64", "float-t-bool-p", "big-endian", "integral-floats", "unsigned-mixed"])
def test_other_layouts_against_numpy_reference(mode, dtype):
    H, W, T = 12, 16, 7
    e = typed(random_rows(2000, H, W, seed=3), dtype)
    np.testing.assert_array_equal(integrate(e, T, mode, sensor_size=(H, W)), numpy_reference(e, T, mode, H, W))
    np.testing.assert_array_equal(integrate(e, T, mode, sensor_size=(H, W), downsample=3),
                                  numpy_reference(e, T, mode, H, W, f=3))


@pytest.mark.parametrize("mode", ["number", "time"])
def test_odd_strides_against_numpy_reference(mode):
    H, W, T = 9, 11, 5
    rows = random_rows(999, H, W, seed=4)
    padded = np.dtype({"names": ["p", "x", "t", "y"], "formats": ["u1", "<i4", "<i8", "<u2"],
                       "offsets": [3, 7, 13, 29], "itemsize": 41})    # unaligned fields, odd itemsize
    for e in (typed(rows, padded), typed(rows, TONIC)[::3], make_events(*zip(*rows))[1::2]):
        np.testing.assert_array_equal(integrate(e, T, mode, sensor_size=(H, W)), numpy_reference(e, T, mode, H, W))
    rev = typed(rows, TONIC)[::-1]                                 # negative strides (unsorted: number only)
    np.testing.assert_array_equal(integrate(rev, T, "number", sensor_size=(H, W)),
                                  numpy_reference(rev, T, "number", H, W))


@pytest.mark.parametrize("ftype", ["<i8", "<i4", "<i2", "i1", ">i8"])
@pytest.mark.parametrize("field,msg", [("x", "x = -1 is negative"), ("y", "y = -1 is negative"),
                                       ("p", "polarity p = -1 is not 0 or 1")])
def test_minus_one_is_refused(ftype, field, msg):
    # the old kernels counted x = -1 at column W-1 and p = -1 in the neighbouring frame's channel
    e = typed([(0, 1, 1, 1), (1, 2, 2, 0), (2, 3, 3, 1)], with_field(TONIC, field, ftype))
    e[field][1] = -1
    for mode in ("number", "time"):
        one_line_error(lambda: integrate(e, 2, mode, sensor_size=(12, 16)), "event 1: " + msg)


def run_isolated(folder, cases):
    """Call integrate in both modes on each ``(events, T, sensor_size)`` of ``cases`` in a fresh
    interpreter (an out-of-bounds access must fail the test, not kill pytest); returns, per case,
    {mode: "ok <sum>" or "ValueError: <message>"}. All cases share one interpreter (each start
    loads Numba's cached kernels, ~2 s); if it dies, each case runs again in its own, so the crash
    is the result of the case that crashed: {"crashed": "exit <status>: <stderr>"}."""
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "events.npz", *[e for e, _, _ in cases])
    code = (f"import json, sys; sys.path.insert(0, {str(ROOT)!r})\n"
            "import numpy as np\nfrom pipeline.frames.integration import integrate\n"
            f"cases = {[(k, T, tuple(s)) for k, (_, T, s) in enumerate(cases)]!r}\n"
            f"arrays = np.load({str(folder / 'events.npz')!r})\nout = []\n"
            "for k, T, sensor_size in cases if len(sys.argv) < 2 else [cases[int(sys.argv[1])]]:\n"
            "    e, res = arrays['arr_%d' % k], {}\n"
            "    for mode in ('number', 'time'):\n"
            "        try:\n"
            "            res[mode] = 'ok %d' % integrate(e, T, mode, sensor_size=sensor_size).sum()\n"
            "        except ValueError as err:\n"
            "            res[mode] = 'ValueError: %s' % err\n"
            "    out.append(res)\n"
            "print(json.dumps(out))\n")

    def child(*which):
        return subprocess.run([sys.executable, "-c", code, *which], capture_output=True, text=True, timeout=300)

    proc = child()
    if proc.returncode == 0:
        return json.loads(proc.stdout.splitlines()[-1])
    results = []
    for k in range(len(cases)):
        proc = child(str(k))
        results.append(json.loads(proc.stdout.splitlines()[-1])[0] if proc.returncode == 0 else
                       {"crashed": f"integrate crashed (exit {proc.returncode}): {proc.stderr[-2000:]}"})
    return results


CRASHERS = [  # (field, field type, value, message) -- each read or wrote far out of bounds before
    ("x", "<i8", -10**12, "x = -1000000000000 is negative"),
    ("y", "<i4", -2**31, "y = -2147483648 is negative"),
    ("x", "i1", -128, "x = -128 is negative"),
    ("p", "<i8", -2**40, "polarity p = -1099511627776 is not 0 or 1"),
    ("p", "<i2", -32768, "polarity p = -32768 is not 0 or 1"),
    ("x", "<u8", 2**64 - 1, "x = 18446744073709551615 is outside the sensor width 16"),
    ("y", ">i8", -2**62, "y = -4611686018427387904 is negative"),
    ("x", "<f8", np.nan, "x = nan is not an integer"),
    ("y", "<f8", -np.inf, "y = -inf is not an integer"),
    ("x", "<f4", np.inf, "x = inf is not an integer"),
    ("x", "<f8", 2.5, "x = 2.5 is not an integer"),
    ("y", "<f4", 0.1, "y = 0.1 is not an integer"),
    ("x", "<f8", -1.0, "x = -1.0 is negative"),
    ("x", "<f8", 1e300, "x = 1e+300 is outside the sensor width 16"),
    ("y", ">f8", -1e19, "y = -1e+19 is negative"),
    ("p", "<f8", np.nan, "polarity p = nan is not an integer"),
    ("p", "<f8", 0.5, "polarity p = 0.5 is not an integer"),
]
BAD_TIMESTAMPS = [("<f8", np.nan, "t = nan is not an integer"),
                  ("<f8", np.inf, "t = inf is not an integer"),
                  ("<f8", 2.5, "t = 2.5 is not an integer"),
                  ("<f8", 1e300, "t = 1e+300 is outside the int64 range"),
                  ("<u8", 2**63, "t = 9223372036854775808 is outside the int64 range")]


def one_bad_value(field, ftype, value):
    """Three events, the second with ``field`` = ``value`` of type ``ftype``."""
    e = typed([(0, 1, 1, 1), (1, 2, 2, 0), (2, 3, 3, 1)], with_field(TONIC, field, ftype))
    e[field][1] = value
    return e


def first_bad_cases():
    """test_first_bad_event_in_file_order_across_fields's events: (events, sensor_size, message)."""
    dtype = with_field(with_field(TONIC, "t", "<f8"), "x", "<f8")
    e = typed([(0, 0, 0, 0), (1, 0, 0, 0), (2, 0, 0, 0), (3, 0, 0, 0)], dtype)
    e["x"][1], e["t"][2] = np.nan, np.nan            # NaN x crashed the old kernels: in a subprocess
    first = e.copy()
    e["x"][1], e["t"][2], e["x"][3] = 0, 0.5, 99
    return [(first, (4, 4), "ValueError: integrate: event 1: x = nan is not an integer"),
            (e, (4, 4), "ValueError: integrate: event 2: t = 0.5 is not an integer")]


@pytest.fixture(scope="module")
def isolated(tmp_path_factory):
    """run_isolated's result for each case of this module's subprocess tests, in one interpreter:
    {("value", i): CRASHERS[i]'s, ("t", i): BAD_TIMESTAMPS[i]'s, ("first", i): first_bad_cases()[i]'s}."""
    keys, cases = [], []
    for i, (field, ftype, value, _) in enumerate(CRASHERS):
        keys.append(("value", i))
        cases.append((one_bad_value(field, ftype, value), 2, (12, 16)))
    for i, (ftype, value, _) in enumerate(BAD_TIMESTAMPS):
        keys.append(("t", i))
        cases.append((one_bad_value("t", ftype, value), 2, (12, 16)))
    for i, (e, sensor_size, _) in enumerate(first_bad_cases()):
        keys.append(("first", i))
        cases.append((e, 2, sensor_size))
    return dict(zip(keys, run_isolated(tmp_path_factory.mktemp("isolated"), cases)))


@pytest.mark.parametrize("i", range(len(CRASHERS)), ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CRASHERS])
def test_bad_values_are_refused_without_crashing(isolated, i):
    msg = CRASHERS[i][3]
    assert isolated[("value", i)] == {"number": f"ValueError: integrate: event 1: {msg}",
                                      "time": f"ValueError: integrate: event 1: {msg}"}


@pytest.mark.parametrize("i", range(len(BAD_TIMESTAMPS)), ids=[f"{c[0]}-{c[1]}" for c in BAD_TIMESTAMPS])
def test_bad_timestamps_are_refused(isolated, i):
    msg = BAD_TIMESTAMPS[i][2]
    assert isolated[("t", i)] == {"number": f"ValueError: integrate: event 1: {msg}",
                                  "time": f"ValueError: integrate: event 1: {msg}"}


def test_first_bad_event_in_file_order_across_fields(isolated):
    for i, (_, _, msg) in enumerate(first_bad_cases()):
        assert isolated[("first", i)] == {"number": msg, "time": msg}


def test_time_mode_with_timestamps_spanning_the_int64_range():
    # t[N-1] - t[0] does not fit in int64: the windows must still follow the docstring's definition
    t = [-2**63, -2**63 + 5, -2**40, -1, 0, 2**40, 2**62, 2**63 - 2, 2**63 - 1]
    e = typed([(v, k, 0, k % 2) for k, v in enumerate(t)], TONIC)
    for T in (1, 2, 3, 4, 7):
        np.testing.assert_array_equal(integrate(e, T, "time", sensor_size=(1, 9)), numpy_reference(e, T, "time", 1, 9))
    backwards = typed([(2**63 - 1, 0, 0, 0), (-2**63, 0, 0, 0)], TONIC)
    one_line_error(lambda: integrate(backwards, 3, "time", sensor_size=(1, 1)), r"event 1: timestamps not sorted")


@pytest.mark.parametrize("events,match", [
    (np.zeros((2, 3), TONIC), r"1-D .* got a 2-D array of shape \(2, 3\)"),
    (np.zeros((), TONIC), "got a 0-D array"),
    (np.zeros((5, 4), np.int64), r"structured array .* got a plain int64 array of shape \(5, 4\)"),
    (np.zeros(5, np.float64), "got a plain float64 array"),
    ([(0, 0, 0, 0)], "got list"),
    (np.zeros(3, [("t", "<i8"), ("x", "<u2"), ("y", "<u2")]), r"missing p \(fields: t, x, y\)"),
    (np.zeros(3, [("ts", "<i8"), ("x", "<u2"), ("y", "<u2"), ("pol", "u1")]), "missing t, p"),
    (np.zeros(3, [("t", "<i8"), ("x", "<u2", (2,)), ("y", "<u2"), ("p", "u1")]), "field 'x' has type"),
    (np.zeros(3, [("t", "<i8"), ("x", "<c16"), ("y", "<u2"), ("p", "u1")]), "field 'x' has type complex128"),
    (np.zeros(3, [("t", "<M8[us]"), ("x", "<u2"), ("y", "<u2"), ("p", "u1")]), "field 't' has type"),
], ids=["2-D", "0-D", "plain-2-D", "plain-1-D", "list", "no-p", "tonic-names", "subarray", "complex", "datetime"])
def test_malformed_arrays_are_refused_in_one_line(events, match):
    for mode in ("number", "time"):
        one_line_error(lambda: integrate(events, 2, mode, sensor_size=(4, 4)), match)


def test_T_and_downsample_types():
    e = ev([(k, k % 4, k % 3, k % 2) for k in range(10)])
    for bad in (True, False, np.True_, 2.0, np.float64(3), "3", None, -1, 0):
        one_line_error(lambda: integrate(e, bad, "number", sensor_size=(3, 4)), "T must be a positive integer")
    for bad in (True, np.True_, 2.0, 0):
        one_line_error(lambda: integrate(e, 2, "number", sensor_size=(3, 4), downsample=bad),
                       "downsample must be a positive integer")
    for bad in ((3.5, 4), (True, 4), (3,), (3, 0)):
        one_line_error(lambda: integrate(e, 2, "number", sensor_size=bad), "sensor_size must be")
    for T in (np.int64(3), np.int32(3), np.uint8(3)):
        np.testing.assert_array_equal(integrate(e, T, "time", sensor_size=(3, 4)),
                                      integrate(e, 3, "time", sensor_size=(3, 4)))
        np.testing.assert_array_equal(integrate(e, 3, "number", sensor_size=(3, 4), downsample=np.int64(2)),
                                      numpy_reference(e, 3, "number", 3, 4, f=2))
