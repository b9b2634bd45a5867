"""The event filters' names and arguments, and the check of a filter list (no kernels here).

``params.yaml`` lists filters as ordered one-key mappings (``frames.filters``); every stage
checks them with :func:`validate` when it loads the params, before any work, without
importing the kernels (:mod:`pipeline.frames.filters`, which runs them). The list's form and
its check are :mod:`.oplist`'s, shared with ``train.augment``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ParamsError
from .oplist import Arg, OpSpec, check_list, did_you_mean, is_int, short

__all__ = ["SPECS", "Arg", "FilterSpec", "check_sensor", "did_you_mean", "validate"]


@dataclass(frozen=True)
class FilterSpec(OpSpec):
    """A filter's name, what it does, Tonic's counterpart (``reference``) and its arguments."""

    @property
    def tonic(self) -> str:
        return self.reference


_SPEC_LIST = [
    FilterSpec("denoise", "drop an event unless one of its 4 neighbouring pixels fired less than filter_time "
               "µs before it", "tonic.functional.denoise_numpy / tonic.transforms.Denoise",
               (Arg("filter_time", "int", "µs", min=1),)),
    FilterSpec("refractory_period", "drop an event less than or exactly refractory_period µs after its pixel's "
               "previous event (dropped or not)",
               "tonic.functional.refractory_period_numpy / tonic.transforms.RefractoryPeriod",
               (Arg("refractory_period", "int", "µs", min=0),)),
    FilterSpec("drop_pixel", "drop every event of the given pixels and/or of the pixels firing above "
               "hot_pixel_frequency Hz on average over the sample",
               "tonic.functional.identify_hot_pixel + drop_pixel_numpy / tonic.transforms.DropPixel",
               (Arg("hot_pixel_frequency", "number", "Hz", required=False, min=0, min_exclusive=True),
                Arg("coordinates", "pixels", "[[x, y], ...]", required=False)),
               needs_one_of=("hot_pixel_frequency", "coordinates")),
    FilterSpec("crop_time", "keep the events with min_time <= t <= max_time", "tonic.transforms.CropTime",
               (Arg("min_time", "int", "µs", required=False, default=0),
                Arg("max_time", "int", "µs", required=False, default=None))),
    FilterSpec("decimate", "keep every n-th event of each pixel", "tonic.functional.decimate_numpy / "
               "tonic.transforms.Decimation", (Arg("n", "int", "events", min=1),)),
    FilterSpec("time_skew", "t = int(t * coefficient + offset)", "tonic.functional.time_skew_numpy / "
               "tonic.transforms.TimeSkew",
               (Arg("coefficient", "number", "", min=0, min_exclusive=True),
                Arg("offset", "number", "µs", required=False, default=0))),
]

#: The filters by name, in the order the docs list them.
SPECS: dict[str, FilterSpec] = {f.name: f for f in _SPEC_LIST}


def check_sensor(sensor_size, error=ParamsError) -> tuple[int, int]:
    try:
        ok = len(sensor_size) == 2 and all(is_int(s) and 1 <= s <= 65536 for s in sensor_size)
    except TypeError:
        ok = False
    if not ok:
        raise error(f"filters: sensor_size must be two integers (H, W) in [1, 65536], got {short(sensor_size)}")
    return int(sensor_size[0]), int(sensor_size[1])


def _crop_time(at: str, name: str, args: dict) -> None:
    if name == "crop_time" and args["max_time"] is not None and args["min_time"] > args["max_time"]:
        raise ParamsError(f"{at}: min_time {args['min_time']} > max_time {args['max_time']} "
                          "would drop every event")


def validate(filters, sensor_size=None, where: str = "filters") -> list[tuple[str, dict]]:
    """Check a whole filter list (as params.yaml writes it) before any work; returns
    ``[(name, arguments with defaults filled in), ...]`` in order.

    Raises :class:`~pipeline.core.errors.ParamsError` with a one-line message naming the entry
    (``filters[i] name``) and the argument: a list that is not a list of one-key mappings,
    an unknown filter, a missing, unknown, mistyped or out-of-range argument. ``None`` is an
    empty list. With ``sensor_size = (H, W)``, pixel coordinates are checked against it.
    """
    sensor = None if sensor_size is None else check_sensor(sensor_size)
    return check_list(filters, SPECS, where, "filter", "[{denoise: {filter_time: 10000}}]", sensor, _crop_time)
