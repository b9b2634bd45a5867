"""The commands the documentation shows, read from its Markdown: the bash blocks of a section,
and the params each ``dvc exp run -S ...`` command sets."""

from __future__ import annotations

import itertools
import json
import re
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
#: where the paper's ablation sweep is documented: two bash blocks, one experiment at a time and queued
ABLATIONS = ("docs/paper.md", "## The ablations of Table 2")
#: where the one command per Tonic dataset family is documented
TONIC_COMMANDS = ("docs/tonic.md", "## Any Tonic dataset")
#: where the README runs the NIR export in snnTorch: the section's one python block that calls this
SNNTORCH_SNIPPET = ("README.md", "## Main commands", "import_from_nir(")


def section(doc: str, heading: str) -> str:
    """The text under the heading line that starts with ``heading`` (its ``#``s included) in
    ``doc`` (a path from the project root), up to the next heading of the same or a higher level."""
    text = (ROOT / doc).read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(heading)}[^\n]*\n", text, re.M)
    assert match, f"{doc} has no heading starting {heading!r}"
    level = len(heading) - len(heading.lstrip("#"))
    body = text[match.end():]
    end = re.search(rf"^#{{1,{level}}} ", body, re.M)
    return body[:end.start()] if end else body


def bash_blocks(doc: str, heading: str) -> list[list[str]]:
    """The section's ```bash blocks, each as its commands (comments and blank lines dropped)."""
    blocks = re.findall(r"```bash\n(.*?)```", section(doc, heading), re.S)
    return [[line.split("#")[0].strip() for line in b.splitlines() if line.split("#")[0].strip()] for b in blocks]


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
    """``params`` with each ``section.leaf: value`` of ``patch`` set (values parsed as YAML)."""
    p = json.loads(json.dumps(params))
    for key, value in patch.items():
        sec, leaf = key.split(".")
        p[sec][leaf] = yaml.safe_load(value)
    return p


def ablation_blocks() -> list[list[str]]:
    """The ablation section's two bash blocks: commands run one by one, and the queued sweep."""
    blocks = bash_blocks(*ABLATIONS)
    assert len(blocks) == 2, f"{ABLATIONS[0]}'s ablations section should hold two bash blocks"
    return blocks


def python_blocks(doc: str, heading: str) -> list[str]:
    """The section's ```python blocks, each as written."""
    return re.findall(r"```python\n(.*?)```", section(doc, heading), re.S)


def snntorch_snippet() -> str:
    """The README's snnTorch snippet, as written: the one python block of its section that
    calls ``import_from_nir(``."""
    doc, heading, marker = SNNTORCH_SNIPPET
    found = [b for b in python_blocks(doc, heading) if marker in b]
    assert len(found) == 1, f"{doc} {heading!r} should hold one python block calling {marker!r}, not {len(found)}"
    return found[0]
