"""The README's one command per Tonic dataset family: each a valid params file on top of the demo's."""

import re
import shlex

import yaml

from pipeline.datasets import DATASETS
from pipeline.core.params import validate_params
from pipeline.datasets.spec import TonicFetch
from test_ablations import ROOT, apply, overrides


def test_each_family_command_is_valid_on_the_demo_params():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Any Tonic dataset", 1)[1].split("\n## ", 1)[0]
    block = re.findall(r"```bash\n(.*?)```", section, re.S)[0]
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
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
