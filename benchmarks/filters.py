"""6. Event filters: ours (``pipeline.frames.filters.apply``, Numba kernels) vs Tonic 1.7's numpy functions,
one table per filter, on the recording of 1. (a few M events; ``--quick``: its first 100 k).

Ours is timed through the public ``apply`` (list check, pixel check, kernel, output copy); Tonic's
function on its own structured dtype (x, y, t, p int64; converted once, untimed). Every result
is checked to be Tonic's, event for event. Tonic's ``denoise``, ``refractory_period`` and
``decimate`` walk the events in a Python loop: the 20x target is for those three and for
``drop_pixel`` (a numpy mask per hot pixel); Tonic's ``CropTime`` and ``time_skew`` are single
vectorized numpy expressions, reported without a target.
"""

from __future__ import annotations

import numpy as np

from pipeline.core.events import make_events
from pipeline.frames.filters import FILTERS, apply

from .common import Section, Target, measure, row, skipped

SENSOR = (128, 128)                  # (H, W)
TARGET_RATIO = 20.0
QUICK_EVENTS = 100_000               # --quick: Tonic's loops take ~0.2 s each on this many
TONIC_DTYPE = np.dtype([("x", "<i8"), ("y", "<i8"), ("t", "<i8"), ("p", "<i8")])


def _cases(events: np.ndarray) -> list[tuple[str, dict, bool]]:
    """(filter, arguments, has a 20x target) on this recording."""
    t = events["t"]
    n = t.size
    # hot pixels: those above the 99th percentile of the firing rates of the pixels that fire
    # (about 1 % of them; Tonic's cost grows with their number)
    counts = np.bincount(events["y"].astype(np.int64) * SENSOR[1] + events["x"], minlength=SENSOR[0] * SENSOR[1])
    rates = counts[counts > 0] / max((int(t[-1]) - int(t[0])) * 1e-6, 1e-6)
    hot_hz = float(f"{np.percentile(rates, 99):.2g}")
    return [
        ("denoise", {"filter_time": 10000}, True),
        ("refractory_period", {"refractory_period": 1000}, True),
        ("decimate", {"n": 4}, True),
        ("drop_pixel", {"hot_pixel_frequency": hot_hz}, True),
        ("crop_time", {"min_time": int(t[n // 4]), "max_time": int(t[3 * n // 4])}, False),
        ("time_skew", {"coefficient": 1.5, "offset": 100}, False),
    ]


def _pixels_dropped(events: np.ndarray, kept: np.ndarray) -> int:
    """How many pixels lost all their events (drop_pixel drops whole pixels)."""
    def pixels(ev):
        return set(np.unique(ev["y"].astype(np.int64) * SENSOR[1] + ev["x"]).tolist())
    return len(pixels(events) - pixels(kept))


def _tonic_call(tf, tt, name: str, args: dict):
    """A function of Tonic-dtype events running Tonic's implementation of ``name``."""
    if name == "denoise":
        return lambda te: tf.denoise_numpy(te, filter_time=args["filter_time"]), "denoise_numpy (Python loop)"
    if name == "refractory_period":
        return (lambda te: tf.refractory_period_numpy(te, refractory_period=args["refractory_period"]),
                "refractory_period_numpy (Python loop)")
    if name == "decimate":
        return lambda te: tf.decimate_numpy(te, n=args["n"]), "decimate_numpy (Python loop)"
    if name == "drop_pixel":
        def drop(te):
            return tf.drop_pixel_numpy(te, tf.identify_hot_pixel(te, hot_pixel_frequency=args["hot_pixel_frequency"]))
        return drop, "identify_hot_pixel + drop_pixel_numpy (a mask per hot pixel)"
    if name == "crop_time":
        return (lambda te: tt.CropTime(min=args["min_time"], max=args["max_time"])(te),
                "transforms.CropTime (vectorized numpy)")
    if name == "time_skew":
        # Tonic's function rewrites its input: time it on a fresh copy, copy included
        return (lambda te: tf.time_skew_numpy(te.copy(), coefficient=args["coefficient"], offset=args["offset"]),
                "time_skew_numpy (vectorized numpy, + a copy)")
    raise ValueError(name)


def run(args, peers, events: np.ndarray) -> list[tuple[str, Section]]:
    tonic = peers["tonic"]
    try:
        import tonic.functional as tf
        import tonic.transforms as tt
    except Exception:  # noqa: BLE001 - reported as skipped rows
        tf = tt = None
    if args.quick:
        events = events[:QUICK_EVENTS]
    n = events.size
    te = None
    if tf is not None:
        te = np.empty(n, TONIC_DTYPE)
        for f in ("x", "y", "t", "p"):
            te[f] = events[f]
    out = []
    for name, fargs, has_target in _cases(events):
        spec = FILTERS[name]
        sec = Section(f"6. Filter {name} {fargs} (events/s, single thread)")
        sec.inputs = {"events": n, "sensor": f"{SENSOR[0]}x{SENSOR[1]}", "source": "the recording of 1." + (f" (first {n})" if args.quick else ""),
                      "filter": {name: fargs}, "tonic": spec.tonic}
        filters = [{name: fargs}]
        timing, ours = measure(lambda f=filters: apply(events, f, SENSOR), args.repeats)
        sec.rows.append(row(f"ours filters.apply({name})", timing, items=n, note=f"keeps {ours.size} events"))
        if name == "drop_pixel":
            sec.inputs["hot_pixels_dropped"] = _pixels_dropped(events, ours)
        ratio = None
        if tf is None:
            sec.rows.append(skipped(f"tonic {name}", tonic.missing("tonic.functional")))
        else:
            call, what = _tonic_call(tf, tt, name, fargs)
            t_tonic, theirs = measure(lambda c=call: c(te), args.repeats, warmup=0, budget_s=args.peer_budget)
            sec.rows.append(row(f"tonic {what}", t_tonic, items=n))
            ref = make_events(theirs["t"], theirs["x"], theirs["y"], theirs["p"]) if theirs.size else theirs[:0]
            same = ref.size == ours.size and all(np.array_equal(ref[f], ours[f]) for f in ("t", "x", "y", "p"))
            assert same, f"tonic and filters.apply disagree on {name} {fargs}"
            sec.checks["tonic == ours (t, x, y, p, event for event)"] = True
            ratio = t_tonic.median / timing.median
            sec.notes.append(f"ours / tonic: {ratio:.1f}x")
        if has_target:
            sec.targets.append(Target(f"filter {name} vs Tonic", ratio, TARGET_RATIO, ">=", "x Tonic's speed"))
        out.append((f"filters_{name}", sec))
    return out
