"""The NIR export (pipeline.model.nir_export, ``python -m pipeline export --nir``) read back by
two independent readers: a NIR executor written from the specification (tests/helpers/nirexec.py)
and snnTorch's own ``import_from_nir``. Spikes per layer and predictions must equal our model's."""


import nir
import numpy as np
import pytest
import torch
from nirexec import Executor, lively, model_spikes, snntorch_run
from tinyframes import CLASSES, MODEL, write_frames

from pipeline.cli.main import main
from pipeline.model import build_model
from pipeline.model.network import SpikingConvNet
from pipeline.model.nir_export import SNNTORCH_DT, ExportError, fold_batch_norm, threshold_below, to_nir


def network(pooling: str, seed: int = 0, **kw) -> SpikingConvNet:
    torch.manual_seed(seed)
    args = dict(in_channels=2, input_size=(16, 16), channels=6, blocks=2, hidden=24, classes=3, votes=4,
                pooling=pooling, dropout=0.5, backend="eager") | kw
    return lively(SpikingConvNet(**args), seed)


def frames(n: int = 6, T: int = 5, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.poisson(torch.full((n, T, 2, 16, 16), 1.2), generator=g)


def run_executor(graph, x, dtype):
    ex = Executor(graph, dt=float(graph.metadata["dt"]), dtype=dtype)
    runs = [ex.run(sample) for sample in x]
    layers = sorted((k for k in runs[0] if k.startswith("spiking_")), key=lambda k: int(k.split("_")[1]))
    spikes = [torch.stack([r[k] for r in runs], 1) for k in layers]
    return spikes, torch.stack([r["vote"].mean(0) for r in runs])


def assert_same(ours, theirs):
    (s1, r1), (s2, r2) = ours, theirs
    assert len(s1) == len(s2)
    for i, (a, b) in enumerate(zip(s1, s2)):
        assert a.shape == b.shape, (i, a.shape, b.shape)
        assert torch.equal(a.to(b.dtype), b), f"spiking_{i + 1}: {int((a.to(b.dtype) != b).sum())} spikes differ"
    assert float(sum(s.sum() for s in s1)) > 0                 # the comparison saw spikes
    assert r1.argmax(1).tolist() == r2.argmax(1).tolist()
    assert torch.allclose(r1.double(), r2.double(), atol=1e-6)


def test_threshold_below_turns_our_ge_into_nirs_gt():
    t = threshold_below(1.0)
    assert t.dtype == np.float32 and t < np.float32(1.0) and np.nextafter(t, np.float32(2)) == np.float32(1.0)
    for v in [0.0, 0.99999994, 1.0, 1.0000001, 2.0, t]:
        v = np.float32(v)
        assert (v > t) == (v >= np.float32(1.0)), v


def test_batch_norm_folds_into_the_convolution():
    net = network("max")
    conv, bn = net.layers[0].conv, net.layers[0].bn
    x = torch.randn(3, 2, 16, 16, dtype=torch.float64)
    w, b = fold_batch_norm(conv, bn)
    folded = torch.nn.functional.conv2d(x, torch.from_numpy(w), torch.from_numpy(b), padding=1)
    with torch.no_grad():
        expected = torch.nn.functional.batch_norm(torch.nn.functional.conv2d(x, conv.weight.double(), padding=1),
                                                  bn.running_mean.double(), bn.running_var.double(),
                                                  bn.weight.double(), bn.bias.double(), False, 0.0, bn.eps)
    assert torch.allclose(folded, expected, atol=1e-12)


@pytest.mark.parametrize("pooling", ["max", "avg"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_spec_executor_gives_our_spikes(pooling, dtype):
    net = network(pooling)
    x = frames()
    graph = to_nir(net, (2, 16, 16))
    names = list(graph.nodes)
    assert "pool_1.sum" in names and "pool_1.any" in names if pooling == "max" else "pool_1" in names
    assert not any("dropout" in n for n in names)
    ours = model_spikes(net.to(dtype), x.to(dtype))
    assert_same(ours, run_executor(graph, x, dtype))


def test_a_potential_exactly_at_threshold_fires_in_both():
    """k = sigmoid(0) = 1/2: an input of exactly 2 charges v to exactly 1.0 = v_th, which fires
    under our v >= v_th and under NIR's v > v_thr with v_thr just below."""
    net = SpikingConvNet(in_channels=1, input_size=(4, 4), channels=1, blocks=1, hidden=2, classes=2, votes=1,
                         neuron="lif", dropout=0.0, dropout_hidden=0.0, backend="eager").eval()
    with torch.no_grad():
        net.layers[0].conv.weight.zero_()
        net.layers[0].conv.weight[0, 0, 1, 1] = 1.0
        net.layers[0].bn.eps = 0.0
    x = torch.zeros(1, 1, 1, 4, 4)
    x[0, 0, 0, 2, 1] = 2.0
    graph = to_nir(net, (1, 4, 4))
    ours, _ = model_spikes(net, x)
    theirs, _ = run_executor(graph, x, torch.float32)
    assert ours[0][0, 0, 0, 2, 1] == 1 and theirs[0][0, 0, 0, 2, 1] == 1
    assert torch.equal(ours[0], theirs[0])


def test_an_image_network_takes_the_normalised_image_at_every_step():
    torch.manual_seed(1)
    net = lively(SpikingConvNet(in_channels=1, input_size=(16, 16), channels=6, blocks=2, hidden=24, classes=3,
                                votes=4, image_steps=4, mean=[0.13], std=[0.31], backend="eager"))
    images = torch.randint(0, 256, (4, 1, 16, 16)).float()
    normalised = (images / 255.0 - 0.13) / 0.31
    graph = to_nir(net, (1, 16, 16))
    steps = normalised.unsqueeze(1).expand(4, 4, 1, 16, 16)
    assert_same(model_spikes(net, images), run_executor(graph, steps, torch.float32))


def test_snntorch_reads_the_average_pooling_network_exactly(tmp_path):
    net = network("avg")
    x = frames()
    nir.write(tmp_path / "avg.nir", to_nir(net, (2, 16, 16), dt=SNNTORCH_DT))   # snnTorch's importer's step
    assert_same(model_spikes(net, x), snntorch_run(tmp_path / "avg.nir", x))


def test_a_layer_without_an_exact_form_is_refused_by_name():
    net = network("max")
    net.layers[2] = torch.nn.Identity()
    with pytest.raises(ExportError, match=r"layer 2 \(Identity\) has no exact NIR form"):
        to_nir(net, (2, 16, 16))
    net = network("max")
    net.layers[2].body[0] = torch.nn.MaxPool2d(3, padding=1)
    with pytest.raises(ExportError, match="layer 2 .MaxPool2d.: only unpadded"):
        to_nir(net, (2, 16, 16))


def test_export_command_writes_a_graph_file(tmp_path, capsys):
    torch.manual_seed(0)
    model = lively(build_model(MODEL, (4, 2, 16, 16), len(CLASSES)))
    torch.save({"model": model.state_dict(), "epoch": 2,
                "config": {"model": MODEL.model_dump(), "classes": CLASSES, "frame_shape": [4, 2, 16, 16]}},
               tmp_path / "model.pt")
    out = tmp_path / "models" / "m.nir"
    assert main(["export", "--nir", "--model", str(tmp_path / "model.pt"), "--out", str(out)]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith(f"export: {out}: NIR graph of") and "4 LIF layers" in line
    graph = nir.read(out)
    assert graph.metadata["dt"] == 1.0 and graph.metadata["time_steps"] == 4
    assert [c.decode() if isinstance(c, bytes) else c for c in graph.metadata["classes"]] == CLASSES
    assert sum(isinstance(n, nir.LIF) for n in graph.nodes.values()) == MODEL.blocks + 2
    lif = graph.nodes["spiking_1"]
    k = float(torch.sigmoid(model.layers[1].w.detach()))
    assert np.allclose(lif.tau, 1.0 / k) and np.all(lif.r == 1) and np.all(lif.v_leak == 0)
    assert not [p for p in out.parent.iterdir() if p != out]           # nothing left beside it
    x = torch.from_numpy(__import__("h5py").File(write_frames(tmp_path / "t.h5", 4))["frames"][:].astype(np.float32))
    assert_same(model_spikes(model, x), run_executor(graph, x, torch.float32))


def test_export_refuses_a_damaged_model_in_one_line(tmp_path, capsys):
    (tmp_path / "model.pt").write_bytes(b"not a model")
    with pytest.raises(SystemExit) as e:
        main(["export", "--nir", "--model", str(tmp_path / "model.pt"), "--out", str(tmp_path / "m.nir")])
    assert e.value.code == 1
    err = capsys.readouterr().err.strip()
    assert "model.pt: not a model the train stage wrote" in err and "\n" not in err
    assert not (tmp_path / "m.nir").exists()
    with pytest.raises(SystemExit) as e:
        main(["export", "--nir", "--dt", "0"])
    assert e.value.code == 2


@pytest.mark.parametrize("attrs,C,kind", [({"representation": "voxel_grid"}, 1, "voxel_grid"),
                                          ({"representation": "binarep", "n_bits": 3}, 2, "binarep"),
                                          ({}, 2, "counts")])
def test_the_graph_says_which_representation_its_input_is(tmp_path, capsys, attrs, C, kind):
    """A model trained on a voxel grid takes one channel, and the metadata names the
    representation the model expects (Bina-Rep: its n_bits and the values in [0, 1])."""
    torch.manual_seed(0)
    model = lively(build_model(MODEL, (4, C, 16, 16), len(CLASSES)))
    torch.save({"model": model.state_dict(), "epoch": 1,
                "config": {"model": MODEL.model_dump(), "classes": CLASSES, "frame_shape": [4, C, 16, 16],
                           "frames_attrs": {"dataset": "tiny", **attrs}}}, tmp_path / "model.pt")
    out = tmp_path / "m.nir"
    assert main(["export", "--nir", "--model", str(tmp_path / "model.pt"), "--out", str(out)]) == 0
    assert f"input {C}x16x16 per step" in capsys.readouterr().out
    graph = nir.read(out)

    def text(v):
        return v.decode() if isinstance(v, bytes) else str(v)
    assert text(graph.metadata["representation"]) == kind
    assert tuple(graph.nodes["input"].input_type["input"]) == (C, 16, 16)
    assert graph.nodes["conv_1"].weight.shape[1] == C
    described = text(graph.metadata["input"])
    if kind == "binarep":
        assert int(graph.metadata["n_bits"]) == 3 and "values in [0, 1]" in described and "divided by 7" in described
    else:
        assert "n_bits" not in graph.metadata
        assert ("signed real values" if kind == "voxel_grid" else "of counts") in described
