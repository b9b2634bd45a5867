"""The paper's own training logs (Fang et al., ICCV 2021), as the package ships them
(:data:`PAPER_LOGS`: ``paperlogs/*.csv.xz``, byte-identical to ``../shared/paper``'s CSVs once
decompressed; its SOURCES.md says where they come from) or as plain CSVs in a folder.

``test_accuracy.csv``: one row per (run, epoch): dataset, neuron, init_tau, pooling, T, epoch
(0-based, 1,000 of the 1,024 epochs logged), test_accuracy (0-1), wall_time.
``tau.csv``: one row per (PLIF run of CIFAR10 / CIFAR10DVS, layer, step): the learned w and
tau = 1 + exp(-w); ``step`` counts training iterations of batch 16 (``ITERATIONS_PER_EPOCH``);
``layer`` counts from 0, and is named here as :func:`pipeline.model.network.walk` names our
layers: layer 0 is ``spiking_1``.

Epochs are reported here as epochs *completed*: the paper's epoch ``e`` (0-based) is plotted
at ``e + 1``, as our logs number their first epoch 1, and a tau logged after ``step``
iterations at ``step / iterations_per_epoch``.
"""

from __future__ import annotations

import csv
import io
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
#: the paper's logs as this package ships them: ``test_accuracy.csv.xz``, ``tau.csv.xz``
PAPER_LOGS = Path(__file__).resolve().parent / "paperlogs"
#: the compressed form of a log file that :func:`load_paper` reads when the plain CSV is absent
COMPRESSED = ".xz"

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
    tau: dict = field(default_factory=dict)        # (paper dataset, config) -> {spiking_<k>: (epochs, tau)}
    notes: list = field(default_factory=list)

    def curve(self, dataset: str, config: Config) -> AccuracyCurve | None:
        """The paper's accuracy curve for our ``dataset`` name and a configuration, if it has one."""
        paper = PAPER_DATASET.get(dataset)
        return self.accuracy.get((paper, _match(config, self.accuracy, paper)))

    def taus(self, dataset: str, config: Config) -> dict | None:
        """The paper's tau per layer, ``{"spiking_1": (epochs, tau), ...}`` in layer order (its
        layer 0 is ``spiking_1``), for our ``dataset`` and a configuration, if it logged them
        (CIFAR10 and CIFAR10DVS PLIF runs)."""
        paper = PAPER_DATASET.get(dataset)
        return self.tau.get((paper, _match(config, self.tau, paper)))


def _match(config: Config, table: dict, paper_dataset: str | None) -> Config | None:
    """The key of ``table`` whose configuration equals ``config`` (tau compared with a tolerance)."""
    for ds, cfg in table:
        if ds == paper_dataset and cfg[0] == config[0] and cfg[2] == config[2] and math.isclose(cfg[1], config[1]):
            return cfg
    return None


def spiking_name(k: int) -> str:
    """The name :func:`pipeline.model.network.walk` gives the ``k``-th spiking layer (1-based):
    ``spiking_<k>``, as the costs, the NIR graph and the train log (``tau_<k>``) name it."""
    return f"spiking_{k}"


#: the most a paper log may hold, plain or once decompressed (the real ones: 1.5 MB each)
MAX_LOG_BYTES = 64 << 20


def _read_at_most(path: Path, limit: int) -> bytes:
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise PipelineError(f"{path}: more than {limit >> 20} MiB; the paper's logs are about 1.5 MB each")
    return data


def _text(path: Path) -> str:
    """A log file's text: plain, or xz-compressed when its name ends in :data:`COMPRESSED`."""
    if path.name.endswith(COMPRESSED):
        try:
            import lzma
        except ImportError:
            raise PipelineError(f"{path}: this Python has no lzma module (built without liblzma) to read it; "
                                f"give --paper DIR, a folder of the plain CSVs (xz -dk {path.name})") from None
        raw = _read_at_most(path, MAX_LOG_BYTES)
        unpacker = lzma.LZMADecompressor()
        try:                                       # never more than the bound, however well it packs
            data = unpacker.decompress(raw, max_length=MAX_LOG_BYTES + 1)
        except lzma.LZMAError as e:
            raise PipelineError(f"{path}: not an xz file, or a damaged one ({e})") from None
        if len(data) > MAX_LOG_BYTES:
            raise PipelineError(f"{path}: decompresses to more than {MAX_LOG_BYTES >> 20} MiB; the paper's logs "
                                "are about 1.5 MB each")
        if not unpacker.eof or unpacker.unused_data:
            raise PipelineError(f"{path}: not an xz file, or a damaged one (truncated, or bytes after its end)")
    else:
        data = _read_at_most(path, MAX_LOG_BYTES)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PipelineError(f"{path}: not a text CSV file ({e.reason})") from None


def _rows(path: Path, columns: tuple) -> list[dict]:
    try:
        reader = csv.DictReader(io.StringIO(_text(path), newline=""))
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise PipelineError(f"{path}: not the paper's log format: no column {', '.join(missing)} "
                                f"(header: {','.join(reader.fieldnames or [])})")
        return list(reader)
    except csv.Error as e:
        raise PipelineError(f"{path}: not a CSV file ({e})") from None


def log_file(folder: Path, name: str) -> Path | None:
    """``folder/name`` (a plain CSV), else ``folder/name.xz``; None when neither is a file."""
    for path in (folder / name, folder / (name + COMPRESSED)):
        if path.is_file():
            return path
    return None


def _number(path: Path, i: int, row: dict, col: str, kind=float):
    try:
        return kind(row[col])
    except (TypeError, ValueError):
        raise PipelineError(f"{path}: row {i + 2}: column {col} is not a number: {row[col]!r}") from None


def load_paper(folder: str | Path = PAPER_LOGS) -> PaperLogs:
    """Read ``folder``'s ``test_accuracy.csv`` (required) and ``tau.csv`` (optional), each plain
    or xz-compressed (``.csv.xz``, as :data:`PAPER_LOGS` holds them)."""
    folder = Path(folder)
    acc_path, tau_path = log_file(folder, "test_accuracy.csv"), log_file(folder, "tau.csv")
    if acc_path is None:
        raise PipelineError(f"{folder / 'test_accuracy.csv'} not found: --paper must name a folder holding the "
                            f"paper's test_accuracy.csv (and tau.csv)")
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
    if tau_path is None:
        logs.notes.append(f"{folder / 'tau.csv'} not found: no paper tau curves")
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
            if layer < 0:
                raise PipelineError(f"{tau_path}: layer {layer}: the paper's layers count from 0")
            pts = sorted(layers[layer])
            logs.tau[key][spiking_name(layer + 1)] = (np.array([e for e, _ in pts]), np.array([t for _, t in pts]))
    return logs


def default_paper_dir() -> Path:
    """Where the report reads the paper's logs unless told otherwise: :data:`PAPER_LOGS`."""
    return PAPER_LOGS
