"""1. Reading an AEDAT 3.1 recording: ours (``read_aedat3``) vs SpikingJelly's ``load_aedat_v3``."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile

import numpy as np

from pipeline.io.aedat3 import read_aedat3

from .common import Section, Target, measure, row, skipped
from .corpus import demo_recording

TARGET_EVENTS_PER_S = 100e6

_COLD = """
import json, sys, time
t0 = time.perf_counter()
from pipeline.io.aedat3 import read_aedat3
t1 = time.perf_counter()
read_aedat3(sys.argv[1])
t2 = time.perf_counter()
read_aedat3(sys.argv[1])
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "first_call_s": t2 - t1, "second_call_s": t3 - t2}))
"""


def cold_start(path) -> dict:
    """The first call in a fresh process: it pays Numba's one-off runtime start (loading the
    cached kernels and its typing context), whichever Numba function comes first."""
    out = subprocess.run([sys.executable, "-c", _COLD, str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(args, peers) -> Section:
    sec = Section("1. AEDAT 3.1 reading (events/s, single thread)")
    sj = peers["spikingjelly"]
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        path, events = demo_recording(tmp, quick=args.quick)
        size = path.stat().st_size
        n = events.size
        sec.inputs = {"file": path.name, "events": n, "bytes": size, "packets_of": 4096}
        t, ours = measure(lambda: read_aedat3(path), args.repeats)
        sec.rows.append(row("ours read_aedat3", t, items=n))
        assert np.array_equal(ours, events), "read_aedat3 does not give back the events written"
        sec.checks["ours == events written"] = True
        cold = cold_start(path)
        sec.rows.append(row("ours read_aedat3, 1st call in a new process", None,
                            note=f"{cold['first_call_s'] * 1e3:.0f} ms (then {cold['second_call_s'] * 1e3:.0f} ms): "
                                 "Numba's one-off start per process", cold_start=cold))
        load = sj.get("load_aedat_v3")
        if load is None:
            sec.rows.append(skipped("spikingjelly load_aedat_v3", sj.missing("load_aedat_v3")))
        else:
            t, d = measure(lambda: load(str(path)), args.repeats, warmup=0, budget_s=args.peer_budget)
            sec.rows.append(row("spikingjelly load_aedat_v3", t, items=n, note="pure Python"))
            same = all(np.array_equal(np.asarray(d[k]).astype(np.int64), ours[k].astype(np.int64))
                       for k in ("t", "x", "y", "p"))
            assert same, "SpikingJelly's load_aedat_v3 and read_aedat3 disagree"
            sec.checks["spikingjelly == ours (t, x, y, p)"] = same
    rate = sec.rows[0]["rate_per_s"]
    sec.targets.append(Target("AEDAT 3.1 read", rate / 1e6, TARGET_EVENTS_PER_S / 1e6, ">=", "M events/s"))
    return sec
