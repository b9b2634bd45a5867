"""Timing, machine description, rows and targets shared by the benchmark modules."""

from __future__ import annotations

import gc
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field


@dataclass
class Timing:
    """Wall times of the repeats of one measurement (seconds)."""

    times: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def as_dict(self) -> dict:
        return {"median_s": self.median, "min_s": min(self.times), "max_s": max(self.times),
                "repeats": len(self.times), "times_s": self.times}


def measure(fn, repeats: int, *, warmup: int = 1, budget_s: float | None = None, setup=None,
            collect: bool = True) -> tuple[Timing, object]:
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` times timed; returns (timing, last result).

    ``setup`` (untimed) runs before every call and its result is passed to ``fn``. With
    ``budget_s``, stop repeating once that much time was spent (at least one timed run): for
    peers that take seconds per call. ``collect``: a ``gc.collect()`` before each timed call
    (so no collection falls inside it); it walks every object of the process, which also
    leaves a kernel's input out of the caches: False times a call with its input in cache.
    """
    result = None
    for _ in range(warmup):
        result = fn(setup()) if setup else fn()
    times = []
    spent = 0.0
    for _ in range(max(1, repeats)):
        arg = setup() if setup else None
        if collect:
            gc.collect()
        t = time.perf_counter()
        result = fn(arg) if setup else fn()
        dt = time.perf_counter() - t
        times.append(dt)
        spent += dt
        if budget_s is not None and spent >= budget_s:
            break
    return Timing(times), result


def measure_interleaved(fns: dict, repeats: int, *, warmup: int = 1) -> dict:
    """Time several functions in turns (a, b, c, a, b, c, ...), so that changes in the
    machine's load during the run hit them alike; returns ``{name: (timing, last result)}``."""
    results = {}
    for _ in range(warmup):
        for name, fn in fns.items():
            results[name] = fn()
    times = {name: [] for name in fns}
    for _ in range(max(1, repeats)):
        for name, fn in fns.items():
            results[name] = None                 # let the previous result go before timing
            gc.collect()
            t = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - t)
    return {name: (Timing(times[name]), results[name]) for name in fns}


def machine_busy_s() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (all processes, all cores)."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None


def own_cpu_s() -> float:
    """CPU seconds of this process and of its children that ended (and theirs)."""
    import resource
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def wait_quiet(max_s: float, log=print) -> float | None:
    """Wait (at most ``max_s``) until other processes leave the CPUs idle for a second;
    returns the CPU seconds others used in the last second seen (None: cannot tell)."""
    deadline = time.time() + max_s
    first = True
    while True:
        b0, o0 = machine_busy_s(), own_cpu_s()
        if b0 is None:
            return None
        time.sleep(1.0)
        others = machine_busy_s() - b0 - (own_cpu_s() - o0)
        if others < 0.1 or time.time() >= deadline:
            return others
        if first:
            log(f"   (waiting for other processes to leave the CPUs: {others:.1f} CPU-s/s busy)")
            first = False


def row(name: str, timing: Timing | None = None, *, items: float | None = None, unit: str = "events",
        note: str = "", **extra) -> dict:
    """One line of a section's table: ``items`` processed per call gives the rate ``items / median``."""
    r = {"name": name, "note": note}
    if timing is not None:
        r.update(timing.as_dict())
        if items is not None:
            r["items"] = items
            r["unit"] = unit
            r["rate_per_s"] = items / timing.median
    r.update(extra)
    return r


def skipped(name: str, reason: str) -> dict:
    return {"name": name, "skipped": reason, "note": ""}


@dataclass
class Target:
    name: str
    value: float | None
    threshold: float
    op: str = ">="            # ">=" or "<"
    unit: str = ""
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        return self.value >= self.threshold if self.op == ">=" else self.value < self.threshold

    def as_dict(self) -> dict:
        return {"name": self.name, "value": self.value, "op": self.op, "threshold": self.threshold,
                "unit": self.unit, "met": self.met, "note": self.note}


@dataclass
class Section:
    """What one benchmark module reports."""

    title: str
    rows: list[dict] = field(default_factory=list)
    inputs: dict = field(default_factory=dict)
    checks: dict = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"title": self.title, "inputs": self.inputs, "rows": self.rows, "checks": self.checks,
                "targets": [t.as_dict() for t in self.targets], "notes": self.notes}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _mem_total() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def installed_version(dist: str) -> str | None:
    """The installed version of distribution ``dist``, None when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def machine() -> dict:
    import numba
    import numpy
    import torch

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "memory_bytes": _mem_total(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "numba": numba.__version__,
        "numba_threading_layer_config": numba.config.THREADING_LAYER,
        "numpy": numpy.__version__,
        "h5py": installed_version("h5py"),
        "tonic": installed_version("tonic"),
        "spikingjelly": installed_version("spikingjelly"),
        "load_average_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def fmt_rate(r: float | None, unit: str = "") -> str:
    if r is None:
        return "-"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if r >= scale:
            return f"{r / scale:.1f} {suffix} {unit}/s".replace("  ", " ")
    return f"{r:.2f} {unit}/s"


def fmt_time(s: float | None) -> str:
    if s is None:
        return "-"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.0f} us"


def fmt_bytes(b: float | None) -> str:
    if b is None:
        return "-"
    for scale, suffix in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if b >= scale:
            return f"{b / scale:.2f} {suffix}"
    return f"{b:.0f} B"


def table(section: Section) -> str:
    """The section as aligned text; ``xN`` compares each peer row with the first row of ours."""
    lines = [f"== {section.title}"]
    if section.inputs:
        lines.append("   inputs: " + ", ".join(f"{k}={v}" for k, v in section.inputs.items()))
    ours = next((r.get("rate_per_s") for r in section.rows
                 if r.get("rate_per_s") and r["name"].startswith("ours")), None)
    name_w = max([len(r["name"]) for r in section.rows] + [10])
    for r in section.rows:
        if "skipped" in r:
            lines.append(f"   {r['name']:<{name_w}}  skipped: {r['skipped']}")
            continue
        rate = r.get("rate_per_s")
        rel = ""
        if ours and rate and not r["name"].startswith("ours"):
            rel = f"(ours {ours / rate:.1f}x)"
        rate_s = fmt_rate(rate, r.get("unit", "")) if rate else ""
        lines.append(f"   {r['name']:<{name_w}}  {fmt_time(r.get('median_s')):>9}  {rate_s:>22}  "
                     f"{rel:<16} {r.get('note', '')}".rstrip())
    for k, v in section.checks.items():
        lines.append(f"   check {k}: {v}")
    for n in section.notes:
        lines.append(f"   note: {n}")
    for t in section.targets:
        mark = {True: "MET", False: "NOT MET", None: "n/a"}[t.met]
        val = "-" if t.value is None else f"{t.value:.3g}"
        lines.append(f"   target {t.name}: {val} {t.op} {t.threshold:g} {t.unit}  [{mark}] {t.note}".rstrip())
    return "\n".join(lines)
