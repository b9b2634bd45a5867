"""``python -m pipeline export --nir --for snntorch`` and the readers a plain export names, held
against snnTorch itself: its importer's source (the step it takes, the nodes it maps) and the
spikes of the network it builds from our file."""

import inspect
import re
import subprocess
import sys

import h5py
import nir
import numpy as np
import pytest
import torch
from nirexec import lively, model_spikes, snntorch_run
from tinyframes import CLASSES, MODEL, write_frames

from pipeline.cli.export import READERS
from pipeline.cli.main import build_parser, main
from pipeline.model import build_model
from pipeline.model.nir_export import SNNTORCH_DT, SNNTORCH_NODES

snntorch_import = pytest.importorskip("snntorch.import_nir")

MAX_REFUSED = ("snnTorch cannot read max pooling (SumPool2d + Threshold); train with model.pooling: avg "
               "(dvc exp run -S model.pooling=avg), then export with --for snntorch")


def save_model(path, pooling: str):
    """A train-stage model file of a lively (every layer fires) network with ``pooling``."""
    torch.manual_seed(0)
    params = MODEL.model_copy(update={"pooling": pooling})
    model = lively(build_model(params, (4, 2, 16, 16), len(CLASSES)))
    torch.save({"model": model.state_dict(), "epoch": 2,
                "config": {"model": params.model_dump(), "classes": CLASSES, "frame_shape": [4, 2, 16, 16]}}, path)
    return model


def test_snntorch_dt_is_the_step_in_snntorchs_importer():
    src = inspect.getsource(snntorch_import)
    steps = re.findall(r"^\s*dt\s*=\s*([0-9.eE+-]+)\s*$", src, re.M)
    assert steps, "snntorch/import_nir.py no longer sets dt: check what step it takes now"
    assert {float(v) for v in steps} == {SNNTORCH_DT}


def test_snntorch_nodes_are_its_importers_node_map():
    src = inspect.getsource(snntorch_import.import_from_nir)
    mapped = set(re.findall(r"^\s*nir\.(\w+)\s*:", src[src.index("node_map"):], re.M))
    assert mapped and mapped | {"Input", "Output"} == SNNTORCH_NODES


def test_the_for_choices_are_the_readers_we_export_for():
    parser = build_parser()
    assert parser.parse_args(["export", "--nir"]).reader == "generic"
    assert [parser.parse_args(["export", "--nir", "--for", r]).reader for r in READERS] == list(READERS)
    with pytest.raises(SystemExit) as e:
        parser.parse_args(["export", "--nir", "--for", "norse"])
    assert e.value.code == 2


def test_for_snntorch_writes_what_snntorch_runs_spike_for_spike(tmp_path, capsys):
    model = save_model(tmp_path / "model.pt", "avg")
    with h5py.File(write_frames(tmp_path / "t.h5", 6)) as f:
        x = torch.from_numpy(f["frames"][:].astype(np.float32))
    out = tmp_path / "snn.nir"
    assert main(["export", "--nir", "--for", "snntorch", "--model", str(tmp_path / "model.pt"), "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith(", dt 0.0001")
    assert lines[1:] == [f'  snnTorch: import_from_nir(nir.read("{out}")) (dt 0.0001, its importer\'s step)',
                         '  other NIR readers: need a step of dt 0.0001 (the graph\'s metadata "dt")']
    assert nir.read(out).metadata["dt"] == SNNTORCH_DT
    ours, our_rates = model_spikes(model, x)
    theirs, rates = snntorch_run(out, x)
    assert float(sum(s.sum() for s in ours)) > 0
    assert len(ours) == len(theirs) and all(torch.equal(a, b) for a, b in zip(ours, theirs))
    assert rates.argmax(1).tolist() == our_rates.argmax(1).tolist()
    # the same model exported plainly (dt 1) loads in snnTorch without a word and runs another network
    plain = tmp_path / "plain.nir"
    assert main(["export", "--nir", "--model", str(tmp_path / "model.pt"), "--out", str(plain)]) == 0
    assert capsys.readouterr().out.splitlines()[1] == \
        "  snnTorch: needs --for snntorch (its importer steps every LIF by dt 0.0001)"
    other, _ = snntorch_run(plain, x)
    assert not all(torch.equal(a, b) for a, b in zip(ours, other))


def test_for_snntorch_refuses_a_max_pooling_model_in_one_line(tmp_path):
    save_model(tmp_path / "model.pt", "max")
    out = tmp_path / "exports" / "model.nir"
    r = subprocess.run([sys.executable, "-m", "pipeline", "export", "--nir", "--for", "snntorch",
                        "--model", str(tmp_path / "model.pt"), "--out", str(out)],
                       cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr == f"python -m pipeline export: error: {tmp_path / 'model.pt'}: {MAX_REFUSED}\n"
    assert not out.parent.exists() or not list(out.parent.iterdir())          # nothing written
    # what it refuses, snnTorch itself cannot read: the plain export of that model
    r = subprocess.run([sys.executable, "-m", "pipeline", "export", "--nir", "--model", str(tmp_path / "model.pt"),
                        "--out", str(out)], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0
    assert r.stdout.splitlines()[1:] == [
        f"  {MAX_REFUSED}",
        '  other NIR readers: need SumPool2d and Threshold, and a step of dt 1 (the graph\'s metadata "dt")']
    with pytest.raises(ValueError, match="mapping does not exist in node_map"):
        snntorch_import.import_from_nir(nir.read(out))


def test_for_snntorch_with_another_dt_is_refused_in_one_line(tmp_path, capsys):
    save_model(tmp_path / "model.pt", "avg")
    out = tmp_path / "m.nir"
    args = ["export", "--nir", "--for", "snntorch", "--model", str(tmp_path / "model.pt"), "--out", str(out)]
    with pytest.raises(SystemExit) as e:
        main(args + ["--dt", "1"])
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert err == ("python -m pipeline export: error: --dt 1 with --for snntorch: snnTorch's importer steps by "
                   "dt 0.0001 whatever the graph says; leave out --dt\n")
    assert not out.exists()
    assert main(args + ["--dt", "1e-4"]) == 0                          # its own step, said again: fine
    assert nir.read(out).metadata["dt"] == SNNTORCH_DT


def test_a_plain_export_at_snntorchs_step_says_snntorch_reads_it(tmp_path, capsys):
    save_model(tmp_path / "model.pt", "avg")
    out = tmp_path / "m.nir"
    assert main(["export", "--nir", "--dt", "1e-4", "--model", str(tmp_path / "model.pt"), "--out", str(out)]) == 0
    assert capsys.readouterr().out.splitlines()[1] == \
        f'  snnTorch: import_from_nir(nir.read("{out}")) (dt 0.0001, its importer\'s step)'
