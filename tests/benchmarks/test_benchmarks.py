"""Smoke test of ``python -m benchmarks --device cpu --quick``: every section reported (or, for the
device group, skipped with a reason), a missing peer is not fatal; ``--device cuda`` without CUDA
fails with one line; on a machine with CUDA, the device group runs there."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import pytest
import torch

from benchmarks.__main__ import GPU_SECTIONS, REPRESENTATION_SECTIONS, SECTIONS

NDA_ROW = "ours nda chain on the step's batch (augment_events [{nda: {}}])"


def test_quick_run_without_spikingjelly_or_psutil(tmp_path):
    # a spikingjelly and a psutil that cannot be imported, ahead of any installed ones
    shadow = tmp_path / "shadow"
    for name in ("spikingjelly", "psutil"):
        (shadow / name).mkdir(parents=True)
        (shadow / name / "__init__.py").write_text(f"raise ImportError('{name} is broken on purpose (test)')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(shadow), str(ROOT), os.environ.get("PYTHONPATH", "")]))
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--device", "cpu", "--quick", "--repeats", "1",
                           "--steps", "1",
                           "--data", str(tmp_path / "data"), "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    res = json.loads(out.read_text())

    assert set(SECTIONS) <= set(res["sections"])
    for name in SECTIONS:
        if name in GPU_SECTIONS:
            continue
        sec = res["sections"][name]
        assert "error" not in sec, (name, sec.get("traceback"))
        assert sec["rows"], name
        ours = [r for r in sec["rows"] if r["name"].startswith("ours") and "median_s" in r]
        assert ours and all(r["median_s"] > 0 for r in ours), name

    sj = res["peers"]["spikingjelly"]
    assert sj["available"] is False and "broken on purpose" in sj["error"]
    assert "peer spikingjelly: NOT AVAILABLE" in proc.stdout
    skipped = [r for s in res["sections"].values() for r in s["rows"] if r["name"].startswith("spikingjelly")]
    assert skipped and all("skipped" in r and "not importable" in r["skipped"] for r in skipped
                           if "npz" not in r["name"])
    # Tonic is there: its frames were checked against ours
    assert res["peers"]["tonic"]["available"]
    assert any("tonic" in k for k in res["sections"]["integration_number"]["checks"])
    for name in REPRESENTATION_SECTIONS:      # 2b-2e: equal to Tonic's, with the 30x target (issue 26)
        sec = res["sections"][name]
        assert sec["inputs"]["events"] == 100_000 and sec["inputs"]["T"] == 20, name
        assert [r["name"].split()[0] for r in sec["rows"]] == ["ours", "tonic", "ours"] and "median_s" in sec["rows"][1]
        assert sec["rows"][2]["name"].endswith(", alone") and sec["rows"][2]["median_s"] > 0
        assert list(sec["checks"].values()) == [True], name
        (target,) = sec["targets"]
        assert target["threshold"] == 30 and target["op"] == ">=" and target["value"] > 0, name

    _check_device_group(res, "cpu")
    plif = res["sections"]["gpu_plif"]
    # triton: in Triton's interpreter here (conftest sets TRITON_INTERPRET=1 without CUDA)
    assert {r["name"] for r in plif["rows"] if "median_s" in r} >= {"ours eager", "ours numba", "ours triton"}
    assert "quick run on CPU" in next(r["skipped"] for r in plif["rows"] if r["name"] == "ours compile")
    assert plif["checks"]["ours triton vs ours eager"].startswith("spikes equal")
    step = {r["name"]: r for r in res["sections"]["gpu_step"]["rows"]}
    assert step["ours step fp32 (paper recipe)"]["median_s"] > 0
    assert step["ours step fp32, time-major batch (per-step BN: one call per step)"]["median_s"] > 0
    assert step[NDA_ROW]["median_s"] > 0 and step[NDA_ROW]["step_share_pct"] > 0
    assert any("keeps up" in k for k in res["sections"]["gpu_loader"]["checks"])
    epoch = {r["name"]: r for r in res["sections"]["gpu_epoch"]["rows"]}     # --quick: a small one, on CPU
    assert epoch["ours epoch 2: train + score"]["median_s"] > 0 and epoch["ours epoch 2: train + score"]["measured"]
    for line in ("== 6a.", "== 6b.", "== 6c.", "== 6d."):
        assert line in proc.stdout

    m = res["machine"]
    assert m["cores"] >= 1 and m["torch"] and m["numba"] and m["cpu_model"]
    assert {t["section"] for t in res["targets"]} >= {"aedat_read", "integration_number", "integration_time",
                                                      "frames_stage", "loading", "plif_layer"}
    frames = res["sections"]["frames_stage"]
    assert frames["checks"]["HDF5 files byte-identical across runs and worker counts"]
    mem = frames["rows"][-1]["memory"]          # without psutil: getrusage peaks only
    assert mem["peak_tree_pss_bytes"] is None and mem["ru_maxrss_self_bytes"] > 0
    # the PLIF target needs SpikingJelly: not met, not failed either
    plif = [t for t in res["targets"] if t["section"] == "plif_layer"][0]
    assert plif["value"] is None and plif["met"] is None
    _check_augment_section(res, proc.stdout)


def _check_augment_section(res: dict, stdout: str) -> None:
    """Section 7 in the quick run: the nda chain, the training step and the longer chain timed
    in turns, each chain's share of the step, the share of nda as a target (< 10 %)."""
    assert "== 7. Training augmentation vs the training step on CPU" in stdout
    sec = res["sections"]["augment"]
    assert sec["inputs"]["batch"] == 2 and sec["inputs"]["T"] == 4            # --quick: a small batch and network
    rows = {r["name"].split(" (")[0]: r for r in sec["rows"]}
    assert set(rows) == {"ours nda chain", "ours training step", "ours longer chain"}
    assert all(r["median_s"] > 0 and r["repeats"] == 1 for r in rows.values())
    for k in ("ours nda chain", "ours longer chain"):
        assert rows[k]["step_share_pct"] == pytest.approx(100 * rows[k]["median_s"] / rows["ours training step"]
                                                          ["median_s"])
    assert all(sec["checks"][f"{k}: shape, dtype, targets sum to 1"] is True for k in ("nda", "long"))
    (target,) = sec["targets"]
    assert target["op"] == "<" and target["threshold"] == 10 and target["unit"] == "%"
    assert target["value"] == pytest.approx(rows["ours nda chain"]["step_share_pct"])
    assert [t["name"] for t in res["targets"] if t["section"] == "augment"] == [target["name"]]


def test_nda_row_of_the_device_step_on_cpu():
    """The device group's nda row (gpu.py, 6b) through the code it runs on CUDA, here on CPU on a
    tiny batch: a timed row with its share of the step; the 5 % target is for CUDA only."""
    from benchmarks.augment import NDA, augment_call, batch
    from benchmarks.common import Section
    from benchmarks.gpu import _augment_row

    dev = torch.device("cpu")
    x, y, indices = batch(3, 2, 8, 8, dev)
    sec = Section("t")
    _augment_row(sec, x, y, dev, 0.5, 2)
    (r,) = sec.rows
    assert r["name"] == NDA_ROW and r["repeats"] == 2
    assert r["step_share_pct"] == pytest.approx(100 * r["median_s"] / 0.5)
    assert sec.targets == []
    call = augment_call(x, y, indices, NDA, dev)
    (f1, t1), (f2, t2) = call(), call()            # one epoch further each call: other draws
    assert f1.shape == x.shape and t1.shape == (3, 11) and torch.equal(t1, t2)
    assert not torch.equal(f1, f2)


def test_corpus_cut_to_a_sample_count(tmp_path):
    """The full-size corpus is cut to its sample count by trimming the last train recordings;
    they stay units, as the frames driver needs (a plain tuple broke the full run)."""
    from benchmarks.corpus import Corpus
    from pipeline.params import DemoParams
    from pipeline.frames.families.base import Unit

    root = tmp_path / "DvsGesture"
    root.mkdir()
    for split, names in (("train", ["user01_led", "user02_led"]), ("test", ["user03_led"])):
        (root / f"trials_to_{split}.txt").write_text("".join(f"{n}.aedat\n" for n in names))
        for n in names:
            (root / f"{n}.aedat").write_bytes(b"")
            rows = "".join(f"{c},{c * 100},{c * 100 + 50}\n" for c in range(1, 5))
            (root / f"{n}_labels.csv").write_text("class,startTime_usec,endTime_usec\n" + rows)
    splits = Corpus(root, DemoParams(), 4 + 4 + 1).splits()     # 12 samples in all: drop 3
    assert [len(r.items) for r in splits["train"]] == [4, 1] and [len(r.items) for r in splits["test"]] == [4]
    assert all(isinstance(r, Unit) for r in splits["train"])
    assert [s.row for s in splits["train"][1].items] == [0]
    splits = Corpus(root, DemoParams(), 4 + 4).splits()         # the second train recording goes
    assert [len(r.items) for r in splits["train"]] == [4]


def test_step_time_of_a_params_files_network(tmp_path):
    """`python -m benchmarks.ddp_step --config F` times F's network (here a tiny CIFAR-10 one) and
    states the epoch time it implies for the dataset's training set."""
    import yaml

    p = yaml.safe_load((ROOT / "configs" / "cifar10-paper.yaml").read_text())
    p["model"].update(channels=4, hidden=8)
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(p))
    proc = subprocess.run([sys.executable, "-m", "benchmarks.ddp_step", "--config", str(cfg), "--steps", "2",
                           "--batch", "4"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # 50,000 CIFAR-10 training images, the paper's hold-out of 15 % per class: 5,000 per class,
    # ceil(5000 * 0.85) = 4250 train -> 42,500 samples, 10,625 batches of 4
    assert "s per batch of 4 -> 10625 batches per epoch (42500 training samples)" in proc.stdout


def _check_device_group(res, device):
    """Every section of the device group there: no error, each row timed or skipped with a reason."""
    assert res["machine"]["device"] == device
    for name in GPU_SECTIONS:
        sec = res["sections"][name]
        assert "error" not in sec, (name, sec.get("traceback"))
        assert sec["rows"], name
        for r in sec["rows"]:
            assert r.get("median_s", 0) > 0 or r.get("skipped"), (name, r)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_device_cuda_without_cuda_fails_with_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--device", "cuda", "--quick", "--only", "gpu",
                           "--data", str(tmp_path / "data"), "--out", str(tmp_path / "r.json")],
                          check=False, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "--device cuda: no CUDA device" in proc.stderr, proc.stderr
    assert not (tmp_path / "r.json").exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_device_group_on_cuda(tmp_path):
    """On CUDA, the device group times every backend, both precisions with peak GPU memory, and an epoch."""
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--device", "cuda", "--quick", "--only", "gpu",
                           "--repeats", "2", "--data", str(tmp_path / "data"), "--out", str(out)],
                          check=False, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    res = json.loads(out.read_text())
    _check_device_group(res, "cuda")
    plif = {r["name"]: r for r in res["sections"]["gpu_plif"]["rows"]}
    assert all(plif[f"ours {b}"]["median_s"] > 0 for b in ("eager", "triton"))
    assert plif["ours triton: first call (one-off compile)"]["compile_s"] >= 0
    assert "CPU only" in plif["ours numba"]["skipped"] and "--compile" in plif["ours compile"]["skipped"]
    step = {r["name"]: r for r in res["sections"]["gpu_step"]["rows"]}
    assert step["ours step fp32 (paper recipe)"]["peak_gpu_bytes"] > 0
    if torch.cuda.is_bf16_supported():
        assert step["ours step bf16 autocast"]["peak_gpu_bytes"] > 0
    assert step[NDA_ROW]["median_s"] > 0 and step[NDA_ROW]["step_share_pct"] > 0
    nda = [t for t in res["sections"]["gpu_step"]["targets"] if t["name"].startswith("nda chain")]
    assert len(nda) == 1 and nda[0]["threshold"] == 5 and nda[0]["value"] > 0
    epoch = {r["name"]: r for r in res["sections"]["gpu_epoch"]["rows"]}
    assert epoch["ours epoch 2: train + score"]["median_s"] > 0


def _hostile_out(tmp_path, kind):
    """An --out of ``kind`` and a check that it is still what it was."""
    if kind == "fifo":
        path = tmp_path / "pipe"
        os.mkfifo(path)
        return str(path), lambda: stat.S_ISFIFO(os.lstat(path).st_mode)
    if kind == "device":                      # /dev/full as root: a device node, here through a link
        path = tmp_path / "null"
        path.symlink_to(os.devnull)
        return str(path), lambda: os.readlink(path) == os.devnull
    if kind == "folder":
        path = tmp_path / "results"
        path.mkdir()
        return str(path), lambda: path.is_dir() and not any(path.iterdir())
    return "", lambda: True


@pytest.mark.parametrize("kind, words", [("fifo", "FIFO"), ("device", "character device"), ("folder", "a folder"),
                                         ("empty", "empty")])
def test_out_that_is_not_a_file_is_refused_before_anything_runs(tmp_path, kind, words):
    """The results were written over a FIFO (or /dev/full, as root) after the whole run; a folder
    or '' was a traceback at the end of it. Now one line, before any measurement."""
    out, unchanged = _hostile_out(tmp_path, kind)
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--device", "cpu", "--quick", "--only", "aedat",
                           "--repeats", "1", "--data", str(tmp_path / "data"), "--out", out],
                          check=False, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode == 1 and proc.stdout == "", proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m benchmarks: error: --out ") and words in lines[0], lines
    assert unchanged() and not (tmp_path / "data").exists()
