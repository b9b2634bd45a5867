"""params.yaml validation: the shipped files are valid; bad values name the field."""

from pathlib import Path

import pytest
import yaml

from pipeline.params import ParamsError, load_params

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_params_are_valid():
    p = load_params(ROOT / "params.yaml")
    assert p.dataset == "demo"


def test_paper_config_for_dvsgesture():
    p = load_params(ROOT / "configs" / "dvsgesture-paper.yaml")
    assert p.dataset == "dvsgesture"
    assert (p.frames.T, p.frames.downsample) == (20, 1)
    assert (p.model.channels, p.model.blocks, p.model.hidden, p.model.votes) == (128, 5, 512, 10)
    assert (p.model.neuron, p.model.pooling, p.model.tau0, p.model.dropout) == ("plif", "max", 2.0, 0.5)
    assert (p.train.batch_size, p.train.lr, p.train.T_max) == (16, 1e-3, 64)


def test_demo_config_matches_params_yaml():
    assert load_params(ROOT / "configs" / "demo.yaml") == load_params(ROOT / "params.yaml")


@pytest.mark.parametrize("patch,msg", [
    ({"frames": {"T": 0}}, "frames.T"),
    ({"frames": {"split_by": "frames"}}, "frames.split_by"),
    ({"frames": {"Tt": 3}}, "frames.Tt"),
    ({"dataset": "mnist"}, "dataset"),
    ({"model": {"tau0": 1.0}}, "model.tau0"),
])
def test_bad_params_name_the_field(tmp_path, patch, msg):
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    for k, v in patch.items():
        raw[k] = {**raw[k], **v} if isinstance(v, dict) else v
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ParamsError) as e:
        load_params(path)
    assert str(path) in str(e.value) and msg in str(e.value)
