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
    assert (p.train.protocol, p.train.val_fraction, p.train.sync_bn, p.train.deterministic) == ("B", 0.15, True, True)


def test_demo_config_matches_params_yaml():
    assert load_params(ROOT / "configs" / "demo.yaml") == load_params(ROOT / "params.yaml")


@pytest.mark.parametrize("patch,msg", [
    ({"frames": {"T": 0}}, "frames.T"),
    ({"frames": {"split_by": "frames"}}, "frames.split_by"),
    ({"frames": {"Tt": 3}}, "frames.Tt"),
    ({"dataset": "mnist"}, "dataset"),
    ({"model": {"tau0": 1.0}}, "model.tau0"),
    ({"train": {"protocol": "C"}}, "train.protocol"),
    ({"train": {"val_fraction": 1.0}}, "train.val_fraction"),
    ({"train": {"amp": "fp8"}}, "train.amp"),
    ({"train": {"device": "tpu"}}, "train.device"),
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


@pytest.mark.parametrize("name,T,blocks,hidden,linear_in", [("nmnist", 10, 2, 2048, 8192),
                                                             ("cifar10_dvs", 20, 4, 2048, 8192)])
def test_paper_configs_other_datasets(name, T, blocks, hidden, linear_in):
    from pipeline.datasets import get

    p = load_params(ROOT / "configs" / f"{name}-paper.yaml")
    spec = get(name)
    assert p.dataset == name and spec.config == f"configs/{name}-paper.yaml"
    assert (p.frames.T, p.frames.downsample, p.model.blocks, p.model.hidden, p.model.channels) == (T, 1, blocks, hidden, 128)
    H, W = spec.sensor_size
    assert p.model.channels * (H >> blocks) * (W >> blocks) == linear_in
    assert (p.train.batch_size, p.train.lr, p.train.T_max, p.model.votes) == (16, 1e-3, 64, 10)
