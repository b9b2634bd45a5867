"""A small executor of NIR graphs, written from the NIR specification (its node definitions in
``nir``'s docstrings), not from the pipeline's model code: the independent reader of the
graphs ``python -m pipeline export --nir`` writes.

Semantics, one sample at a time, one time step per call of :meth:`Executor.step`:
- a node's input is the sum of the outputs of the nodes with an edge into it;
- ``Conv2d``: cross-correlation with zero padding plus bias; ``Linear``: W x; ``Affine``: W x + b;
- ``SumPool2d`` / ``AvgPool2d``: the sum / mean of each window; ``Flatten``: the dims given
  (no batch dimension); ``Threshold``: 1 where x > threshold;
- ``LIF``: tau dv/dt = (v_leak - v) + r I, forward Euler with the step ``dt``:
  v <- v + (dt / tau) ((v_leak - v) + r I); z = [v > v_threshold]; v <- v_reset where z.
"""

from __future__ import annotations

import nir
import numpy as np
import torch
import torch.nn.functional as F


class Executor:
    def __init__(self, graph: nir.NIRGraph, dt: float, dtype=torch.float64):
        self.graph, self.dt, self.dtype = graph, dt, dtype
        preds = {n: [] for n in graph.nodes}
        for a, b in graph.edges:
            preds[b].append(a)
        self.preds = preds
        order, seen = [], set()

        def visit(n):
            if n in seen:
                return
            seen.add(n)
            for p in preds[n]:
                visit(p)
            order.append(n)

        for n in graph.nodes:
            visit(n)
        self.order = order
        self.state: dict[str, torch.Tensor] = {}

    def tensor(self, a) -> torch.Tensor:
        return torch.as_tensor(np.asarray(a, np.float64)).to(self.dtype)

    def reset(self) -> None:
        self.state.clear()

    def step(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every node's output for one time step of input ``x`` (no batch dimension)."""
        out: dict[str, torch.Tensor] = {}
        for name in self.order:
            node = self.graph.nodes[name]
            if isinstance(node, nir.Input):
                out[name] = x.to(self.dtype)
                continue
            inp = sum(out[p] for p in self.preds[name])
            out[name] = self.apply(name, node, inp)
        return out

    def apply(self, name, node, x):
        t = self.tensor
        if isinstance(node, nir.Output):
            return x
        if isinstance(node, nir.Conv2d):
            return F.conv2d(x[None], t(node.weight), t(node.bias), tuple(int(v) for v in np.atleast_1d(node.stride)),
                            tuple(int(v) for v in np.atleast_1d(node.padding)),
                            tuple(int(v) for v in np.atleast_1d(node.dilation)), int(node.groups))[0]
        if isinstance(node, nir.Affine):
            return t(node.weight) @ x + t(node.bias)
        if isinstance(node, nir.Linear):
            return t(node.weight) @ x
        if isinstance(node, nir.Flatten):
            return torch.flatten(x, int(node.start_dim), int(node.end_dim))
        if isinstance(node, (nir.SumPool2d, nir.AvgPool2d)):
            k, s, p = (tuple(int(v) for v in np.atleast_1d(a)) for a in (node.kernel_size, node.stride, node.padding))
            padded = F.pad(x, (p[1], p[1], p[0], p[0]))
            windows = padded.unfold(1, k[0], s[0]).unfold(2, k[1], s[1])      # (C, H', W', kh, kw)
            total = windows.sum((-1, -2))
            return total if isinstance(node, nir.SumPool2d) else total / (k[0] * k[1])
        if isinstance(node, nir.Threshold):
            return (x > t(node.threshold)).to(self.dtype)
        if isinstance(node, nir.LIF):
            # the step's coefficient computed in float64, then used at the simulation's precision
            coef = torch.as_tensor(self.dt / np.asarray(node.tau, np.float64)).to(self.dtype)
            v = self.state.get(name, torch.zeros_like(x))
            v = v + coef * ((t(node.v_leak) - v) + t(node.r) * x)
            z = v > t(node.v_threshold)
            reset = t(node.v_reset) if node.v_reset is not None else torch.zeros_like(v)
            self.state[name] = torch.where(z, reset, v)
            return z.to(self.dtype)
        raise NotImplementedError(f"{name}: {type(node).__name__}")

    def run(self, frames: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each node's outputs ``(T, ...)`` for one sample ``frames`` ``(T, ...)``, from rest."""
        self.reset()
        steps = [self.step(frames[i]) for i in range(frames.shape[0])]
        return {n: torch.stack([s[n] for s in steps]) for n in self.order}


def lively(net, seed: int = 0):
    """``net`` in eval mode with random BatchNorm statistics and affine parameters (and its
    Linear weights scaled up) that make every layer fire."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.rand(n, generator=g) * 0.4 - 0.2)
                m.running_var.copy_(torch.rand(n, generator=g) * 1.5 + 0.5)
                m.weight.copy_(torch.rand(n, generator=g) * 1.5 + 0.5)
                m.bias.copy_(torch.rand(n, generator=g) * 0.6 + 0.2)
            elif isinstance(m, torch.nn.Linear):
                m.weight.mul_(4.0)
    return net.eval()


def model_spikes(model, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    """The pipeline model's spikes per spiking layer, each ``(T, N, ...)``, and its class rates
    for the batch ``x``, read with forward hooks (the model runs as it would)."""
    from pipeline.model.neuron import PLIF

    layers = [m for m in model.modules() if isinstance(m, PLIF)]
    seen: dict[int, list] = {i: [] for i in range(len(layers))}
    hooks = [m.register_forward_hook(lambda mod, a, o, i=i: seen[i].append(o.detach()))
             for i, m in enumerate(layers)]
    try:
        with torch.no_grad():
            rate = model(x)
    finally:
        for h in hooks:
            h.remove()
    return [torch.cat(seen[i], 1) for i in range(len(layers))], rate


def snntorch_run(path, frames: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    """A NIR file read by snnTorch's own importer (``import_from_nir``), run step by step on
    ``frames`` ``(N, T, ...)``, one sample at a time from rest: the spikes of each of its
    ``Leaky`` layers ``(T, N, ...)`` and the class rates (the vote node's mean over T)."""
    import contextlib
    import io

    import snntorch
    import snntorch.utils
    from snntorch.import_nir import import_from_nir

    with contextlib.redirect_stdout(io.StringIO()):          # its importer prints warnings
        net = import_from_nir(nir.read(path))
    leaky = [m for m in net.modules() if isinstance(m, snntorch.Leaky)]
    seen: dict[int, list] = {i: [] for i in range(len(leaky))}
    for i, m in enumerate(leaky):
        m.register_forward_hook(lambda mod, a, o, i=i: seen[i].append(o[0] if isinstance(o, tuple) else o))
    rates = []
    with torch.no_grad():
        for sample in frames:
            snntorch.utils.reset(net)
            rates.append(torch.stack([net(step)[0] for step in sample]).mean(0))
    T = frames.shape[1]
    spikes = [torch.stack(seen[i]).reshape(len(frames), T, *seen[i][0].shape).transpose(0, 1)
              for i in range(len(leaky))]
    return spikes, torch.stack(rates)
