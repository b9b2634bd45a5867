"""5. Training: one step of the paper's DVS128 Gesture network, and the PLIF layer alone.

- The step: ``SpikingConvNet()`` (its defaults: 5 x conv128 at 128x128, 2048 -> 512 -> 110)
  on T = 20 frames, batch 16: zero_grad, forward, MSE-on-rates loss, backward, Adam step.
  It needs about 14 GB on CPU, so it runs in a process of its own (``--child-step``): an
  out-of-memory kill there is reported, not fatal.
- The PLIF layer alone, forward + backward on a ``(T, B, C, H, W)`` tensor: ours (the fused
  ``PLIF`` layer, and the reference ``plif_multistep``) vs SpikingJelly's
  ``ParametricLIFNode`` (step_mode='m', detach_reset=True, ATan, v_reset=0) and its plain
  autograd reference formulation. Spikes must be identical and gradients equal to the
  reference's (float32 here; float64 to 1e-12 in tests/model/test_numba_plif.py, and checked below).
"""

from __future__ import annotations

import argparse
import functools
import inspect
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

from pipeline.model import PLIF, SpikingConvNet, loss_fn, plif_multistep

from .common import Section, Target, Timing, measure_interleaved, row, skipped

TARGET_PLIF_SPEEDUP = 2.0


def step_config(quick: bool, steps: int) -> dict:
    if quick:
        return {"T": 4, "batch": 2, "net": {"input_size": [32, 32], "channels": 8, "blocks": 2, "hidden": 32},
                "steps": steps}
    return {"T": 20, "batch": 16, "net": {}, "steps": steps}


def child_step(cfg: dict) -> dict:
    """In a fresh process: ``steps`` timed training steps after one untimed."""
    import resource

    torch.manual_seed(0)
    net = SpikingConvNet(**{k: tuple(v) if isinstance(v, list) else v for k, v in cfg["net"].items()})
    H, W = cfg["net"].get("input_size", (128, 128))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.poisson(torch.full((cfg["batch"], cfg["T"], 2, H, W), 0.3))
    y = torch.randint(0, net.classes, (cfg["batch"],))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y, net.classes)
        loss.backward()
        opt.step()
        return loss.item()

    times = []
    for i in range(cfg["steps"] + 1):
        t = time.perf_counter()
        step()
        if i:
            times.append(time.perf_counter() - t)
    return {"times_s": times, "ru_maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "threads": torch.get_num_threads(), "params": sum(p.numel() for p in net.parameters())}


def run_step(args) -> Section:
    cfg = step_config(args.quick, args.steps)
    sec = Section(f"5a. One training step: SpikingConvNet({'paper defaults' if not cfg['net'] else 'small'}), "
                  f"T={cfg['T']}, batch {cfg['batch']}, forward + backward + Adam")
    sec.inputs = {"T": cfg["T"], "batch": cfg["batch"], "net": cfg["net"] or "defaults (128x128, 5 x conv128)",
                  "steps": cfg["steps"], "input": "Poisson(0.3) counts"}
    cmd = [sys.executable, "-m", "benchmarks.training", "--child-step", json.dumps(cfg)]
    proc = subprocess.run(cmd, cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True)
    if proc.returncode != 0:
        sec.rows.append(skipped("ours SpikingConvNet step", f"process failed (exit {proc.returncode}): "
                                f"{(proc.stderr.strip().splitlines() or ['killed (out of memory?)'])[-1]}"))
        return sec
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    timing = Timing(res["times_s"])
    sec.rows.append(row("ours SpikingConvNet step (fused PLIF)", timing, items=cfg["batch"], unit="samples",
                        note=f"peak RSS {res['ru_maxrss_bytes'] / 1e9:.1f} GB, {res['threads']} threads",
                        peak_rss_bytes=res["ru_maxrss_bytes"], parameters=res["params"]))
    return sec


def plif_shape(quick: bool) -> tuple[int, ...]:
    return (4, 2, 8, 8, 8) if quick else (20, 16, 128, 32, 32)


def plif_inputs(quick: bool, dev: torch.device = torch.device("cpu")) -> tuple[torch.Tensor, torch.Tensor]:
    """The PLIF sections' input and output gradient: the same numbers on every device (seed 0)."""
    shape = plif_shape(quick)
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(shape, generator=g) * 1.5 + 0.5
    grad = torch.randn(shape, generator=g)
    return x0.to(dev), grad.to(dev)


def plif_call(x0, grad, layer_fn, params, before=None, sync=None):
    """One timed call: forward + backward of ``layer_fn`` on a leaf copy of ``x0``; ``before`` runs
    first (a node's reset), ``sync`` last (CUDA). Returns fresh (spikes, dx, [d param])."""
    x = x0.clone().requires_grad_()

    def call():
        if before is not None:
            before()
        x.grad = None
        for p in params:
            p.grad = None
        s = layer_fn(x)
        s.backward(grad)
        if sync is not None:
            sync()
        return s.detach(), x.grad, [p.grad for p in params]
    return call


def _sj_node(cls, surrogate):
    kw = dict(init_tau=2.0, v_threshold=1.0, v_reset=0.0, detach_reset=True, surrogate_function=surrogate(),
              step_mode="m")
    if "backend" in inspect.signature(cls.__init__).parameters:     # SpikingJelly < 2
        kw["backend"] = "torch"
    return cls(**kw)


def run_plif(args, peers) -> Section:
    shape = plif_shape(args.quick)
    sec = Section(f"5b. PLIF layer alone, forward + backward on (T, B, C, H, W) = {shape}, float32")
    sj = peers["spikingjelly"]
    x0, grad = plif_inputs(args.quick)
    n = x0.numel()
    sec.inputs = {"shape": "x".join(map(str, shape)), "elements": n, "torch_threads": torch.get_num_threads(),
                  "tau0": 2.0, "v_th": 1.0, "alpha": 2.0}
    caller = functools.partial(plif_call, x0, grad)

    ours = PLIF(2.0)
    w_ref = torch.nn.Parameter(torch.tensor(0.0))
    fns = {"ours PLIF layer (fused)": caller(ours, [ours.w]),
           "ours plif_multistep (reference autograd)": caller(lambda x: plif_multistep(x, w_ref), [w_ref])}
    notes = {}
    cls, sur = sj.get("ParametricLIFNode"), sj.get("ATan")
    sj_name = "spikingjelly ParametricLIFNode (multi-step)"
    if cls is not None and sur is not None:
        node = _sj_node(cls, sur)
        fns[sj_name] = caller(node, [node.w], before=node.reset)
        notes[sj_name] = "its CPU implementation (hand-written backward, torch ops)"
        ref = sj.get("plif_reference")
        if ref is not None:
            w_sj = torch.nn.Parameter(torch.tensor(0.0))
            surrogate = sur()
            fns["spikingjelly reference multi_step (plain autograd)"] = caller(
                lambda x: ref(x, torch.zeros_like(x[0]), w_sj, True, 1.0, 0.0, surrogate, True)[0], [w_sj])
    measured = measure_interleaved(fns, args.repeats)
    for name, (t, _) in measured.items():
        sec.rows.append(row(name, t, items=n, unit="neuron-steps", note=notes.get(name, "")))
    if sj_name not in measured:
        sec.rows.append(skipped(sj_name, sj.missing("ParametricLIFNode")))
    sec.notes.append("the implementations run in turns, one call each per repeat, so load changes hit all alike")

    s_f, gx_f, (gw_f,) = measured["ours PLIF layer (fused)"][1]
    s_r, gx_r, (gw_r,) = measured["ours plif_multistep (reference autograd)"][1]
    same = torch.equal(s_f, s_r)
    gx_err = (gx_f - gx_r).abs().max().item()
    gw_rel = abs((gw_f - gw_r).item()) / max(abs(gw_r.item()), 1e-30)
    grads_ok = torch.allclose(gx_f, gx_r, rtol=1e-4, atol=1e-6) and gw_rel < 1e-3
    sec.checks["fused spikes == reference"] = same
    sec.checks["fused gradients == reference (float32)"] = (
        f"{grads_ok} (max |dx| diff {gx_err:.2e}, w rel. diff {gw_rel:.1e})")
    # and in float64, where the two must agree to round-off
    x64 = (x0[:, :2].double()).requires_grad_()
    g64 = grad[:, :2].double()
    w64 = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    r64 = torch.autograd.grad((plif_multistep(x64, w64) * g64).sum(), (x64, w64))
    layer64 = PLIF(2.0).double()
    f64 = torch.autograd.grad((layer64(x64) * g64).sum(), (x64, layer64.w))
    ok64 = torch.allclose(f64[0], r64[0], rtol=1e-12, atol=1e-14) and torch.allclose(f64[1], r64[1], rtol=1e-12)
    sec.checks["fused gradients == reference (float64, rtol 1e-12)"] = ok64
    assert same and grads_ok and ok64, "the fused PLIF does not match the reference"

    sj_rate = None
    if sj_name in measured:
        s_sj, gx_sj, (gw_sj,) = measured[sj_name][1]
        sj_rate = n / measured[sj_name][0].median
        sec.checks["spikingjelly spikes == ours"] = torch.equal(s_sj, s_f)
        sec.checks["spikingjelly gradients vs ours"] = (
            f"max |dx| diff {(gx_sj - gx_f).abs().max().item():.2e}, "
            f"w rel. diff {abs((gw_sj - gw_f).item()) / max(abs(gw_f.item()), 1e-30):.1e}")
    ours_rate = sec.rows[0]["rate_per_s"]
    sec.targets.append(Target("PLIF fused vs spikingjelly ParametricLIFNode", ours_rate / sj_rate if sj_rate else None,
                              TARGET_PLIF_SPEEDUP, ">=", "x", "" if sj_rate else "(spikingjelly not available)"))
    return sec


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--child-step", required=True, help="JSON config (internal)")
    a = ap.parse_args(argv)
    print(json.dumps(child_step(json.loads(a.child_step))))


if __name__ == "__main__":
    main()
