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


# --- the commands the docs show, and the output they show for them (tests/end_to_end/test_doc_commands.py)

#: documents whose code blocks hold commands: the README and every page of docs/
DOC_FILES = ("README.md",) + tuple(sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")))
#: ``python -m <module> ...`` in a code line, up to a comment, ``&&``, ``;``, ``|`` or a backtick
_MODULE_COMMAND = re.compile(r"python -m [\w.]+(?![\w.:])[^#&;|`\n]*")
#: the first line of a block that shows what a command printed: a ``$ `` prompt, or a line that
#: starts the way ``python -m pipeline <command>`` prints (``export: ...``, ``python -m pipeline
#: export: error: ...``)
_CLI = ("check", "datasets", "summary", "info", "preview", "verify", "report", "export")
_OUTPUT_START = re.compile(rf"^(\$ |(python -m pipeline )?({'|'.join(_CLI)}): )")


def code_blocks(doc: str) -> list[tuple[str, int, str]]:
    """``(language, line of its first content line, text)`` of each fenced block of ``doc``."""
    text = (ROOT / doc).read_text(encoding="utf-8")
    out = []
    for m in re.finditer(r"^```([\w+-]*)[^\n]*\n(.*?)^```", text, re.S | re.M):
        out.append((m.group(1), text[:m.start(2)].count("\n") + 1, m.group(2)))
    return out


def module_commands(doc: str) -> list[tuple[int, str]]:
    """``(line, command)`` for each ``python -m <module> ...`` shown in a code block of ``doc``
    (a ``$ `` prompt, a comment of a Python block included; a module followed by a colon, as in
    ``python -m pipeline: check, ...`` or an error line ``python -m pipeline export: error:``,
    is prose or output, not a command)."""
    out = []
    for _, first, body in code_blocks(doc):
        for i, line in enumerate(body.splitlines()):
            for m in _MODULE_COMMAND.finditer(line):
                command = " ".join(m.group(0).split())
                if not re.match(r"python -m [\w.]+ +[\w-]+:", command + " "):
                    out.append((first + i, command))
    return out


def variants(command: str) -> list[str]:
    """The commands an example with optional parts stands for: ``[--for snntorch]`` (an option
    spelled out) both without and with it; ``[params file]`` (a placeholder) without it."""
    m = re.search(r" \[([^\]]*)\]", command)
    if not m:
        return [command]
    without = command[:m.start()] + command[m.end():]
    spelled = m.group(1).startswith("-")
    withit = command[:m.start()] + " " + m.group(1) + command[m.end():]
    return variants(without) + (variants(withit) if spelled else [])


def output_blocks(doc: str) -> list[tuple[int, str]]:
    """``(line, text)`` of each unlabelled block of ``doc`` that shows what a ``python -m pipeline``
    command printed (see ``_OUTPUT_START``)."""
    return [(first, body) for lang, first, body in code_blocks(doc)
            if not lang and _OUTPUT_START.match(body)]


def shape(text: str) -> list[str]:
    """``text``'s lines with every number replaced by ``#`` and runs of spaces by one: what two
    outputs of one command share when the data differ (sample counts, sizes, steps, dt)."""
    return [re.sub(r"\d+(?:[.,]\d+)*(?:e-?\d+)?", "#", " ".join(line.split())) for line in text.strip().splitlines()]


def labels(text: str) -> list[str]:
    """The label of each line of a ``label:   value`` listing (``python -m pipeline info``)."""
    return [line.split(":", 1)[0].strip() for line in text.strip().splitlines()]
