"""Training on several machines: two torchrun agents on this machine play two "nodes" (one
process each, c10d rendezvous on 127.0.0.1), each in its own folder with its own frames.

They must learn what ``torchrun --standalone --nproc-per-node 2`` learns on one machine
(within the tolerance of the DDP tests: float rounding of the all-reduces), global rank 0
alone must write the outputs, and a run whose second node is killed mid-epoch must resume
from the checkpoint when both are started again, ending where an uninterrupted run ends.

The nodes differ by their address, 127.0.0.1 and 127.0.0.2 (both loopback): c10d gives the
ranks in the order of the machines' addresses, so global rank 0 is the first node's process,
as it would be on two machines whose host names sort that way.
"""

import csv
import io
import json
import shutil
import socket
import subprocess

import pytest
import torch
from tinyframes import write_dataset
from workspace import BIN, HELPERS, ROOT, make_workspace, run_stage

pytestmark = pytest.mark.slow
STAGE = ROOT / "stages" / "train.py"
EPOCHS = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def two_nodes(folders, run_id: str, last_args=(), swap=False, timeout=240):
    """Start one torchrun agent per folder, the second with ``last_args`` before the script
    (a wrapper such as kill_after.py); wait for both; their return codes and outputs.
    ``swap``: the second folder's node takes the first address, so it hosts global rank 0."""
    port = free_port()
    env = {"PYTHONPATH": f"{ROOT}:{HELPERS}", "OMP_NUM_THREADS": "1", "PATH": f"{BIN}:/usr/bin:/bin"}
    procs = []
    for k, folder in enumerate(folders):
        cmd = [str(BIN / "torchrun"), "--nnodes", "2", "--nproc-per-node", "1", "--rdzv-backend", "c10d",
               "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", run_id,
               "--rdzv-conf", f"is_host={1 if k == 0 else 0}", "--local-addr", f"127.0.0.{(1 - k if swap else k) + 1}",
               "--max-restarts", "0",
               *([str(a) for a in last_args] if k == 1 else []), str(STAGE)]
        procs.append(subprocess.Popen(cmd, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True))
    try:
        outs = [p.communicate(timeout=timeout)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return [p.returncode for p in procs], outs


def outputs(folder):
    return (json.loads((folder / "results" / "train.json").read_text()),
            torch.load(folder / "models" / "checkpoint.pt", weights_only=True),
            (folder / "results" / "train_log.csv").read_text())


def without_seconds(log: str) -> list[dict]:
    """The per-epoch log's rows without the epochs' wall time."""
    return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(io.StringIO(log))]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("nodes")
    data = write_dataset(root / "data")
    return {name: make_workspace(root / name, data, epochs=EPOCHS, T_max=EPOCHS)
            for name in ("one_machine", "a0", "a1", "k0", "k1")}


@pytest.fixture(scope="module")
def uninterrupted(folders):
    codes, outs = two_nodes([folders["a0"], folders["a1"]], "uninterrupted")
    assert codes == [0, 0], "\n".join(o[-3000:] for o in outs)
    return outs


def test_two_nodes_learn_what_two_processes_on_one_machine_learn(folders, uninterrupted):
    one = folders["one_machine"]
    run_stage("train", one, nproc=2)
    m1, c1, _ = outputs(one)
    m2, c2, _ = outputs(folders["a0"])
    assert m1["processes"] == m2["processes"] == 2 and c2["world_size"] == 2 and len(c2["rng"]) == 2
    for k in ("selected_epoch", "best_epoch_A", "best_epoch_B", "train_samples", "val_samples",
              "accuracy_A_test_best_epoch", "accuracy_B_test_at_best_val_epoch", "val_accuracy_best"):
        assert m1[k] == m2[k], k
    assert m1["train_loss"] == pytest.approx(m2["train_loss"], rel=1e-4)
    assert max((c1["model"][k].double() - c2["model"][k].double()).abs().max().item() for k in c1["model"]) <= 1e-5
    # global rank 0 (the first node) wrote every output; the second node wrote none and says where they are
    out0, out1 = uninterrupted
    assert out0.count(f"train: {EPOCHS} epochs") == 1 and "by 2 process(es)" in out0
    assert "train: done; global rank 0 wrote the outputs on" in out1
    b = folders["a1"]
    assert not (b / "models").exists() and not (b / "results").exists() and not (b / "checkpoints").exists()


@pytest.fixture(scope="module")
def killed(folders):
    """The two nodes' folders after a run whose second node was killed in epoch 3 (the same
    run for both restarts below: each restarts from its own copy of the folders)."""
    k0, k1 = folders["k0"], folders["k1"]
    # the second node's rank reads 14 training and 2 validation samples an epoch: 37 is in epoch 3
    codes, outs = two_nodes([k0, k1], "killed", last_args=[HELPERS / "kill_after.py", 37])
    assert codes[1] != 0 and codes[0] != 0, outs[1][-2000:]                 # both agents stop
    assert "SIGKILL" in outs[1]
    ckpt = torch.load(k0 / "checkpoints" / "train.pt", weights_only=True)
    assert ckpt["epoch"] == 2 and not (k0 / "models" / "model.pt").exists()
    return k0, k1


@pytest.mark.parametrize("swap", [False, True], ids=["same-ranks", "rank-0-moves"])
def test_a_node_killed_mid_epoch_resumes_from_the_checkpoint(killed, uninterrupted, folders, swap, tmp_path):
    """Killed in epoch 3, then both nodes started again. With ``rank-0-moves`` the restart
    gives global rank 0 to the other node, whose folder has no checkpoint: the run resumes from
    the first node's all the same, and the outputs are written on the second node."""
    b0, b1 = (shutil.copytree(k, tmp_path / k.name, symlinks=True) for k in killed)
    assert (b0 / "checkpoints" / "train.pt").is_file() and not (b1 / "checkpoints" / "train.pt").exists()
    codes, outs = two_nodes([b0, b1], "restarted", swap=swap)
    assert codes == [0, 0], "\n".join(o[-3000:] for o in outs)
    main, other = (b1, b0) if swap else (b0, b1)
    said = outs[1] if swap else outs[0]
    assert "resuming from checkpoints/train.pt after epoch 2" + (" (rank 1's machine)" if swap else "") in said
    (ma, ca, la), (mb, cb, lb) = outputs(folders["a0"]), outputs(main)
    drop = {"train_seconds"}
    assert {k: v for k, v in ma.items() if k not in drop} == {k: v for k, v in mb.items() if k not in drop}
    assert all(torch.equal(ca["model"][k], cb["model"][k]) for k in ca["model"])
    assert without_seconds(la) == without_seconds(lb) and len(without_seconds(la)) == EPOCHS
    assert not (main / "checkpoints" / "train.pt").exists()                # the completed run moved it
    assert not (other / "checkpoints" / "train.pt").exists()               # and the stale one is gone
