"""`python -m pipeline report`: our finished runs beside the paper's logs.

Every expected number is written here by hand (from the values these tests put in the files,
or, for ../shared/paper, from SOURCES.md and an awk pass over the CSV), never taken from the
report module itself.
"""

import hashlib
import json
import lzma
import os
import shutil
import struct
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from matplotlib.colors import to_hex
from dvcrepo import run as run_cmd

from pipeline.core.errors import PipelineError
from pipeline.cli import report as report_module
from pipeline.cli.report import make_report
from pipeline.cli.report.paper import load_paper
from pipeline.cli.report.runs import collect_runs

ROOT = Path(__file__).resolve().parents[2]
PAPER = ROOT.parent / "shared" / "paper"
#: the paper's logs as the package ships them (xz), and the sha256 of each decompressed CSV
#: (sha256sum over ../shared/paper/*.csv, as their SOURCES.md lists them)
SHIPPED = ROOT / "pipeline" / "cli" / "report" / "paperlogs"
SHA256 = {"test_accuracy.csv": "bbc35e3c4c1d9b3874955e4bd6c295e1d0a08f1ecf9cf9dd402aaf2ef129e09f",
          "tau.csv": "142dc25d11600675c01241c81defd6697e474007489663edb72b5d359266e9b2"}
NO_RUN = "no finished run: run `dvc repro` first"


def real_paper() -> Path:
    """../shared/paper; skip when absent (a user's clone), fail when PIPELINE_REQUIRE_REAL_DATA=1."""
    if not (PAPER / "test_accuracy.csv").is_file():
        msg = f"the paper's logs {PAPER} not found (../shared/paper is only beside the project's own checkouts)"
        if os.environ.get("PIPELINE_REQUIRE_REAL_DATA") == "1":
            pytest.fail(msg + "; PIPELINE_REQUIRE_REAL_DATA=1 makes this an error")
        pytest.skip(msg)
    return PAPER


# --- fakes ------------------------------------------------------------------------------------

LOG_HEAD = "epoch,loss,accuracy,val_loss,val_accuracy,test_loss,test_accuracy,lr,seconds"


def write_run(folder: Path, *, dataset="demo", neuron="plif", tau0=2.0, pooling="max", T=16, protocol="B",
              test_acc=(), val_acc=None, taus=None, train=None, evaluation=None, tau_from=1) -> Path:
    """A workspace: params.yaml and results/ as the train (and evaluate) stage write them: the
    log's tau columns ``tau_1``... (``tau_from=0``: ``tau_0``..., as logs were written before
    they took the network walk's names); ``evaluation``: results/evaluation.json, the evaluate
    stage's full record, and its headline as results/metrics.json."""
    folder.mkdir(parents=True, exist_ok=True)
    params = {"dataset": dataset, "frames": {"T": T}, "model": {"neuron": neuron, "pooling": pooling, "tau0": tau0},
              "train": {"epochs": len(test_acc), "protocol": protocol}}
    (folder / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    (folder / "results").mkdir(exist_ok=True)
    n_tau = len(taus[0]) if taus else 0
    lines = [LOG_HEAD + "".join(f",tau_{i + tau_from}" for i in range(n_tau))]
    for e, acc in enumerate(test_acc):
        val = "" if val_acc is None else val_acc[e]
        tau = "".join(f",{t}" for t in taus[e]) if taus else ""
        lines.append(f"{e + 1},0.5,0.6,{'' if val == '' else 0.2},{val},0.3,{acc},0.001,1.5{tau}")
    (folder / "results" / "train_log.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "results" / "train.json").write_text(json.dumps({"protocol": protocol, "epochs": len(test_acc),
                                                               **(train or {})}))
    if evaluation is not None:
        (folder / "results" / "evaluation.json").write_text(json.dumps(evaluation), encoding="utf-8")
        headline = {k: evaluation[k] for k in ("test_accuracy", "test_samples") if k in evaluation}
        (folder / "results" / "metrics.json").write_text(json.dumps(headline), encoding="utf-8")
    return folder


ACC_HEAD = "dataset,neuron,init_tau,pooling,T,epoch,test_accuracy,wall_time"
TAU_HEAD = "dataset,neuron,init_tau,pooling,T,layer,step,w,tau"


def write_paper(folder: Path) -> Path:
    """A small paper folder in the real column format, with hand-picked maxima."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [ACC_HEAD]
    # DVS128Gesture PLIF tau0=2 max: best 0.9757 at epoch 7; first 3 epochs (0, 1, 2): best 0.62;
    # epoch 5 is not logged (as TensorBoard's export drops some)
    for e, a in enumerate([0.50, 0.62, 0.58, 0.70, 0.81, None, 0.93, 0.9757, 0.95, 0.96]):
        if a is not None:
            rows.append(f"DVS128Gesture,plif,2.0,max,20,{e},{a},{1600000000 + 40 * e}")
    # DVS128Gesture LIF tau=2 max: first 2 epochs best 0.45, overall 0.9688
    for e, a in enumerate([0.40, 0.45, 0.9688, 0.90]):
        rows.append(f"DVS128Gesture,lif,2.0,max,20,{e},{a},{1600000000 + 40 * e}")
    # DVS128Gesture PLIF tau0=16 max: best 0.92
    for e, a in enumerate([0.30, 0.92, 0.91]):
        rows.append(f"DVS128Gesture,plif,16.0,max,20,{e},{a},{1600000000 + 40 * e}")
    # CIFAR10DVS PLIF tau0=2 max: epoch 0 missing, so "first 1 epoch" has nothing; best 0.748
    for e, a in [(1, 0.52), (2, 0.748), (3, 0.70)]:
        rows.append(f"CIFAR10DVS,plif,2.0,max,20,{e},{a},{1600000000 + 300 * e}")
    (folder / "test_accuracy.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    taus = [TAU_HEAD]
    for layer in range(2):
        for k, tau in enumerate([1.9, 1.8, 1.7]):
            taus.append(f"CIFAR10DVS,plif,2.0,max,20,{layer},{562 * (k + 1)},0.0,{tau + layer}")
    (folder / "tau.csv").write_text("\n".join(taus) + "\n", encoding="utf-8")
    return folder


def table_rows(md: str) -> dict:
    """report.md's table: run label -> list of cells."""
    rows = {}
    for line in md.splitlines():
        if line.startswith("| ") and not line.startswith("| run |"):
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            rows[cells[0]] = cells
    return rows


COLS = {"dataset": 1, "config": 2, "T": 3, "epochs": 4, "A": 5, "B": 6, "paper_A": 7, "paper_N": 8, "notes": 9}


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG"
    assert data[-12:-8] == b"\x00\x00\x00\x00" and data[-8:-4] == b"IEND", f"{path} is truncated"
    return struct.unpack(">II", data[16:24])


def assert_figure(path: Path, min_w=800, min_h=400) -> tuple[int, int]:
    w, h = png_size(path)
    assert min_w <= w <= 2400 and min_h <= h <= 1400, (path, w, h)
    assert path.stat().st_size > 15_000, path
    return w, h



def legend_texts(fig) -> list[str]:
    return [t.get_text() for t in fig.legends[0].get_texts()]


#: matplotlib's tab10, the colours of a figure's first ten runs (its documented values)
TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
         "#17becf"]


# --- a fake workspace and a fake paper --------------------------------------------------------

def test_table_values_against_hand_computed(tmp_path, capsys):
    ws = write_run(tmp_path / "ws", test_acc=[0.5, 0.75, 0.6667], val_acc=[0.4, 0.6, 0.9],
                   taus=[[1.95, 2.0, 2.02], [1.9, 2.0, 2.05], [1.85, 2.01, 2.1]],
                   train={"accuracy_A_test_best_epoch": 0.75, "best_epoch_A": 2,
                          "accuracy_B_test_at_best_val_epoch": 0.6667, "best_epoch_B": 3, "selected_epoch": 3,
                          "val_accuracy_best": 0.9, "tau": [1.85, 2.01, 2.1], "train_seconds": 4.5},
                   evaluation={"test_accuracy": 0.6667, "test_samples": 64})
    paper = write_paper(tmp_path / "paper")
    rep = make_report(ws, tmp_path / "out", paper)
    md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    row = table_rows(md)["workspace"]
    assert row[COLS["dataset"]] == "demo" and row[COLS["config"]] == "PLIF τ0=2, max"
    assert (row[COLS["T"]], row[COLS["epochs"]]) == ("16", "3")
    assert row[COLS["A"]] == "75.00" and row[COLS["B"]] == "66.67"
    assert row[COLS["paper_A"]] == "97.57"                    # max over all the paper's epochs
    assert row[COLS["paper_N"]] == "62.00 (N=3)"              # max over its epochs 0, 1, 2
    notes = row[COLS["notes"]]
    assert "3 of the paper's 1,024 epochs" in notes and "simulated" in notes and "T=16, the paper's T=20" in notes
    assert "simulated DVS128-Gesture-like dataset" in md       # the note under the table
    assert "evaluate stage: 66.67 % on 64 test samples" in md
    assert "final τ 1.85, 2.01, 2.1 (spiking_1 to spiking_3)" in md
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["accuracy_demo.png", "report.md", "tau_workspace.png"]
    for name in ("accuracy_demo.png", "tau_workspace.png"):
        assert_figure(tmp_path / "out" / name)
        assert f"]({name})" in md
    assert sorted(p.name for p in rep.figures) == ["accuracy_demo.png", "tau_workspace.png"]
    assert rep.out == tmp_path / "out" and "1 run (demo)" in rep.summary
    assert not list(tmp_path.glob("out.tmp-*"))               # the temporary folder was renamed


def test_protocol_A_short_run_and_paper_gaps(tmp_path):
    # protocol A: no B; a 1-epoch CIFAR10-DVS run whose paper log lacks epoch 0
    ws = write_run(tmp_path / "ws", dataset="cifar10_dvs", T=20, protocol="A", test_acc=[0.41],
                   taus=[[1.95, 2.05]], train={"accuracy_A_test_best_epoch": 0.41, "best_epoch_A": 1})
    make_report(ws, tmp_path / "out", write_paper(tmp_path / "paper"))
    md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    row = table_rows(md)["workspace"]
    assert row[COLS["A"]] == "41.00" and row[COLS["B"]] == "—"
    assert row[COLS["paper_A"]] == "74.80" and row[COLS["paper_N"]] == "—"
    assert "none of its first 1 epochs" in row[COLS["notes"]] and "T=" not in row[COLS["notes"]]
    # the paper logged tau for CIFAR10DVS PLIF: the tau figure has its second (log-x) panel
    w_tau, _ = assert_figure(tmp_path / "out" / "tau_workspace.png")
    w_acc, _ = assert_figure(tmp_path / "out" / "accuracy_cifar10_dvs.png")
    assert w_tau > 1400 and w_acc > 1400


def test_paper_tau_steps_to_epochs(tmp_path):
    logs = load_paper(write_paper(tmp_path / "paper"))
    taus = logs.taus("cifar10_dvs", ("plif", 2.0, "max"))
    assert list(taus) == ["spiking_1", "spiking_2"]                    # tau.csv's layers 0 and 1
    x, tau = taus["spiking_2"]
    assert x.tolist() == pytest.approx([562 / 562.5, 1124 / 562.5, 1686 / 562.5])
    assert tau.tolist() == [2.9, 2.8, 2.7]
    assert logs.taus("demo", ("plif", 2.0, "max")) is None             # DVS128Gesture: no tau log
    curve = logs.curve("demo", ("plif", 2.0, "max"))
    assert curve.epochs.tolist() == [1, 2, 3, 4, 5, 7, 8, 9, 10]        # epoch 5 (0-based) missing
    assert (curve.best_within(5), curve.best_within(6), curve.best_within(7)) == (0.81, 0.81, 0.93)


def test_no_paper_folder(tmp_path, monkeypatch):
    """The package's copy of the paper's logs gone (a damaged install): our runs alone, and a note."""
    looked = tmp_path / "gone"
    monkeypatch.setattr("pipeline.cli.report.paper.PAPER_LOGS", looked)
    ws = write_run(tmp_path / "ws", neuron="lif", test_acc=[0.3, 0.45], val_acc=[0.2, 0.5],
                   taus=[[2.0], [2.0]], train={"accuracy_A_test_best_epoch": 0.45,
                                               "accuracy_B_test_at_best_val_epoch": 0.45})
    rep = make_report(ws)                                     # default out: ws/reports
    md = (ws / "reports" / "report.md").read_text(encoding="utf-8")
    assert "The paper's logs were not found" in md and str(looked) in md
    row = table_rows(md)["workspace"]
    assert row[COLS["config"]] == "LIF τ=2, max" and row[COLS["A"]] == "45.00" and row[COLS["B"]] == "45.00"
    assert row[COLS["paper_A"]] == "—" and row[COLS["paper_N"]] == "—"
    assert rep.paper is None and "not found" in rep.summary
    assert_figure(ws / "reports" / "accuracy_demo.png", min_w=600)
    assert_figure(ws / "reports" / "tau_workspace.png", min_w=600)


def test_explicit_missing_paper_is_an_error(tmp_path):
    ws = write_run(tmp_path / "ws", test_acc=[0.5], train={"accuracy_A_test_best_epoch": 0.5})
    with pytest.raises(PipelineError, match="test_accuracy.csv not found"):
        make_report(ws, tmp_path / "out", tmp_path / "nowhere")
    assert not (tmp_path / "out").exists()


def test_out_folder_with_other_files_is_not_replaced(tmp_path):
    ws = write_run(tmp_path / "ws", test_acc=[0.5], train={"accuracy_A_test_best_epoch": 0.5})
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "data.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(PipelineError, match="not replaced"):
        make_report(ws, tmp_path / "keep")
    with pytest.raises(PipelineError, match="project folder"):
        make_report(ws, ws)
    assert (tmp_path / "keep" / "data.txt").read_text(encoding="utf-8") == "mine"
    make_report(ws, tmp_path / "rep")                         # a report folder is replaced whole
    (tmp_path / "rep" / "stale.png").write_bytes(b"old")
    make_report(ws, tmp_path / "rep")
    assert not (tmp_path / "rep" / "stale.png").exists()


def test_unfinished_run_is_no_run(tmp_path):
    ws = write_run(tmp_path / "ws", test_acc=[0.5])
    (ws / "results" / "train.json").unlink()                  # the log of a run still going
    notes = []
    with pytest.raises(PipelineError) as e:
        make_report(ws, note=notes.append)
    assert str(e.value) == NO_RUN
    assert any("unfinished" in n for n in notes)


def cli(*args, cwd=ROOT):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "pipeline", "report", *map(str, args)], cwd=cwd, env=env, check=False,
                          capture_output=True, text=True, timeout=120)


def test_cli_no_runs(tmp_path):
    r = cli("--root", tmp_path, "--out", tmp_path / "rep")
    assert r.returncode == 1 and r.stdout == ""
    errors = [line for line in r.stderr.splitlines() if not line.startswith("note:")]
    assert errors == [f"python -m pipeline report: error: {NO_RUN}"]
    assert not (tmp_path / "rep").exists()


def test_cli_prints_folder_and_summary(tmp_path):
    ws = write_run(tmp_path / "ws", test_acc=[0.5, 0.6], val_acc=[0.5, 0.4],
                   train={"accuracy_A_test_best_epoch": 0.6, "accuracy_B_test_at_best_val_epoch": 0.5})
    r = cli("--root", ws, "--out", tmp_path / "rep", "--paper", write_paper(tmp_path / "paper"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [str(tmp_path / "rep"),
                                     "report: 1 run (demo), 1 figure; 1 compared with the paper's logs"]
    assert "not a git + DVC repository" in r.stderr


# --- the real paper logs ----------------------------------------------------------------------

def test_real_paper_table2():
    logs = load_paper(real_paper())
    table2 = {"dvsgesture": 97.57, "cifar10_dvs": 74.80, "nmnist": 99.61, "mnist": 99.72,
              "fashion_mnist": 94.38, "cifar10": 93.50}            # SOURCES.md: PLIF tau0=2, max
    for dataset, value in table2.items():
        assert round(logs.curve(dataset, ("plif", 2.0, "max")).best() * 100, 2) == value, dataset
    assert round(logs.curve("dvsgesture", ("lif", 2.0, "max")).best() * 100, 2) == 96.88
    assert len(logs.accuracy) == 30                                # 6 datasets x 5 configurations
    # tau.csv: CIFAR10's first row is logged at step 3125 = the end of epoch 1
    # tau.csv's layer 0 is the first spiking layer: spiking_1; CIFAR10's network has 8 (6 conv + 2 fc)
    cifar10 = logs.taus("cifar10", ("plif", 16.0, "max"))
    assert list(cifar10) == [f"spiking_{k}" for k in range(1, 9)]
    x, tau = cifar10["spiking_1"]
    assert x[0] == 1.0 and tau[0] == pytest.approx(8.24794)
    x, tau = logs.taus("cifar10_dvs", ("plif", 2.0, "max"))["spiking_1"]
    assert x[0] == pytest.approx(562 / 562.5) and tau[0] == pytest.approx(1.860334)


def test_real_paper_in_the_report(tmp_path):
    paper = real_paper()
    ws = write_run(tmp_path / "ws", dataset="dvsgesture", T=20, test_acc=[0.3] * 29 + [0.9], val_acc=[0.5] * 30,
                   taus=[[2.0, 2.0]] * 30, train={"accuracy_A_test_best_epoch": 0.9,
                                                  "accuracy_B_test_at_best_val_epoch": 0.3})
    make_report(ws, tmp_path / "out", paper)
    row = table_rows((tmp_path / "out" / "report.md").read_text(encoding="utf-8"))["workspace"]
    # awk over test_accuracy.csv: DVS128Gesture plif 2.0 max, epochs 0-29 -> 0.920139; all -> 0.975694
    assert row[COLS["paper_A"]] == "97.57" and row[COLS["paper_N"]] == "92.01 (N=30)"
    assert row[COLS["A"]] == "90.00" and row[COLS["B"]] == "30.00"
    assert "simulated" not in row[COLS["notes"]] and "30 of the paper's 1,024 epochs" in row[COLS["notes"]]


# --- DVC experiments --------------------------------------------------------------------------

FAKE_TRAIN = '''
import json, os, yaml
p = yaml.safe_load(open("params.yaml"))
m, n = p["model"], p["train"]["epochs"]
base = {"plif": 0.5, "lif": 0.4}[m["neuron"]] + (0.1 if m["tau0"] == 16 else 0.0)
acc = [round(base + 0.02 * e, 4) for e in range(1, n + 1)]       # best test epoch: the last
val = [0.1] * n
val[n - 2] = 0.9                                                 # best validation epoch: n - 1
os.makedirs("results", exist_ok=True)
rows = ["epoch,loss,accuracy,val_loss,val_accuracy,test_loss,test_accuracy,lr,seconds,tau_1,tau_2"]
rows += [f"{e},1.0,0.5,1.0,{val[e - 1]},1.0,{acc[e - 1]},0.001,1.0,{m['tau0']},{m['tau0'] + e}"
         for e in range(1, n + 1)]
open("results/train_log.csv", "w").write("\\n".join(rows) + "\\n")
json.dump({"protocol": "B", "accuracy_A_test_best_epoch": acc[-1], "best_epoch_A": n,
           "accuracy_B_test_at_best_val_epoch": acc[n - 2], "best_epoch_B": n - 1, "epochs": n},
          open("results/train.json", "w"))
'''

# as the evaluate stage writes them: the full record (costs included) and its headline, DVC's metrics
FAKE_EVALUATE = '''
import json
train = json.load(open("results/train.json"))
epochs = train["epochs"]
costs = {"firing_rate": {"spiking_1": epochs / 10, "spiking_2": 0.05}, "accumulates": {"fc_1": 100.0 * epochs},
         "macs": {}, "ann_macs": {"fc_1": 1000}, "synaptic_ops_per_sample": 100.0 * epochs, "macs_per_sample": 0.0,
         "ann_macs_per_sample": 1000, "energy_uJ": 9e-5 * epochs, "ann_energy_uJ": 0.0046, "ann_to_snn_energy": 1.0}
record = {**train, "test_accuracy": train["accuracy_B_test_at_best_val_epoch"], "test_samples": 64, "costs": costs}
json.dump(record, open("results/evaluation.json", "w"))
json.dump({"test_accuracy": record["test_accuracy"], "test_samples": 64}, open("results/metrics.json", "w"))
'''

DVC_YAML = """stages:
  train:
    cmd: python fake_train.py
    params: [dataset, frames.T, model.neuron, model.tau0, model.pooling, train.epochs]
    deps: [fake_train.py]
    outs: [results/train.json]
    plots: [results/train_log.csv]
  evaluate:
    cmd: python fake_evaluate.py
    deps: [fake_evaluate.py, results/train.json]
    outs: [results/evaluation.json]
    metrics: [results/metrics.json]
"""


@pytest.mark.slow
def test_dvc_experiments(tmp_path, monkeypatch, drawn):
    for k in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{k}_NAME", "t")
        monkeypatch.setenv(f"GIT_{k}_EMAIL", "t@localhost")
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "params.yaml").write_text(yaml.safe_dump(
        {"dataset": "demo", "frames": {"T": 16}, "model": {"neuron": "plif", "tau0": 2.0, "pooling": "max"},
         "train": {"epochs": 2}}))
    (repo / "fake_train.py").write_text(FAKE_TRAIN, encoding="utf-8")
    (repo / "fake_evaluate.py").write_text(FAKE_EVALUATE, encoding="utf-8")
    (repo / "dvc.yaml").write_text(DVC_YAML, encoding="utf-8")
    (repo / ".gitignore").write_text("/results/\n", encoding="utf-8")
    run_cmd(["git", "init", "-q", "-b", "main"], repo)
    # `dvc init` and `dvc exp run -n NAME -S ...` through DVC's Python API, in this process (the
    # report reads what they leave, not what the CLI prints); the stages find `python` as under run_cmd
    from dvc.repo import Repo

    Repo.init(str(repo)).close()
    run_cmd(["git", "add", "-A"], repo)
    run_cmd(["git", "-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-qm", "init"], repo)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(repo)

    def exp_run(name, *params):
        with Repo(str(repo)) as dvc:
            dvc.experiments.run(name=name, params=list(params))

    exp_run("gone", "train.epochs=5")
    # this experiment's log leaves the cache: the report must skip it with a note
    md5 = hashlib.md5((repo / "results/train_log.csv").read_bytes()).hexdigest()
    (repo / ".dvc/cache/files/md5" / md5[:2] / md5[2:]).unlink()
    exp_run("lif2", "model.neuron=lif", "train.epochs=3")
    exp_run("plif16", "model.neuron=plif", "model.tau0=16", "train.epochs=4")

    notes = []
    rep = make_report(repo, tmp_path / "out", write_paper(tmp_path / "paper"), note=notes.append)
    rows = table_rows((tmp_path / "out" / "report.md").read_text(encoding="utf-8"))
    # the workspace holds the last experiment's results: one row under both names
    assert set(rows) == {"workspace = plif16", "lif2"}, rows
    lif, plif = rows["lif2"], rows["workspace = plif16"]
    # lif2: 0.4 + 0.02 e, e = 1..3; best validation epoch 2
    assert lif[COLS["config"]] == "LIF τ=2, max" and lif[COLS["epochs"]] == "3"
    assert (lif[COLS["A"]], lif[COLS["B"]]) == ("46.00", "44.00")
    assert (lif[COLS["paper_A"]], lif[COLS["paper_N"]]) == ("96.88", "96.88 (N=3)")   # paper LIF: 0.40 0.45 0.9688
    # plif16: 0.6 + 0.02 e, e = 1..4; best validation epoch 3
    assert plif[COLS["config"]] == "PLIF τ0=16, max" and plif[COLS["epochs"]] == "4"
    assert (plif[COLS["A"]], plif[COLS["B"]]) == ("68.00", "66.00")
    assert (plif[COLS["paper_A"]], plif[COLS["paper_N"]]) == ("92.00", "92.00 (N=4)")
    assert any(n.startswith("experiment gone") and "train_log.csv" in n for n in notes), notes
    assert [r.source for r in rep.runs] == ["workspace", "experiment"]
    # each run's results/evaluation.json: the workspace's from the file, lif2's by dvc.api.read at its commit
    assert sorted(p.name for p in rep.figures) == ["accuracy_demo.png", "costs_lif2.png", "costs_workspace.png",
                                                   "tau_lif2.png", "tau_workspace.png"]
    for p in rep.figures:
        assert_figure(p)
    md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "evaluate stage: 44.00 % on 64 test samples" in md and "evaluate stage: 66.00 % on 64 test samples" in md
    # fake_evaluate.py: spiking_1 fires epochs / 10: lif2 ran 3 epochs, plif16 4
    for name, epochs in [("costs_lif2.png", 3), ("costs_workspace.png", 4)]:
        bars = drawn[name].axes[0].patches
        assert [b.get_height() for b in bars] == pytest.approx([epochs / 10, 0.05]), name
    # the runs differ in neuron, tau0 and epochs: the legend says so, each in its own colour
    ours = [t for t in legend_texts(drawn["accuracy_demo.png"]) if t.startswith("ours")]
    assert ours == ["ours: neuron=plif, tau0=16, epochs=4 (workspace = plif16, 4 ep.), best 68.00 %",
                    "ours: neuron=lif, tau0=2, epochs=3 (lif2, 3 ep.), best 46.00 %"]
    # one run per configuration: the paper's curve of that configuration takes the run's colour
    legend = drawn["accuracy_demo.png"].legends[0]
    colour = {t.get_text(): to_hex(h.get_color()) for t, h in zip(legend.get_texts(), legend.legend_handles)}
    paper = {text.split(",")[0]: c for text, c in colour.items() if text.startswith("paper")}
    assert colour[ours[0]] == paper["paper: PLIF τ0=16"] == TAB10[0]
    assert colour[ours[1]] == paper["paper: LIF τ=2"] == TAB10[1]


def test_workspace_config_from_dvc_lock(tmp_path):
    """params.yaml edited after the run: dvc.lock, which records this train.json, says how it ran."""
    ws = write_run(tmp_path / "ws", test_acc=[0.5], taus=[[2.0]], train={"accuracy_A_test_best_epoch": 0.5})
    md5 = hashlib.md5((ws / "results" / "train.json").read_bytes()).hexdigest()
    lock = {"schema": "2.0", "stages": {
        "frames": {"cmd": "python stages/frames.py", "params": {"params.yaml": {"dataset": "demo", "frames.T": 8}}},
        "train": {"cmd": "python stages/train.py",
                  "params": {"params.yaml": {"model.neuron": "lif", "model.tau0": 16.0, "model.pooling": "max"}},
                  "outs": [{"path": "results/train.json", "hash": "md5", "md5": md5, "size": 10}]}}}
    (ws / "dvc.lock").write_text(yaml.safe_dump(lock), encoding="utf-8")
    make_report(ws, tmp_path / "out", write_paper(tmp_path / "paper"))
    row = table_rows((tmp_path / "out" / "report.md").read_text(encoding="utf-8"))["workspace"]
    assert (row[COLS["config"]], row[COLS["T"]]) == ("LIF τ=16, max", "8")
    # a lock that records another train.json does not describe these results: params.yaml does
    lock["stages"]["train"]["outs"][0]["md5"] = "0" * 32
    (ws / "dvc.lock").write_text(yaml.safe_dump(lock), encoding="utf-8")
    make_report(ws, tmp_path / "out", write_paper(tmp_path / "paper"))
    row = table_rows((tmp_path / "out" / "report.md").read_text(encoding="utf-8"))["workspace"]
    assert (row[COLS["config"]], row[COLS["T"]]) == ("PLIF τ0=2, max", "16")


def _corruptions():
    """(file, bytes) pairs: damaged results files, as a disk error or a hand edit leaves them."""
    good_train = {"protocol": "B", "epochs": 3, "accuracy_A_test_best_epoch": 0.5, "best_epoch_A": 2,
                  "accuracy_B_test_at_best_val_epoch": 0.4, "best_epoch_B": 3, "val_accuracy_best": 0.6,
                  "selected_epoch": 3, "train_seconds": 10.0, "tau": [1.9, 1.8]}
    out = []
    for key, bad in [("accuracy_A_test_best_epoch", "abc"), ("epochs", [1]), ("epochs", 1e300), ("protocol", {}),
                     ("tau", ["x"]), ("tau", 5), ("best_epoch_A", -1), ("train_seconds", "NaN"),
                     ("selected_epoch", 2.5), ("val_accuracy_best", [0.1]), ("best_epoch_B", 10**40)]:
        out.append(("train.json", json.dumps({**good_train, key: bad}).encode()))
    for text in [b"", b"[1, 2]", b"{", b"\xff\xfe\x00", b"[" * 100_000, b"null", b'"str"', b"{}" * 3]:
        out.append(("train.json", text))
    head = LOG_HEAD.encode()
    for text in [b"", head, head + b"\nx,1,2,3,4,5,6,7,8", head + b"\nnan,1,2,3,4,5,6,7,8", head + b"\n1,2",
                 b"\xff\xfe", head + b"\n-5,1,2,3,4,5,6,7,8", head + b"\n1e300,1,2,3,4,5,6,7,8",
                 b'"unterminated\n' + head]:
        out.append(("train_log.csv", text))
    for text in [b"[]", b'{"test_accuracy": "x"}', b'{"test_samples": [1]}', b"{" * 50_000]:
        out.append(("evaluation.json", text))
    return out


@pytest.mark.parametrize("name, data", _corruptions())
def test_damaged_results_are_one_line(tmp_path, name, data):
    """Every damaged results file: a report without that run, or one PipelineError naming the
    file; never a traceback (9 of 31 such files gave one before)."""
    root = write_run(tmp_path / "ws", test_acc=[0.3, 0.5, 0.4], val_acc=[0.5, 0.6, 0.6],
                     evaluation={"test_accuracy": 0.4, "test_samples": 10})
    (root / "results" / name).write_bytes(data)
    try:
        make_report(root, tmp_path / "out", tmp_path / "no-paper", experiments=False)
    except PipelineError as e:
        assert "\n" not in str(e) and (name in str(e) or "no finished run" in str(e)), str(e)


COSTS = {"firing_rate": {"spiking_1": 0.12, "spiking_2": 0.05, "spiking_3": 0.2},
         "accumulates": {"conv_1": 9000.0, "fc_1": 300.0, "fc_2": 40.0}, "macs": {},
         "ann_macs": {"conv_1": 294912, "fc_1": 8192, "fc_2": 2560},
         "synaptic_ops_per_sample": 9340.0, "macs_per_sample": 0.0, "ann_macs_per_sample": 305664.0,
         "energy_uJ": 0.008406, "ann_energy_uJ": 1.40605, "ann_to_snn_energy": 167.267}


def test_an_evaluated_run_gets_its_costs_figure(tmp_path):
    """The costs come from results/evaluation.json, the evaluate stage's full record; its
    headline, results/metrics.json (DVC's metrics), has none."""
    costs = {k: v for k, v in COSTS.items() if k != "macs"}     # an absent table: an empty one
    ws = write_run(tmp_path / "ws", test_acc=[0.5, 0.75], taus=[[1.95, 2.0], [1.9, 2.0]],
                   evaluation={"test_accuracy": 0.75, "test_samples": 64, "costs": costs})
    assert "costs" not in json.loads((ws / "results" / "metrics.json").read_text(encoding="utf-8"))
    rep = make_report(ws, tmp_path / "out", write_paper(tmp_path / "paper"))
    md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert sorted(p.name for p in rep.figures) == ["accuracy_demo.png", "costs_workspace.png", "tau_workspace.png"]
    assert_figure(tmp_path / "out" / "costs_workspace.png")
    assert "](costs_workspace.png)" in md and "firing rate and operations per layer" in md


@pytest.mark.parametrize("costs, what", [
    ([1, 2], "costs is a list"),
    ({**COSTS, "firing_rate": {"spiking_1": "high"}}, "costs.firing_rate.spiking_1 is not a number"),
    ({**COSTS, "accumulates": None}, "costs.accumulates is not a table"),
    ({**COSTS, "energy_uJ": float("inf")}, "costs.energy_uJ is not a number"),
    ({**COSTS, "ann_macs": {"conv_1": -1}}, "costs.ann_macs.conv_1 is not a number >= 0"),
])
def test_damaged_costs_are_one_line_naming_the_file(tmp_path, costs, what):
    ws = write_run(tmp_path / "ws", test_acc=[0.5], evaluation={"test_accuracy": 0.5, "costs": costs})
    with pytest.raises(PipelineError, match=re.escape(what)) as e:
        make_report(ws, tmp_path / "out", write_paper(tmp_path / "paper"))
    assert "results/evaluation.json" in str(e.value) and "\n" not in str(e.value)
    assert not (tmp_path / "out").exists()


# --- layer names: the network walk's, in every figure -----------------------------------------

def test_tau_and_costs_figures_name_layers_as_the_network_walk(tmp_path, drawn):
    """The log's tau_1..tau_3 and the costs' spiking_1..spiking_3 are the same three layers: both
    figures call them spiking_1..spiking_3 (the costs figure used to say 1..3, the tau figure
    layer 0..2)."""
    ws = write_run(tmp_path / "ws", test_acc=[0.5, 0.75], taus=[[1.95, 2.0, 2.1], [1.9, 2.0, 2.2]],
                   evaluation={"test_accuracy": 0.75, "test_samples": 64, "costs": COSTS})
    make_report(ws, tmp_path / "out", write_paper(tmp_path / "paper"))
    names = ["spiking_1", "spiking_2", "spiking_3"]
    tau = drawn["tau_workspace.png"]
    assert legend_texts(tau) == names
    lines = tau.axes[0].get_lines()
    assert [list(line.get_ydata()) for line in lines] == [[1.95, 1.9], [2.0, 2.0], [2.1, 2.2]]   # tau_1, 2, 3
    handles = tau.legends[0].legend_handles
    assert [h.get_color() for h in handles] == [line.get_color() for line in lines]
    rates = drawn["costs_workspace.png"].axes[0]
    assert [t.get_text() for t in rates.get_xticklabels()] == names
    assert [b.get_height() for b in rates.patches] == [0.12, 0.05, 0.2]      # COSTS' firing_rate, in order


def test_the_papers_layer_0_is_spiking_1(tmp_path, drawn):
    """tau.csv's layer 0 (the paper's first spiking layer) is drawn as spiking_1, in our spiking_1's colour."""
    ws = write_run(tmp_path / "ws", dataset="cifar10_dvs", T=20, test_acc=[0.41, 0.5],
                   taus=[[1.95, 2.05], [1.9, 2.1]])
    make_report(ws, tmp_path / "out", write_paper(tmp_path / "paper"))
    fig = drawn["tau_workspace.png"]
    assert legend_texts(fig) == ["spiking_1", "spiking_2", "ours (solid)", "paper (dashed)"]
    full = {tuple(line.get_ydata()): line.get_color() for line in fig.axes[1].get_lines()}
    # write_paper: CIFAR10DVS layer 0 logs 1.9, 1.8, 1.7; layer 1 2.9, 2.8, 2.7
    assert full[(1.9, 1.8, 1.7)] == full[(1.95, 1.9)] and full[(2.9, 2.8, 2.7)] == full[(2.05, 2.1)]
    assert full[(1.95, 1.9)] != full[(2.05, 2.1)]


def test_a_log_from_before_the_walk_names_counts_from_tau_0(tmp_path, drawn):
    """A train_log.csv written before the renaming (tau_0, tau_1): tau_0 is spiking_1."""
    ws = write_run(tmp_path / "ws", test_acc=[0.5, 0.6], taus=[[1.95, 2.05], [1.9, 2.1]], tau_from=0)
    make_report(ws, tmp_path / "out", write_paper(tmp_path / "paper"))
    fig = drawn["tau_workspace.png"]
    assert legend_texts(fig) == ["spiking_1", "spiking_2"]
    assert list(fig.axes[0].get_lines()[0].get_ydata()) == [1.95, 1.9]


# --- runs of a sweep: a colour each, labelled by what differs ---------------------------------

def test_a_T_sweep_draws_a_colour_and_a_label_per_run(tmp_path, monkeypatch, drawn):
    """Eleven runs that differ only in frames.T: tab10's ten colours, then its first with the
    next line style; each labelled by its T, the configuration they share left out."""
    Ts = [8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48]
    runs = []
    for T in Ts:
        ws = write_run(tmp_path / f"T{T}", T=T, test_acc=[0.5, 0.6], train={"accuracy_A_test_best_epoch": 0.6})
        (run,) = collect_runs(ws, experiments=False, note=lambda _: None)
        run.name = f"exp-{T}"
        runs.append(run)
    monkeypatch.setattr(report_module, "collect_runs", lambda *a, **k: runs)
    make_report(tmp_path / "T8", tmp_path / "out", write_paper(tmp_path / "paper"))
    fig = drawn["accuracy_demo.png"]
    ours = [t for t in legend_texts(fig) if t.startswith("ours")]
    assert ours == [f"ours: T={T} (exp-{T}, 2 ep.), best 60.00 %" for T in Ts]
    lines = fig.axes[0].get_lines()[:len(Ts)]
    assert [to_hex(line.get_color()) for line in lines] == TAB10 + TAB10[:1]
    assert [line.get_linestyle() for line in lines] == ["-"] * 10 + ["--"]
    handles = fig.legends[0].legend_handles[:len(Ts)]
    assert [to_hex(h.get_color()) for h in handles] == TAB10 + TAB10[:1]
    paper = fig.axes[0].get_lines()[len(Ts)]                   # the paper's DVS128 Gesture curve
    assert to_hex(paper.get_color()) not in TAB10

    # one run: nothing differs, the label names its configuration as before
    monkeypatch.setattr(report_module, "collect_runs", lambda *a, **k: runs[:1])
    make_report(tmp_path / "T8", tmp_path / "out", write_paper(tmp_path / "paper"))
    ours = [t for t in legend_texts(drawn["accuracy_demo.png"]) if t.startswith("ours")]
    assert ours == ["ours: exp-8 (PLIF τ0=2, max, 2 ep.), best 60.00 %"]


# --- the paper's logs, shipped with the package ------------------------------------------------

def test_shipped_paper_logs_decompress_to_the_listed_sha256():
    """Without ../shared: the package's xz files hold the CSVs whose sha256 SOURCES.md lists."""
    sources = (SHIPPED / "SOURCES.md").read_text(encoding="utf-8")
    for name, digest in SHA256.items():
        data = lzma.decompress((SHIPPED / f"{name}.xz").read_bytes())
        assert hashlib.sha256(data).hexdigest() == digest, name
        assert digest in sources, name


def test_a_damaged_compressed_log_is_one_line(tmp_path):
    folder = tmp_path / "paper"
    folder.mkdir()
    data = lzma.compress(b"dataset,neuron,init_tau,pooling,T,epoch,test_accuracy\n" * 50)
    (folder / "test_accuracy.csv.xz").write_bytes(data[:-20])               # truncated
    with pytest.raises(PipelineError, match="test_accuracy.csv.xz: not an xz file, or a damaged one") as e:
        load_paper(folder)
    assert "\n" not in str(e.value)


def test_shipped_paper_logs_are_the_shared_csvs():
    paper = real_paper()
    for name in ("test_accuracy.csv", "tau.csv"):
        assert lzma.decompress((SHIPPED / f"{name}.xz").read_bytes()) == (paper / name).read_bytes(), name


def test_report_in_a_clone_without_shared(tmp_path):
    """A user's clone (the project's files, no ../shared beside it) compares with the paper."""
    clone = tmp_path / "clone"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.splitlines()
    for f in files:
        if (ROOT / f).is_file():
            (clone / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, clone / f)
    assert not (tmp_path / "shared").exists()
    write_run(clone, dataset="dvsgesture", T=20, test_acc=[0.3] * 29 + [0.9], val_acc=[0.5] * 30,
              taus=[[2.0, 2.0]] * 30, train={"accuracy_A_test_best_epoch": 0.9,
                                             "accuracy_B_test_at_best_val_epoch": 0.3})
    env = {**os.environ, "PYTHONPATH": str(clone)}
    r = subprocess.run([sys.executable, "-m", "pipeline", "report", "--no-experiments"], cwd=clone, env=env,
                       capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "report: 1 run (dvsgesture), 2 figures; 1 compared with the paper's logs"
    md = (clone / "reports" / "report.md").read_text(encoding="utf-8")
    assert f"The paper's logs: `{clone / 'pipeline' / 'cli' / 'report' / 'paperlogs'}`" in md   # the clone's copy
    row = table_rows(md)["workspace"]
    # SOURCES.md: DVS128Gesture PLIF tau0=2 max 97.57 (Table 2); awk over epochs 0-29: 0.920139
    assert row[COLS["paper_A"]] == "97.57" and row[COLS["paper_N"]] == "92.01 (N=30)"


def test_a_paper_log_past_the_bound_is_refused_before_it_is_all_read(tmp_path, monkeypatch):
    """A small xz file can hold gigabytes: decompression stops at the bound (set low here), and a
    plain CSV is read no further than it."""
    from pipeline.cli.report import paper

    monkeypatch.setattr(paper, "MAX_LOG_BYTES", 1000)
    folder = tmp_path / "paper"
    folder.mkdir()
    header = b"dataset,neuron,init_tau,pooling,T,epoch,test_accuracy,wall_time\n"
    (folder / "test_accuracy.csv.xz").write_bytes(lzma.compress(header + b"0" * 5000))   # 5 kB in ~100 bytes
    with pytest.raises(PipelineError, match=r"test_accuracy.csv.xz: decompresses to more than") as e:
        load_paper(folder)
    assert "\n" not in str(e.value)
    (folder / "test_accuracy.csv.xz").unlink()
    (folder / "test_accuracy.csv").write_bytes(header + b"0" * 5000)
    with pytest.raises(PipelineError, match=r"test_accuracy.csv: more than"):
        load_paper(folder)
    # trailing bytes after the xz stream are damage, as a truncation is
    (folder / "test_accuracy.csv").unlink()
    (folder / "test_accuracy.csv.xz").write_bytes(lzma.compress(header) + b"junk")
    with pytest.raises(PipelineError, match="not an xz file, or a damaged one"):
        load_paper(folder)


# --- results over seeds: runs that differ only in train.seed ----------------------------------

def seed_run(tmp_path, name, seed, a, b=None, protocol="B", **sections):
    """A finished run named ``name`` with ``train.seed: seed``, best test accuracy ``a`` and (protocol
    B) ``b`` at the best validation epoch; ``sections``: params set over write_run's (``frames={"T": 8}``)."""
    ws = write_run(tmp_path / name, protocol=protocol, test_acc=[a / 2, a],
                   train={"accuracy_A_test_best_epoch": a,
                          **({"accuracy_B_test_at_best_val_epoch": b} if b is not None else {})})
    params = yaml.safe_load((ws / "params.yaml").read_text(encoding="utf-8"))
    params["train"]["seed"] = seed
    for section, values in sections.items():
        params[section] = {**params.get(section, {}), **values}
    (ws / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    (run,) = collect_runs(ws, experiments=False, note=lambda _: None)
    run.name = name
    return run


def seed_rows(md: str) -> list[list[str]]:
    """The cells of each row of report.md's "Over seeds" table ([] when the report has none)."""
    if "\n## Over seeds\n" not in md:
        return []
    section = md.split("\n## Over seeds\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("| ")]
    assert lines[0].startswith("| group | n |"), lines
    return [[c.strip() for c in line.strip().strip("|").split(" | ")] for line in lines[1:]]


def report_of(runs, tmp_path, monkeypatch):
    monkeypatch.setattr(report_module, "collect_runs", lambda *a, **k: runs)
    rep = make_report(tmp_path / runs[0].name, tmp_path / "out", write_paper(tmp_path / "paper"))
    return rep, (tmp_path / "out" / "report.md").read_text(encoding="utf-8")


def test_runs_over_seeds_mean_and_sample_std(tmp_path, monkeypatch):
    """Three seeds of one configuration: A 90, 92, 94 % -> 92.00 ± 2.00 (sample std, ddof=1:
    sqrt((2² + 0 + 2²) / 2) = 2); B 80, 85, 84 % -> mean 83.00, std sqrt((9 + 4 + 1) / 2) =
    sqrt(7) = 2.6458 -> 2.65. A T=8 run (another param) and its lone seed form no group."""
    runs = [seed_run(tmp_path, "s2", 2, 0.92, 0.85), seed_run(tmp_path, "s1", 1, 0.90, 0.80),
            seed_run(tmp_path, "s3", 3, 0.94, 0.84), seed_run(tmp_path, "t8", 1, 0.5, 0.5, frames={"T": 8})]
    rep, md = report_of(runs, tmp_path, monkeypatch)
    assert seed_rows(md) == [["T=16", "3", "92.00 ± 2.00", "83.00 ± 2.65", "1, 2, 3", "s1, s2, s3"]]
    rows = table_rows(md)                                    # the per-run table keeps a row per run
    assert {"s1", "s2", "s3", "t8"} <= set(rows)
    assert (rows["s1"][COLS["A"]], rows["s1"][COLS["B"]]) == ("90.00", "80.00")
    assert "sample standard deviation (ddof=1" in md
    assert [[r.name for r in g.runs] for g in rep.groups] == [["s1", "s2", "s3"]]
    assert "report: 4 runs (demo), 1 group over seeds, 1 figure;" in rep.summary


def test_only_the_seed_may_differ_within_a_group(tmp_path, monkeypatch):
    """Lists and tables compared whole: train.augment [flip p=0.5] and [flip p=0.3] are two
    groups, labelled by it; [flip p=0.5] written with its keys in another order is the same."""
    flip5, flip3 = [{"flip": {"p": 0.5}}], [{"flip": {"p": 0.3}}]
    runs = [seed_run(tmp_path, "a1", 1, 0.60, 0.58, train={"augment": flip5}),
            seed_run(tmp_path, "b1", 1, 0.70, 0.66, train={"augment": flip3}),
            seed_run(tmp_path, "a2", 2, 0.64, 0.60, train={"augment": [{"flip": {"p": 0.5}}]}),
            seed_run(tmp_path, "b2", 2, 0.74, 0.70, train={"augment": flip3})]
    _, md = report_of(runs, tmp_path, monkeypatch)
    # a: A 60, 64 -> 62.00 ± sqrt(8) = 2.83; B 58, 60 -> 59.00 ± sqrt(2) = 1.41
    # b: A 70, 74 -> 72.00 ± 2.83; B 66, 70 -> 68.00 ± 2.83
    assert seed_rows(md) == [
        ["augment=[{flip: {p: 0.5}}]", "2", "62.00 ± 2.83", "59.00 ± 1.41", "1, 2", "a1, a2"],
        ["augment=[{flip: {p: 0.3}}]", "2", "72.00 ± 2.83", "68.00 ± 2.83", "1, 2", "b1, b2"]]


def test_a_group_label_names_every_param_that_tells_it_apart(tmp_path, monkeypatch):
    """Four params differ: the figures' legends stop at three (then …), the table does not, or
    two groups that differ only in the fourth would read the same."""
    differ = {"epochs": 30, "T_max": 30, "augment": [{"nda": {}}]}
    runs = [seed_run(tmp_path, f"{loss}{seed}", seed, 0.5, 0.5, train={**differ, "loss": loss})
            for loss in ("mse", "tet") for seed in (1, 2)]
    runs.append(seed_run(tmp_path, "long", 1, 0.9, 0.9, train={"epochs": 90, "T_max": 90, "augment": [],
                                                               "loss": "mse"}))
    _, md = report_of(runs, tmp_path, monkeypatch)
    assert [row[0] for row in seed_rows(md)] == ["T_max=30, augment=[{nda: {}}], epochs=30, loss=mse",
                                                 "T_max=30, augment=[{nda: {}}], epochs=30, loss=tet"]


def test_seed_groups_direct(tmp_path):
    """seed_groups on Run objects: a single run, or runs of the same seed (reruns), form no group;
    a float 8.0 and an int 8 are the same T; a run in no group still names what tells groups apart."""
    from pipeline.cli.report import seed_groups

    lone = seed_run(tmp_path, "lone", 1, 0.5, 0.5)
    assert seed_groups([lone]) == []
    rerun = seed_run(tmp_path, "rerun", 1, 0.6, 0.6)
    assert seed_groups([lone, rerun]) == []
    t8 = [seed_run(tmp_path, f"t8-{s}", s, 0.5, 0.5, frames={"T": T}) for s, T in [(1, 8), (2, 8.0)]]
    (group,) = seed_groups([lone, *t8])
    assert [r.name for r in group.runs] == ["t8-1", "t8-2"] and group.label == "T=8" and group.seeds == [1, 2]
    (group,) = seed_groups(t8)                                # nothing else: no param to name
    assert group.label == ""


def test_protocol_A_runs_over_seeds_give_only_A(tmp_path, monkeypatch):
    """Protocol A has no B: the group's B is an em dash; one group alone is named by its dataset,
    configuration and T. A B group where one run lacks B: its one value, '(1 of 2)'."""
    runs = [seed_run(tmp_path, "a1", 1, 0.80, protocol="A"), seed_run(tmp_path, "a2", 2, 0.81, protocol="A")]
    rep, md = report_of(runs, tmp_path, monkeypatch)
    # A 80, 81 -> 80.50 ± sqrt(0.5) = 0.71
    assert seed_rows(md) == [["demo, PLIF τ0=2, max, T=16", "2", "80.50 ± 0.71", "—", "1, 2", "a1, a2"]]
    assert table_rows(md)["a1"][COLS["B"]] == "—"
    runs = [seed_run(tmp_path, "b1", 1, 0.80, 0.70), seed_run(tmp_path, "b2", 2, 0.82)]
    _, md = report_of(runs, tmp_path, monkeypatch)
    assert seed_rows(md) == [["demo, PLIF τ0=2, max, T=16", "2", "81.00 ± 1.41", "70.00 (1 of 2)", "1, 2", "b1, b2"]]


def test_no_group_no_section(tmp_path, monkeypatch):
    runs = [seed_run(tmp_path, "x", 1, 0.5, 0.5), seed_run(tmp_path, "y", 2, 0.6, 0.6, model={"neuron": "lif"})]
    rep, md = report_of(runs, tmp_path, monkeypatch)
    assert seed_rows(md) == [] and "Over seeds" not in md and rep.groups == []
    assert "group" not in rep.summary
