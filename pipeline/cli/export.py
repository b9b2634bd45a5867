"""``python -m pipeline export --nir``: the trained model (``models/model.pt``) as a NIR graph
file, written atomically (:func:`pipeline.model.nir_export.to_nir` says how each layer maps).

``--for snntorch`` writes the graph snnTorch's importer reads as our model runs: its step
(:data:`~pipeline.model.nir_export.SNNTORCH_DT`), and a model it cannot read (max pooling) is
refused before anything is written.

The graph's input is what the model was trained on (:func:`input_metadata`): event counts per
polarity, a one-channel signed voxel grid, or Bina-Rep values in [0, 1] (the stored codes
divided by ``2**n_bits - 1``), or a normalised image; the metadata ``representation`` (and
``n_bits``) and ``input`` say which, and the input's channels are the frames file's."""

from __future__ import annotations

from pathlib import Path

import torch

from ..core.atomic import atomic_path, check_target
from ..evaluate.stage import load_model
from ..model.nir_export import SNNTORCH_DT, ExportError, reader_hints, snntorch_unreadable, to_nir
from ..core.frameparams import representation
from ..datasets.spec import normalisation

#: the readers ``--for`` writes for: ``generic`` (any NIR simulator, stepping by ``--dt``) and
#: ``snntorch`` (its importer's fixed step, and only the nodes it maps)
READERS = ("generic", "snntorch")


def input_metadata(cfg: dict) -> dict:
    """The graph metadata that says what the model's input is, from its ``model.pt`` config:
    ``representation`` (``counts``, ``voxel_grid``, ``binarep``; a model from before
    representations trained on counts; ``image`` for static images), ``n_bits`` for Bina-Rep,
    and ``input``, a sentence; the mean and std of an image's normalisation."""
    image = cfg.get("image")
    if image:
        return {"representation": "image",
                "input": "the normalised image (x/255 - mean)/std per channel, the same at each of the T steps",
                **normalisation([float(v) for v in image["mean"]], [float(v) for v in image["std"]])}
    attrs = cfg.get("frames_attrs") or {}
    kind = representation(attrs)
    if kind == "voxel_grid":
        return {"representation": kind, "input": "a voxel grid (Tonic's ToVoxelGrid): one (1, height, width) "
                "frame of signed real values per step"}
    if kind == "binarep":
        n = int(attrs["n_bits"])
        return {"representation": kind, "n_bits": n,
                "input": f"Bina-Rep (Tonic's ToBinaRep, {n} bits): one (polarity, height, width) frame of values "
                         f"in [0, 1] per step, the stored codes divided by {2**n - 1}"}
    return {"representation": kind, "input": "event frames, one (polarity, height, width) frame of counts per step"}


def export_nir(model_path: str | Path, out: str | Path, dt: float | None = None, reader: str = "generic") -> str:
    """Write ``out`` from ``model_path`` for ``reader`` (one of :data:`READERS`), with the step
    ``dt`` (None: 1 for ``generic``, snnTorch's for ``snntorch``); returns the summary: its first
    line what was written, then one line per reader saying whether and how it loads the file."""
    import nir

    if reader not in READERS:
        raise ExportError(f"--for {reader}: not a reader we export for (one of {', '.join(READERS)})")
    if reader == "snntorch":
        if dt is not None and dt != SNNTORCH_DT:
            raise ExportError(f"--dt {dt:g} with --for snntorch: snnTorch's importer steps by dt {SNNTORCH_DT:g} "
                              "whatever the graph says; leave out --dt")
        dt = SNNTORCH_DT
    dt = 1.0 if dt is None else dt
    check_target(out, "file", "--out")        # a FIFO, a device, a folder: refused before any work
    model, cfg = load_model(model_path, torch.device("cpu"))
    T, C, H, W = cfg["frame_shape"]
    meta = {"source": "dvs-pipeline", "time_steps": int(T), "classes": [str(c) for c in cfg["classes"]],
            **input_metadata(cfg)}
    graph = to_nir(model, (C, H, W), dt=dt, metadata=meta)
    if reader == "snntorch" and (why := snntorch_unreadable(graph)):
        raise ExportError(f"{model_path}: {why}")
    with atomic_path(out, "file") as tmp:
        nir.write(tmp, graph)
    spiking = sum(isinstance(n, nir.LIF) for n in graph.nodes.values())
    return "\n".join([f"export: {out}: NIR graph of {len(graph.nodes)} nodes ({spiking} LIF layers), input "
                      f"{C}x{H}x{W} per step for {T} steps, dt {dt:g}"]
                     + [f"  {line}" for line in reader_hints(graph, out)])
