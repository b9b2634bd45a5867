"""A trained :class:`~pipeline.model.network.SpikingConvNet` as a NIR graph (the Neuromorphic
Intermediate Representation, read by snnTorch, Norse, Sinabs, Rockpool, Lava, SpiNNaker2):
:func:`to_nir`. Every mapping is exact; a layer without an exact one is refused by name.

- **Conv + BatchNorm**: one ``Conv2d`` whose weight and bias fold in the BatchNorm's running
  statistics, as evaluation uses them: ``w γ/√(var+ε)`` and ``β − mean γ/√(var+ε)``.
- **Dropout**: removed (evaluation does not drop).
- **PLIF / LIF**: ``LIF`` in its Euler form ``v ← v + (dt/τ)(v_leak − v + r x)`` with
  ``τ = dt / sigmoid(w)`` (``dt = 1``: τ in time steps, the paper's τ), ``r = 1``,
  ``v_leak = 0``, ``v_reset = 0``: our charge ``v ← v + (x − v) sigmoid(w)`` and hard reset.
  NIR fires on ``v > v_thr`` and we on ``v ≥ v_th``: ``v_thr`` is the float32 just below
  ``v_th``, so the two agree on every float32 potential, ties included.
- **Max pooling over spikes**, which NIR has no node for: ``SumPool2d`` then ``Threshold(0)``
  (a window with at least one spike gives 1: exact for binary spikes). Average pooling: ``AvgPool2d``.
- **The readout**: each class's mean over its votes as a fixed ``Linear`` (weights 1/votes);
  the class rates are that layer's outputs averaged over the T steps (graph metadata ``readout``).
- **Static images**: the graph's input is the normalised image, ``(x/255 − mean)/std``,
  presented at every one of the T steps (the encoder's output is the same at each step); the
  mean and std are in the metadata (a per-channel shift cannot fold exactly into a convolution
  with zero padding).

NIR shapes have no batch dimension: a node's input is one sample at one time step.

**Readers.** NIR does not say which step a simulator takes; the graph's τ are in units of
``dt`` (metadata ``dt``), and a reader must step by it. snnTorch's importer steps every ``LIF``
by :data:`SNNTORCH_DT` whatever the graph says, and maps only :data:`SNNTORCH_NODES` (no
``SumPool2d``, no ``Threshold``: no max pooling): :func:`snntorch_unreadable` and
:func:`reader_hints`.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..core.errors import PipelineError
from .network import walk

__all__ = ["ExportError", "SNNTORCH_DT", "SNNTORCH_NODES", "fold_batch_norm", "reader_hints", "snntorch_unreadable",
           "to_nir", "threshold_below"]

#: snnTorch's simulation step: its importer (``snntorch/import_nir.py``) sets ``dt = 1e-4`` for
#: every LIF node, whatever the graph says (tests/cli/test_export.py reads it from there)
SNNTORCH_DT = 1e-4
#: the NIR node types snnTorch's ``import_from_nir`` maps (its ``node_map``, and the graph's
#: Input and Output); any other node makes it raise "mapping does not exist in node_map"
SNNTORCH_NODES = frozenset({"Input", "Output", "Affine", "Linear", "Conv2d", "Flatten", "AvgPool2d", "IF", "LIF",
                            "CubaLIF"})
#: what to do about a max-pooling model, for snnTorch
AVG_POOLING = "train with model.pooling: avg (dvc exp run -S model.pooling=avg), then export with --for snntorch"


class ExportError(PipelineError, ValueError):
    """A model that has no exact NIR form."""


def threshold_below(v_th: float) -> np.ndarray:
    """The largest float32 below ``v_th``: ``v > it`` exactly when ``v >= v_th`` for float32 ``v``."""
    return np.nextafter(np.float32(v_th), np.float32(-np.inf), dtype=np.float32)


def fold_batch_norm(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[np.ndarray, np.ndarray]:
    """``(weight, bias)`` of the one convolution equal to ``conv`` then ``bn`` in eval mode, in
    float64 (the arithmetic of the fold adds no rounding of its own at float32)."""
    if not bn.track_running_stats or bn.running_mean is None:
        raise ExportError("BatchNorm without running statistics cannot be folded into its convolution")
    scale = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
    w = conv.weight.detach().double() * scale.reshape(-1, 1, 1, 1)
    b = bn.bias.detach().double() - bn.running_mean.double() * scale
    if conv.bias is not None:
        b = b + conv.bias.detach().double() * scale
    return w.numpy(), b.numpy()


def _pair(v) -> np.ndarray:
    return np.array([v, v] if isinstance(v, int) else list(v), dtype=np.int64)


def _conv_node(conv: nn.Conv2d, bn: nn.BatchNorm2d, shape: tuple) -> tuple:
    import nir

    if conv.groups != 1 or conv.padding_mode != "zeros" or isinstance(conv.padding, str):
        raise ExportError(f"Conv2d with groups={conv.groups}, padding={conv.padding!r}: not exported")
    w, b = fold_batch_norm(conv, bn)
    node = nir.Conv2d(input_shape=tuple(shape[1:]), weight=w, stride=_pair(conv.stride), padding=_pair(conv.padding),
                      dilation=_pair(conv.dilation), groups=1, bias=b)
    H, W = (_out(shape[1 + i], conv.kernel_size[i], conv.stride[i], conv.padding[i], conv.dilation[i])
            for i in range(2))
    return node, (conv.out_channels, H, W)


def _out(n: int, k: int, s: int, p: int, d: int = 1) -> int:
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def _lif_node(plif, shape: tuple, dt: float):
    import nir

    k = float(torch.sigmoid(plif.w.detach().float()))
    full = np.ones(shape, np.float64)
    return nir.LIF(tau=full * (dt / k), r=full.copy(), v_leak=np.zeros(shape), v_reset=np.zeros(shape),
                   v_threshold=np.full(shape, threshold_below(plif.firing.v_th), np.float32))


def _pool_nodes(pool: nn.Module, shape: tuple, name: str, i: int) -> tuple[list, tuple]:
    import nir

    k, s, p = pool.kernel_size, pool.stride, pool.padding
    k, s, p = (_pair(v) for v in (k, s if s is not None else k, p))
    H, W = (_out(shape[1 + j], int(k[j]), int(s[j]), int(p[j])) for j in range(2))
    out = (shape[0], H, W)
    if isinstance(pool, nn.MaxPool2d):
        if pool.dilation not in (1, (1, 1)) or pool.ceil_mode or int(p.max()) != 0:
            raise ExportError(f"layer {i} ({type(pool).__name__}): only unpadded, undilated max pooling is exported")
        # over binary spikes, a window's max is 1 exactly when its sum is > 0
        return [(f"{name}.sum", nir.SumPool2d(kernel_size=k, stride=s, padding=p)),
                (f"{name}.any", nir.Threshold(threshold=np.zeros(out, np.float32)))], out
    if pool.ceil_mode or not pool.count_include_pad or pool.divisor_override is not None:
        raise ExportError(f"layer {i} ({type(pool).__name__}): only plain average pooling is exported")
    return [(name, nir.AvgPool2d(kernel_size=k, stride=s, padding=p))], out


def to_nir(model, input_shape: tuple[int, ...], dt: float = 1.0, metadata: dict | None = None):
    """The NIR graph of ``model`` (eval-mode semantics) for one sample of ``input_shape``
    ``(C, H, W)`` per time step; nodes named as :func:`~pipeline.model.network.walk` names the
    layers (``conv_i``, ``spiking_i``, ``pool_i``, ``fc_i``, as the costs do), and ``vote``.
    ``dt``: the simulator's time step in the units of the graph's τ (1: time steps)."""
    import nir

    if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
        raise ExportError(f"dt must be a positive number, got {dt!r}")
    nodes: list[tuple[str, object]] = []
    shape = first = tuple(int(v) for v in input_shape)
    for layer in walk(model):
        m, i = layer.module, layer.index
        if layer.role == "conv":
            node, shape = _conv_node(m, layer.bn, shape)
            nodes.append((layer.name, node))
        elif layer.role == "spiking":
            nodes.append((layer.name, _lif_node(m, shape, dt)))
        elif layer.role == "pool":
            more, shape = _pool_nodes(m, shape, layer.name, i)
            nodes += more
        elif layer.role == "flatten" and m.start_dim == 1 and m.end_dim == -1:
            nodes.append(("flatten", nir.Flatten(input_type={"input": np.array(shape)}, start_dim=0, end_dim=-1)))
            shape = (math.prod(shape),)
        elif layer.role == "fc":
            w = m.weight.detach().double().numpy()
            node = nir.Linear(weight=w) if m.bias is None else nir.Affine(weight=w, bias=m.bias.detach().double().numpy())
            nodes.append((layer.name, node))
            shape = (m.out_features,)
        elif layer.role != "dropout":
            raise ExportError(f"layer {i} ({type(m).__name__}) has no exact NIR form")
    classes, votes = model.classes, model.votes
    vote = np.kron(np.eye(classes), np.full((1, votes), 1.0 / votes))
    nodes.append(("vote", nir.Linear(weight=vote)))
    graph_nodes = {"input": nir.Input(input_type={"input": np.array(first)}), **dict(nodes),
                   "output": nir.Output(output_type={"output": np.array([classes])})}
    order = list(graph_nodes)
    meta = {"dt": float(dt), "readout": "class rates: the mean over the T time steps of node 'vote'",
            "threshold": "v_threshold is the float32 just below ours: v > it is v >= our threshold",
            **(metadata or {})}
    return nir.NIRGraph(nodes=graph_nodes, edges=list(zip(order, order[1:])), metadata=meta)


def snntorch_unreadable(graph) -> str | None:
    """Why snnTorch's importer cannot read ``graph`` and what to do, in one phrase naming
    snnTorch; None when it can."""
    missing = sorted({type(n).__name__ for n in graph.nodes.values()} - SNNTORCH_NODES)
    if not missing:
        return None
    if set(missing) <= {"SumPool2d", "Threshold"}:
        return f"snnTorch cannot read max pooling (SumPool2d + Threshold); {AVG_POOLING}"
    return f"snnTorch's importer has no {', '.join(missing)} node"


def reader_hints(graph, path) -> list[str]:
    """Which readers can load ``graph`` (written to ``path``) and how, one line each."""
    dt = float(graph.metadata["dt"])
    snn = snntorch_unreadable(graph)
    if snn is None and dt != SNNTORCH_DT:
        snn = f"snnTorch: needs --for snntorch (its importer steps every LIF by dt {SNNTORCH_DT:g})"
    elif snn is None:
        snn = f'snnTorch: import_from_nir(nir.read("{path}")) (dt {dt:g}, its importer\'s step)'
    types = {type(n).__name__ for n in graph.nodes.values()}
    needs = "SumPool2d and Threshold, and " if "Threshold" in types else ""
    return [snn, f'other NIR readers: need {needs}a step of dt {dt:g} (the graph\'s metadata "dt")']

