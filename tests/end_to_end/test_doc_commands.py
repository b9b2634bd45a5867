"""Every ``python -m ...`` example the README and docs/*.md show in a code block, run as written
on a tiny demo (a copy of this repository, ``dvc repro`` once), with the exit status the docs
promise; and every block that shows what such a command printed, compared with what it prints
now, line by line, with the values a tiny demo changes (numbers; for ``label: value`` listings,
the values) left out.

An example is either run (:data:`RUN`) or skipped with a reason (:data:`SKIP`): a new example in
the docs fails :func:`test_every_example_is_run_or_skipped` until it is put in one of them, and an
entry no doc shows any more fails :func:`test_no_entry_is_stale`. Likewise each output block is
matched by exactly one of :data:`OUTPUTS`. Other commands of the docs (``dvc``, ``git``,
``torchrun``) are not examples of this test: ``dvc repro`` and experiments are run by
test_dvc_pipeline.py and test_team.py, the ``dvc exp run -S`` params by tests/test_docs.py.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from docs import DOC_FILES, labels, module_commands, output_blocks, shape, variants
from dvcrepo import TINY, copy_repo, copy_tree, repro_in_process, set_params

pytestmark = pytest.mark.slow

#: the tiny demo, with the demo's T = 16 (the README's preview sums them pairwise into --T 8)
PARAMS = {**TINY, "frames": {**TINY["frames"], "T": 16}}

#: examples run on the tiny demo, and the exit status the docs promise for each
RUN = {
    "python -m pipeline check": 0,
    "python -m pipeline check configs/nmnist-paper.yaml": 0,
    "python -m pipeline datasets": 0,
    "python -m pipeline summary": 0,
    "python -m pipeline info data/frames/train.h5": 0,
    "python -m pipeline preview data/frames/train.h5 --index 4 --T 8": 0,
    # (the demo's own train.augment is empty: that refusal is tests/cli/test_preview.py's)
    "python -m pipeline preview data/frames/train.h5 --index 0 --augment "
    "--params configs/cifar10_dvs-augmented.yaml": 0,
    "python -m pipeline verify": 0,
    "python -m pipeline report": 0,
    "python -m pipeline export --nir": 0,
    # the demo's network max-pools: docs/export.md shows this refusal, exit status 1 (OUTPUTS)
    "python -m pipeline export --nir --for snntorch": 1,
    "python -m pipeline export --nir --dt 0.001 --out exports/model-1ms.nir": 0,
}

#: examples not run here, each with why
SKIP = {
    "python -m pytest": "the test suite itself",
    "python -m pipeline preview data/frames/train.h5 --index 0 --augment":
        "the demo's train.augment is empty: the one-line refusal docs/training.md shows is "
        "tests/cli/test_preview.py::test_cli_augment's; the next RUN line draws it with ops",
    "python -m benchmarks": "minutes of benchmarks against Tonic and SpikingJelly; "
                            "tests/benchmarks/test_benchmarks.py runs it in a quick form",
}


@dataclass(frozen=True)
class Output:
    """A block of ``doc`` showing output, recognised by ``pattern`` (a regex searched in the block):
    ``commands`` run in the ``workspace`` ("max": the tiny demo; "avg": the same with
    ``model.pooling: avg``), their outputs (``stream``) joined by a blank line, compared by
    ``compare`` ("shape": every line with numbers left out; "labels": the label of each line,
    and whole the lines of the labels in ``exact``, which the tiny demo does not change)."""

    doc: str
    pattern: str
    commands: tuple[str, ...]
    compare: str
    workspace: str = "max"
    stream: str = "stdout"
    status: int = 0
    exact: tuple[str, ...] = ()


OUTPUTS = [
    Output("docs/team.md", r"^\$ python -m pipeline info data/frames/train.h5\n",
           ("python -m pipeline info data/frames/train.h5",), "labels",
           exact=("dataset", "params", "filters")),     # the version, the demo's frames params
    Output("docs/export.md", r"^python -m pipeline export: error: models/model.pt: snnTorch cannot read max pooling",
           ("python -m pipeline export --nir --for snntorch",), "shape", stream="stderr", status=1),
    Output("docs/export.md", r"^export: .*\n  snnTorch cannot read max pooling",
           ("python -m pipeline export --nir",), "shape"),
    Output("docs/export.md", r"^export: .*\n  snnTorch: needs --for snntorch",
           ("python -m pipeline export --nir", "python -m pipeline export --nir --for snntorch"), "shape",
           workspace="avg"),
]


def examples() -> list[tuple[str, int, str]]:
    """``(doc, line, command)`` for each command an example of the docs stands for."""
    return [(doc, line, v) for doc in DOC_FILES for line, cmd in module_commands(doc) for v in variants(cmd)]


def shown_outputs() -> list[tuple[str, int, str]]:
    return [(doc, line, text) for doc in DOC_FILES for line, text in output_blocks(doc)]


EXAMPLES = examples()
RUNS = sorted({cmd for _, _, cmd in EXAMPLES if cmd in RUN})
SHOWN = shown_outputs()


def test_the_docs_show_the_commands_this_test_runs():
    """The search itself finds what the docs show (each CLI command, in README and docs/)."""
    found = {cmd for _, _, cmd in EXAMPLES}
    for command in ("check", "datasets", "summary", "info", "preview", "verify", "report", "export"):
        assert any(c.startswith(f"python -m pipeline {command}") for c in found), command
    assert {doc for doc, _, _ in EXAMPLES} >= {"README.md", "docs/export.md", "docs/reliability.md", "docs/team.md"}
    assert len(SHOWN) >= 4


def test_every_example_is_run_or_skipped():
    neither = [f"{doc}:{line}: {cmd}" for doc, line, cmd in EXAMPLES if cmd not in RUN and cmd not in SKIP]
    assert not neither, ("docs examples neither run nor skipped (add each to RUN, with its exit status, or to "
                         "SKIP, with why): " + "; ".join(neither))


def test_no_entry_is_stale():
    found = {cmd for _, _, cmd in EXAMPLES}
    stale = sorted((set(RUN) | set(SKIP)) - found)
    assert not stale, f"no doc shows these any more; remove them from RUN / SKIP: {stale}"


def test_every_output_block_is_compared():
    for doc, line, text in SHOWN:
        matching = [o for o in OUTPUTS if o.doc == doc and re.search(o.pattern, text, re.M)]
        assert len(matching) == 1, (f"{doc}:{line}: a block of output ({text.splitlines()[0][:60]!r}) matched by "
                                    f"{len(matching)} entries of OUTPUTS, not 1")
    for o in OUTPUTS:
        assert any(doc == o.doc and re.search(o.pattern, text, re.M) for doc, _, text in SHOWN), \
            f"{o.doc} shows no output matching {o.pattern!r} any more; remove it from OUTPUTS"


# --- running them -----------------------------------------------------------------------------


def execute(command: str, repo: Path) -> subprocess.CompletedProcess:
    """``command`` (``python -m ...``) as written, in ``repo``, with this interpreter."""
    args = shlex.split(command)
    assert args[0] == "python", command
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env.pop("PYTHONPATH", None)                       # the copy's own code: it is the current folder
    return subprocess.run([sys.executable, *args[1:]], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def workspaces(tmp_path_factory):
    """``workspace(name)``: made on first use: "max", the tiny demo after ``dvc repro`` (the
    demo's max pooling); "avg", a copy of "max" as it was after ``dvc repro`` with
    ``model.pooling: avg`` and ``dvc repro train`` (snnTorch's examples export models/model.pt
    alone: its frames are the demo's, and evaluate's results are not read)."""
    made = {}

    def get(name: str) -> Path:
        if name not in made:
            if name == "max":
                repo = copy_repo(tmp_path_factory.mktemp("docs-max") / "repo", PARAMS)
                repro_in_process(repo)
                # as it is before the examples write into it: what "avg" starts from
                made["reproduced"] = copy_tree(repo, tmp_path_factory.mktemp("docs-reproduced") / "repo")
            else:
                get("max")
                repo = copy_tree(made["reproduced"], tmp_path_factory.mktemp(f"docs-{name}") / "repo")
                set_params(repo, {"model": {"pooling": name}})
                repro_in_process(repo, "train")
            made[name] = repo
        return made[name]
    return get


@pytest.mark.parametrize("command", RUNS)
def test_example_runs_as_the_docs_say(command, workspaces):
    repo = workspaces("max")
    r = execute(command, repo)
    assert r.returncode == RUN[command], (f"{command}: exit status {r.returncode}, the docs say {RUN[command]}\n"
                                         f"{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    assert "Traceback" not in r.stderr
    if RUN[command]:                                  # an error: one line, naming what is wrong
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr


@pytest.mark.parametrize("doc, line, text", SHOWN, ids=[f"{d}:{n}" for d, n, _ in SHOWN])
def test_shown_output_is_what_the_command_prints(doc, line, text, workspaces):
    (o,) = [o for o in OUTPUTS if o.doc == doc and re.search(o.pattern, text, re.M)]
    repo = workspaces(o.workspace)
    printed = []
    for command in o.commands:
        r = execute(command, repo)
        assert r.returncode == o.status, f"{command}: exit status {r.returncode}\n{r.stdout}\n{r.stderr}"
        printed.append(getattr(r, o.stream).strip())
    shown = text.strip()
    if shown.startswith("$ "):                        # a prompt: the command, then what it printed
        prompt, _, shown = shown.partition("\n")
        assert prompt[2:].strip() in o.commands
    got = "\n\n".join(printed)
    if o.compare == "labels":
        assert labels(got) == labels(shown), f"{doc}:{line} shows\n{shown}\nbut the command prints\n{got}"
        for label in o.exact:
            (want,) = [x for x in shown.splitlines() if x.startswith(f"{label}:")]
            assert want in got.splitlines(), f"{doc}:{line} shows {want!r}; the command prints\n{got}"
    else:
        assert shape(got) == shape(shown), f"{doc}:{line} shows\n{shown}\nbut the command prints\n{got}"
