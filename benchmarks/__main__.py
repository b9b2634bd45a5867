"""``python -m benchmarks``: every benchmark, side by side with Tonic and SpikingJelly, in one run.

Prints one table per measurement and the speed targets, and writes them all as JSON
(``benchmarks/results.json``; ``--out``). Times are medians of ``--repeats`` runs.
The full-size corpus (DvsGesture-sized, ~3.5 GB of AEDAT) is simulated on first use and
cached under ``--data``; ``--quick`` uses a small one for a smoke run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from pipeline.core.atomic import check_target, write_text
from pipeline.core.errors import OutputPathError

HERE = Path(__file__).resolve().parent
FILTER_SECTIONS = ("filters_denoise", "filters_refractory_period", "filters_decimate", "filters_drop_pixel",
                   "filters_crop_time", "filters_time_skew")
GPU_SECTIONS = ("gpu_plif", "gpu_step", "gpu_loader", "gpu_epoch")     # benchmarks/gpu.py
REPRESENTATION_SECTIONS = ("representations_time_bins", "representations_event_bins",   # representations.py
                           "representations_voxel_grid", "representations_binarep")
SECTIONS = ("aedat_read", "integration_number", "integration_time", *REPRESENTATION_SECTIONS, "frames_stage",
            "loading", "plif_layer", "training_step", "augment", *FILTER_SECTIONS, *GPU_SECTIONS)
GROUPS = {"aedat": ("aedat_read",), "integration": ("integration_number", "integration_time"),
          "representations": REPRESENTATION_SECTIONS,
          "frames": ("frames_stage",), "loading": ("loading",), "plif": ("plif_layer",),
          "training": ("training_step",), "augment": ("augment",), "filters": FILTER_SECTIONS, "gpu": GPU_SECTIONS}


def parse(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(HERE / "results.json"),
                    help="JSON results, a file (default: %(default)s); checked before anything runs")
    ap.add_argument("--repeats", type=int, default=5, help="timed repeats per measurement; medians are reported")
    ap.add_argument("--data", type=Path, default=HERE / ".data", help="cache of the generated corpus")
    ap.add_argument("--quick", action="store_true", help="small inputs everywhere: a smoke run")
    ap.add_argument("--steps", type=int, default=3, help="timed training steps (after one untimed)")
    ap.add_argument("--stage-repeats", type=int, default=0,
                    help="runs of the frames stage per worker count (default: --repeats)")
    ap.add_argument("--workers", type=int, default=0, help="the frames stage's 'all workers' (default: all cores)")
    ap.add_argument("--load-samples", type=int, default=0, help="samples read in 4. (default 320, quick 16)")
    ap.add_argument("--loader-workers", type=int, default=0, help="DataLoader workers in 4.")
    ap.add_argument("--peer-budget", type=float, default=60.0,
                    help="stop repeating a peer's measurement after this many seconds (at least one run)")
    ap.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                    help="on a shared machine: before each measurement wait (at most this long) until other "
                         "processes leave the CPUs idle")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                    help="where the 'gpu' group (6a-6d: PLIF backends, training step fp32/bf16, loader vs step, "
                         "epoch) runs; the other sections always measure the CPU (default: %(default)s)")
    ap.add_argument("--full", action="store_true",
                    help="--device cpu: also time the paper network (~30 s a step, ~14 GB) and bf16 autocast")
    ap.add_argument("--triton-sweep", action="store_true",
                    help="--device cuda: also time the Triton PLIF kernels at other block sizes and warp counts")
    ap.add_argument("--compile", action="store_true",
                    help="--device cuda: also time the PLIF backend 'compile' (torch.compile: ~30 s per layer shape)")
    ap.add_argument("--only", default="", help=f"comma-separated groups to run: {','.join(GROUPS)} (default: all)")
    args = ap.parse_args(argv)
    try:                     # a FIFO, a device, a folder, '': refused now, not after the whole run
        args.out = check_target(args.out, "file", "--out")
    except OutputPathError as e:
        print(f"python -m benchmarks: error: {e}", file=sys.stderr)
        raise SystemExit(1) from None
    if not args.load_samples:
        args.load_samples = 16 if args.quick else 320
    if args.only:
        bad = set(args.only.split(",")) - set(GROUPS)
        if bad:
            ap.error(f"--only: unknown group(s) {sorted(bad)}; choose from {list(GROUPS)}")
    if args.device == "cuda":
        import torch
        if not torch.cuda.is_available():
            print(f"python -m benchmarks: error: --device cuda: no CUDA device here (torch {torch.__version__}, "
                  f"built for CUDA {torch.version.cuda})", file=sys.stderr)
            raise SystemExit(2)
    return args


def main(argv=None) -> int:
    args = parse(argv)
    from . import aedat_read, augment, filters, frames_stage, gpu, integration, loading, representations, training
    from .common import machine, machine_busy_s, own_cpu_s, table, wait_quiet
    from .corpus import demo_recording, ensure_corpus
    from .peers import load_all

    wanted = {s for g in (args.only.split(",") if args.only else GROUPS) for s in GROUPS[g]}
    args.data.mkdir(parents=True, exist_ok=True)
    started = time.time()
    peers = load_all()
    results = {"command": " ".join(["python -m benchmarks", *(argv if argv is not None else sys.argv[1:])]),
               "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine(),
               "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
               "peers": {k: p.as_dict() for k, p in peers.items()}, "sections": {}}
    for name, p in peers.items():
        state = f"{p.version}" if p.available else f"NOT AVAILABLE: {p.error}"
        print(f"peer {name}: {state}" + "".join(f"\n  note: {n}" for n in p.notes), flush=True)
    m = results["machine"]
    m["device"] = args.device
    if args.device == "cuda":
        import torch
        m["gpu"], m["cuda"] = torch.cuda.get_device_name(), torch.version.cuda
        print(f"device: cuda, {m['gpu']}, CUDA {m['cuda']}", flush=True)
    print(f"machine: {m['cpu_model']}, {m['cores']} cores, torch {m['torch']} ({m['torch_threads']} threads), "
          f"numba {m['numba']}, numpy {m['numpy']}, h5py {m['h5py']}", flush=True)

    failed = False
    with tempfile.TemporaryDirectory(prefix="bench-", dir=args.data) as tmp:
        args.tmp = tmp
        state = {}

        def recording_events():
            if "events" not in state:
                folder = Path(tmp) / "recording"
                folder.mkdir()
                state["events"] = demo_recording(folder, args.quick)[1]
            return state["events"]

        def corpus():
            if "corpus" not in state:
                state["corpus"] = ensure_corpus(args.data, args.quick)
            return state["corpus"]

        jobs = [
            (("aedat_read",), lambda: [("aedat_read", aedat_read.run(args, peers))]),
            (("integration_number", "integration_time"), lambda: integration.run(args, peers, recording_events())),
            (REPRESENTATION_SECTIONS, lambda: representations.run(args, peers, recording_events())),
            (("frames_stage",), lambda: [("frames_stage", frames_stage.run(args, peers, corpus()))]),
            (("loading",), lambda: [("loading", loading.run(args, peers, corpus()))]),
            (("plif_layer",), lambda: [("plif_layer", training.run_plif(args, peers))]),
            (("training_step",), lambda: [("training_step", training.run_step(args))]),
            (("augment",), lambda: [("augment", augment.run(args))]),
            (FILTER_SECTIONS, lambda: filters.run(args, peers, recording_events())),
            (("gpu_plif",), lambda: [("gpu_plif", gpu.run_plif(args, peers, state))]),
            (("gpu_step",), lambda: [("gpu_step", gpu.run_step(args, state))]),
            (("gpu_loader",), lambda: [("gpu_loader", gpu.run_loader(args, state))]),
            (("gpu_epoch",), lambda: [("gpu_epoch", gpu.run_epoch(args, state))]),
        ]
        for keys, job in jobs:
            if not wanted & set(keys):
                for k in keys:
                    results["sections"][k] = {"skipped": "not selected (--only)"}
                continue
            if args.wait_quiet:
                wait_quiet(args.wait_quiet)
            t0 = time.time()
            load0 = os.getloadavg() if hasattr(os, "getloadavg") else None
            busy0, own0 = machine_busy_s(), own_cpu_s()
            try:
                produced = job()
            except Exception as e:  # noqa: BLE001 - one failing measurement must not lose the others
                failed = True
                tb = traceback.format_exc()
                print(f"== {', '.join(keys)}: FAILED: {type(e).__name__}: {e}\n{tb}", file=sys.stderr, flush=True)
                for k in keys:
                    results["sections"][k] = {"error": f"{type(e).__name__}: {e}", "traceback": tb}
                continue
            for k, sec in produced:
                d = sec.as_dict()
                d["seconds"] = time.time() - t0
                d["load_average_before"] = list(load0) if load0 else None
                if busy0 is not None:   # CPU time other processes took while this section ran
                    d["other_processes_cpu_s"] = max(0.0, machine_busy_s() - busy0 - (own_cpu_s() - own0))
                results["sections"][k] = d
                print("\n" + table(sec), flush=True)
            _write(args.out, results)

    gpu_seconds = [results["sections"][k].get("seconds") for k in GPU_SECTIONS]
    if args.device == "cuda" and all(gpu_seconds):
        from .common import Target
        results["sections"]["gpu_epoch"].setdefault("targets", []).append(Target(
            "device group 6a-6d, wall time", sum(gpu_seconds), gpu.GPU_BUDGET_S, "<", "s",
            "on an H200-class GPU").as_dict())
    targets = [dict(t, section=k) for k, s in results["sections"].items() for t in s.get("targets", [])]
    if args.quick:
        for t in targets:
            t["note"] = (t["note"] + " (quick run: the targets are for the full-size run)").strip()
    results["targets"] = targets
    results["machine"]["load_average_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    results["seconds"] = time.time() - started
    _write(args.out, results)
    print("\n== Targets")
    for t in targets:
        mark = {True: "MET    ", False: "NOT MET", None: "n/a    "}[t["met"]]
        val = "-" if t["value"] is None else f"{t['value']:.3g}"
        print(f"   [{mark}] {t['name']}: {val} {t['op']} {t['threshold']:g} {t['unit']} {t['note']}".rstrip())
    print(f"\nwrote {args.out} ({results['seconds']:.0f} s)")
    return 1 if failed else 0


def _write(path: Path, results: dict) -> None:
    write_text(path, json.dumps(results, indent=1, default=str) + "\n")


if __name__ == "__main__":
    sys.exit(main())
