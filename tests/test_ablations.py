"""The README's ablation commands (the paper's Table 2): each valid, together the paper's five
configurations, and, run as written with DVC's experiment machinery on a tiny demo, five
finished experiments that `python -m pipeline report` lists."""

import itertools
import json
import re
import shlex
import sys
from pathlib import Path

import pytest
import yaml

from dvcrepo import commit, copy_repo, run
from pipeline.core.params import validate_params

ROOT = Path(__file__).resolve().parents[1]
# (neuron, tau0, pooling) of the paper's Table 2: PLIF tau0=2 (its model), PLIF 16, LIF 2, LIF 16, PLIF avg
FIVE = {("plif", 2.0, "max"), ("plif", 16.0, "max"), ("lif", 2.0, "max"), ("lif", 16.0, "max"),
        ("plif", 2.0, "avg")}


def readme_blocks() -> list[list[str]]:
    """The shell blocks of the README's ablations section, as lists of commands."""
    text = (ROOT / "README.md").read_text()
    section = text.split("### The ablations of Table 2", 1)[1].split("\n#", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    assert len(blocks) == 2, "the README's ablations section should hold two bash blocks"
    return [[line.split("#")[0].strip() for line in b.splitlines() if line.strip()] for b in blocks]


def overrides(cmd: str) -> list[dict]:
    """The params of each experiment a `dvc exp run` command makes (a grid for `a,b` values)."""
    args = shlex.split(cmd)
    sets = [args[i + 1] for i, a in enumerate(args) if a == "-S"]
    axes = []
    for s in sets:
        key, values = s.split("=", 1)
        axes.append([(key, v) for v in values.split(",")])
    return [dict(combo) for combo in itertools.product(*axes)] if axes else [{}]


def apply(params: dict, patch: dict) -> dict:
    p = json.loads(json.dumps(params))
    for key, value in patch.items():
        section, leaf = key.split(".")
        p[section][leaf] = yaml.safe_load(value)
    return p


def configurations(commands: list[str], base: dict) -> list[tuple]:
    out = []
    for cmd in commands:
        if not cmd.startswith("dvc exp run") or "--run-all" in cmd:
            continue
        for patch in overrides(cmd):
            m = validate_params(apply(base, patch)).model
            out.append((m.neuron, m.tau0, m.pooling))
    return out


@pytest.mark.parametrize("config", sorted(p.name for p in (ROOT / "configs").glob("*-paper.yaml")))
def test_each_documented_command_is_one_of_the_papers_five(config):
    base = yaml.safe_load((ROOT / "configs" / config).read_text())
    one_by_one, queued = readme_blocks()
    assert sorted(configurations(one_by_one, base)) == sorted(FIVE)
    assert sorted(configurations(queued, base)) == sorted(FIVE)


TINY = {
    "demo": {"train_users": 1, "test_users": 1, "lightings": ["fluorescent"], "repeats": 2,
             "gesture_ms": 300, "gap_ms": 200},
    "frames": {"T": 4, "downsample": 4, "workers": 1},
    "model": {"channels": 4, "blocks": 2, "hidden": 16},
    "train": {"epochs": 2, "T_max": 2, "batch_size": 4, "threads": 1},
}


@pytest.mark.slow
def test_the_queued_sweep_runs_as_documented(tmp_path):
    repo = copy_repo(tmp_path / "repo", TINY)
    run(["dvc", "repro", "-q"], repo)
    commit(repo, "baseline")
    _, queued = readme_blocks()
    for cmd in queued:
        for part in cmd.split("&&"):
            args = shlex.split(part)
            if args[0] == "python":
                args[0] = sys.executable
            run(args, repo)
    report = (repo / "reports" / "report.md").read_text()
    rows = [line for line in report.splitlines() if line.startswith("| ") and "demo" in line]
    labels = {"PLIF τ0=2, max", "PLIF τ0=16, max", "LIF τ=2, max", "LIF τ=16, max", "PLIF τ0=2, avg"}
    assert {label for label in labels if any(label in r for r in rows)} == labels
    assert len(rows) >= 5
