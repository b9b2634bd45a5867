"""Finished training runs: the workspace's and the DVC experiments'.

A run is finished when its ``results/train.json`` (written by the train stage's last step)
and ``results/train_log.csv`` (one row per epoch) both exist; it is evaluated when the
evaluate stage's full record, ``results/evaluation.json`` (test accuracy, costs, ...), exists
too. The workspace's are read from the files; the baseline commit's and each experiment's
through ``dvc exp show --json`` (their params and revisions) and ``dvc.api.read`` (the files,
DVC-tracked outputs). Runs whose files hold the same bytes (the workspace after ``dvc exp
run`` holds the last experiment's results) are listed once, under both names.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...core.errors import PipelineError, one_line
from ...core.yamlfile import load as load_yaml
from .paper import config_key, spiking_name

TRAIN_JSON = "results/train.json"
TRAIN_LOG = "results/train_log.csv"
#: the evaluate stage's full record (its test metrics merged with train.json, ``costs``); DVC
#: shows only its headline, results/metrics.json, as metrics: the report reads this file
EVALUATION_JSON = "results/evaluation.json"
NO_RUN = "no finished run: run `dvc repro` first"


@dataclass
class Run:
    name: str                       # workspace, an experiment's name, or the baseline's branch
    source: str                     # workspace | baseline | experiment
    rev: str | None                 # the commit (None: the workspace)
    dataset: str
    neuron: str
    tau0: float
    pooling: str
    T: int | None
    train: dict                     # results/train.json
    log: dict                       # column -> np.ndarray (NaN where empty)
    evaluated: dict | None = None   # results/evaluation.json, when present
    params: dict = field(default_factory=dict, repr=False)   # the run's params, flat (dotted keys)
    aliases: list = field(default_factory=list)
    digest: str = field(default="", repr=False)   # of train.json + the log: the same run twice

    @property
    def config(self) -> tuple:
        return config_key(self.neuron, self.tau0, self.pooling)

    @property
    def label(self) -> str:
        return " = ".join([self.name, *self.aliases])

    @property
    def epochs(self) -> int:
        """Epochs run: the log's last epoch."""
        e = self.log.get("epoch")
        return int(np.nanmax(e)) if e is not None and e.size else int(self.train.get("epochs") or 0)

    @property
    def protocol(self) -> str:
        return str(self.train.get("protocol", "A"))

    @property
    def accuracy_A(self) -> float | None:
        """The best test accuracy over the epochs (protocol A, the paper's Table 2)."""
        a = self.train.get("accuracy_A_test_best_epoch")
        if a is None and "test_accuracy" in self.log and np.isfinite(self.log["test_accuracy"]).any():
            a = float(np.nanmax(self.log["test_accuracy"]))
        return None if a is None else float(a)

    @property
    def accuracy_B(self) -> float | None:
        """The test accuracy at the best validation epoch (protocol B only)."""
        if self.protocol != "B":
            return None
        b = self.train.get("accuracy_B_test_at_best_val_epoch")
        return None if b is None else float(b)

    @property
    def tau_columns(self) -> list[str]:
        return sorted((c for c in self.log if c.startswith("tau_") and c[4:].isdigit()), key=lambda c: int(c[4:]))

    @property
    def taus(self) -> dict:
        """The log's tau per epoch of each spiking layer, named as the network walk names it:
        ``{"spiking_1": array, ...}``. The log's ``tau_<k>`` is ``spiking_<k>``; a log with a
        ``tau_0`` column (written before the columns took the walk's names) counts from 0."""
        cols = self.tau_columns
        shift = 1 if any(c == "tau_0" for c in cols) else 0
        return {spiking_name(int(c[4:]) + shift): self.log[c] for c in cols}


def parse_log(text: str, where: str) -> dict:
    """``results/train_log.csv`` as columns of floats (empty cells NaN); every epoch a number."""
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as e:
        raise PipelineError(f"{where}: not a CSV file ({e})") from None
    if not rows or "epoch" not in rows[0] or len(rows) < 2:
        raise PipelineError(f"{where}: not a train log with an epoch column and at least one epoch")
    header = rows[0]
    cols = {h: [] for h in header}
    for n, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise PipelineError(f"{where}: line {n} has {len(row)} fields, the header {len(header)}")
        for h, v in zip(header, row):
            try:
                cols[h].append(float(v) if v.strip() else math.nan)
            except ValueError:
                cols[h].append(math.nan)
    out = {h: np.array(v, float) for h, v in cols.items()}
    epochs = out["epoch"]
    if not epochs.size or not np.isfinite(epochs).all() or (epochs < 1).any() or (epochs > 1e7).any():
        raise PipelineError(f"{where}: the epoch column holds something other than epoch numbers")
    return out


#: results/train.json and results/evaluation.json: what the report reads, and of which kind
_NUMBERS = ("accuracy_A_test_best_epoch", "accuracy_B_test_at_best_val_epoch", "val_accuracy_best", "train_seconds",
            "train_loss", "train_accuracy", "test_accuracy")
_COUNTS = ("selected_epoch", "best_epoch_A", "best_epoch_B", "epochs", "train_samples", "val_samples",
           "test_samples")


def _real(v) -> bool:
    """``v`` a JSON number (not a bool) that a float holds and that is finite: a 401-digit integer
    is valid JSON, but every float() of it (a figure's ``:.4g``, ``math.isfinite``) overflows."""
    if type(v) not in (int, float):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


def checked_record(obj: dict, where: str) -> dict:
    """``obj`` (a train.json or evaluation.json) with the values the report uses checked: a damaged
    file is one PipelineError naming it and the key, not a traceback in a table or figure."""
    def bad(key, what):
        value = obj[key]
        shown = repr(value)[:60] if isinstance(value, (str, int, float, bool)) or value is None else \
            f"a {type(value).__name__}"
        return PipelineError(f"{where}: {key} is {shown}, {what}")

    for key in _NUMBERS:
        v = obj.get(key)
        if v is not None and not _real(v):
            raise bad(key, "expected a finite number")
    for key in _COUNTS:
        v = obj.get(key)
        if v is not None and (type(v) is not int or not 0 <= v <= 10**9):
            raise bad(key, "expected a whole number")
    if obj.get("protocol") not in (None, "A", "B"):
        raise bad("protocol", "expected A or B")
    tau = obj.get("tau")
    if tau is not None and (type(tau) is not list or len(tau) > 10_000 or
                            not all(_real(t) for t in tau)):
        raise bad("tau", "expected a list of numbers")
    _check_costs(obj.get("costs"), where)
    return obj


_COST_TABLES = ("firing_rate", "accumulates", "macs", "ann_macs")
_COST_NUMBERS = ("synaptic_ops_per_sample", "macs_per_sample", "ann_macs_per_sample", "energy_uJ", "ann_energy_uJ")


def _check_costs(costs, where: str) -> None:
    """evaluation.json's ``costs`` (absent or null: none), as the report's figure reads it."""
    if costs is None:
        return

    def number(v) -> bool:
        return _real(v) and v >= 0

    def fail(what):
        return PipelineError(f"{where}: costs{what}, not what the evaluate stage writes")

    if not isinstance(costs, dict):
        raise fail(f" is a {type(costs).__name__}")
    for key in _COST_TABLES:
        table = costs.get(key, {})         # absent: an empty table (dvc exp show used to drop them)
        if not isinstance(table, dict) or len(table) > 10_000:
            raise fail(f".{key} is not a table of layers")
        for layer, v in table.items():
            if not number(v):
                raise fail(f".{key}.{str(layer)[:40]} is not a number >= 0 (finite, in a float's range)")
    for key in _COST_NUMBERS:
        if not number(costs.get(key)):
            raise fail(f".{key} is not a number >= 0 (finite, in a float's range)")
    ratio = costs.get("ann_to_snn_energy")
    if ratio is not None and not number(ratio):
        raise fail(".ann_to_snn_energy is not a number >= 0 (finite, in a float's range)")


#: params that leave a run's results as they are (the docs' promise: workers and threads change
#: no number, nor where the frames sit); never shown as what tells runs apart
SAME_RESULTS = ("frames.workers", "train.workers", "train.threads", "train.data_on_device")
#: at most this many differing params in a run's label
LABEL_PARAMS = 3


def _comparable(v):
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)                 # 8 and 8.0: the same T
    return json.dumps(v, sort_keys=True, default=str)


def _telling(key: str) -> bool:
    """Whether a param can tell runs apart (not one of :data:`SAME_RESULTS`, nor ``download.*``)."""
    return key not in SAME_RESULTS and not key.startswith("download.")


def differing_params(runs: list[Run]) -> list[str]:
    """The params (flat, dotted) whose values are not the same in all ``runs``, in the order the
    params files list them; [] for one run or runs of the same params."""
    if len(runs) < 2:
        return []
    keys = dict.fromkeys(k for r in runs for k in r.params)
    return [k for k in keys if _telling(k) and len({_comparable(r.params.get(k)) for r in runs}) > 1]


def params_label(run: Run, keys: list[str], limit: int | None = LABEL_PARAMS) -> str:
    """``T=8``, ``neuron=lif, tau0=16``: ``run``'s values of ``keys`` (:func:`differing_params`),
    each named by its last part (``frames.T``: ``T``) unless two keys share it; at most
    ``limit`` of them (None: all), then ``…``. Lists and mappings as params.yaml writes them in
    flow style (``augment=[{nda: {}}]``)."""
    last = [k.rsplit(".", 1)[-1] for k in keys]

    def value(v) -> str:
        if v is None:
            return "—"
        if isinstance(v, (list, dict)):
            text = json.dumps(v, separators=(", ", ": "), default=str).replace('"', "")
        else:
            text = f"{v:g}" if isinstance(v, float) else str(v)
        return text if len(text) <= 40 else text[:39] + "…"

    parts = [f"{k if last.count(n) > 1 else n}={value(run.params.get(k))}" for k, n in zip(keys, last)]
    if limit is None or len(parts) <= limit:
        return ", ".join(parts)
    return ", ".join(parts[:limit]) + ", …"


#: the param a sweep over seeds varies (``dvc exp run --queue -S train.seed=1,2,3``)
SEED = "train.seed"


@dataclass
class SeedGroup:
    """Runs whose params are all the same but :data:`SEED` (:func:`seed_groups`), in the order of
    their seeds; ``label``: the params that tell this group from the other runs' ('' when none
    do: the runs are this group and nothing else)."""
    runs: list[Run]
    label: str = ""

    @property
    def n(self) -> int:
        return len(self.runs)

    @property
    def seeds(self) -> list:
        return [r.params.get(SEED) for r in self.runs]

    @property
    def accuracy_A(self) -> list[float]:
        """The runs' A accuracies (those that have one)."""
        return [a for a in (r.accuracy_A for r in self.runs) if a is not None]

    @property
    def accuracy_B(self) -> list[float]:
        """The runs' B accuracies: protocol B's only (protocol A runs have none)."""
        return [b for b in (r.accuracy_B for r in self.runs) if b is not None]


def mean_std(values: list[float]) -> tuple[float, float] | None:
    """The mean and the sample standard deviation (ddof=1: the ± over seeds papers report) of
    ``values``; None for fewer than two values (one run has no spread)."""
    if len(values) < 2:
        return None
    a = np.asarray(values, float)
    return float(a.mean()), float(a.std(ddof=1))


def _seed_order(v):
    return (0, float(v), "") if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, 0.0, _comparable(v))


def seed_groups(runs: list[Run]) -> list[SeedGroup]:
    """The groups of ``runs`` (already merged where their files are the same bytes) whose params
    are equal in everything but :data:`SEED`, compared as canonical JSON (lists and tables as
    well; 8 and 8.0 the same) and, as :func:`differing_params` does, leaving out the params that
    change no result (:data:`SAME_RESULTS`, ``download.*``). A group is two or more runs with at
    least two different seeds (runs of the same params and seed are reruns, not a sweep); in the
    order of each group's first run. Each group's ``label`` names its values of the params that
    differ between the groups and the runs in no group (:func:`params_label`)."""
    keyed: dict[str, list[Run]] = {}
    for run in runs:
        key = json.dumps({k: _comparable(v) for k, v in run.params.items() if k != SEED and _telling(k)},
                         sort_keys=True)
        keyed.setdefault(key, []).append(run)
    sets = list(keyed.values())
    groups = [sorted(s, key=lambda r: _seed_order(r.params.get(SEED))) for s in sets
              if len(s) >= 2 and len({_comparable(r.params.get(SEED)) for r in s}) >= 2]
    keys = [k for k in differing_params([s[0] for s in sets]) if k != SEED]
    return [SeedGroup(g, params_label(g[0], keys, limit=None) if keys else "") for g in groups]


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in (d or {}).items():
        if isinstance(v, dict):
            out |= _flat(v, f"{prefix}{k}.")
        else:
            out[f"{prefix}{k}"] = v
    return out


def _config(params: dict) -> dict:
    """dataset, neuron, tau0, pooling, T from flat (dotted) params, with the project's defaults."""
    def num(v, kind, default):
        try:
            return kind(v)
        except (TypeError, ValueError):
            return default
    return {"dataset": str(params.get("dataset", "demo")), "neuron": str(params.get("model.neuron", "plif")),
            "tau0": num(params.get("model.tau0"), float, 2.0), "pooling": str(params.get("model.pooling", "max")),
            "T": num(params.get("frames.T"), int, None)}


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def workspace_params(root: Path) -> dict:
    """The params the workspace's results were trained with: dvc.lock's, when dvc.lock records
    the results/train.json that is there (it then describes that run); else params.yaml's."""
    params: dict = {}
    if (root / "params.yaml").is_file():
        raw = load_yaml(root / "params.yaml", PipelineError)
        params = _flat(raw if isinstance(raw, dict) else {})
    lock = root / "dvc.lock"
    if lock.is_file():
        try:
            stages = (load_yaml(lock, PipelineError) or {}).get("stages", {})
            recorded = {o.get("path"): o.get("md5") for s in stages.values() for o in s.get("outs", []) or []}
            if recorded.get(TRAIN_JSON) == _md5(root / TRAIN_JSON):
                for s in stages.values():
                    for values in (s.get("params") or {}).values():
                        params |= _flat(values)
        except (PipelineError, AttributeError, TypeError, OSError):
            pass                 # an unreadable lock: params.yaml it is
    return params


def _json(text: str, where: str) -> dict:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise PipelineError(f"{where}: not valid JSON: {e}") from None
    except ValueError as e:          # an integer of more digits than int() converts (4,300)
        raise PipelineError(f"{where}: not JSON the pipeline reads: {one_line(e)[:200]}") from None
    except RecursionError:
        raise PipelineError(f"{where}: not valid JSON here (nested too deep)") from None
    if not isinstance(obj, dict):
        raise PipelineError(f"{where}: not a JSON object")
    return obj


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise PipelineError(f"{path}: not a UTF-8 text file ({e.reason} at byte {e.start})") from None


def workspace_run(root: Path, note: Callable[[str], None]) -> Run | None:
    train, log = root / TRAIN_JSON, root / TRAIN_LOG
    if not train.is_file():
        if log.is_file():
            note(f"workspace: {log} but no {train}: an unfinished run, left out")
        return None
    if not log.is_file():
        note(f"workspace: {train} but no {log}, left out")
        return None
    evaluation = root / EVALUATION_JSON
    train_text, log_text = _read(train), _read(log)
    params = workspace_params(root)
    return Run(name="workspace", source="workspace", rev=None, **_config(params),
               train=checked_record(_json(train_text, str(train)), str(train)), log=parse_log(log_text, str(log)),
               evaluated=checked_record(_json(_read(evaluation), str(evaluation)), str(evaluation))
               if evaluation.is_file() else None,
               params=params, digest=_digest(train_text, log_text))


def _digest(train_text: str, log_text: str) -> str:
    return hashlib.sha256(train_text.encode() + b"\0" + log_text.encode()).hexdigest()


def exp_show(root: Path) -> list:
    """``dvc exp show --json`` of the repository at ``root`` (raises PipelineError on failure)."""
    try:
        r = subprocess.run([sys.executable, "-m", "dvc", "exp", "show", "--json"], cwd=root, check=False,
                           capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise PipelineError(f"dvc exp show failed in {root}: {e}") from None
    if r.returncode != 0:
        msg = (r.stderr.strip() or r.stdout.strip()).splitlines()
        raise PipelineError(f"dvc exp show failed in {root}: {msg[-1] if msg else f'exit status {r.returncode}'}")
    try:
        data = json.loads(r.stdout)
    except json.JSONDecodeError as e:
        raise PipelineError(f"dvc exp show in {root}: output is not JSON ({e})") from None
    if not isinstance(data, list):
        raise PipelineError(f"dvc exp show in {root}: expected a JSON list, got {type(data).__name__}")
    return data


def _revisions(show: list) -> list[tuple[str, str, dict, dict | None]]:
    """``(source, name, rev entry, executor)`` for the baseline commit(s) and every experiment."""
    out = []
    for entry in show:
        if not isinstance(entry, dict) or entry.get("rev") == "workspace":
            continue
        rev = str(entry.get("rev") or "")
        out.append(("baseline", entry.get("name") or rev[:7], entry, None))
        for exp in entry.get("experiments") or []:
            if not isinstance(exp, dict):
                continue
            revs = exp.get("revs") or []
            first = revs[0] if revs and isinstance(revs[0], dict) else {}
            name = exp.get("name") or first.get("name") or str(first.get("rev") or "?")[:7]
            out.append(("experiment", name, first, exp.get("executor")))
    return out


def experiment_runs(root: Path, note: Callable[[str], None]) -> list[Run]:
    """The baseline's and each experiment's finished run (files missing: a note, no run)."""
    try:
        show = exp_show(root)
    except PipelineError as e:
        note(f"{e}: DVC experiments left out")
        return []
    import dvc.api
    from dvc.exceptions import DvcException, PathMissingError

    runs = []
    for source, name, entry, executor in _revisions(show):
        what = f"{source} {name}"
        state = (executor or {}).get("state") if isinstance(executor, dict) else None
        if state not in (None, "success"):
            note(f"{what}: {state}, not finished: left out")
            continue
        if entry.get("error"):
            err = entry["error"]
            note(f"{what}: dvc could not read it ({err.get('msg', err) if isinstance(err, dict) else err}): left out")
            continue
        data, rev = entry.get("data") or {}, entry.get("rev")
        if not isinstance(data, dict) or not rev:
            note(f"{what}: no data in dvc exp show's output: left out")
            continue
        params_file = (data.get("params") or {}).get("params.yaml") or {}
        params = _flat(params_file.get("data") if isinstance(params_file, dict) else {})
        texts, missing = {}, None
        for path in (TRAIN_JSON, TRAIN_LOG):
            try:
                texts[path] = dvc.api.read(path, repo=str(root), rev=rev, encoding="utf-8")
            except (DvcException, OSError, UnicodeDecodeError) as e:
                reason = ("not recorded at that commit, or its data is not in the DVC cache: `dvc exp pull` / "
                          "`dvc pull` fetch it" if isinstance(e, PathMissingError)
                          else str(e).splitlines()[0] if str(e) else type(e).__name__)
                missing = (f"{path} missing ({reason})" if source == "experiment"
                           else f"no finished run ({path} missing)")
                break
        if missing:
            note(f"{what} ({rev[:7]}): {missing}" + (": left out" if source == "experiment" else ""))
            continue
        evaluation = None
        try:
            evaluation = dvc.api.read(EVALUATION_JSON, repo=str(root), rev=rev, encoding="utf-8")
        except PathMissingError:
            pass                 # not evaluated at that commit (or its record is not in the cache)
        except (DvcException, OSError, UnicodeDecodeError) as e:
            note(f"{what} ({rev[:7]}): {EVALUATION_JSON} unreadable "
                 f"({str(e).splitlines()[0] if str(e) else type(e).__name__}): shown as not evaluated")
        try:
            where = f"{what}: {EVALUATION_JSON}"
            run = Run(name=name, source=source, rev=rev, **_config(params),
                      train=checked_record(_json(texts[TRAIN_JSON], f"{what}: {TRAIN_JSON}"), f"{what}: {TRAIN_JSON}"),
                      log=parse_log(texts[TRAIN_LOG], f"{what}: {TRAIN_LOG}"),
                      evaluated=None if evaluation is None else checked_record(_json(evaluation, where), where),
                      params=params, digest=_digest(texts[TRAIN_JSON], texts[TRAIN_LOG]))
        except PipelineError as e:
            note(f"{e}: left out")
            continue
        runs.append(run)
    return runs


def is_dvc_repo(root: Path) -> bool:
    return (root / ".dvc").is_dir() and (root / ".git").exists()


def collect_runs(root: str | Path, experiments: bool = True, note: Callable[[str], None] = print) -> list[Run]:
    """Every finished run under ``root``: the workspace's, then (in a git + DVC repository,
    with ``experiments``) the baseline's and the experiments'. Raises PipelineError when none."""
    root = Path(root)
    runs = [r for r in [workspace_run(root, note)] if r is not None]
    if experiments:
        if is_dvc_repo(root):
            runs += experiment_runs(root, note)
        else:
            note(f"{root.resolve()} is not a git + DVC repository: the workspace's run only")
    unique: list[Run] = []
    for run in runs:
        same = next((u for u in unique if u.digest == run.digest), None)
        if same is None:
            unique.append(run)
        elif run.name != same.name and run.name not in same.aliases:
            same.aliases.append(run.name)
    if not unique:
        raise PipelineError(NO_RUN)
    return unique
