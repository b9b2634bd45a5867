"""Issue 27: one checked path for events. The per-event bounds check (x, y inside the sensor,
p 0 or 1) is written once, in pipeline/frames/columns.py; the filters, integration, the
representations and the frames driver call it and refuse a bad event with one message shape.
Before, filters.py had it six times (a pre-check and one in each kernel, polarity unchecked),
integration.py and driver.check_events once each, with two wordings."""

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

from pipeline.core.errors import EventFormatError, FilterError
from pipeline.core.events import make_events
from pipeline.core.frameparams import SPLIT_MODES
from pipeline.frames import columns, driver, filters
from pipeline.frames.families.base import Item, Unit
from pipeline.frames.filters import FILTERS, apply
from pipeline.frames.integration import integrate
from pipeline.frames.representations import binarep, voxel_grid

FRAMES = Path(__file__).resolve().parents[2] / "pipeline" / "frames"

_SIZE = r"(?:np\.\w+\()?(?:W|H|width|height)\b"                # W, np.uint64(W)
_X = r"\b[xy]\w*(?:\[[^\]]*\])?\)?(?:\.max\(\))?"                  # x, xk, x[i], np.uint64(xk), x.max()
_P = r"\bp\w?(?:\[[^\]]*\])?\)?(?:\.max\(\))?"                    # p, pk, p[i], np.uint64(pk), p.max()
BOUNDS = [
    re.compile(rf"{_X}\s*[<>]=?\s*{_SIZE}"),                    # x >= W, x.max() < W
    re.compile(r"\b(?:W|H|width|height)\s*[<>]=?\s*[xy]\w*\b"),  # W > x
    re.compile(rf"(?:{_X}|{_P})\s*<\s*0\b"),                   # x < 0, p < 0
    re.compile(_P + r"\s*(?:>\s*1|>=\s*2|<=\s*1|<\s*2)\b"),    # p > 1
    re.compile(r"<\s*0\s+or\b"),
]


def bounds_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if any(b.search(line) for b in BOUNDS)]


def test_the_bounds_check_is_written_only_in_columns():
    hits = []
    for path in sorted(FRAMES.rglob("*.py")):
        if path.name != "columns.py":
            hits += [f"{path.relative_to(FRAMES)}: {line}" for line in bounds_lines(path.read_text())]
    assert not hits, "an event bounds check outside pipeline/frames/columns.py:\n" + "\n".join(hits)
    assert bounds_lines((FRAMES / "columns.py").read_text())      # the patterns find the real one


@pytest.mark.parametrize("line", ["if xi < 0 or xi >= W:", "if x[i] >= W or y[i] >= H:",
                                  "x.max() < W and y.max() < H and p.max() <= 1", "if pk > 1:",
                                  "if xk >= width:", "(x >= W) | (y >= H) | (p > 1)"])
def test_the_patterns_find_the_old_checks(line):
    assert bounds_lines(line) == [line]


# ------------------------------------------------------------------ one refusal, one message

H, W = 8, 8
ARGS = {"denoise": {"filter_time": 10}, "refractory_period": {"refractory_period": 5},
        "drop_pixel": {"hot_pixel_frequency": 3}, "crop_time": {}, "decimate": {"n": 2},
        "time_skew": {"coefficient": 2}}


def _filter(name):
    def run(events):
        with pytest.raises(FilterError) as e:
            apply(events, [{name: ARGS[name]}], (H, W))
        return str(e.value)
    return run


def _frames(who, fn):
    def run(events):
        with pytest.raises(ValueError) as e:
            fn(events)
        assert type(e.value) is ValueError
        return str(e.value)
    return who, run


def _driver(events):
    unit = Unit("rec.aedat", (Item(0, "rec.aedat"),))
    with pytest.raises(EventFormatError) as e:
        driver.check_events(events, (H, W), unit)
    return str(e.value)


CALLERS = {**{f"filters {name}": ("filters", _filter(name)) for name in FILTERS},
           **{f"integrate {mode}": _frames("integrate", lambda ev, m=mode: integrate(ev, 2, m, (H, W)))
              for mode in SPLIT_MODES},
           "voxel_grid": _frames("voxel_grid", lambda ev: voxel_grid(ev, 2, (H, W))),
           "binarep": _frames("binarep", lambda ev: binarep(ev, 2, 2, (H, W)))}

BAD = [  # (events as (t, x, y, p) rows, the first bad event, what is wrong with it)
    ([(0, 0, 0, 0), (1, 7, 7, 1), (2, 8, 1, 0), (3, 0, 9, 0)], 2, "x = 8 is outside the sensor width 8"),
    ([(0, 0, 0, 0), (1, 7, 8, 1), (2, 9, 1, 0)], 1, "y = 8 is outside the sensor height 8"),
    ([(0, 0, 0, 0), (1, 3, 3, 2), (2, 9, 1, 0)], 1, "polarity p = 2 is not 0 or 1"),
    ([(0, 100, 100, 5), (1, 0, 0, 0)], 0, "x = 100 is outside the sensor width 8"),
    ([(i, i % W, 0, 0) for i in range(50)] + [(50, 0, 65535, 1)], 50, "y = 65535 is outside the sensor height 8"),
]


def test_every_filter_is_covered():
    assert {name.split()[1] for name in CALLERS if name.startswith("filters ")} == set(FILTERS)


@pytest.mark.parametrize("rows, k, what", BAD, ids=range(len(BAD)))
@pytest.mark.parametrize("caller", list(CALLERS))
def test_every_entry_point_refuses_the_first_bad_event_alike(caller, rows, k, what):
    who, run = CALLERS[caller]
    assert run(make_events(*zip(*rows))) == f"{who}: event {k}: {what}"


@pytest.mark.parametrize("rows, k, what", BAD, ids=range(len(BAD)))
def test_the_driver_says_it_alike_with_the_file_and_sample(rows, k, what):
    assert _driver(make_events(*zip(*rows))) == (f"rec.aedat: event {k} (t = {rows[k][0]} us, in the whole file): "
                                                 f"{what}; the file is corrupt or not of this dataset")


def test_the_filters_check_a_list_once_before_any_filter_runs(monkeypatch):
    calls, ran = [], []
    real = filters.checked_columns
    monkeypatch.setattr(filters, "checked_columns", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    good = make_events(np.arange(20), np.arange(20) % W, np.arange(20) // W, np.arange(20) % 2)
    steps = [{name: args} for name, args in ARGS.items()]
    apply(good, steps, (H, W))
    assert calls == ["filters"]
    for name in FILTERS:
        run = FILTERS[name].run
        monkeypatch.setitem(FILTERS, name, dataclasses.replace(FILTERS[name], run=lambda *a, run=run: ran.append(1) or run(*a)))
    with pytest.raises(FilterError, match=r"^filters: event 3: x = 9 is outside the sensor width 8$"):
        apply(make_events([0, 1, 2, 3], [0, 1, 2, 9], [0, 0, 0, 0], [0, 1, 0, 1]), steps, (H, W))
    assert not ran


def test_first_bad_is_the_check_and_is_numba_cached():
    k = columns.first_bad
    assert k.targetoptions["nopython"] and type(k._cache).__name__ == "FunctionCache"
    x = np.array([0, 7, -1, 8], np.int64)
    zeros = np.zeros(4, np.int64)
    assert columns.first_bad(zeros, x, zeros, zeros, W, H, False) == (columns.X_RANGE, 2)
    assert columns.first_bad(zeros, x[:2], zeros[:2], zeros[:2], W, H, False) == (columns.OK, -1)
    t = np.array([0, 2, 1, 3], np.int64)
    assert columns.first_bad(t, zeros, zeros, zeros, W, H, True) == (columns.UNSORTED, 2)
    assert columns.first_bad(t, zeros, zeros, zeros, W, H, False) == (columns.OK, -1)
