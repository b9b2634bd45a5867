"""`python -m pipeline summary`: every layer under the name the network walk gives it (the costs'
keys, the NIR graph's nodes, the train log's tau_<k>), written out here by hand from the
networks the configs describe."""

from pathlib import Path

import pytest
import yaml

from pipeline.cli.main import main

ROOT = Path(__file__).resolve().parents[2]

# configs/demo.yaml: 3 blocks of Conv + BN, PLIF, max-pool; Flatten, Dropout, Linear, PLIF, Dropout, Linear, PLIF
DEMO = ["conv_1", "spiking_1", "pool_1", "conv_2", "spiking_2", "pool_2", "conv_3", "spiking_3", "pool_3",
        "flatten_1", "dropout_1", "fc_1", "spiking_4", "dropout_2", "fc_2", "spiking_5"]
# configs/mnist-paper.yaml: Normalize (no name: not a layer of the walk), the encoder's Conv + BN (conv_1),
# PLIF, pool, Conv + BN, PLIF, pool; Flatten, Dropout, Linear, PLIF, Dropout, Linear, PLIF
MNIST = ["", "conv_1", "spiking_1", "pool_1", "conv_2", "spiking_2", "pool_2", "flatten_1", "dropout_1", "fc_1",
         "spiking_3", "dropout_2", "fc_2", "spiking_4"]


def names(config: str, capsys) -> list[str]:
    """The name column of ``summary``'s table, one per layer row (its header and the last two
    lines, the class rates and the parameter count, left out)."""
    assert main(["summary", str(ROOT / "configs" / config)]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[1].split()
    assert header[:3] == ["#", "name", "layer"], lines[1]
    start = lines[1].index("name")
    end = lines[1].index("layer")
    return [line[start:end].strip() for line in lines[2:-2]]


@pytest.mark.parametrize("config, expected", [("demo.yaml", DEMO), ("mnist-paper.yaml", MNIST)])
def test_summary_names_each_layer_as_the_walk(config, expected, capsys):
    assert names(config, capsys) == expected


def test_summary_rows_keep_their_descriptions(capsys):
    """The name sits beside the layer it names: conv_2 is the second convolution, fc_1 the Linear."""
    assert main(["summary", str(ROOT / "configs" / "demo.yaml")]) == 0
    rows = {line.split()[1]: line for line in capsys.readouterr().out.splitlines()[2:-2]}
    assert "Conv3x3(32->32)" in rows["conv_2"] and "Linear(512->128)" in rows["fc_1"]
    assert "PLIF" in rows["spiking_5"] and "MaxPool2" in rows["pool_3"]


@pytest.mark.parametrize("backend", ["numba", "triton", "eager"])
def test_summary_describes_the_network_whatever_its_plif_backend(backend, tmp_path, capsys):
    """summary builds the network on torch's meta device (nothing allocated), where only the
    reference PLIF runs: a params file naming a CPU or CUDA backend is described all the same.
    configs/demo.yaml by hand: conv_1 2*32*9 + 2*32 (BN), conv_2 and conv_3 32*32*9 + 2*32 each,
    5 PLIF (1 each), fc_1 512*128, fc_2 128*80 (8 classes x 10 votes); no biases."""
    params = yaml.safe_load((ROOT / "configs" / "demo.yaml").read_text(encoding="utf-8"))
    params["model"]["backend"] = backend
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params), encoding="utf-8")
    assert main(["summary", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == f"parameters: {(2 * 32 * 9 + 64) + 2 * (32 * 32 * 9 + 64) + 5 + 512 * 128 + 128 * 80}"
    assert [line.split()[1] for line in out[2:-2]] == DEMO
