"""6. On the training device (``--device cpu`` or ``cuda``): the PLIF backends, the paper's
training step and its variants, the loader against it, and a measured DVS128 Gesture epoch.
On an H200-class GPU the four sections take under 3 minutes together (``GPU_BUDGET_S``).

- ``gpu_plif``: one PLIF layer, forward + backward on ``(T, B, C, H, W)`` (20, 16, 128, 32, 32)
  float32, for each of our backends that runs on the device (``pipeline.model.backends``:
  ``eager``; ``numba`` on CPU; ``triton`` on CUDA (and on CPU under ``TRITON_INTERPRET=1``),
  with its one-off compile time and its memory traffic against the device's measured copy
  bandwidth; ``compile`` on CPU, and on CUDA only with ``--compile``, since it compiles each
  shape for ~30 s) and SpikingJelly's multi-step ``ParametricLIFNode`` with each of its
  implementations that can run here (SpikingJelly < 2: ``backend='torch'`` / ``'cupy'``;
  SpikingJelly 2: CPU ops on CPU, ``torch`` / ``triton`` / ``cuda`` (native) on CUDA); ratios
  of ours against SpikingJelly's fastest.
- ``gpu_step``: the paper's DVS128 Gesture network (``configs/dvsgesture-paper.yaml``'s model:
  128 channels, 5 blocks, hidden 512, per-step BatchNorm) as training builds it
  (``pipeline.train.stage.prepare_model``), T = 20, batch 16: forward, MSE-on-rates loss, backward,
  Adam, in the paper's float32 and in variants, each one change away (on CUDA: bf16 autocast,
  joint BatchNorm, channels_last flipped, cuDNN autotuning instead of deterministic
  algorithms, a time-major batch (per-step BatchNorm one call per step), the eager PLIF);
  peak GPU memory; and the step's share of the device's limits: convolution and linear
  FLOPs at the measured TF32 matrix rate, elementwise bytes at the measured copy bandwidth;
  and the ``nda`` augmentation chain on the step's batch against the fp32 step (target: at
  most 5 % on CUDA, issue #25). On CPU a reduced network (16 channels) and two variants,
  unless ``--full``.
- ``gpu_loader``: ``H5Frames`` through the DataLoader that ``pipeline.train.placement.train_loader``
  builds (pinned memory on CUDA), each batch moved to the device and cast to float32 there,
  over a frames file generated here; compared with the step's samples/s (does it keep up?).
- ``gpu_epoch``: epochs of DVS128 Gesture's size and recipe (1,176 training samples with the
  paper's hold-out: 1,000 train in 62 batches, 176 validate; 288 test) through
  ``pipeline.train.stage``'s own loop (``start_run``, ``train_epoch``, ``score_epoch``) on CUDA:
  the real frames (``data/frames/{train,test}.h5``) when they are DVS128 Gesture's, else
  files of that size written here (a moving Poisson blob). Two epochs; the second is the
  one to quote (the first compiles and autotunes).
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

from .common import Section, Target, Timing, measure, measure_interleaved, row, skipped
from .training import plif_call, plif_inputs, plif_shape

SECTIONS = ("gpu_plif", "gpu_step", "gpu_loader", "gpu_epoch")
GPU_BUDGET_S = 180            # the four sections together, on an H200-class GPU
EPOCH_SAMPLES = 1176          # DVS128 Gesture's training set (ddp_step.py uses the same)
TEST_SAMPLES = 288            # ... and its test set
CLASSES = 11
PAPER_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "dvsgesture-paper.yaml"
REAL_FRAMES = Path("data/frames/train.h5")
CPU_ONLY_REASON = "CUDA only: --device cpu"
TARGET_PLIF_VS_SJ = 2.0       # ours / SpikingJelly's fastest, the PLIF layer on CUDA
TARGET_EPOCH_S = 3.0          # a DVS128 Gesture epoch of the paper's recipe on an H200-class GPU
BYTES_PER_NEURON_STEP = 24    # fp32 forward + backward floor: x, s, h; grad s, h, grad x
INNER = 10                    # 6a on CUDA: calls per timed sample


def device_of(args) -> torch.device:
    return torch.device(args.device)


def _sync(dev: torch.device):
    return torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)


def _short(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}".strip().splitlines()[0][:240]


def copy_bandwidth(dev: torch.device, nbytes: int = 2 << 30) -> float | None:
    """Bytes per second a device-to-device copy moves (read + write counted), median of 5."""
    if dev.type != "cuda":
        return None
    a = torch.empty(nbytes // 4, dtype=torch.float32, device=dev)
    b = torch.empty_like(a)
    b.copy_(a)
    torch.cuda.synchronize()
    times = []
    for _ in range(5):
        t = time.perf_counter()
        b.copy_(a)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    del a, b
    return 2 * nbytes / sorted(times)[2]


def tf32_rate(dev: torch.device, n: int = 8192) -> float | None:
    """FLOP/s of an n x n x n float32 matrix product with TF32 allowed (cuDNN convolutions use
    TF32 by default: ``torch.backends.cudnn.allow_tf32``), median of 5."""
    if dev.type != "cuda":
        return None
    a = torch.randn(n, n, device=dev)
    b = torch.randn(n, n, device=dev)
    before = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        a @ b
        torch.cuda.synchronize()
        times = []
        for _ in range(5):
            t = time.perf_counter()
            a @ b
            torch.cuda.synchronize()
            times.append(time.perf_counter() - t)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before
    return 2 * n ** 3 / sorted(times)[2]


def _limits(state, dev) -> dict:
    """The device's measured ceilings, once per run: copy bandwidth and TF32 matrix rate."""
    if "limits" not in state:
        state["limits"] = {"copy_bytes_per_s": copy_bandwidth(dev), "tf32_flop_per_s": tf32_rate(dev)}
    return state["limits"]


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


def _gpu_seconds(fns: dict, inner: int) -> dict:
    """``{name: GPU seconds per call}``: the self time of every CUDA kernel ``fn`` launches
    (torch.profiler), over one run of ``fn`` (``inner`` calls); {} where the profiler fails."""
    from torch.profiler import ProfilerActivity, profile

    out = {}
    for name, fn in fns.items():
        try:
            with profile(activities=[ProfilerActivity.CUDA]) as prof:
                fn()
            events = prof.key_averages()
            total = sum(getattr(e, "self_device_time_total", 0) or getattr(e, "self_cuda_time_total", 0)
                        for e in events)
        except Exception:  # noqa: BLE001 - the profiler is a measurement aid: without it, wall times only
            return {}
        out[name] = total / 1e6 / inner
    return out


def _ours(dev: torch.device, args) -> tuple[dict, dict]:
    """Our backends to time on ``dev``: ``({name: backend}, {name: reason skipped})``."""
    from pipeline.model.backends import BACKENDS, resolve_backend

    run, skips = {}, {}
    for b in BACKENDS:
        name = f"ours {b}"
        try:
            resolve_backend(b, dev)
        except Exception as e:  # noqa: BLE001 - a backend that cannot run here is a row saying why
            skips[name] = f"not on {dev.type}: {_short(e).removeprefix('ParamsError: ')}"
            continue
        if b == "compile" and dev.type == "cuda" and not args.compile:
            skips[name] = ("one compilation per layer shape, ~30 s for this one on an H200 (issue 16); "
                           "--compile to time it")
        elif b == "compile" and args.quick and dev.type == "cpu":
            skips[name] = ("quick run on CPU: torch.compile's one-off compile takes ~15 s here "
                           "(C++ codegen); run without --quick")
        elif b == "triton" and dev.type == "cpu" and not args.quick:
            skips[name] = "on CPU only in Triton's interpreter (TRITON_INTERPRET=1): minutes a call at this size"
        else:
            run[name] = b
    return run, skips


SWEEP = ((256, 2), (512, 4), (1024, 8), (2048, 8), (4096, 8))   # (BLOCK, warps) besides the default


def _triton_sweep(caller) -> dict:
    """``{name: call}`` running the Triton backend with other (BLOCK, warps), each set for its call."""
    from pipeline.model import triton_plif
    from pipeline.model.backends import plif_forward
    from pipeline.model.firing import PAPER

    fns = {}
    for block, warps in SWEEP:
        if (block, warps) == (triton_plif.BLOCK, triton_plif.NUM_WARPS):
            continue
        w = torch.nn.Parameter(torch.tensor(0.0, device="cuda"))
        call = caller(lambda x, w=w: plif_forward(x, w, PAPER, backend="triton"), [w])

        def run(call=call, block=block, warps=warps):
            saved = triton_plif.BLOCK, triton_plif.NUM_WARPS
            triton_plif.BLOCK, triton_plif.NUM_WARPS = block, warps
            try:
                return call()
            finally:
                triton_plif.BLOCK, triton_plif.NUM_WARPS = saved
        fns[f"ours triton BLOCK={block} warps={warps}"] = run
    return fns


def run_plif(args, peers, state) -> Section:
    from pipeline.model.backends import plif_forward
    from pipeline.model.firing import PAPER

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

    # on CUDA each timed sample is INNER calls back to back, synchronised once (as layers run in
    # training), and reported per call; on CPU one call
    inner = INNER if dev.type == "cuda" else 1
    caller = functools.partial(plif_call, x0, grad, sync=None)
    backends, skips = _ours(dev, args)
    fns, first_calls = {}, {}
    for name, b in backends.items():
        w = torch.nn.Parameter(torch.tensor(0.0, device=dev))
        fn = caller(lambda x, w=w, b=b: plif_forward(x, w, PAPER, backend=b), [w])
        if b in ("compile", "triton"):
            if b == "compile":
                with contextlib.suppress(Exception):
                    torch._dynamo.reset()           # a fresh compile, whatever ran before in this process
            try:
                t = time.perf_counter()
                fn()
                sync()
                first_calls[name] = time.perf_counter() - t
            except Exception as e:  # noqa: BLE001 - e.g. no C++ compiler for inductor on CPU
                skips[name] = f"failed here: {_short(e)}"
                continue
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
            sync()
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
    if getattr(args, "triton_sweep", False) and dev.type == "cuda" and "ours triton" in fns:
        fns |= _triton_sweep(caller)

    def repeated(fn):
        def run():
            for _ in range(inner):
                out = fn()
            sync()
            return out
        return run
    measured = {name: (Timing([t / inner for t in timing.times]), out) for name, (timing, out) in
                measure_interleaved({name: repeated(fn) for name, fn in fns.items()}, args.repeats).items()}
    gpu_s = _gpu_seconds({name: repeated(fn) for name, fn in fns.items()}, inner) if dev.type == "cuda" else {}
    if inner > 1:
        sec.notes.append(f"each timed sample: {inner} calls back to back, one synchronisation; times per call")
    if gpu_s:
        sec.notes.append("GPU time: the kernels' own time per call (torch.profiler, summed over every kernel the "
                         "call launches); wall time is bound by the host here (Python, launches) for the fast ones")
    for name, first in first_calls.items():
        steady = measured[name][0].median
        sec.rows.append(row(f"{name}: first call (one-off compile)", Timing([first]),
                            note=f"compile time ~ {first - steady:.2f} s above a steady call", compile_s=first - steady))
    bandwidth = _limits(state, dev)["copy_bytes_per_s"]
    for name, (t, _) in measured.items():
        note = sj_status.get(name, "")
        extra = {}
        if name in gpu_s:
            extra["gpu_s"] = gpu_s[name]
            note = f"GPU time {gpu_s[name] * 1e3:.3f} ms" + (f"; {note}" if note else "")
        if name == "ours triton" and bandwidth and name in gpu_s:
            moved = BYTES_PER_NEURON_STEP * n / gpu_s[name]
            extra |= {"bytes_per_s_at_floor": moved, "fraction_of_copy_bandwidth": moved / bandwidth}
            note += (f"; {moved / 1e12:.2f} TB/s at the {BYTES_PER_NEURON_STEP} B/neuron-step floor = "
                     f"{moved / bandwidth:.0%} of the copy's {bandwidth / 1e12:.2f} TB/s")
        sec.rows.append(row(name, t, items=n, unit="neuron-steps", note=note, **extra))
    for name, reason in {**skips, **sj_skips}.items():
        sec.rows.append(skipped(name, reason))
    sec.notes.append("the implementations run in turns, one timed sample each per repeat")
    if bandwidth:
        sec.inputs["copy_bandwidth_bytes_per_s"] = bandwidth

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
    if gpu_s:                                        # on CUDA the ratios compare the kernels' GPU time
        rates = {k: n / gpu_s[k] for k in rates if k in gpu_s}
        for r in sec.rows:
            if r["name"] in gpu_s:
                r["gpu_rate_per_s"] = n / gpu_s[r["name"]]
    sj_rates = {k: v for k, v in rates.items() if k.startswith("spikingjelly")}
    best_ours = max((v for k, v in rates.items() if k.startswith("ours")), default=None)
    ratio = None
    if sj_rates:
        best = max(sj_rates, key=sj_rates.get)
        for r in sec.rows:
            if r["name"].startswith("ours") and r.get("rate_per_s"):
                r["vs_spikingjelly_fastest"] = r["rate_per_s"] / sj_rates[best]
                sec.notes.append(f"{r['name']} / {best}: {r['vs_spikingjelly_fastest']:.2f}x")
        sec.inputs["spikingjelly_fastest"] = best
        ratio = best_ours / sj_rates[best] if best_ours else None
    else:
        sec.notes.append("no SpikingJelly implementation ran here: no ratios")
    if dev.type == "cuda":
        sec.targets.append(Target("PLIF layer, GPU time, our fastest vs SpikingJelly's fastest", ratio, TARGET_PLIF_VS_SJ,
                                  ">=", "x", "" if ratio else "(no SpikingJelly implementation ran)"))
    return sec


# --- 6b. the training step ------------------------------------------------------------------


def paper_params():
    """``(model, train)`` params of ``configs/dvsgesture-paper.yaml``: the paper's recipe."""
    from pipeline.params import load_params

    p = load_params(PAPER_CONFIG)
    return p.model, p.train


def step_config(args) -> dict:
    """The network and input of the step: paper sizes, reduced on CPU without --full, small with --quick."""
    dev = device_of(args)
    mp, tp = paper_params()
    if args.quick:
        return {"label": "small (quick)", "T": 4, "batch": 2, "size": (32, 32), "paper": False,
                "mp": mp.model_copy(update={"channels": 8, "blocks": 2, "hidden": 32}), "tp": tp}
    paper = {"T": 20, "batch": 16, "size": (128, 128), "tp": tp}
    if dev.type == "cuda" or args.full:
        return {"label": "paper DVS128 Gesture", **paper, "mp": mp, "paper": True}
    return {"label": "reduced: the paper's layout at 16 channels", **paper,
            "mp": mp.model_copy(update={"channels": 16}), "paper": False}


def step_variants(cfg, dev, full: bool) -> dict:
    """``{label: (model params, train params, time_major)}``: the paper's recipe, then one change each."""
    mp, tp = cfg["mp"], cfg["tp"]
    base = {"fp32 (paper recipe)": (mp, tp, False)}
    if dev.type != "cuda":
        more = {"fp32, time-major batch (per-step BN: one call per step)": (mp, tp, True)}
        if full:
            more["bf16 autocast"] = (mp, tp.model_copy(update={"amp": "bf16"}), False)
        return {**base, **more}
    from pipeline.train.scoring import channels_last

    joint = mp.model_copy(update={"bn": "joint"})
    cl = channels_last(tp.channels_last, mp, dev)                    # what auto gives the paper's per-step BN
    cl_joint = channels_last(tp.channels_last, joint, dev)
    more = {
        "bf16 autocast": (mp, tp.model_copy(update={"amp": "bf16"}), False),
        f"fp32, channels_last {'off' if cl else 'on'}": (mp, tp.model_copy(update={"channels_last": not cl}), False),
        f"fp32, joint BatchNorm (channels_last {'on' if cl_joint else 'off'}: auto)": (joint, tp, False),
        f"fp32, joint BatchNorm, channels_last {'off' if cl_joint else 'on'}":
            (joint, tp.model_copy(update={"channels_last": not cl_joint}), False),
        f"fp32, deterministic: {not tp.deterministic} "
        f"({'deterministic algorithms' if not tp.deterministic else 'cuDNN autotuning'})":
            (mp, tp.model_copy(update={"deterministic": not tp.deterministic}), False),
        "fp32, time-major batch (per-step BN: one call per step)": (mp, tp, True),
        "fp32, eager PLIF (autograd through the time loop)": (mp.model_copy(update={"backend": "eager"}), tp, False),
    }
    if not torch.cuda.is_bf16_supported():
        more.pop("bf16 autocast")
    return {**base, **more}


def _build(mp, tp, cfg, dev):
    from pipeline.train.distributed import Context
    from pipeline.train.stage import prepare_model

    return prepare_model(mp, tp, (cfg["T"], 2, *cfg["size"]), CLASSES, Context(device=dev))


def run_step(args, state) -> Section:
    from pipeline.core.device import configure_torch
    from pipeline.model.backends import resolve_backend
    from pipeline.train.scoring import amp_dtype

    dev = device_of(args)
    cfg = step_config(args)
    mp, tp = cfg["mp"], cfg["tp"]
    sec = Section(f"6b. Training step on {dev.type}: SpikingConvNet ({cfg['label']}), T={cfg['T']}, "
                  f"batch {cfg['batch']}, forward + backward + Adam")
    sec.inputs = {"device": str(dev), "T": cfg["T"], "batch": cfg["batch"], "input": "x".join(map(str, cfg["size"])),
                  "channels": mp.channels, "blocks": mp.blocks, "hidden": mp.hidden, "bn": mp.bn,
                  "plif_backend": f"{mp.backend} -> {resolve_backend(mp.backend, dev)}", "amp": tp.amp,
                  "channels_last": tp.channels_last, "deterministic": tp.deterministic, "timed_steps": args.repeats,
                  "input_values": "Poisson(0.3) counts, float32 on the device",
                  "params": f"{PAPER_CONFIG.name}'s model and train sections"}
    if not cfg["paper"]:
        sec.rows.append(skipped("ours paper network (channels 128, 5 blocks, hidden 512)",
                                "quick run: a small network instead" if args.quick else
                                "CPU: ~30 s a step and ~14 GB; run with --full to time it"))
    g = torch.Generator().manual_seed(0)
    B, T = cfg["batch"], cfg["T"]
    x = torch.poisson(torch.full((B, T, 2, *cfg["size"]), 0.3), generator=g).to(dev)
    y = torch.randint(0, CLASSES, (B,), generator=g).to(dev)
    state["step"] = {"batch": B, "rates": {}, "step_s": {}, "cfg": cfg}
    rows_start = len(sec.rows)
    for label, (vmp, vtp, time_major) in step_variants(cfg, dev, args.full).items():
        configure_torch(0, vtp.deterministic, dev)
        if dev.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(dev)
        batch = x.transpose(0, 1).contiguous().transpose(0, 1) if time_major else x
        t, params, host_s = _time_steps(vmp, vtp, cfg, dev, amp_dtype(vtp.amp, dev), batch, y, args.repeats)
        extra = {"parameters": params, "host_enqueue_s": host_s}
        if dev.type == "cuda":
            peak = torch.cuda.max_memory_allocated(dev)
            extra["peak_gpu_bytes"] = peak
            mem = f"peak GPU memory {peak / 2**30:.2f} GiB"
        else:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            extra["peak_rss_bytes_process"] = peak
            mem = f"process peak RSS so far {peak / 1e9:.1f} GB"
        sec.rows.append(row(f"ours step {label}", t, items=B, unit="samples", note=mem, **extra))
        state["step"]["rates"][label] = B / t.median
        state["step"]["step_s"][label] = t.median
    configure_torch(0, tp.deterministic, dev)
    first = sec.rows[rows_start]
    _augment_row(sec, x, y, dev, first["median_s"], args.repeats)
    if dev.type == "cuda":
        sec.notes.append(f"host time to enqueue the paper step: {first['host_enqueue_s'] * 1e3:.1f} ms of "
                         f"{first['median_s'] * 1e3:.1f} ms (well below: the GPU, not kernel launches, bounds "
                         "the step; CUDA graphs would not help)" if first["host_enqueue_s"] < 0.5 * first["median_s"]
                         else f"host time to enqueue the paper step: {first['host_enqueue_s'] * 1e3:.1f} ms of "
                              f"{first['median_s'] * 1e3:.1f} ms: launch-bound")
        _limits_note(sec, mp, tp, cfg, dev, x, first["median_s"], state)
    return sec


def _augment_row(sec: Section, x, y, dev: torch.device, step_s: float, repeats: int) -> None:
    """The ``nda`` chain (``train.augment: [{nda: {}}]``, as ``train_epoch`` calls it) on the
    step's batch on the device, against the paper recipe's fp32 step (issue #25: at most
    ``augment.TARGET_GPU_PCT`` % on CUDA). On CUDA each call waits for the GPU; 20 calls at least."""
    from .augment import NDA, TARGET_GPU_PCT, TRAIN_SAMPLES, augment_call

    indices = torch.randperm(TRAIN_SAMPLES, generator=torch.Generator().manual_seed(1))[:len(y)]   # on the host
    t, _ = measure(augment_call(x, y, indices, NDA, dev, CLASSES), max(repeats, 20) if dev.type == "cuda" else repeats)
    pct = 100 * t.median / step_s
    sec.rows.append(row("ours nda chain on the step's batch (augment_events [{nda: {}}])", t, items=len(y),
                        unit="samples", note=f"{pct:.1f} % of the fp32 step (paper recipe)", step_share_pct=pct))
    if dev.type == "cuda":
        sec.targets.append(Target("nda chain / fp32 training step (CUDA)", pct, TARGET_GPU_PCT, "<", "%",
                                  f"issue #25; the step's batch {tuple(x.shape)}"))


def _time_steps(mp, tp, cfg, dev, dtype, x, y, repeats) -> tuple[Timing, int, float]:
    """``repeats`` timed training steps (after one untimed) of a fresh model: (timing, parameter
    count, median host seconds to enqueue a step before the GPU finishes it)."""
    from pipeline.model import loss_fn
    from pipeline.train.scoring import autocast

    sync = _sync(dev)
    model, net = _build(mp, tp, cfg, dev)
    net.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    host = []

    def step():
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with autocast(dev, dtype):
            rate = net(x)
        loss = loss_fn(rate.float(), y, CLASSES)
        loss.backward()
        opt.step()
        host.append(time.perf_counter() - t)
        sync()
        return loss.detach()

    t, _ = measure(step, repeats)
    return t, sum(p.numel() for p in model.parameters()), float(np.median(host[1:] or host))


def _limits_note(sec: Section, mp, tp, cfg, dev, x, step_s: float, state) -> None:
    """The paper step against the device's ceilings: FLOPs of the convolutions and linear layers
    (a training step ~ 3 x the forward's) at the TF32 rate, and the bytes of the elementwise
    layers at the copy bandwidth (a model of their accesses, float32 words per element:
    BatchNorm 3 forward + 5 backward, PLIF 3 + 3, 2x2 max-pool with int64 indices 1.75 + 1.75)."""
    from pipeline.model.network import ConvBN
    from pipeline.model.neuron import PLIF

    limits = _limits(state, dev)
    model, _ = _build(mp, tp, cfg, dev)
    counts = {"flops": 0, "bn": 0, "plif": 0, "pool": 0}

    def hook(m, inputs, out):
        if isinstance(m, torch.nn.Conv2d):
            counts["flops"] += 2 * out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, torch.nn.Linear):
            counts["flops"] += 2 * out.numel() * m.in_features
        elif isinstance(m, ConvBN):
            counts["bn"] += out.numel()
        elif isinstance(m, PLIF):
            counts["plif"] += out.numel()
        elif isinstance(m, torch.nn.MaxPool2d):
            counts["pool"] += inputs[0].numel()
    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear, ConvBN, PLIF, torch.nn.MaxPool2d))]
    with torch.no_grad():
        model.train()(x)
    for h in handles:
        h.remove()
    del model
    flops = 3 * counts["flops"]
    nbytes = 4 * (8 * counts["bn"] + 6 * counts["plif"] + 3.5 * counts["pool"])
    sec.inputs["step_flops"] = flops
    sec.inputs["step_elementwise_bytes_model"] = nbytes
    if limits["tf32_flop_per_s"]:
        t_f = flops / limits["tf32_flop_per_s"]
        sec.checks["convolutions + linear at the TF32 rate"] = (
            f"{flops / 1e12:.2f} TFLOP in {t_f * 1e3:.1f} ms at the measured {limits['tf32_flop_per_s'] / 1e12:.0f} "
            f"TFLOP/s = {t_f / step_s:.0%} of the {step_s * 1e3:.1f} ms step")
    if limits["copy_bytes_per_s"]:
        t_b = nbytes / limits["copy_bytes_per_s"]
        sec.checks["elementwise layers at the copy bandwidth"] = (
            f"{nbytes / 1e9:.1f} GB (model) in {t_b * 1e3:.1f} ms at the measured "
            f"{limits['copy_bytes_per_s'] / 1e12:.2f} TB/s = {t_b / step_s:.0%} of the step")


# --- 6c. the loader ---------------------------------------------------------------------------


def _synthetic_sample(job) -> tuple[tuple[int, bytes], int, int]:
    """One DVS-like sample (Poisson counts around a blob moving across the sensor, a little
    noise), compressed as the frames file stores it: ``((mask, chunk), label, events)``."""
    from pipeline.core.store import encoder

    i, T, H, W, seed = job
    rng = np.random.default_rng([seed, i])
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    cy, cx = rng.uniform(0.25, 0.75, 2) * (H, W)
    vy, vx = rng.normal(0, 0.02, 2) * (H, W)
    sigma = rng.uniform(0.08, 0.15) * min(H, W)
    frames = np.empty((T, 2, H, W), np.uint32)
    for t in range(T):
        d2 = (yy - cy - vy * t) ** 2 + (xx - cx - vx * t) ** 2
        lam = 3.0 * np.exp(-d2 / (2 * sigma ** 2)) + 0.01
        frames[t] = rng.poisson(lam, (2, H, W))
    return encoder((T, 2, H, W)).encode(frames), i % CLASSES, int(frames.sum())


def synthetic_frames(path: Path, k: int, T: int, size, seed: int = 0, workers: int | None = None) -> None:
    """``k`` synthetic samples written by ``FrameWriter``, compressed in ``workers`` processes
    (default: the usable cores, at most 16); the file does not depend on that number."""
    from pipeline.core.parallel import ordered_map
    from pipeline.core.store import FrameWriter

    H, W = size
    if workers is None:
        workers = min(16, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    attrs = {"dataset": "bench-synthetic", "classes": [f"class{c}" for c in range(CLASSES)]}
    with FrameWriter(path, k, (T, 2, H, W), attrs) as w, \
            ordered_map(_synthetic_sample, ((i, T, H, W, seed) for i in range(k)), workers) as samples:
        for i, (chunk, label, events) in enumerate(samples):
            w.write_encoded(chunk, label, "synthetic", i, events)


def run_loader(args, state) -> Section:
    from pipeline.train.data import H5Frames
    from pipeline.train.distributed import Context
    from pipeline.params import TrainParams
    from pipeline.train.placement import train_loader

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
    sec = Section(f"6c. Loader on {dev.type}: H5Frames through pipeline.train.placement.train_loader (batch {B}), "
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


# --- 6d. DVS128 Gesture epochs ------------------------------------------------------------------


def run_epoch(args, state) -> Section:
    from pipeline.train.distributed import Context
    from pipeline.train.stage import score_epoch, start_run, train_epoch

    dev = device_of(args)
    mp, tp = paper_params()
    sec = Section(f"6d. DVS128 Gesture epochs through pipeline.train.stage's loop ({EPOCH_SAMPLES} training samples, "
                  f"{TEST_SAMPLES} test; the paper's recipe)")
    sec.inputs = {"device": str(dev), "params": f"{PAPER_CONFIG.name}: {mp.channels} channels, {mp.blocks} blocks, "
                  f"hidden {mp.hidden}, bn {mp.bn}, amp {tp.amp}, batch {tp.batch_size}, drop_last {tp.drop_last}, "
                  f"val_split {tp.val_split}, deterministic {tp.deterministic}"}
    if dev.type != "cuda" and not args.quick:
        sec.rows.append(skipped("ours epoch", f"{CPU_ONLY_REASON} (on CPU: see benchmarks.ddp_step, hours an epoch; "
                                              "--quick runs a small one)"))
        return sec
    sync = _sync(dev)
    train_h5, test_h5 = _real_gesture_frames()
    T, size, n_train, n_test = 20, (128, 128), EPOCH_SAMPLES, TEST_SAMPLES
    if args.quick:
        T, size, n_train, n_test = 4, (32, 32), 132, 22      # 12 per class: one held out of each
        mp = mp.model_copy(update={"channels": 8, "blocks": 2, "hidden": 32})
    if train_h5 is None or args.quick:
        folder = Path(args.tmp)
        train_h5, test_h5 = folder / "gesture-train.h5", folder / "gesture-test.h5"
        t = time.perf_counter()
        synthetic_frames(train_h5, n_train, T, size, seed=1)
        synthetic_frames(test_h5, n_test, T, size, seed=2)
        sec.notes.append(f"frames: synthetic, {n_train} + {n_test} samples of {T}x2x{size[0]}x{size[1]} written "
                         f"in {time.perf_counter() - t:.1f} s (not timed)" + (" (quick run: small)" if args.quick
                                                                              else ""))
    else:
        sec.notes.append(f"frames: the real DVS128 Gesture frames {train_h5}, {test_h5}")
    tp = tp.model_copy(update={"epochs": 2, "workers": args.loader_workers or min(8, os.cpu_count() or 1),
                               "device": dev.type})
    classes = [f"class{c}" for c in range(CLASSES)]
    t = time.perf_counter()
    run = start_run(Context(device=dev), train_h5, test_h5, classes, mp, tp)
    sync()
    placed = "on the GPU" if run.feed.on_device is not None else "streamed (DataLoader)"
    sec.rows.append(row("ours start_run (model, frames onto the device)", Timing([time.perf_counter() - t]),
                        note=f"training split {placed}"))
    batches = run.feed.batches if run.feed.batches is not None else math.ceil(len(run.feed.train_idx) / tp.batch_size)
    scored = len(run.feed.val_idx) + n_test
    sec.inputs |= {"train_samples": len(run.feed.train_idx), "val_samples": len(run.feed.val_idx), "test_samples": n_test,
                   "batches": batches}
    seconds = []
    for epoch in (1, 2):
        t = time.perf_counter()
        trained = train_epoch(run, epoch)
        t_train = time.perf_counter() - t
        scores = score_epoch(run)
        sync()
        seconds.append(time.perf_counter() - t)
        what = "first (Triton compile, cuDNN set-up)" if epoch == 1 else "second"
        sec.rows.append(row(f"ours epoch {epoch}: train + score", Timing([seconds[-1]]), items=len(run.feed.train_idx),
                            unit="samples", note=f"{what}; training {t_train:.2f} s ({batches} batches), scoring "
                                                 f"{seconds[-1] - t_train:.2f} s ({scored} samples); loss "
                                                 f"{trained['loss']:.4f}, test accuracy {scores['test_accuracy']:.3f}",
                            train_s=t_train, score_s=seconds[-1] - t_train, measured=True))
    if not args.quick:
        sec.targets.append(Target("DVS128 Gesture epoch (fp32, per-step BN, scoring included)", seconds[-1],
                                  TARGET_EPOCH_S, "<", "s", "second epoch, measured"))
    del run
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    return sec


def _real_gesture_frames() -> tuple[Path | None, Path | None]:
    from pipeline.train.data import H5Frames

    test = REAL_FRAMES.with_name("test.h5")
    with contextlib.suppress(Exception):
        if REAL_FRAMES.exists() and test.exists() and \
                "gesture" in str(H5Frames(REAL_FRAMES).attrs.get("dataset", "")).lower():
            return REAL_FRAMES, test
    return None, None
