"""The report's figures (matplotlib, Agg canvas, no pyplot state): per dataset, the test
accuracy per epoch of our runs and the paper's curves for the same configurations; per run,
the learned tau of every spiking layer per epoch, with the paper's where it logged them, and
what the evaluated network costs per layer.

Each of our runs has its own colour (``tab10``, then the same colours with another line
style) and, beside others, is labelled by the params that tell it apart (``T=8``). A paper
curve takes the colour of our run in its configuration when exactly one run has it; when
several do (a T sweep), it is grey, with a dash pattern per configuration. Layers are named as
:func:`pipeline.model.network.walk` names them (``spiking_1`` ...), in the tau and the costs
figures alike.

Our runs last tens of epochs, the paper's 1,024, so a figure with paper curves has two panels:
left, our epochs on a linear axis with the paper's first epochs beside ours; right, the
paper's whole run on a logarithmic axis with ours overlaid and our range shaded.

Names that come from the files (runs, datasets, layers, params) are drawn as plain text, never
as matplotlib mathtext or TeX (a layer named ``$x^$`` is drawn as those four characters), and
a figure draws at most :data:`MAX_LAYERS` layers, saying in its title how many it left out.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, MaxNLocator, NullLocator, ScalarFormatter

from .paper import PAPER_CONFIGS, PAPER_DATASET, PAPER_EPOCHS, SIMULATED, PaperLogs, config_label
from .runs import Run, differing_params, params_label

DPI = 120
#: layers drawn in one figure (the tau and the costs figures): the paper's largest network has 8
#: spiking layers; 10,000 (all a results file may list) took 74 to 122 s to draw
MAX_LAYERS = 64
#: Text properties of a name read from a file: shown as written, not parsed as mathtext or TeX
PLAIN = {"parse_math": False, "usetex": False}
#: our runs: one colour each from this qualitative colormap, then its colours again with the next style
RUN_COLORMAP = "tab10"
OUR_STYLES = ["-", "--", "-.", ":"]
#: the paper's curves shared by several of our runs: grey, a dash pattern per configuration
#: (in the order of PAPER_CONFIGS); one run's: that run's colour, PAPER_DASHES
PAPER_STYLES = dict(zip(PAPER_CONFIGS, [("0.1", (0, (4, 2))), ("0.35", (0, (1, 1.2))), ("0.5", (0, (6, 2, 1, 2))),
                                        ("0.3", (0, (2, 1))), ("0.6", (0, (8, 2, 1, 2, 1, 2)))]))


def run_style(i: int) -> tuple:
    """The colour and line style of the ``i``-th run of a figure (0-based): ``tab10``'s ten
    colours, then the same ten with the next line style."""
    from matplotlib import colormaps
    colors = colormaps[RUN_COLORMAP].colors
    return colors[i % len(colors)], OUR_STYLES[(i // len(colors)) % len(OUR_STYLES)]


PAPER_DASHES = (0, (4, 2))


def _paper_style(config, runs_colors: list) -> tuple:
    """(colour, dashes) of the paper's curve for ``config``; ``runs_colors``: the colours of our
    runs in that configuration."""
    if len(runs_colors) == 1:
        return runs_colors[0], PAPER_DASHES
    return PAPER_STYLES.get(config, ("0.45", (0, (3, 1, 1, 1))))


def _plain(texts) -> None:
    """Draw ``texts`` (matplotlib Text objects holding names from the files) as plain text."""
    for t in texts:
        t.set(**PLAIN)


def _legend(fig: Figure, handles, labels, **kwargs):
    legend = fig.legend(handles, labels, **kwargs)
    _plain(legend.get_texts())
    return legend


def _capped(names: list, what: str) -> tuple[list, str]:
    """The first :data:`MAX_LAYERS` of ``names``, and a note of those left out ('' when none)."""
    if len(names) <= MAX_LAYERS:
        return names, ""
    return names[:MAX_LAYERS], f"the first {MAX_LAYERS} of {len(names):,} {what} drawn"


def _figure(two_panels: bool, height: float = 5.0) -> tuple[Figure, list]:
    fig = Figure(figsize=(13, height) if two_panels else (9, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2, width_ratios=[1, 1.3]) if two_panels else [fig.subplots()]
    return fig, list(axes)


def _epoch_axis(ax, n: int) -> None:
    """Linear axis over our epochs 1..n, integer ticks."""
    ax.set_xlim(0.5, n + 0.5) if n < 5 else ax.set_xlim(0, n + 1)
    ax.margins(y=0.15 if n < 3 else 0.05)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3)


def _log_axis(ax, n: int) -> None:
    """Logarithmic axis over the paper's 1,024 epochs; our 1..n shaded."""
    ax.set_xscale("log", base=2)
    ax.set_xlim(0.8, PAPER_EPOCHS * 1.25)
    ax.xaxis.set_major_locator(FixedLocator([2 ** k for k in range(11)]))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_locator(NullLocator())
    ax.axvspan(0.8, n + 0.5, color="0.85", alpha=0.5, lw=0, zorder=0)
    ax.set_title(f"the paper's full {PAPER_EPOCHS} epochs ({_ours(n)} shaded)", fontsize=10)
    ax.set_xlabel("epoch (log scale)")
    ax.grid(alpha=0.3, which="major")


def _ours(n: int) -> str:
    return f"our {n} epoch{'s' if n != 1 else ''}"


def _first_title(n: int) -> str:
    return (f"our epochs 1–{n}, the paper's first {n} beside them" if n > 1
            else "our one epoch, the paper's first beside it")


def _markers(n: int, hollow: bool = False) -> dict:
    """Markers on curves of up to 120 points; hollow ones for the paper's."""
    if n > 120:
        return {}
    return {"marker": "o", "markersize": (4 if n <= 40 else 2.5) + hollow, **({"mfc": "white"} if hollow else {})}


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=DPI)
    return path


def accuracy_figure(dataset: str, runs: list[Run], paper: PaperLogs | None, path: Path) -> Path:
    """Test accuracy (%) per epoch of ``runs`` (all of ``dataset``) and the paper's curves for
    their configurations; writes ``path`` (PNG)."""
    n = max(r.epochs for r in runs)
    configs = list(dict.fromkeys(r.config for r in runs))
    curves = {c: paper.curve(dataset, c) for c in configs} if paper else {}
    curves = {c: v for c, v in curves.items() if v is not None}
    differ = differing_params(runs)
    fig, axes = _figure(bool(curves), 5.2)
    handles, colors = [], {}
    for i, run in enumerate(runs):
        color, style = run_style(i)
        colors.setdefault(run.config, []).append(color)
        e, acc = run.log["epoch"], run.log.get("test_accuracy", np.full(run.log["epoch"].shape, np.nan)) * 100
        for ax in axes:
            (line,) = ax.plot(e, acc, style, color=color, lw=2, zorder=3, **_markers(run.epochs))
        a = run.accuracy_A
        text = (f"ours: {params_label(run, differ)} ({run.label}, {run.epochs} ep.)" if differ
                else f"ours: {run.label} ({config_label(run.config)}, {run.epochs} ep.)")
        handles.append((line, text + (f", best {a * 100:.2f} %" if a is not None else "")))
    for config, curve in curves.items():
        color, dashes = _paper_style(config, colors[config])
        first = curve.epochs <= n
        axes[0].plot(curve.epochs[first], curve.accuracy[first] * 100, color=color, lw=1.4, ls=dashes,
                     alpha=0.8, zorder=2, **_markers(n, hollow=True))
        axes[1].plot(curve.epochs, curve.accuracy * 100, color=color, lw=1.0, alpha=0.75, zorder=2)
        within = curve.best_within(n)
        text = f"paper: {config_label(config)}, T={curve.T}: best {curve.best() * 100:.2f} % in {PAPER_EPOCHS} ep."
        if within is not None:
            text += f", {within * 100:.2f} % in its first {n}"
        handles.append((Line2D([], [], color=color, lw=1.4, ls=dashes, **_markers(n, hollow=True)), text))
    _epoch_axis(axes[0], n)
    axes[0].set_ylabel("test accuracy (%)")
    if curves:
        axes[0].set_title(_first_title(n), fontsize=10)
        _log_axis(axes[1], n)
        axes[1].set_ylabel("test accuracy (%)")
    paper_name = PAPER_DATASET.get(dataset)
    title = f"{dataset}: test accuracy per epoch"
    if curves:
        title += f", ours vs. Fang et al. (ICCV 2021) on {paper_name}"
        if dataset in SIMULATED:
            title += f"\n(ours: simulated data; the paper: the real {paper_name} recordings)"
    elif paper is not None:
        title += f"\n(the paper has no log for {dataset} in these configurations)"
    else:
        title += "\n(the paper's logs were not found: ours only)"
    fig.suptitle(title, fontsize=12, **PLAIN)
    _legend(fig, [h for h, _ in handles], [t for _, t in handles], loc="outside lower center",
            ncol=1 if len(handles) > 3 or curves else min(len(handles), 2), fontsize=9, frameon=False)
    return _save(fig, path)


def _layer_colors(count: int) -> list:
    from matplotlib import colormaps
    if count <= 10:
        return [colormaps["tab10"](i) for i in range(count)]
    return [colormaps["viridis"](i / max(count - 1, 1)) for i in range(count)]


def tau_figure(run: Run, paper: PaperLogs | None, path: Path,
               note: Callable[[str], None] | None = None) -> Path | None:
    """The learned tau of each spiking layer per epoch (the log's ``tau_<k>`` columns: layer
    ``spiking_<k>``), and the paper's per layer for the same dataset and configuration where it
    has them; writes ``path`` (PNG). None when the log has no tau column. At most
    :data:`MAX_LAYERS` layers, the first; ``note`` gets a line saying how many were left out."""
    ours = run.taus
    if not ours:
        return None
    n = run.epochs
    theirs = paper.taus(run.dataset, run.config) if paper else None
    layers = sorted({*ours, *(theirs or {})}, key=lambda name: int(name.rsplit("_", 1)[1]))
    layers, left_out = _capped(layers, "spiking layers")
    ours = {k: v for k, v in ours.items() if k in layers}
    theirs = {k: v for k, v in theirs.items() if k in layers} if theirs else theirs
    if left_out and note is not None:
        note(f"{run.label}: τ figure: {left_out}")
    count = len(layers)
    colors = dict(zip(layers, _layer_colors(count)))
    fig, axes = _figure(bool(theirs), 5.0)
    e = run.log["epoch"]
    for layer, tau in ours.items():
        for ax in axes:
            ax.plot(e, tau, "-", color=colors[layer], lw=2, zorder=3, **_markers(n))
    for layer, (x, tau) in (theirs or {}).items():
        color = colors[layer]
        first = x <= n + 0.5
        axes[0].plot(x[first], tau[first], color=color, lw=1.3, ls=(0, (4, 2)), alpha=0.8, zorder=2,
                     **_markers(n, hollow=True))
        axes[1].plot(x, tau, color=color, lw=1.0, ls=(0, (4, 2)), alpha=0.8, zorder=2)
    _epoch_axis(axes[0], n)
    for ax in axes:
        ax.set_ylabel("τ (time steps)")
    if theirs:
        axes[0].set_title(_first_title(n), fontsize=10)
        _log_axis(axes[1], n)
    kind = "learned τ per spiking layer" if run.neuron == "plif" else "τ per spiking layer (LIF: fixed)"
    title = f"{run.label}: {kind}, {run.dataset}, {config_label(run.config)}" + (f", T={run.T}" if run.T else "")
    if theirs:
        title += f"\nthe paper's {PAPER_DATASET[run.dataset]} run with the same configuration dashed"
        if run.dataset in SIMULATED:
            title += " (a different, real dataset)"
    elif paper is not None and run.neuron == "plif":
        title += "\n(the paper logged τ only in CIFAR10 and CIFAR10DVS PLIF runs)"
    if left_out:
        title += f"\n({left_out})"
    fig.suptitle(title, fontsize=12, **PLAIN)
    handles = [Line2D([], [], color=colors[layer], lw=2) for layer in layers]
    labels = [layer + ("" if layer in ours else " (paper only)") for layer in layers]
    if theirs:
        handles += [Line2D([], [], color="0.3", lw=2, **_markers(n)),
                    Line2D([], [], color="0.3", lw=1.3, ls=(0, (4, 2)), **_markers(n, hollow=True))]
        labels += ["ours (solid)", "paper (dashed)"]
    if len(labels) > 24:                  # up to MAX_LAYERS + 2: small, in rows of 8 under the axes
        _legend(fig, handles, labels, loc="outside lower center", fontsize=6, frameon=False, ncol=8)
    else:
        _legend(fig, handles, labels, loc="outside right upper", fontsize=9, frameon=False)
    return _save(fig, path)


def _tick_angle(count: int) -> dict:
    """Layer names (``spiking_1``, ``conv_2``) as tick labels, plain text: slanted when many,
    upright and small beyond 24."""
    if count > 24:
        return {"rotation": 90, "fontsize": 6, **PLAIN}
    return {"rotation": 30, "ha": "right", "rotation_mode": "anchor", **PLAIN} if count > 5 else dict(PLAIN)


def costs_figure(run: Run, path: Path, note: Callable[[str], None] | None = None) -> Path | None:
    """What the run's evaluated network costs per test sample (``costs`` of evaluation.json): the
    firing rate of each spiking layer, and each weight layer's operations as the SNN runs them
    (accumulates; multiply-accumulates for an image encoder or a first layer on real-valued input) beside the same layer run as an
    ANN; writes ``path`` (PNG). None when the run has no costs. At most :data:`MAX_LAYERS`
    layers a panel, the first; ``note`` gets a line saying how many were left out."""
    costs = (run.evaluated or {}).get("costs")
    if not costs:
        return None
    fig = Figure(figsize=(13, 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, width_ratios=[1, 1.4])
    costs = {"firing_rate": {}, "accumulates": {}, "macs": {}, "ann_macs": {}, **costs}   # dvc drops empty tables
    spiking, rates_left_out = _capped(list(costs["firing_rate"]), "spiking layers")
    rates = {k: costs["firing_rate"][k] for k in spiking}
    left.bar(range(len(rates)), list(rates.values()), color="tab:blue")
    left.set_xticks(range(len(rates)), list(rates), **_tick_angle(len(rates)))
    left.set_xlabel("spiking layer")
    left.set_ylabel("spikes per neuron per time step")
    left.set_title("firing rate" + (f"\n({rates_left_out})" if rates_left_out else ""), fontsize=10)
    left.grid(alpha=0.3, axis="y")
    layers, ops_left_out = _capped(list(costs["ann_macs"]), "weight layers")
    for left_out in (rates_left_out, ops_left_out):
        if left_out and note is not None:
            note(f"{run.label}: costs figure: {left_out}")
    x = np.arange(len(layers))
    snn = [costs["accumulates"].get(k, costs["macs"].get(k, 0.0)) for k in layers]
    colors = ["tab:orange" if k in costs["macs"] else "tab:green" for k in layers]
    right.bar(x - 0.2, [max(v, 0.5) for v in snn], 0.4, color=colors)
    right.bar(x + 0.2, [costs["ann_macs"][k] for k in layers], 0.4, color="0.6")
    right.set_yscale("log")
    right.set_xticks(x, layers, **_tick_angle(len(layers)))
    right.set_ylabel("operations per sample (log scale)")
    right.set_title("operations per weight layer" + (f"\n({ops_left_out})" if ops_left_out else ""), fontsize=10)
    right.grid(alpha=0.3, axis="y", which="major")
    kinds = [("tab:green", "SNN: accumulates (spikes, events)")]
    if costs["macs"]:
        kinds.append(("tab:orange", "SNN: multiply-accumulates (an image encoder, or a first layer on real-valued input)"))
    kinds.append(("0.6", "the same network as an ANN: multiply-accumulates"))
    right.legend([Line2D([], [], color=c, lw=8) for c, _ in kinds], [t for _, t in kinds], fontsize=8,
                 frameon=False)
    ratio = costs.get("ann_to_snn_energy")
    fig.suptitle(f"{run.label}: costs per test sample, {run.dataset}" + (f", T={run.T}" if run.T else "")
                 + f"\nenergy {costs['energy_uJ']:.4g} µJ; the same network as an ANN {costs['ann_energy_uJ']:.4g} µJ"
                 + (f", {ratio:.3g}× as much" if ratio else "") + " (0.9 pJ per AC, 4.6 pJ per MAC, 45 nm)",
                 fontsize=12, **PLAIN)
    return _save(fig, path)
