"""An experiment that fails (here: a dataset whose archive must be placed by hand, and is not)
leaves the workspace as it was when run as docs/team.md says (`--temp`, or `--queue`), and the
documented recovery restores it after a failed run in the workspace itself."""

import json
import subprocess

import pytest

from dvcrepo import ROOT, commit, reproduced, run

pytestmark = pytest.mark.slow

FAILING = ["-S", "dataset=dvsgesture"]       # no archive in data/downloads, no mirror: download stops at once


def _docs_command(prefix: str) -> str:
    """The one line of docs/team.md's code blocks that starts with ``prefix``."""
    lines = [line.split("#", 1)[0].strip() for line in (ROOT / "docs" / "team.md").read_text().splitlines()]
    found = [line for line in lines if line.startswith(prefix)]
    assert len(found) == 1, f"docs/team.md: expected one line starting {prefix!r}, found {found}"
    return found[0]


def _status(repo) -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo,
                          capture_output=True, text=True, check=True).stdout


def test_a_failed_experiment_leaves_the_workspace_alone_or_is_restored(tmp_path, tmp_path_factory):
    repo = reproduced(tmp_path / "repo", tmp_path_factory)     # the tiny demo after `dvc repro`
    run(["git", "add", "dvc.lock"], repo)
    commit(repo, "baseline")
    params = (repo / "params.yaml").read_bytes()

    # the safe way: --temp runs in a copy; the failure is reported, the workspace is untouched
    temp = _docs_command("dvc exp run --temp").split()
    assert "-S" in temp
    out = run(temp[:temp.index("-S")] + FAILING, repo, check=False)
    assert "no URL to download" in out, out
    assert _status(repo) == "" and (repo / "params.yaml").read_bytes() == params

    # in the workspace: DVC has written params.yaml and dvc.lock; the documented line restores both
    out = run(["dvc", "exp", "run", *FAILING], repo, check=False)
    assert "no URL to download" in out
    assert "params.yaml" in _status(repo)
    restore = _docs_command("git checkout params.yaml dvc.lock")
    for part in restore.split("&&"):
        run(part.split(), repo)
    assert _status(repo) == "" and (repo / "params.yaml").read_bytes() == params
    assert json.loads(run(["dvc", "status", "--json"], repo)) == {}
