"""2. Events -> T frames: ours (``integrate``) vs Tonic's ``ToFrame`` and SpikingJelly's
``integrate_events_by_fixed_frames_number``, for ``split_by = number`` and ``time``.

Where the definitions agree the outputs must be equal, and that is checked on the way:

- SpikingJelly's definitions are ours (N // T events per frame or (t_last - t0) // T long
  windows, the last frame running to the end): every frame must be equal. (Its ``time``
  mode raises IndexError on an empty window; ours gives an all-zero frame.)
- Tonic's ``n_event_bins`` / ``n_time_bins`` cut the same first T - 1 frames but drop what
  is left after T equal bins (the remainder events, or events at t >= t0 + T * dt), which our
  last frame keeps: frames 0..T-2 must be equal, and our last frame must be Tonic's plus
  exactly those events.
"""

from __future__ import annotations

import numpy as np

from pipeline.frames import integrate

from .common import Section, Target, measure, row, skipped

T = 20
SENSOR = (128, 128)
TARGETS = {"number": 300e6, "time": 150e6}


def _leftover(events: np.ndarray, mode: str) -> np.ndarray:
    """Our last frame minus Tonic's: the events Tonic drops, counted per pixel."""
    n = events.size
    if mode == "number":
        rest = events[(n // T) * T:]
    else:
        t0 = events["t"][0]
        dt = (events["t"][-1] - t0) // T
        rest = events[events["t"] >= t0 + T * dt]
    out = np.zeros((2, *SENSOR), np.int64)
    np.add.at(out, (rest["p"].astype(np.int64), rest["y"].astype(np.int64), rest["x"].astype(np.int64)), 1)
    return out


def run(args, peers, events: np.ndarray) -> list[tuple[str, Section]]:
    out = []
    tonic, sj = peers["tonic"], peers["spikingjelly"]
    n = events.size
    for mode in ("number", "time"):
        sec = Section(f"2. Integration into T={T} frames, split_by={mode} (events/s, single thread)")
        sec.inputs = {"events": n, "T": T, "sensor": f"{SENSOR[0]}x{SENSOR[1]}", "source": "the recording of 1."}
        t, ours = measure(lambda: integrate(events, T, mode, SENSOR), args.repeats)
        sec.rows.append(row(f"ours integrate({mode})", t, items=n))

        to_frame = tonic.get("ToFrame")
        bins = "n_event_bins" if mode == "number" else "n_time_bins"
        if to_frame is None:
            sec.rows.append(skipped(f"tonic ToFrame({bins})", tonic.missing("ToFrame")))
        else:
            transform = to_frame(sensor_size=(SENSOR[1], SENSOR[0], 2), **{bins: T})
            t, theirs = measure(lambda: transform(events), args.repeats, budget_s=args.peer_budget)
            sec.rows.append(row(f"tonic ToFrame({bins})", t, items=n, note="np.add.at per frame"))
            theirs = np.asarray(theirs).astype(np.int64)
            first = theirs.shape == ours.shape and np.array_equal(theirs[:T - 1], ours[:T - 1])
            last = first and np.array_equal(ours[T - 1].astype(np.int64) - theirs[T - 1], _leftover(events, mode))
            assert first and last, f"tonic ToFrame({bins}) and integrate({mode}) disagree where they should agree"
            sec.checks[f"tonic {bins}: frames 0..T-2 equal, last = tonic + dropped rest"] = True

        sj_fn = sj.get("integrate_events_by_fixed_frames_number")
        name = f"spikingjelly integrate_events_by_fixed_frames_number({mode})"
        if sj_fn is None:
            sec.rows.append(skipped(name, sj.missing("integrate_events_by_fixed_frames_number")))
        else:
            cols = {k: events[k] for k in ("t", "x", "y", "p")}
            try:
                t, theirs = measure(lambda: sj_fn(cols, mode, T, *SENSOR), args.repeats, budget_s=args.peer_budget)
            except IndexError as e:   # an empty time window
                sec.rows.append(skipped(name, f"raised IndexError ({e}): an empty time window"))
            else:
                sec.rows.append(row(name, t, items=n, note="np.bincount per frame, float64"))
                same = np.array_equal(theirs, ours)
                assert same, f"spikingjelly and integrate({mode}) disagree"
                sec.checks["spikingjelly: every frame equal"] = True
        sec.targets.append(Target(f"integration ({mode})", sec.rows[0]["rate_per_s"] / 1e6, TARGETS[mode] / 1e6,
                                  ">=", "M events/s"))
        out.append((f"integration_{mode}", sec))
    return out
