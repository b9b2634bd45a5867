"""The commands the README and docs/ show, checked against the code: each a valid params file
on the configs it is meant for, together covering what the text says they cover."""

import re
import shlex
from pathlib import Path

import pytest
import yaml

from docs import ROOT, TONIC_COMMANDS, ablation_blocks, apply, bash_blocks, overrides
from pipeline.params import validate_params
from pipeline.datasets import DATASETS
from pipeline.datasets.spec import TonicFetch

# (neuron, tau0, pooling) of the paper's Table 2: PLIF tau0=2 (its model), PLIF 16, LIF 2, LIF 16, PLIF avg
FIVE = {("plif", 2.0, "max"), ("plif", 16.0, "max"), ("lif", 2.0, "max"), ("lif", 16.0, "max"),
        ("plif", 2.0, "avg")}


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
def test_each_documented_ablation_is_one_of_the_papers_five(config):
    base = yaml.safe_load((ROOT / "configs" / config).read_text())
    one_by_one, queued = ablation_blocks()
    assert sorted(configurations(one_by_one, base)) == sorted(FIVE)
    assert sorted(configurations(queued, base)) == sorted(FIVE)


def test_each_tonic_family_command_is_valid_on_the_demo_params():
    (commands,) = bash_blocks(*TONIC_COMMANDS)[:1]
    base = yaml.safe_load((ROOT / "configs" / "demo.yaml").read_text())
    splits, one_d = set(), set()
    for cmd in commands:
        assert shlex.split(cmd)[:3] == ["dvc", "exp", "run"]
        (patch,) = overrides(cmd)
        raw = apply(base, {k: v for k, v in patch.items() if k != "dataset"})
        raw["dataset"] = patch["dataset"]
        p = validate_params(raw)
        spec = DATASETS[p.dataset]
        assert isinstance(spec.source, TonicFetch)
        splits.add(spec.layout.split)
        one_d.add(min(spec.sensor_size) == 1)
    assert splits == {"official", "stratified"} and one_d == {True, False}


def anchors(doc: Path) -> set[str]:
    """GitHub's anchors of a Markdown file's headings: lower case, punctuation dropped, spaces
    to hyphens (outside code blocks)."""
    text = re.sub(r"```.*?```", "", doc.read_text(encoding="utf-8"), flags=re.S)
    out = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *$", text, re.M):
        out.add(re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-"))
    return out


DOCS = ["README.md"] + sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md"))


@pytest.mark.parametrize("doc", DOCS)
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(doc):
    source = ROOT / doc
    text = re.sub(r"```.*?```", "", source.read_text(encoding="utf-8"), flags=re.S)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        where = (source.parent / path).resolve() if path else source
        if not where.exists():
            broken.append(f"{target}: no file {where.relative_to(ROOT) if where.is_relative_to(ROOT) else where}")
        elif anchor and where.suffix == ".md" and anchor not in anchors(where):
            broken.append(f"{target}: {where.name} has no heading #{anchor}")
    assert not broken, f"{doc}: " + "; ".join(broken)


def test_the_readme_points_to_every_page_of_docs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    unlisted = [d for d in DOCS[1:] if f"]({d})" not in readme]
    assert not unlisted, f"README.md links to none of {unlisted}"


def test_every_sweep_the_readme_shows_says_what_it_costs():
    """A sweep of several runs of 30 epochs is minutes on a laptop's CPU: each `dvc exp run` line
    of the README says how long it takes, and a quick form (a few epochs) is shown beside it."""
    lines = [line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("dvc exp run")]
    sweeps = [line for line in lines if "-S" in line]
    assert sweeps, "no dvc exp run sweep in the README"
    for line in sweeps:
        comment = line.split("#", 1)[1] if "#" in line else ""
        assert re.search(r"\d+ min", comment), f"README: {line!r} says nothing of its cost"
    assert any(re.search(r"-S train\.epochs=[1-5]\b", line) for line in sweeps), "no quick form of the sweep"
