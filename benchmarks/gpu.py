"""6. On the training device (``--device cpu`` or ``cuda``): the PLIF backends, the paper's
training step in fp32 and bf16, the loader against it, and a DVS128 Gesture epoch.

- ``gpu_plif``: one PLIF layer, forward + backward on ``(T, B, C, H, W)`` (20, 16, 128, 32, 32)
  float32, for each of our backends (``pipeline.model.neuron.BACKENDS``: ``eager``, ``numba``
  (on CUDA: the fused module's torch-ops path), ``compile``; its one-off compile time is a
  line of its own) and SpikingJelly's multi-step ``ParametricLIFNode`` with each of its
  implementations that can run here (SpikingJelly < 2: ``backend='torch'`` / ``'cupy'``;
  SpikingJelly 2: CPU ops on CPU, ``torch`` / ``triton`` / ``cuda`` (native, the successor of
  the cupy kernels) on CUDA); ratios of ours against SpikingJelly's fastest.
- ``gpu_step``: the paper's DVS128 Gesture network (``SpikingConvNet``: channels 128, 5 blocks,
  hidden 512) as training builds it (``pipeline.train.prepare_model``), T = 20, batch 16:
  forward (autocast), MSE-on-rates loss, backward, Adam; fp32 and bf16 autocast, with peak
  GPU memory. On CPU the paper network (~30 s a step, ~14 GB) and bf16 need ``--full``;
  without it a reduced network of the same layout (16 channels) is timed instead.
- ``gpu_loader``: ``H5Frames`` through the DataLoader that ``pipeline.train.train_loader``
  builds (pinned memory on CUDA), each batch moved to the device and cast to float32 there,
  over a frames file generated here; compared with the step's samples/s (does it keep up?).
- ``gpu_epoch``: one training epoch of DVS128 Gesture size (1,176 samples, 74 batches of 16)
  on CUDA: timed on the real frames (``data/frames/train.h5``) when they are there, else
  estimated from the measured step and loader (the output says which).
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import resource
import time
from pathlib import Path

import numpy as np
import torch

from .common import Section, Timing, measure, measure_interleaved, row, skipped
from .training import plif_call, plif_inputs, plif_shape

SECTIONS = ("gpu_plif", "gpu_step", "gpu_loader", "gpu_epoch")
EPOCH_SAMPLES = 1176          # DVS128 Gesture's training set (ddp_step.py uses the same)
CLASSES = 11
REAL_FRAMES = Path("data/frames/train.h5")
CPU_ONLY_REASON = "CUDA only: --device cpu"


def device_of(args) -> torch.device:
    return torch.device(args.device)


def _sync(dev: torch.device):
    return torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)


def _short(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}".strip().splitlines()[0][:240]


# --- 6a. the PLIF layer ---------------------------------------------------------------------


def _sj_variants(sj, dev: torch.device) -> tuple[dict, dict]:
    """SpikingJelly's ParametricLIFNode implementations to time here: ``({label: (make_node,
    before_call)}, {label: reason skipped})``."""
    import inspect

    cls, sur = sj.get("ParametricLIFNode"), sj.get("ATan")
    if cls is None or sur is None:
        return {}, {"spikingjelly ParametricLIFNode": sj.missing("ParametricLIFNode")}
    kw = {"init_tau": 2.0, "v_threshold": 1.0, "v_reset": 0.0, "detach_reset": True, "step_mode": "m"}
    variants, skips = {}, {}
    if "backend" in inspect.signature(cls.__init__).parameters:        # SpikingJelly < 2: torch / cupy
        def make(backend):
            return lambda: cls(**kw, surrogate_function=sur(), backend=backend).to(dev)
        variants["spikingjelly ParametricLIFNode torch"] = (make("torch"), None)
        if dev.type != "cuda":
            skips["spikingjelly ParametricLIFNode cupy"] = f"needs CUDA ({CPU_ONLY_REASON})"
        else:
            try:
                import cupy  # noqa: F401
                variants["spikingjelly ParametricLIFNode cupy"] = (make("cupy"), None)
            except Exception as e:  # noqa: BLE001
                skips["spikingjelly ParametricLIFNode cupy"] = f"cupy not importable ({_short(e)})"
        return variants, skips

    # SpikingJelly 2: no backend argument; CPU ops on CPU, and on CUDA the implementation that
    # SJ_PLIF_CUDA_IMPLEMENTATION (read at import) picks: cuda (native), triton or torch
    def make():
        return cls(**kw, surrogate_function=sur()).to(dev)
    if dev.type != "cuda":
        variants["spikingjelly ParametricLIFNode torch (CPU ops)"] = (make, None)
        for impl in ("cuda", "triton"):
            skips[f"spikingjelly ParametricLIFNode {impl}"] = f"needs CUDA ({CPU_ONLY_REASON})"
        skips["spikingjelly ParametricLIFNode cupy"] = ("SpikingJelly 2 has no cupy backend (its CUDA kernels: "
                                                        "'cuda' native and 'triton')")
        return variants, skips
    try:
        from spikingjelly._ops import plif as sj_plif
        selection = sj_plif._selection
    except Exception as e:  # noqa: BLE001
        return {"spikingjelly ParametricLIFNode (default implementation)": (make, None)}, {
            "spikingjelly ParametricLIFNode torch/triton/cuda": f"cannot choose the implementation ({_short(e)})"}

    def choose(impl):
        def before():
            if selection._requested != impl:
                selection._requested = impl
                selection._selections.clear()
                selection._compiled_selections.clear()
        return before
    for impl in ("torch", "triton", "cuda"):
        variants[f"spikingjelly ParametricLIFNode {impl}"] = (make, choose(impl))
    skips["spikingjelly ParametricLIFNode cupy"] = ("SpikingJelly 2 has no cupy backend (its CUDA kernels: "
                                                    "'cuda' native, measured, and 'triton')")
    return variants, skips


def run_plif(args, peers) -> Section:
    from pipeline.model.neuron import BACKENDS, plif_forward, resolve_backend

    dev = device_of(args)
    sync = _sync(dev)
    shape = plif_shape(args.quick)
    sec = Section(f"6a. PLIF layer on {dev.type}, forward + backward, (T, B, C, H, W) = {shape}, float32: "
                  f"our backends vs SpikingJelly ParametricLIFNode")
    x0, grad = plif_inputs(args.quick, dev)
    n = x0.numel()
    sec.inputs = {"device": str(dev), "shape": "x".join(map(str, shape)), "elements": n,
                  "torch_threads": torch.get_num_threads(), "tau0": 2.0, "v_th": 1.0, "alpha": 2.0}
    if dev.type == "cuda":
        sec.inputs["gpu"] = torch.cuda.get_device_name(dev)

    caller = functools.partial(plif_call, x0, grad, sync=sync)

    fns, notes, skips = {}, {}, {}
    compile_row = None
    for b in BACKENDS:
        name = f"ours {b}"
        try:
            resolved = resolve_backend(b, dev)
        except Exception as e:  # noqa: BLE001
            skips[name] = f"not available on {dev.type}: {_short(e)}"
            continue
        w = torch.nn.Parameter(torch.tensor(0.0, device=dev))
        fn = caller(lambda x, w=w, b=b: plif_forward(x, w, 1.0, 2.0, True, backend=b), [w])
        notes[name] = f"runs {resolved!r}" if resolved != b else ""
        if b == "numba" and dev.type == "cuda":
            notes[name] = (notes[name] + "; " if notes[name] else "") + "on CUDA: the fused module's torch-ops path"
        if b == "compile" and args.quick and dev.type == "cpu":
            skips[name] = ("quick run on CPU: torch.compile's one-off compile takes ~15 s here "
                           "(C++ codegen); run without --quick")
            continue
        if b == "compile":
            with contextlib.suppress(Exception):
                torch._dynamo.reset()               # a fresh compile, whatever ran before in this process
            try:
                t = time.perf_counter()
                fn()
                first = time.perf_counter() - t
            except Exception as e:  # noqa: BLE001 - e.g. no C++ compiler for inductor on CPU
                skips[name] = f"torch.compile failed here: {_short(e)}"
                continue
            compile_row = (first, fn)
        fns[name] = fn
    sj_variants, sj_skips = _sj_variants(peers["spikingjelly"], dev)
    sj_status = {}
    for label, (make, before) in sj_variants.items():
        try:
            if before is not None:
                before()
            node = make()
            fn = caller(lambda x, node=node: (node.reset(), node(x))[1], [node.w], before)
            fn()                                     # fails here if this implementation cannot run
            if before is not None:
                from spikingjelly._ops import plif as sj_plif
                got = sj_plif._selection.diagnostics(dev)["implementation"]
                want = label.rsplit(" ", 1)[-1]
                if got != want:
                    sj_skips[label] = f"not available here (SpikingJelly chose {got!r})"
                    continue
                sj_status[label] = f"SpikingJelly implementation {got!r}"
            fns[label] = fn
        except Exception as e:  # noqa: BLE001
            sj_skips[label] = f"cannot run here: {_short(e)}"
    measured = measure_interleaved(fns, args.repeats)
    if compile_row is not None:
        steady = measured["ours compile"][0].median
        sec.rows.append(row("ours compile: first call (one-off compile)", Timing([compile_row[0]]),
                            note=f"compile time ~ {compile_row[0] - steady:.2f} s above a steady call",
                            compile_s=compile_row[0] - steady))
    for name, (t, _) in measured.items():
        sec.rows.append(row(name, t, items=n, unit="neuron-steps", note=notes.get(name) or sj_status.get(name, "")))
    for name, reason in {**skips, **sj_skips}.items():
        sec.rows.append(skipped(name, reason))
    sec.notes.append("the implementations run in turns, one call each per repeat" +
                     ("; each call ends with torch.cuda.synchronize()" if dev.type == "cuda" else ""))

    # every backend against eager (the reference): same spikes, gradients to fp32 rounding
    ref = measured.get("ours eager")
    if ref is not None:
        s_r, gx_r, (gw_r,) = ref[1]
        for name, (_, (s, gx, (gw,))) in measured.items():
            if name == "ours eager":
                continue
            same = torch.equal(s, s_r)
            close = torch.allclose(gx, gx_r, rtol=1e-4, atol=1e-5)
            gw_rel = abs((gw - gw_r).item()) / max(abs(gw_r.item()), 1e-30)
            sec.checks[f"{name} vs ours eager"] = (f"spikes {'equal' if same else 'DIFFER'}, "
                                                   f"max |dx| diff {(gx - gx_r).abs().max().item():.1e}, "
                                                   f"w rel. diff {gw_rel:.1e}")
            if name.startswith("ours"):
                assert same and close and gw_rel < 1e-2, f"{name} does not match the eager reference"

    rates = {r["name"]: r["rate_per_s"] for r in sec.rows if r.get("rate_per_s")}
    sj_rates = {k: v for k, v in rates.items() if k.startswith("spikingjelly")}
    if sj_rates:
        best = max(sj_rates, key=sj_rates.get)
        for r in sec.rows:
            if r["name"].startswith("ours") and r.get("rate_per_s"):
                r["vs_spikingjelly_fastest"] = r["rate_per_s"] / sj_rates[best]
                sec.notes.append(f"{r['name']} / {best}: {r['vs_spikingjelly_fastest']:.2f}x")
        sec.inputs["spikingjelly_fastest"] = best
    else:
        sec.notes.append("no SpikingJelly implementation ran here: no ratios")
    return sec


# --- 6b. the training step ------------------------------------------------------------------


def step_config(args) -> dict:
    """The network and input of the step: paper sizes, reduced on CPU without --full, small with --quick."""
    dev = device_of(args)
    if args.quick:
        return {"label": "small (quick)", "T": 4, "batch": 2, "size": (32, 32),
                "model": {"channels": 8, "blocks": 2, "hidden": 32}, "paper": False}
    paper = {"T": 20, "batch": 16, "size": (128, 128), "model": {"channels": 128, "blocks": 5, "hidden": 512}}
    if dev.type == "cuda" or args.full:
        return {"label": "paper DVS128 Gesture", **paper, "paper": True}
    return {"label": "reduced: the paper's layout at 16 channels", **paper,
            "model": {"channels": 16, "blocks": 5, "hidden": 512}, "paper": False}


def _build(cfg, dev):
    from pipeline.distributed import Context
    from pipeline.params import ModelParams, TrainParams
    from pipeline.train import prepare_model

    model, net = prepare_model(ModelParams(**cfg["model"]), TrainParams(), (cfg["T"], 2, *cfg["size"]), CLASSES,
                               Context(device=dev))
    return model, net


def run_step(args, state) -> Section:
    from pipeline.model.neuron import resolve_backend

    dev = device_of(args)
    cfg = step_config(args)
    sec = Section(f"6b. Training step on {dev.type}: SpikingConvNet ({cfg['label']}), T={cfg['T']}, "
                  f"batch {cfg['batch']}, forward + backward + Adam")
    try:
        backend = resolve_backend("auto", dev)
    except Exception as e:  # noqa: BLE001
        backend = f"? ({_short(e)})"
    sec.inputs = {"device": str(dev), "T": cfg["T"], "batch": cfg["batch"], "input": "x".join(map(str, cfg["size"])),
                  **cfg["model"], "plif_backend": backend, "timed_steps": args.repeats,
                  "input_values": "Poisson(0.3) counts, float32 on the device"}
    if not cfg["paper"]:
        sec.rows.append(skipped("ours paper network (channels 128, 5 blocks, hidden 512)",
                                "quick run: a small network instead" if args.quick else
                                "CPU: ~30 s a step and ~14 GB; run with --full to time it"))
    dtypes = [("fp32", None)]
    if dev.type == "cuda" and not torch.cuda.is_bf16_supported():
        sec.rows.append(skipped("ours step bf16 autocast", "this GPU does not support bf16"))
    elif dev.type == "cuda" or args.full:
        dtypes.append(("bf16", torch.bfloat16))
    else:
        sec.rows.append(skipped("ours step bf16 autocast", "CPU: bf16 autocast is slow there and not how training "
                                                         "runs on CPU (amp auto = off); run with --full to time it"))
    g = torch.Generator().manual_seed(0)
    B, T = cfg["batch"], cfg["T"]
    x = torch.poisson(torch.full((B, T, 2, *cfg["size"]), 0.3), generator=g).to(dev)
    y = torch.randint(0, CLASSES, (B,), generator=g).to(dev)
    state["step"] = {"batch": B, "rates": {}, "step_s": {}, "cfg": cfg}
    for label, dtype in dtypes:
        if dev.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(dev)
        t, params = _time_steps(cfg, dev, dtype, x, y, args.repeats)
        extra = {"parameters": params}
        if dev.type == "cuda":
            peak = torch.cuda.max_memory_allocated(dev)
            extra["peak_gpu_bytes"] = peak
            mem = f"peak GPU memory {peak / 2**30:.2f} GiB (max_memory_allocated)"
        else:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            extra["peak_rss_bytes_process"] = peak
            mem = f"process peak RSS so far {peak / 1e9:.1f} GB"
        name = f"ours step {label}" + (" autocast" if dtype is not None else "")
        sec.rows.append(row(name, t, items=B, unit="samples", note=mem, **extra))
        state["step"]["rates"][label] = B / t.median
        state["step"]["step_s"][label] = t.median
    return sec


def _time_steps(cfg, dev, dtype, x, y, repeats) -> tuple[Timing, int]:
    """``repeats`` timed training steps (after one untimed) of a fresh model; (timing, parameter count)."""
    from pipeline.model import loss_fn
    from pipeline.train import autocast

    sync = _sync(dev)
    torch.manual_seed(0)
    model, net = _build(cfg, dev)
    net.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        with autocast(dev, dtype):
            rate = net(x)
        loss = loss_fn(rate.float(), y, CLASSES)
        loss.backward()
        opt.step()
        sync()
        return loss.detach()

    t, _ = measure(step, repeats)
    return t, sum(p.numel() for p in model.parameters())


# --- 6c. the loader ---------------------------------------------------------------------------


def synthetic_frames(path: Path, k: int, T: int, size, seed: int = 0) -> None:
    """``k`` DVS-like samples: Poisson counts around a blob that moves across the sensor, a little noise."""
    from pipeline.store import FrameWriter

    H, W = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    with FrameWriter(path, k, (T, 2, H, W), {"dataset": "bench-synthetic"}) as w:
        for i in range(k):
            cy, cx = rng.uniform(0.25, 0.75, 2) * (H, W)
            vy, vx = rng.normal(0, 0.02, 2) * (H, W)
            sigma = rng.uniform(0.08, 0.15) * min(H, W)
            frames = np.empty((T, 2, H, W), np.float32)
            for t in range(T):
                d2 = (yy - cy - vy * t) ** 2 + (xx - cx - vx * t) ** 2
                lam = 3.0 * np.exp(-d2 / (2 * sigma ** 2)) + 0.01
                frames[t] = rng.poisson(lam, (2, H, W))
            w.write(frames, i % CLASSES, "synthetic", i, int(frames.sum()))


def run_loader(args, state) -> Section:
    from pipeline.data import H5Frames
    from pipeline.distributed import Context
    from pipeline.params import TrainParams
    from pipeline.train import train_loader

    dev = device_of(args)
    sync = _sync(dev)
    step = state.get("step") or {"cfg": step_config(args), "rates": {}, "batch": None}
    cfg = step["cfg"]
    B, T = cfg["batch"], cfg["T"]
    k = max(args.load_samples, 2 * B)
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 1
    workers = sorted({0, args.loader_workers or min(4, usable)})
    sec = Section(f"6c. Loader on {dev.type}: H5Frames through pipeline.train.train_loader (batch {B}), "
                  f"to the device and float32 there, vs the training step")
    h5 = Path(args.tmp) / "gpu-frames.h5"
    t0 = time.perf_counter()
    synthetic_frames(h5, k, T, cfg["size"])
    data = H5Frames(h5)
    sample = data[0][0]
    sec.inputs = {"device": str(dev), "samples": k, "frame_shape": "x".join(map(str, data.frame_shape)),
                  "sample_dtype": str(sample.dtype).replace("torch.", ""), "file_bytes": h5.stat().st_size,
                  "pin_memory": dev.type == "cuda", "workers": workers,
                  "frames": "synthetic (a moving Poisson blob), written by FrameWriter in --data"}
    sec.notes.append(f"frames file generated in {time.perf_counter() - t0:.1f} s (not timed)")

    def epoch(w):
        loader, sampler, _ = train_loader(data, np.arange(k), TrainParams(batch_size=B, workers=w), Context(device=dev))
        sampler.set_epoch(0)

        def run():
            n = 0
            for x, y in loader:
                x = x.to(dev, non_blocking=True).float()
                y = y.to(dev, non_blocking=True)
                n += x.shape[0]
            sync()
            return n
        return run

    measured = measure_interleaved({w: epoch(w) for w in workers}, args.repeats)
    rates = {}
    for w, (t, n) in measured.items():
        assert n == k, f"the loader gave {n} samples, not {k}"
        sec.rows.append(row(f"ours H5Frames + DataLoader, {w} workers", t, items=k, unit="samples"))
        rates[w] = k / t.median
    best_w = max(rates, key=rates.get)
    state["loader"] = {"rate": rates[best_w], "workers": best_w}
    if not step["rates"]:
        sec.notes.append("the training step was not measured in this run: nothing to compare with")
    for label, srate in step["rates"].items():
        for w, lrate in rates.items():
            keeps = lrate >= srate
            sec.checks[f"loader ({w} workers) keeps up with the {label} step ({srate:.3g} samples/s)"] = (
                f"{'yes' if keeps else 'NO'}: {lrate / srate:.2f}x the step's rate")
    if step["rates"] and not cfg["paper"]:
        sec.notes.append(f"the step compared with is the {cfg['label']} network's, not the paper network's")
    if dev.type == "cuda":
        sec.notes.append("training on CUDA may not use this loader at all: train.data_on_device (auto) keeps a "
                         "split on the GPU when it fits")
    return sec


# --- 6d. one DVS128 Gesture epoch -------------------------------------------------------------


def run_epoch(args, state) -> Section:
    dev = device_of(args)
    batches = math.ceil(EPOCH_SAMPLES / 16)
    sec = Section(f"6d. One training epoch of DVS128 Gesture size ({EPOCH_SAMPLES} samples, {batches} batches of 16)")
    sec.inputs = {"device": str(dev), "samples": EPOCH_SAMPLES, "batch": 16}
    if dev.type != "cuda":
        sec.rows.append(skipped("ours epoch", f"{CPU_ONLY_REASON} (on CPU: see benchmarks.ddp_step, hours an epoch)"))
        return sec
    step = state.get("step")
    if not step or not step["rates"]:
        sec.rows.append(skipped("ours epoch", "the training step (6b) was not measured in this run"))
        return sec
    if not step["cfg"]["paper"]:
        sec.notes.append(f"quick run: the step is the {step['cfg']['label']} network's, batch {step['batch']}")
    real = _real_gesture_frames()
    if real is not None and not args.quick:
        sec.rows.append(_real_epoch(args, real, dev))
    else:
        why = ("quick run" if real is not None else
               f"no real DVS128 Gesture frames here ({REAL_FRAMES} missing or not dvsgesture)")
        sec.notes.append(f"ESTIMATED, not measured ({why}): {batches} batches x max(measured step, batch / "
                         f"loader rate)")
    loader = state.get("loader")
    for label, step_s in step["step_s"].items():
        per_batch = step_s * 16 / step["batch"]
        limited = ""
        if loader is not None and 16 / loader["rate"] > per_batch:
            per_batch, limited = 16 / loader["rate"], f", loader-bound ({loader['workers']} workers)"
        est = per_batch * batches
        sec.rows.append(row(f"ours epoch estimate {label}", Timing([est]), items=EPOCH_SAMPLES, unit="samples",
                            note=f"ESTIMATE: {batches} x {per_batch * 1e3:.1f} ms{limited}", estimated=True))
    return sec


def _real_gesture_frames() -> Path | None:
    from pipeline.data import H5Frames

    with contextlib.suppress(Exception):
        if REAL_FRAMES.exists() and "gesture" in str(H5Frames(REAL_FRAMES).attrs.get("dataset", "")).lower():
            return REAL_FRAMES
    return None


def _real_epoch(args, path: Path, dev: torch.device) -> dict:
    """One epoch over the real training frames, as ``pipeline.train`` runs it (amp auto, the loader)."""
    from pipeline.data import H5Frames
    from pipeline.distributed import Context
    from pipeline.model import loss_fn
    from pipeline.params import TrainParams
    from pipeline.train import amp_dtype, autocast, train_loader

    data = H5Frames(path)
    T, _, H, W = map(int, data.frame_shape)
    cfg = {"T": T, "size": (H, W), "model": {"channels": 128, "blocks": 5, "hidden": 512}}
    tp = TrainParams(batch_size=16, workers=args.loader_workers or 4)
    dtype = amp_dtype(tp, dev)
    torch.manual_seed(0)
    model, net = _build(cfg, dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    idx = np.arange(min(len(data), EPOCH_SAMPLES))
    loader, sampler, _ = train_loader(data, idx, tp, Context(device=dev))
    sampler.set_epoch(0)
    classes = CLASSES                      # the network _build makes: DVS128 Gesture's 11
    t = time.perf_counter()
    for x, y in loader:
        x, y = x.to(dev, non_blocking=True).float(), y.to(dev, non_blocking=True)
        with autocast(dev, dtype):
            rate = net(x)
        loss = loss_fn(rate.float(), y, classes)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    torch.cuda.synchronize()
    return row(f"ours epoch on {path} (measured)", Timing([time.perf_counter() - t]), items=len(idx),
               unit="samples", note=f"{len(idx)} real samples, amp {dtype}, {tp.workers} loader workers, "
                                    "first epoch (includes start-up)")
