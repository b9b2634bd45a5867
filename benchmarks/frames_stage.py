"""3. The whole frames stage (``pipeline.frames.driver.write_split``, both splits) on the corpus.

Each run is a fresh process (``python -m benchmarks.frames_stage --child ...``), as
``dvc repro`` would start one, so its memory is its own: the parent samples the memory of
that process and its workers (psutil: the sum of PSS, i.e. shared pages counted once, and
the sum of RSS) and the child adds ``getrusage`` peaks. Outputs must be byte-identical
whatever the worker count; that is checked.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .common import Section, Target, Timing, machine_busy_s, own_cpu_s, row, wait_quiet

T, SPLIT_BY, SENSOR, DOWNSAMPLE = 20, "number", (128, 128), 1
TARGET_S, TARGET_SPEEDUP, TARGET_MEMORY = 60.0, 1.7, 1.5e9


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def child(cfg: dict) -> dict:
    """In the fresh process: both splits through ``write_split``; timings, sizes, hashes."""
    from pipeline.params import DemoParams
    from pipeline.datasets import DEMO
    from pipeline.frames.driver import FrameJob, write_split
    from pipeline.frames.families.trials import TrialsFamily

    from .corpus import Corpus

    corpus = Corpus(Path(cfg["root"]), DemoParams(**cfg["params"]), cfg["samples"])
    spec = FrameJob(TrialsFamily(DEMO, corpus.root), T, SPLIT_BY, SENSOR, DOWNSAMPLE)
    out_dir = Path(cfg["out"])
    started = time.perf_counter()
    splits = corpus.splits()
    result = {"splits": {}}
    for name, recordings in splits.items():
        s = write_split(recordings, spec, out_dir / f"{name}.h5", {"dataset": "bench", "split": name},
                        workers=cfg["workers"])
        result["splits"][name] = {"samples": s.samples, "events": s.events, "seconds": s.seconds}
    result["wall_s"] = time.perf_counter() - started
    result["samples"] = sum(s["samples"] for s in result["splits"].values())
    result["events"] = sum(s["events"] for s in result["splits"].values())
    result["bytes"] = {n: (out_dir / f"{n}.h5").stat().st_size for n in splits}
    result["sha256"] = {n: _sha256(out_dir / f"{n}.h5") for n in splits}
    result["ru_maxrss_self_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result["ru_maxrss_children_bytes"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return result


class TreeMemory:
    """Samples the memory of a process and all its descendants in a thread (needs psutil).

    RSS (cheap to read) every ``interval`` seconds; PSS (shared pages counted once, read from
    smaps: milliseconds per process) and the list of descendants every ``pss_every`` samples,
    so that the sampling itself takes little of the CPUs the run needs.
    """

    def __init__(self, pid: int, interval: float = 0.1, pss_every: int = 5):
        import psutil

        self.psutil, self.pid, self.interval, self.pss_every = psutil, pid, interval, pss_every
        self.peak_rss = self.peak_pss = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        ps = self.psutil
        try:
            root = ps.Process(self.pid)
        except ps.Error:
            return
        procs = [root]
        while not self._stop.is_set():
            full = self.samples % self.pss_every == 0
            if full:
                try:
                    procs = [root, *root.children(recursive=True)]
                except ps.Error:
                    break
            rss = pss = 0
            for p in procs:
                try:
                    if full:
                        m = p.memory_full_info()
                        pss += getattr(m, "pss", m.rss)
                    else:
                        m = p.memory_info()
                    rss += m.rss
                except ps.Error:
                    continue
            self.peak_rss = max(self.peak_rss, rss)
            if full:
                self.peak_pss = max(self.peak_pss, pss)
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _one_run(corpus, workers: int, out: Path) -> dict:
    cfg = {"root": str(corpus.root), "params": corpus.params.model_dump(), "samples": corpus.samples,
           "workers": workers, "out": str(out)}
    cmd = [sys.executable, "-m", "benchmarks.frames_stage", "--child", json.dumps(cfg)]
    cwd = Path(__file__).resolve().parent.parent
    busy0, own0 = machine_busy_s(), own_cpu_s()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        monitor = TreeMemory(proc.pid)
    except ImportError:
        monitor = None
    if monitor is not None:
        with monitor:
            stdout, stderr = proc.communicate()
    else:
        stdout, stderr = proc.communicate()
    process_s = time.perf_counter() - started
    busy1, own1 = machine_busy_s(), own_cpu_s()
    if proc.returncode != 0:
        raise RuntimeError(f"frames stage run (workers={workers}) failed:\n{stderr[-3000:]}")
    res = json.loads(stdout.strip().splitlines()[-1])
    res["process_wall_s"] = process_s
    res["cpu_s"] = own1 - own0                 # the run's processes (and the memory sampler)
    if busy0 is not None:
        res["other_processes_cpu_s"] = max(0.0, (busy1 - busy0) - (own1 - own0))
    if monitor is not None:
        res["peak_tree_pss_bytes"] = monitor.peak_pss
        res["peak_tree_rss_bytes"] = monitor.peak_rss
        res["memory_samples"] = monitor.samples
    return res


def run(args, peers, corpus) -> Section:
    sec = Section(f"3. Frames stage: corpus -> T={T} frames ({SPLIT_BY}, {SENSOR[0]}x{SENSOR[1]}) -> HDF5, both splits")
    all_workers = args.workers or os.cpu_count() or 1
    configs = sorted({1, all_workers})
    runs: dict[int, list[dict]] = {w: [] for w in configs}
    repeats = args.stage_repeats or args.repeats
    out_root = Path(tempfile.mkdtemp(prefix="frames-", dir=args.tmp))
    try:
        for i in range(repeats):
            for w in configs:            # alternate, so that drifts in machine load hit both alike
                if args.wait_quiet:
                    wait_quiet(args.wait_quiet)
                out = out_root / f"w{w}-r{i}"
                runs[w].append(_one_run(corpus, w, out))
                shutil.rmtree(out, ignore_errors=True)
    finally:
        shutil.rmtree(out_root, ignore_errors=True)
    first = runs[configs[0]][0]
    sec.inputs = {**corpus.describe(), "samples": first["samples"], "events": first["events"],
                  "events_per_sample": round(first["events"] / max(first["samples"], 1)),
                  "hdf5_bytes": sum(first["bytes"].values())}
    medians = {}
    for w in configs:
        rs = runs[w]
        timing = Timing([r["wall_s"] for r in rs])
        medians[w] = timing.median
        pss = [r["peak_tree_pss_bytes"] for r in rs if "peak_tree_pss_bytes" in r]
        rss = [r["peak_tree_rss_bytes"] for r in rs if "peak_tree_rss_bytes" in r]
        ru_self = max(r["ru_maxrss_self_bytes"] for r in rs)
        ru_children = max(r["ru_maxrss_children_bytes"] for r in rs)
        mem = {"peak_tree_pss_bytes": max(pss) if pss else None, "peak_tree_rss_bytes": max(rss) if rss else None,
               "ru_maxrss_self_bytes": ru_self, "ru_maxrss_largest_child_bytes": ru_children,
               "process_wall_s_median": statistics.median(r["process_wall_s"] for r in rs)}
        cpu = statistics.median(r["cpu_s"] for r in rs)
        others = [r.get("other_processes_cpu_s") for r in rs if r.get("other_processes_cpu_s") is not None]
        note = (f"peak memory: tree PSS {mem['peak_tree_pss_bytes'] / 1e9:.2f} GB, RSS sum "
                f"{mem['peak_tree_rss_bytes'] / 1e9:.2f} GB" if pss else
                f"peak memory (getrusage): parent {ru_self / 1e9:.2f} GB, largest worker {ru_children / 1e9:.2f} GB")
        note += f"; CPU {cpu:.1f} s"
        if others:
            note += f"; other processes used {max(others):.1f} CPU-s during a run"
        sec.rows.append(row(f"ours write_split, {w} worker{'s' if w > 1 else ''}", timing,
                            items=first["events"], note=note, workers=w, memory=mem, cpu_s_median=cpu,
                            other_processes_cpu_s=others, samples_per_s=first["samples"] / timing.median))
    hashes = {json.dumps(r["sha256"], sort_keys=True) for rs in runs.values() for r in rs}
    sec.checks["HDF5 files byte-identical across runs and worker counts"] = len(hashes) == 1
    assert len(hashes) == 1, "frames files differ between runs"
    top = max(configs)
    speedup = medians[1] / medians[top]
    sec.rows[-1]["speedup_vs_1_worker"] = speedup
    top_row = sec.rows[-1]
    memory = top_row["memory"]["peak_tree_pss_bytes"]
    if memory is None:       # no psutil: parent + every worker at the largest worker's peak (an upper bound)
        memory = top_row["memory"]["ru_maxrss_self_bytes"] + top * top_row["memory"]["ru_maxrss_largest_child_bytes"]
    sec.targets += [
        Target(f"wall time with {top} workers", medians[top], TARGET_S, "<", "s"),
        Target(f"speed-up {top} workers vs 1", speedup, TARGET_SPEEDUP, ">=", "x"),
        Target(f"peak memory with {top} workers (process tree)", memory / 1e9, TARGET_MEMORY / 1e9, "<", "GB"),
    ]
    return sec


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--child", required=True, help="JSON config (internal)")
    a = ap.parse_args(argv)
    print(json.dumps(child(json.loads(a.child))))


if __name__ == "__main__":
    main()
