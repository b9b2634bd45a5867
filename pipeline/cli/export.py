"""``python -m pipeline export --nir``: the trained model (``models/model.pt``) as a NIR graph
file, written atomically (:func:`pipeline.model.nir_export.to_nir` says how each layer maps)."""

from __future__ import annotations

from pathlib import Path

import torch

from ..core.atomic import atomic_path
from ..evaluate.stage import load_model
from ..model.nir_export import to_nir


def export_nir(model_path: str | Path, out: str | Path, dt: float = 1.0) -> str:
    """Write ``out`` from ``model_path``; returns a one-line summary."""
    import nir

    model, cfg = load_model(model_path, torch.device("cpu"))
    T, C, H, W = cfg["frame_shape"]
    image = cfg.get("image")
    meta = {"source": "dvs-pipeline", "time_steps": int(T), "classes": [str(c) for c in cfg["classes"]],
            "input": ("the normalised image (x/255 - mean)/std per channel, the same at each of the T steps"
                      if image else "event frames, one (polarity, height, width) frame of counts per step")}
    if image:
        meta |= {"mean": [float(v) for v in image["mean"]], "std": [float(v) for v in image["std"]]}
    graph = to_nir(model, (C, H, W), dt=dt, metadata=meta)
    with atomic_path(out) as tmp:
        nir.write(tmp, graph)
    spiking = sum(isinstance(n, nir.LIF) for n in graph.nodes.values())
    return (f"export: {out}: NIR graph of {len(graph.nodes)} nodes ({spiking} LIF layers), input "
            f"{C}x{H}x{W} per step for {T} steps, dt {dt:g}")
