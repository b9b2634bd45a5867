"""The paper's own training logs (Fang et al., ICCV 2021), as ``../shared/paper`` holds them.

``test_accuracy.csv``: one row per (run, epoch): dataset, neuron, init_tau, pooling, T, epoch
(0-based, 1,000 of the 1,024 epochs logged), test_accuracy (0-1), wall_time.
``tau.csv``: one row per (PLIF run of CIFAR10 / CIFAR10DVS, layer, step): the learned w and
tau = 1 + exp(-w); ``step`` counts training iterations of batch 16 (``ITERATIONS_PER_EPOCH``).

Epochs are reported here as epochs *completed*: the paper's epoch ``e`` (0-based) is plotted
at ``e + 1``, as our logs number their first epoch 1, and a tau logged after ``step``
iterations at ``step / iterations_per_epoch``.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...core.errors import PipelineError

#: our dataset name -> the paper's
PAPER_DATASET = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST", "cifar10": "CIFAR10", "nmnist": "NMNIST",
                 "cifar10_dvs": "CIFAR10DVS", "dvsgesture": "DVS128Gesture", "demo": "DVS128Gesture"}
#: our datasets compared with a different dataset of the paper (the note says so)
SIMULATED = {"demo": "`demo` is a simulated DVS128-Gesture-like dataset (our own sensor model, 8 classes): "
                     "the paper's DVS128 Gesture numbers are a reference, not a like-for-like comparison"}
#: training iterations (batch 16) per epoch, to turn tau.csv's ``step`` into epochs (SOURCES.md)
ITERATIONS_PER_EPOCH = {"CIFAR10": 3125.0, "CIFAR10DVS": 9000 / 16}
#: the paper's epochs per run
PAPER_EPOCHS = 1024
#: the paper's five configurations (neuron, init_tau, pooling), its own model first
PAPER_CONFIGS = [("plif", 2.0, "max"), ("plif", 16.0, "max"), ("lif", 2.0, "max"), ("lif", 16.0, "max"),
                 ("plif", 2.0, "avg")]

ACCURACY_COLUMNS = ("dataset", "neuron", "init_tau", "pooling", "T", "epoch", "test_accuracy")
TAU_COLUMNS = ("dataset", "neuron", "init_tau", "pooling", "T", "layer", "step", "tau")

Config = tuple  # (neuron, init_tau, pooling)


def config_key(neuron: str, tau0: float, pooling: str) -> Config:
    return (str(neuron).lower(), float(tau0), str(pooling).lower())


def config_label(config: Config) -> str:
    """``PLIF τ0=2, max`` / ``LIF τ=16, max`` (a LIF neuron's tau is fixed, not an initial value)."""
    neuron, tau, pooling = config
    t = f"{tau:g}"
    return f"PLIF τ0={t}, {pooling}" if neuron == "plif" else f"{neuron.upper()} τ={t}, {pooling}"


@dataclass
class AccuracyCurve:
    T: int
    epochs: np.ndarray        # epochs completed (paper epoch + 1), ascending
    accuracy: np.ndarray      # 0-1

    def best(self) -> float:
        return float(self.accuracy.max())

    def best_within(self, n: int) -> float | None:
        """The best test accuracy over the paper's first ``n`` epochs (None: none of them logged)."""
        sel = self.accuracy[self.epochs <= n]
        return float(sel.max()) if sel.size else None


@dataclass
class PaperLogs:
    folder: Path
    accuracy: dict = field(default_factory=dict)   # (paper dataset, config) -> AccuracyCurve
    tau: dict = field(default_factory=dict)        # (paper dataset, config) -> {layer: (epochs, tau)}
    notes: list = field(default_factory=list)

    def curve(self, dataset: str, config: Config) -> AccuracyCurve | None:
        """The paper's accuracy curve for our ``dataset`` name and a configuration, if it has one."""
        paper = PAPER_DATASET.get(dataset)
        return self.accuracy.get((paper, _match(config, self.accuracy, paper)))

    def taus(self, dataset: str, config: Config) -> dict | None:
        """The paper's tau per layer, ``{layer: (epochs, tau)}``, for our ``dataset`` and a
        configuration, if it logged them (CIFAR10 and CIFAR10DVS PLIF runs)."""
        paper = PAPER_DATASET.get(dataset)
        return self.tau.get((paper, _match(config, self.tau, paper)))


def _match(config: Config, table: dict, paper_dataset: str | None) -> Config | None:
    """The key of ``table`` whose configuration equals ``config`` (tau compared with a tolerance)."""
    for ds, cfg in table:
        if ds == paper_dataset and cfg[0] == config[0] and cfg[2] == config[2] and math.isclose(cfg[1], config[1]):
            return cfg
    return None


def _rows(path: Path, columns: tuple) -> list[dict]:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise PipelineError(f"{path}: not the paper's log format: no column {', '.join(missing)} "
                                    f"(header: {','.join(reader.fieldnames or [])})")
            return list(reader)
    except UnicodeDecodeError as e:
        raise PipelineError(f"{path}: not a text CSV file ({e.reason})") from None


def _number(path: Path, i: int, row: dict, col: str, kind=float):
    try:
        return kind(row[col])
    except (TypeError, ValueError):
        raise PipelineError(f"{path}: row {i + 2}: column {col} is not a number: {row[col]!r}") from None


def load_paper(folder: str | Path) -> PaperLogs:
    """Read ``folder``'s ``test_accuracy.csv`` (required) and ``tau.csv`` (optional)."""
    folder = Path(folder)
    acc_path, tau_path = folder / "test_accuracy.csv", folder / "tau.csv"
    if not acc_path.is_file():
        raise PipelineError(f"{acc_path} not found: --paper must name a folder holding the paper's "
                            f"test_accuracy.csv (and tau.csv)")
    logs = PaperLogs(folder)
    points: dict = {}
    for i, row in enumerate(_rows(acc_path, ACCURACY_COLUMNS)):
        key = (row["dataset"], config_key(row["neuron"], _number(acc_path, i, row, "init_tau"), row["pooling"]))
        T = _number(acc_path, i, row, "T", lambda s: int(float(s)))
        points.setdefault(key, (T, []))[1].append((_number(acc_path, i, row, "epoch", lambda s: int(float(s))),
                                                   _number(acc_path, i, row, "test_accuracy")))
    for key, (T, pts) in points.items():
        pts.sort()
        logs.accuracy[key] = AccuracyCurve(T, np.array([e + 1 for e, _ in pts], float),
                                           np.array([a for _, a in pts], float))
    if not tau_path.is_file():
        logs.notes.append(f"{tau_path} not found: no paper tau curves")
        return logs
    taus: dict = {}
    for i, row in enumerate(_rows(tau_path, TAU_COLUMNS)):
        ds = row["dataset"]
        per_epoch = ITERATIONS_PER_EPOCH.get(ds)
        if per_epoch is None:
            continue            # iterations per epoch unknown: cannot be put on an epoch axis
        key = (ds, config_key(row["neuron"], _number(tau_path, i, row, "init_tau"), row["pooling"]))
        layer = _number(tau_path, i, row, "layer", lambda s: int(float(s)))
        taus.setdefault(key, {}).setdefault(layer, []).append(
            (_number(tau_path, i, row, "step") / per_epoch, _number(tau_path, i, row, "tau")))
    for key, layers in taus.items():
        logs.tau[key] = {}
        for layer in sorted(layers):
            pts = sorted(layers[layer])
            logs.tau[key][layer] = (np.array([e for e, _ in pts]), np.array([t for _, t in pts]))
    return logs


def default_paper_dir(root: str | Path) -> Path:
    """``<repo>/../shared/paper``: beside the project's own checkouts, absent from a user's clone."""
    return Path(root).resolve().parent / "shared" / "paper"
