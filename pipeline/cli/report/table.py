"""The report's Markdown: the table of runs beside the paper's Table 2, notes, figures."""

from __future__ import annotations

from pathlib import Path

from .paper import PAPER_DATASET, PAPER_EPOCHS, SIMULATED, PaperLogs, config_label, spiking_name
from .runs import SEED, Run, SeedGroup, mean_std, seed_groups

#: a run shorter than this many epochs gets a note pointing at the "first N epochs" column
SHORT = PAPER_EPOCHS // 2
#: report.md's first line: how ``report`` knows a folder it may replace is a report it wrote
HEADING = "# Our runs beside Fang et al., ICCV 2021 (PLIF)"


def pct(x: float | None) -> str:
    """0.97569 -> ``97.57``; None -> an em dash."""
    return "—" if x is None else f"{x * 100:.2f}"


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def row_values(run: Run, paper: PaperLogs | None) -> dict:
    """The numbers and notes of ``run``'s table row (accuracies 0-1 or None)."""
    curve = paper.curve(run.dataset, run.config) if paper else None
    n = run.epochs
    notes = []
    if n < SHORT:
        notes.append(f"{n} of the paper's {PAPER_EPOCHS:,} epochs: compare with its first {n}")
    if run.dataset in SIMULATED:
        notes.append(f"simulated data, the paper's {PAPER_DATASET[run.dataset]} for reference")
    if paper is not None and run.dataset not in PAPER_DATASET:
        notes.append("a dataset the paper did not use")
    elif paper is not None and curve is None:
        notes.append("the paper has no run in this configuration")
    if curve is not None and run.T is not None and run.T != curve.T:
        notes.append(f"T={run.T}, the paper's T={curve.T}")
    if curve is not None and curve.best_within(n) is None:
        notes.append(f"the paper's log has none of its first {n} epochs")
    return {"ours_A": run.accuracy_A, "ours_B": run.accuracy_B,
            "paper_A": curve.best() if curve else None,
            "paper_within": curve.best_within(n) if curve else None, "notes": notes}


def table(runs: list[Run], paper: PaperLogs | None) -> str:
    head = ["run", "dataset", "configuration", "T", "epochs", "ours A", "ours B",
            f"paper A ({PAPER_EPOCHS} ep.)", "paper, first N ep.", "notes"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * 3 + ["--:"] * 6 + ["---"]) + "|"]
    for run in runs:
        v = row_values(run, paper)
        cells = [run.label, run.dataset, config_label(run.config), run.T if run.T is not None else "—", run.epochs,
                 pct(v["ours_A"]), pct(v["ours_B"]), pct(v["paper_A"]),
                 pct(v["paper_within"]) + (f" (N={run.epochs})" if v["paper_within"] is not None else ""),
                 "; ".join(v["notes"])]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def pct_mean_std(values: list[float], n: int) -> str:
    """``92.00 ± 2.00``: the mean ± the sample std (ddof=1) in %, as :func:`pct` writes a value;
    ``(k of n)`` after it when only k of the group's n runs have one; one value alone, without
    ±; none: an em dash."""
    of = f" ({len(values)} of {n})" if values and len(values) < n else ""
    if len(values) == 1:
        return pct(values[0]) + of
    ms = mean_std(values)
    return "—" if ms is None else f"{pct(ms[0])} ± {pct(ms[1])}" + of


def _seed(v) -> str:
    return "—" if v is None else f"{v:g}" if isinstance(v, float) else str(v)


def group_label(group: SeedGroup) -> str:
    """What the group's runs share that tells them from the other runs (``T=8``); the dataset,
    configuration and T when nothing does (one group, no other run)."""
    if group.label:
        return group.label
    run = group.runs[0]
    return f"{run.dataset}, {config_label(run.config)}" + (f", T={run.T}" if run.T is not None else "")


def seed_table(groups: list[SeedGroup]) -> str:
    head = ["group", "n", "ours A, mean ± std", "ours B, mean ± std", "seeds", "runs"]
    lines = ["| " + " | ".join(head) + " |", "|---|--:|--:|--:|---|---|"]
    for g in groups:
        cells = [group_label(g), g.n, pct_mean_std(g.accuracy_A, g.n), pct_mean_std(g.accuracy_B, g.n),
                 ", ".join(_seed(s) for s in g.seeds), ", ".join(r.label for r in g.runs)]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def _run_details(run: Run) -> str:
    t, ev = run.train, run.evaluated or {}
    where = "the workspace" if run.source == "workspace" else f"{run.source} `{run.name}`, {(run.rev or '')[:7]}"
    if run.aliases:
        where += f"; the same files as {', '.join(f'`{a}`' for a in run.aliases)}"
    parts = [f"protocol {run.protocol}"]
    if t.get("selected_epoch") is not None:
        parts.append(f"selected epoch {t['selected_epoch']}")
    if t.get("best_epoch_A") is not None:
        parts.append(f"best test epoch {t['best_epoch_A']}")
    if run.protocol == "B" and t.get("best_epoch_B") is not None:
        parts.append(f"best validation epoch {t['best_epoch_B']}"
                     + (f" ({pct(t['val_accuracy_best'])} % on validation)" if t.get("val_accuracy_best") is not None
                        else ""))
    if ev.get("test_accuracy") is not None:
        parts.append(f"evaluate stage: {pct(ev['test_accuracy'])} % on {ev.get('test_samples', '?')} test samples")
    if t.get("train_seconds") is not None:
        parts.append(f"{float(t['train_seconds']):.0f} s of training")
    if t.get("tau"):              # train.json's list: index 0 is spiking_1
        k = len(t["tau"])
        parts.append("final τ " + ", ".join(f"{float(x):.3g}" for x in t["tau"])
                     + f" ({spiking_name(1)}" + (f" to {spiking_name(k)})" if k > 1 else ")"))
    return f"- **{_cell(run.label)}** ({where}): " + "; ".join(parts)


def markdown(runs: list[Run], paper: PaperLogs | None, paper_dir: Path, root: Path, figures: dict,
             notes: list[str], groups: list[SeedGroup] | None = None) -> str:
    """The whole report.md; ``figures`` maps a title to a PNG file name in the report folder;
    ``groups``: the runs' :func:`.runs.seed_groups` (computed here when None)."""
    groups = seed_groups(runs) if groups is None else groups
    plural = "s" if len(runs) != 1 else ""
    out = [HEADING, "",
           f"Runs of `{root}`: {len(runs)} finished run{plural} (the workspace and the DVC experiments)."]
    if paper is None:
        out += ["", (f"**The paper's logs were not found** (looked for `test_accuracy.csv` or "
                     f"`test_accuracy.csv.xz` in `{paper_dir}`): only our runs are shown. Give their folder "
                     "with `--paper DIR`.")]
    else:
        out += ["", (f"The paper's logs: `{paper_dir}` (`test_accuracy.csv`, `tau.csv`, plain or xz-compressed; "
                     "the authors' TensorBoard logs, see SOURCES.md there).")]
    out += ["", "## Test accuracy (%)", "", table(runs, paper), "",
            ("- **ours A**: the best test accuracy over our epochs (the paper's protocol: its Table 2 "
             "reports this). **ours B**: the test accuracy at the epoch of best validation accuracy "
             "(protocol B; — under protocol A)."),
            (f"- **paper A**: the best test accuracy of the paper's run with the same dataset and "
             f"configuration over its {PAPER_EPOCHS:,} epochs (= its Table 2; its log keeps 1,000 of the "
             f"{PAPER_EPOCHS:,} epochs)."),
            ("- **paper, first N ep.**: the paper's best test accuracy within its first N epochs, N = the "
             "epochs our run had: the fair comparison for a short run."),
            ("- **configuration**: neuron, initial τ (PLIF learns it; LIF keeps it), pooling. The paper's "
             "five: PLIF τ0=2 max (its model), PLIF τ0=16 max, LIF τ=2 max, LIF τ=16 max, PLIF τ0=2 avg.")]
    if any(r.dataset in SIMULATED for r in runs):
        out += [f"- {text}." for d, text in SIMULATED.items() if any(r.dataset == d for r in runs)]
    if groups:
        out += ["", "## Over seeds", "", seed_table(groups), "",
                (f"- Runs whose params are all the same but `{SEED}` (the workers and threads, which change "
                 "no result, aside), each group of two or more runs with different seeds: **n** runs, and "
                 "the mean ± the sample standard deviation (ddof=1: the ± over seeds papers report) of "
                 "their A and B test accuracies, in %. B only under protocol B (— under protocol A); "
                 "\"(k of n)\": only k runs have the value. **group**: the params that tell the group "
                 "from the other runs. Each run stays in the table above.")]
    out += ["", "## Runs", ""] + [_run_details(r) for r in runs]
    if notes:
        out += ["", "Left out or noted while collecting runs:", ""] + [f"- {_cell(n)}" for n in notes]
    out += ["", "## Figures", ""]
    for title, name in figures.items():
        out += [f"### {title}", "", f"![{title}]({name})", ""]
    return "\n".join(out).rstrip() + "\n"
