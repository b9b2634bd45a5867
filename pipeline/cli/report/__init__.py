"""``python -m pipeline report``: finished runs beside the published results of Fang et al.,
ICCV 2021, as a folder holding ``report.md`` and PNG figures.

Runs (:mod:`.runs`): the workspace's ``results/`` and, in a git + DVC repository, the
baseline's and each DVC experiment's. The paper (:mod:`.paper`): its own per-epoch test
accuracy and learned tau, as the package ships them (``paperlogs/``) unless ``paper`` names
another folder; without them (a damaged install) the report shows our runs alone and says
where it looked. The folder is written under a temporary name and renamed
(:func:`pipeline.core.atomic.atomic_path`): it holds the old report or the whole new one.
Since it replaces the folder whole, it replaces only a new or empty folder or one that looks
like a report it wrote (:func:`check_out`); never the project, a folder above it, a link, or a
folder holding anything else.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ...core.atomic import atomic_path, check_target
from ...core.errors import PipelineError
from .paper import PaperLogs, default_paper_dir, load_paper, log_file
from .runs import NO_RUN, Run, SeedGroup, collect_runs, seed_groups

__all__ = ["NO_RUN", "Report", "Run", "SeedGroup", "collect_runs", "load_paper", "make_report", "seed_groups"]


@dataclass
class Report:
    out: Path                 # the report folder
    markdown: Path            # out / report.md
    figures: list[Path]       # out / *.png
    runs: list[Run]
    paper: PaperLogs | None   # None: the paper's logs were not found
    paper_dir: Path
    summary: str              # one line
    groups: list[SeedGroup] = field(default_factory=list)   # runs that differ only in train.seed


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "run"


#: what a report folder holds: report.md and PNG figures (``accuracy_*.png``, ``tau_*.png``,
#: ``costs_*.png``, and those of runs no longer there, which the new report drops)
REPORT_FILES = re.compile(r".+\.png|report\.md")


def check_out(out: Path, root: Path) -> None:
    """Refuse ``--out`` unless the report may replace it whole: a path :func:`check_target`
    accepts for a folder (not empty, not a file, FIFO or device), not a symbolic link, not the
    project ``root`` or a folder above it, and either absent, empty, or a report folder: only
    regular files named as the report names them (:data:`REPORT_FILES`), report.md among them
    and starting with the report's heading."""
    check_target(out, "folder", "--out")
    if out.is_symlink():
        raise PipelineError(f"--out {out}: a symbolic link (to {out.resolve()}); give the folder itself")
    out_r, root_r = out.resolve(), root.resolve()
    if out_r == root_r or out_r in root_r.parents:
        raise PipelineError(f"--out {out}: the project folder or a parent of it; give a folder of its own")
    if not out.is_dir():
        return
    from .table import HEADING

    refuse = f"--out {out}: not a report folder (%s): not replaced; give a new folder, or a report folder"
    entries = sorted(out.iterdir())
    if not entries:
        return
    for entry in entries:
        if entry.is_symlink() or not entry.is_file() or not REPORT_FILES.fullmatch(entry.name):
            raise PipelineError(refuse % f"it holds {entry.name}, not a file the report writes")
    md = out / "report.md"
    if not md.is_file():
        raise PipelineError(refuse % "no report.md")
    with open(md, "rb") as f:
        first = f.read(len(HEADING.encode()) + 1)
    if not first.startswith(HEADING.encode()):
        raise PipelineError(refuse % f"its report.md does not start with {HEADING!r}")


def make_report(root: str | Path = ".", out: str | Path | None = None, paper: str | Path | None = None,
                experiments: bool = True, note: Callable[[str], None] = print) -> Report:
    """Collect the finished runs of ``root``, read the paper's logs, write ``out`` (default
    ``<root>/reports``): ``report.md`` (with, for runs that differ only in ``train.seed``, their
    mean ± std: :func:`.runs.seed_groups`), ``accuracy_<dataset>.png`` per dataset and
    ``tau_<run>.png`` and (where evaluated) ``costs_<run>.png`` per run. ``paper``: the folder of
    the paper's CSVs (default: the package's compressed copies, :data:`.paper.PAPER_LOGS`; given
    and missing is an error, the default missing a note).
    ``note`` receives one line per run left out. Raises PipelineError when no run is finished."""
    root = Path(root)
    if out is not None:
        check_target(out, "folder", "--out")    # '' before Path('') makes it '.'
    out = Path(out) if out is not None else root / "reports"
    check_out(out, root)
    notes: list[str] = []

    def keep(line: str) -> None:
        notes.append(line)
        note(line)

    runs = collect_runs(root, experiments=experiments, note=keep)
    if paper is not None:
        paper_dir, logs = Path(paper).resolve(), load_paper(paper)
    else:
        paper_dir = default_paper_dir()
        logs = load_paper(paper_dir) if log_file(paper_dir, "test_accuracy.csv") is not None else None
    for line in logs.notes if logs is not None else []:
        keep(line)

    from .figures import accuracy_figure, costs_figure, tau_figure
    from .table import markdown

    with atomic_path(out, "folder") as tmp:
        tmp.mkdir()
        figures: dict[str, str] = {}
        written: list[str] = []
        by_dataset: dict[str, list[Run]] = {}
        for run in runs:
            by_dataset.setdefault(run.dataset, []).append(run)
        for dataset, group in by_dataset.items():
            name = f"accuracy_{slug(dataset)}.png"
            accuracy_figure(dataset, group, logs, tmp / name)
            figures[f"{dataset}: test accuracy per epoch"] = name
            written.append(name)
        names: set[str] = set()
        for run in runs:
            base = slug(run.name)
            name, k = f"tau_{base}.png", 2
            while name in names:
                name, k = f"tau_{base}-{k}.png", k + 1
            names.add(name)
            if tau_figure(run, logs, tmp / name, note=keep) is not None:
                figures[f"{run.label}: τ per layer"] = name
                written.append(name)
            name = "costs_" + name[len("tau_"):]
            if costs_figure(run, tmp / name, note=keep) is not None:
                figures[f"{run.label}: firing rate and operations per layer"] = name
                written.append(name)
        groups = seed_groups(runs)
        text = markdown(runs, logs, paper_dir, root.resolve(), figures, notes, groups)
        (tmp / "report.md").write_text(text, encoding="utf-8")
    datasets = ", ".join(by_dataset)
    compared = sum(1 for r in runs if logs is not None and logs.curve(r.dataset, r.config) is not None)
    summary = (f"report: {_plural(len(runs), 'run')} ({datasets}), "
               + (f"{_plural(len(groups), 'group')} over seeds, " if groups else "")
               + f"{_plural(len(written), 'figure')}; "
               + (f"{compared} compared with the paper's logs" if logs is not None
                  else f"the paper's logs not found in {paper_dir}"))
    return Report(out, out / "report.md", [out / n for n in written], runs, logs, paper_dir, summary, groups)
