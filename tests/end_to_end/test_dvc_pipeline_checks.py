"""What `dvc status` and `check` name on a finished `dvc repro` of the demo configuration (its
own copy of the repository): every project module touched in turn marks exactly the stages
that import it, run-only knobs mark `check` alone, and a typo in params.yaml fails `dvc repro`
(plain or targeted) even when no other stage would rerun.
"""

import json

import pytest

from dvcrepo import copy_pipeline_repo, dvc_status, dvc_yaml_parsed_once, repro_if_stale, run, set_params

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return copy_pipeline_repo(tmp_path_factory.mktemp("clone") / "repo")


def test_touching_any_module_marks_exactly_the_stages_that_import_it(repo):
    """Every project module, edited (a comment appended), against the stages DVC says changed;
    the expected stages are the import closures computed from the source (helpers/imports.py).
    DVC's status is read in this process (dvcrepo.dvc_status: a fresh Repo per module, the
    JSON of `dvc status --json`), which first shows that it says what the CLI says."""
    from imports import ROOT, closure

    closures = {s: {p.relative_to(ROOT).as_posix() for p in closure(ROOT / "stages" / f"{s}.py")}
                for s in ("check", "download", "frames", "train", "evaluate")}
    modules = sorted(p.relative_to(repo).as_posix() for p in [*(repo / "pipeline").rglob("*.py"),
                                                               *(repo / "stages").glob("*.py")])
    expected = {m: {s for s, files in closures.items() if m in files} for m in modules}
    repro_if_stale(repo)
    assert dvc_status(repo) == json.loads(run(["dvc", "status", "--json"], repo)) == {}

    def touched(module, status):
        """``status(repo)`` with a comment appended to ``module``; its bytes restored after."""
        path = repo / module
        original = path.read_bytes()
        path.write_bytes(original + b"\n# touched\n")
        try:
            return status(repo)
        finally:
            path.write_bytes(original)

    # the CLI and the API agree, stage names and changed deps, on a module that some stages import
    some = next(m for m in modules if expected[m] and expected[m] != set(closures))
    cli = touched(some, lambda repo: json.loads(run(["dvc", "status", "--json"], repo)))
    api = touched(some, dvc_status)
    assert cli == api and set(cli) == expected[some], (some, cli, api)
    assert all(cli[s] == [{"changed deps": {some: "modified"}}] for s in cli), cli
    checked = 0
    with dvc_yaml_parsed_once():                # only source files change from here on
        assert dvc_status(repo) == {}           # DVC's YAML files parsed; copies of them after
        assert touched(some, dvc_status) == cli
        for module in modules:
            changed = set(touched(module, dvc_status))
            assert changed == expected[module], \
                f"touching {module}: dvc status names {sorted(changed)}, imported by {sorted(expected[module])}"
            checked += bool(expected[module])
    assert checked >= 30                       # most modules belong to some stage
    # the bytes put back, the mtimes new: DVC hashes them again and finds every stage up to date
    assert json.loads(run(["dvc", "status", "--json"], repo)) == dvc_status(repo) == {}


def test_run_only_knobs_mark_nothing_but_the_check(repo):
    """Worker and thread counts, download mirrors and time limits cannot change a result: only
    `check`, which validates the whole params file, sees them; it reruns alone, in a moment."""
    repro_if_stale(repo)
    assert json.loads(run(["dvc", "status", "--json"], repo)) == {}
    before = (repo / "params.yaml").read_text()
    set_params(repo, {"frames": {"workers": 1},
                      "train": {"workers": 1, "threads": 2},
                      "download": {"retries": 7, "timeout": 5, "deadline": 100, "archive_dir": "elsewhere",
                                   "mirrors": ["http://127.0.0.1:9/DvsGesture.tar.gz"]}})
    assert set(json.loads(run(["dvc", "status", "--json"], repo))) == {"check"}
    out = run(["dvc", "repro"], repo)
    assert "Running stage 'check'" in out and "check: params.yaml is valid" in out
    assert out.count("Running stage") == 1, out
    (repo / "params.yaml").write_text(before)
    out = run(["dvc", "repro"], repo)                # a checked set of params: from the run-cache
    assert "Running stage" not in out and "Stage 'check' is cached" in out, out


@pytest.mark.parametrize("pattern, replacement", [
    (r"\nframes:\n", "\nframes:\n  TT: 20\n"),
    (r"\n  workers: \d+\n", "\n  workers: -1\n"),
    (r"\n  timeout: [\d.]+\n", "\n  timeout: 0\n"),
], ids=["unknown-key", "workers", "timeout"])
def test_a_typo_fails_repro_when_nothing_else_would_rerun(repo, pattern, replacement):
    """Before, `dvc repro` passed silently: no stage's params had changed, so nothing read the
    file, and the user believed T had changed."""
    import re

    repro_if_stale(repo)
    before = (repo / "params.yaml").read_text()
    edited, n = re.subn(pattern, replacement, before, count=1)
    assert n == 1, pattern
    (repo / "params.yaml").write_text(edited)
    try:
        out = run(["dvc", "repro"], repo, check=False)
        assert "failed to reproduce 'check'" in out, out
        errors = [line for line in out.splitlines() if line.startswith("check: error: ")]
        assert len(errors) == 1 and "params.yaml: invalid parameters:" in errors[0], out
        assert "Traceback" not in out and "Running stage 'download'" not in out
    finally:
        (repo / "params.yaml").write_text(before)


@pytest.mark.parametrize("stage", ["download", "frames", "train", "evaluate"])
def test_a_typo_fails_a_targeted_repro(repo, stage):
    """`dvc repro frames` (or any one stage) with a typo said the stage was up to date: only a
    plain `dvc repro` ran `check`. Each stage depends on its slice of the checked params
    (data/params/<stage>.json), so `check` runs first, upstream, and fails."""
    repro_if_stale(repo)
    before = (repo / "params.yaml").read_text()
    (repo / "params.yaml").write_text(before.replace("\nframes:\n", "\nframes:\n  TT: 20\n", 1))
    try:
        out = run(["dvc", "repro", stage], repo, check=False)
        assert "Running stage 'check'" in out and "failed to reproduce 'check'" in out, out
        errors = [line for line in out.splitlines() if line.startswith("check: error: ")]
        assert errors == ["check: error: params.yaml: invalid parameters: frames.TT: unknown key "
                          "(did you mean 'frames.T'?)"], out
        assert f"Running stage '{stage}'" not in out and "Traceback" not in out, out
    finally:
        (repo / "params.yaml").write_text(before)
