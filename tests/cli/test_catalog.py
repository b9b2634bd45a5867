"""`python -m pipeline datasets`: every registry dataset and every Tonic dataset class, once."""

import inspect

import tonic.datasets as td

from pipeline.cli.main import main
from pipeline.cli.catalog import rows
from pipeline.datasets import DATASETS
from pipeline.datasets.spec import TonicFetch


def tonic_dataset_classes():
    return {n for n in dir(td) if not n.startswith("_") and inspect.isclass(getattr(td, n))}


def test_every_tonic_class_and_every_registry_dataset_is_listed_once():
    names = [r["name"] for r in rows()]
    assert len(names) == len(set(names))
    assert set(DATASETS) <= set(names)
    assert {f"tonic.{c}" for c in tonic_dataset_classes()} <= set(names)
    for r in rows():
        assert r["status"].startswith(("supported: download, frames, train, evaluate", "not supported: ")), r


def test_status_follows_the_registry():
    by_name = {r["name"]: r for r in rows()}
    assert by_name["mnist"]["status"] == "supported: download, frames, train, evaluate"
    assert by_name["mnist"]["train / test"] == "60000 / 10000" and by_name["mnist"]["sensor"] == "28x28 x1"
    # the four MNIST idx files: 9912422 + 28881 + 1648877 + 4542 bytes = 11.0 MiB
    assert by_name["mnist"]["download"] == "11 MiB"
    assert by_name["tonic.DSEC"]["status"].startswith("not supported: ") and "labels" in by_name["tonic.DSEC"]["status"]
    for spec in DATASETS.values():
        if isinstance(spec.source, TonicFetch):
            assert by_name[spec.name]["source"] == f"Tonic {spec.layout.tonic_class}"
            assert by_name[spec.name]["status"].startswith("supported: download, frames, train, evaluate")
    assert by_name["tonic.NCALTECH101"]["train / test"] == "8709 split by params"
    assert by_name["tonic.SHD"]["status"].endswith("(model.blocks: 0, a fully-connected network)")


def test_a_tonic_class_this_table_does_not_know_is_listed(monkeypatch):
    class FutureDataset:
        pass

    monkeypatch.setattr(td, "FutureDataset", FutureDataset, raising=False)
    monkeypatch.setattr(td, "__all__", [*getattr(td, "__all__", []), "FutureDataset"], raising=False)
    row = {r["name"]: r for r in rows()}["tonic.FutureDataset"]
    assert row["status"] == "not supported: not reviewed yet (a class newer than this table)"


def test_cli_prints_the_table(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:2] == ["name", "source"] and "datasets supported" in out[-1]
    assert any(line.startswith("tonic.DSEC ") for line in out)


def test_one_dataset_names_its_files_and_where_to_get_them():
    """`datasets NAME`, which a failed download points to: the files with Tonic's own md5s (an
    independent record of them), and a misspelt name is one line with a hint."""
    import subprocess
    import sys

    import tonic.datasets as td

    r = subprocess.run([sys.executable, "-m", "pipeline", "datasets", "tonic.NMNIST"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert td.NMNIST.train_md5 in r.stdout and td.NMNIST.test_md5 in r.stdout
    assert r.stdout.startswith("tonic.NMNIST: Tonic NMNIST; sensor 34x34, 10 classes")
    r = subprocess.run([sys.executable, "-m", "pipeline", "datasets", "nmist"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 1 and r.stderr.strip().splitlines() == [
        "python -m pipeline datasets: error: unknown dataset 'nmist' (did you mean 'nmnist'?); "
        "`python -m pipeline datasets` lists them"]
