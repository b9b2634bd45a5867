"""2b-2e. Tonic's fixed-T representations (issue 26): ours vs Tonic 1.7 on the first 1 M events
of the recording of 1. (128x128; ``--quick``: 100 k), T = 20 (as 2.), each in its own section:

- 2b. ``integrate(events, T, "time_bins", overlap=0.5)`` vs ``ToFrame(n_time_bins=T, overlap=0.5)``;
- 2c. ``integrate(events, T, "event_bins")`` vs ``ToFrame(n_event_bins=T)``;
- 2d. ``voxel_grid(events, T)`` vs ``ToVoxelGrid(n_time_bins=T)``;
- 2e. ``binarep(events, T, 4)`` vs ``ToBinaRep(n_frames=T, n_bits=4)`` of
  ``ToFrame(n_event_bins=T * 4)`` (both transforms timed).

Ours and Tonic's run in turns (a, b, a, b, ...), so that the machine's load hits both alike;
the target is ours >= 30x Tonic's events/s in the same run. Tonic's call (and the ``gc.collect()``)
between two of ours leaves the events (13 MB) out of the caches, so ours is then bound by
memory; a third row times ours alone, repeated without collecting, with the events in cache (as
the frames stage has a sample it has just read). Each output is checked equal to
Tonic's on the way: counts to the event (``ToFrame`` counts in int16, which wraps past 32,767
events on one pixel in one frame: then equal modulo 2**16 is reported), the voxel grid as
float32(Tonic's float64) == ours, Bina-Rep bit for bit.

Tonic's ``ToVoxelGrid`` turns polarity 0 into -1 in the polarity column's own type, which for
our uint8 column is 255; it is given a copy of the events with an int64 polarity column (made
once, untimed), for which its output is the voxel grid. Ours reads the recording as it is.
"""

from __future__ import annotations

import numpy as np

from pipeline.frames import integrate
from pipeline.frames.representations import binarep, voxel_grid

from .common import Section, Target, measure, measure_interleaved, row, skipped

T = 20
N_BITS = 4
OVERLAP = 0.5
SENSOR = (128, 128)          # (H, W)
EVENTS = 1_000_000           # the stream: the first 1 M events of the recording of 1.
QUICK_EVENTS = 100_000       # --quick: a smoke run
TARGET_RATIO = 30.0
MODES = ("time_bins", "event_bins", "voxel_grid", "binarep")
SECTION_KEYS = tuple(f"representations_{m}" for m in MODES)


def _signed(events: np.ndarray) -> np.ndarray:
    """A copy of ``events`` with an int64 polarity column (what ToVoxelGrid needs to give -1 for OFF)."""
    dtype = np.dtype([(k, events.dtype[k] if k != "p" else np.int64) for k in events.dtype.names])
    out = np.empty(events.size, dtype)
    for k in events.dtype.names:
        out[k] = events[k]
    return out


def _cases(tonic, events: np.ndarray) -> dict:
    """``mode: (title, ours name, ours fn, tonic name, Tonic's parts used, tonic fn factory, compare)``;
    compare gives True (equal), a string (equal in a weaker sense, said how) or False."""
    W, H = SENSOR[1], SENSOR[0]
    size = (W, H, 2)

    def counts(ours, theirs):
        theirs = np.asarray(theirs)
        if theirs.shape != ours.shape:
            return False
        if np.array_equal(theirs.astype(np.int64), ours.astype(np.int64)):
            return True
        if np.array_equal(theirs.astype(np.int16), ours.astype(np.int16)):
            return "equal modulo 2**16 (Tonic's int16 counts wrap)"
        return False

    def floats(ours, theirs):
        theirs = np.asarray(theirs)
        return theirs.shape == ours.shape and np.array_equal(theirs.astype(np.float32), ours)

    def bits(ours, theirs):
        theirs = np.asarray(theirs)
        return theirs.dtype == ours.dtype == np.float32 and np.array_equal(theirs.view(np.uint32),
                                                                           ours.view(np.uint32))

    def tonic_time_bins():
        tf = tonic.get("ToFrame")(sensor_size=size, n_time_bins=T, overlap=OVERLAP)
        return lambda: tf(events)

    def tonic_event_bins():
        tf = tonic.get("ToFrame")(sensor_size=size, n_event_bins=T)
        return lambda: tf(events)

    def tonic_voxel():
        signed = _signed(events)
        tf = tonic.get("ToVoxelGrid")(sensor_size=size, n_time_bins=T)
        return lambda: tf(signed)

    def tonic_binarep():
        frames = tonic.get("ToFrame")(sensor_size=size, n_event_bins=T * N_BITS)
        rep = tonic.get("ToBinaRep")(n_frames=T, n_bits=N_BITS)
        return lambda: rep(frames(events))

    return {
        "time_bins": (f"2b. Tonic's representations: time_bins, overlap {OVERLAP}, T={T}",
                      f"ours integrate(time_bins, overlap={OVERLAP})",
                      lambda: integrate(events, T, "time_bins", SENSOR, overlap=OVERLAP),
                      f"tonic ToFrame(n_time_bins, overlap={OVERLAP})", ("ToFrame",), tonic_time_bins, counts),
        "event_bins": (f"2c. Tonic's representations: event_bins, T={T}", "ours integrate(event_bins)",
                       lambda: integrate(events, T, "event_bins", SENSOR),
                       "tonic ToFrame(n_event_bins)", ("ToFrame",), tonic_event_bins, counts),
        "voxel_grid": (f"2d. Tonic's representations: voxel grid, T={T}", "ours voxel_grid",
                       lambda: voxel_grid(events, T, SENSOR),
                       "tonic ToVoxelGrid (int64 polarity copy)", ("ToVoxelGrid",), tonic_voxel, floats),
        "binarep": (f"2e. Tonic's representations: Bina-Rep, T={T}, n_bits={N_BITS}", f"ours binarep(n_bits={N_BITS})",
                    lambda: binarep(events, T, N_BITS, SENSOR),
                    f"tonic ToBinaRep of ToFrame(n_event_bins={T * N_BITS})", ("ToFrame", "ToBinaRep"),
                    tonic_binarep, bits),
    }


def run(args, peers, recording: np.ndarray) -> list[tuple[str, Section]]:
    tonic = peers["tonic"]
    events = np.ascontiguousarray(recording[:QUICK_EVENTS if args.quick else EVENTS])
    n = events.size
    out = []
    for mode, (title, ours_name, ours_fn, tonic_name, parts, tonic_factory, same) in _cases(tonic, events).items():
        missing = [p for p in parts if tonic.get(p) is None]
        sec = Section(title + f" (events/s, single thread{'' if missing else ', in turns with Tonic'})")
        sec.inputs = {"events": n, "T": T, "sensor": f"{SENSOR[0]}x{SENSOR[1]}",
                      "source": f"the first {n:,} events of the recording of 1. ({recording.size:,})"}
        if mode == "binarep":
            sec.inputs["n_bits"] = N_BITS
        if mode == "time_bins":
            sec.inputs["overlap"] = OVERLAP
        ratio = None
        if missing:
            t, _ = measure(ours_fn, args.repeats)
            sec.rows.append(row(ours_name, t, items=n))
            sec.rows.append(skipped(tonic_name, tonic.missing(missing[0])))
        else:
            timed = measure_interleaved({"ours": ours_fn, "tonic": tonic_factory()}, args.repeats)
            (t_ours, ours), (t_tonic, theirs) = timed["ours"], timed["tonic"]
            sec.rows.append(row(ours_name, t_ours, items=n))
            sec.rows.append(row(tonic_name, t_tonic, items=n))
            ratio = t_tonic.median / t_ours.median
            sec.rows[0]["ratio_to_tonic"] = ratio
            verdict = same(ours, theirs)
            assert verdict, f"{tonic_name} and {ours_name} disagree ({verdict})"
            sec.checks[f"{tonic_name} == {ours_name}"] = verdict
            # ours again, alone: no Tonic call or collection between (either leaves the events
            # out of the caches), as when the frames stage turns a sample it has just read
            t_alone, _ = measure(ours_fn, args.repeats, collect=False)
            sec.rows.append(row(f"{ours_name}, alone", t_alone, items=n,
                                note="repeated without Tonic between: the events in cache"))
        sec.targets.append(Target(f"{mode}: ours / Tonic", ratio, TARGET_RATIO, ">=", "x",
                                  "issue 26, same run" if ratio is not None else "Tonic not measured"))
        out.append((f"representations_{mode}", sec))
    return out
