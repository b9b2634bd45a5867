"""``python -m pipeline summary``: the network a params file builds, layer by layer.

One forward pass of a single zero sample (eval mode, no gradients) records each layer's output
shape through forward hooks; the parameter count is that of the model the train stage builds.
The model is built on torch's ``meta`` device: shapes and parameter counts without memory, so a
network of gigabytes (``model.hidden: 65536`` at full resolution) is described at once, not
allocated.
Each layer is shown with the name :func:`pipeline.model.network.walk` gives it (``conv_1``,
``spiking_1``, ``pool_1``, ``fc_1``, ...): the names of the costs in evaluation.json, the NIR
graph's nodes, the train log's ``tau_<k>`` (``spiking_<k>``) and the report's figures.
"""

from __future__ import annotations

import torch
from torch import nn

from ..datasets import get
from ..model import build_model
from ..model.network import ConvBN, Normalize, SeqDropout, SeqToBatch, walk
from ..model.neuron import PLIF
from ..params import Params


def image_norm(params: Params) -> dict | None:
    """The normalisation of an image dataset's network input (None for event datasets)."""
    layout = get(params.dataset).layout
    return layout.normalisation() if layout.images else None


def _describe(m: nn.Module, tau0: float) -> str:
    """``m`` in words; ``tau0``: the params' initial tau (the model is on the meta device: its
    weights have no values to read)."""
    if isinstance(m, SeqToBatch):
        m = m.body[0] if len(m.body) == 1 else m.body
    if isinstance(m, ConvBN):
        c = m.conv
        return f"Conv{c.kernel_size[0]}x{c.kernel_size[1]}({c.in_channels}->{c.out_channels}) + BN " \
               f"({'per step' if m.per_step else 'joint'})"
    if isinstance(m, nn.Sequential) and isinstance(m[0], nn.Conv2d):
        c = m[0]
        return f"Conv{c.kernel_size[0]}x{c.kernel_size[1]}({c.in_channels}->{c.out_channels}) + BN, once (encoder)"
    if isinstance(m, PLIF):
        learn = isinstance(m.w, nn.Parameter)
        return f"PLIF (tau0 = {tau0:g}, learnable)" if learn else f"LIF (tau = {tau0:g}, fixed)"
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        return f"{'MaxPool' if isinstance(m, nn.MaxPool2d) else 'AvgPool'}{m.kernel_size}"
    if isinstance(m, nn.Flatten):
        return "Flatten"
    if isinstance(m, SeqDropout):
        return f"Dropout({m.p:g}, one mask over T)"
    if isinstance(m, nn.Linear):
        return f"Linear({m.in_features}->{m.out_features})"
    if isinstance(m, Normalize):
        return "Normalize((x/255 - mean) / std)"
    return type(m).__name__


def _shape(t: torch.Tensor, steps: bool) -> str:
    dims = list(t.shape)
    if steps:                       # (T, B=1, ...) -> "T x ..."
        return " x ".join(map(str, [dims[0], *dims[2:]]))
    return " x ".join(map(str, dims[1:]))


def summary(params: Params) -> str:
    """The table ``python -m pipeline summary`` prints, its last line ``parameters: N``."""
    spec = get(params.dataset)
    shape = params.frame_shape()
    image = image_norm(params)
    # shapes and counts only, nothing allocated: on the meta device, where only the reference
    # PLIF implementation runs (every backend gives the same shapes and parameters)
    mp = params.model.model_copy(update={"backend": "eager"})
    with torch.device("meta"):
        model = build_model(mp, shape, len(spec.classes), image).eval()
    names = {layer.index: layer.name for layer in walk(model)}    # index None: the image encoder
    rows: list[tuple[str, str, str, int]] = []
    hooks = []

    def watch(m: nn.Module, name: str, steps: bool):
        def hook(_mod, _inp, out):
            rows.append((name, _describe(m, float(params.model.tau0)), _shape(out, steps),
                         sum(p.numel() for p in m.parameters())))
        hooks.append(m.register_forward_hook(hook))

    if model.encoder is not None:
        watch(model.normalize, "", False)
        watch(model.encoder, names[None], False)
    for i, layer in enumerate(model.layers):
        watch(layer, names[i], True)
    T, C, H, W = shape
    x = torch.zeros((1, C, H, W) if image is not None else (1, T, C, H, W), device="meta")
    with torch.no_grad():
        out = model(x)
    for h in hooks:
        h.remove()
    total = sum(p.numel() for p in model.parameters())
    source = (f"{C} x {H} x {W} image (uint8), repeated for T = {T} steps" if image is not None
              else f"T = {T} frames of {C} x {H} x {W}")
    width = max(len("name"), *(len(name) for name, *_ in rows))
    lines = [f"{params.dataset}: input {source}; {len(spec.classes)} classes x {params.model.votes} votes",
             f"{'#':>3}  {'name':<{width}}  {'layer':<48} {'output (per sample)':<24} {'parameters':>12}"]
    for i, (name, what, shp, n) in enumerate(rows):
        lines.append(f"{i:>3}  {name:<{width}}  {what:<48} {shp:<24} {n:>12,}")
    lines.append(f"{len(rows):>3}  {'':<{width}}  {'firing rate per class (mean over T and votes)':<48} "
                 f"{' x '.join(map(str, out.shape[1:])):<24} {0:>12,}")
    lines.append(f"parameters: {total}")
    return "\n".join(lines)
