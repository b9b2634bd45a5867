"""The documented ablation sweep (the paper's Table 2), run as written with DVC's experiment
machinery on a tiny demo: five finished experiments that `python -m pipeline report` lists.
(That the documented commands are the paper's five configurations: tests/test_docs.py.)"""

import shlex
import sys

import pytest

from docs import ablation_blocks
from dvcrepo import commit, copy_repo, run


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
    _, queued = ablation_blocks()
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
