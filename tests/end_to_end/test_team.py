"""Team workflows with the real dvc CLI: experiments and T sweeps, sharing through local-folder
and SSH remotes (run-cache included), one cache shared by two checkouts, provenance."""

import getpass
import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from dvcrepo import commit, copy_repo, run, set_params, tree_bytes

pytestmark = pytest.mark.slow
OUTPUTS = ["data/frames/train.h5", "data/frames/test.h5", "models/model.pt", "results/metrics.json"]


def test_experiments_and_queued_T_sweep(tmp_path):
    repo = copy_repo(tmp_path / "repo")
    run(["dvc", "exp", "run", "-S", "frames.T=12"], repo)
    run(["dvc", "exp", "run", "--queue", "-S", "frames.T=8,12"], repo)
    out = run(["dvc", "queue", "status"], repo)
    assert out.count("Queued") == 2, out
    run(["dvc", "exp", "run", "--run-all", "-j", "1"], repo)
    table = json.loads(run(["dvc", "exp", "show", "--json"], repo))
    rows = []
    for commit_ in table:
        for exp in commit_.get("experiments") or []:
            for r in exp.get("revs", []):
                data = r.get("data") or {}
                params = data.get("params", {}).get("params.yaml", {}).get("data", {})
                metrics = data.get("metrics", {}).get("results/metrics.json", {}).get("data", {})
                rows.append((params.get("frames", {}).get("T"), metrics.get("test_accuracy")))
    Ts = sorted(t for t, _ in rows)
    assert Ts == [8, 12, 12], rows
    assert all(isinstance(acc, float) for _, acc in rows), rows
    csv = run(["dvc", "exp", "show", "--csv", "--no-pager"], repo)
    header = csv.splitlines()[0].split(",")
    assert "frames.T" in header and "test_accuracy" in header


def share_roundtrip(tmp_path, remote_url, remote_config=()):
    """Clone A computes T=16 then T=20 and pushes; clone B pulls, then asks for T=16."""
    a = copy_repo(tmp_path / "a")
    run(["dvc", "remote", "add", "-d", "team", remote_url], a)
    for key, value in remote_config:
        run(["dvc", "remote", "modify", "--local", "team", key, value], a)
    set_params(a, {"frames": {"T": 16}})
    run(["dvc", "repro"], a)
    frames16 = (a / "data/frames/train.h5").read_bytes()
    commit(a, "T=16")
    run(["dvc", "push", "--run-cache"], a)
    set_params(a, {"frames": {"T": 20}})
    run(["dvc", "repro"], a)
    commit(a, "T=20")
    run(["dvc", "push", "--run-cache"], a)

    b = tmp_path / "b"
    run(["git", "clone", "-q", str(a), str(b)], tmp_path)
    for key, value in remote_config:
        run(["dvc", "remote", "modify", "--local", "team", key, value], b)
    run(["dvc", "pull"], b)
    for f in OUTPUTS:
        assert (b / f).read_bytes() == (a / f).read_bytes(), f
    assert "up to date" in run(["dvc", "status"], b)
    out = run(["dvc", "repro"], b)
    assert "Running stage" not in out, out

    # B wants T=16, which A computed and pushed earlier: restored, not recomputed
    set_params(b, {"frames": {"T": 16}})
    run(["dvc", "pull", "--run-cache"], b)
    out = run(["dvc", "repro", "--pull"], b)
    assert "Running stage" not in out, out
    assert "Stage 'frames' is cached" in out
    assert (b / "data/frames/train.h5").read_bytes() == frames16


def test_share_through_local_folder_remote(tmp_path):
    share_roundtrip(tmp_path, str(tmp_path / "shared-disk" / "dvc-remote"))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sshd(tmp_path):
    """OpenSSH on 127.0.0.1 with its own host key; the user may only log in with our key."""
    sshd_bin = shutil.which("sshd") or "/usr/sbin/sshd"
    if not os.path.exists(sshd_bin):
        if os.environ.get("CI"):
            pytest.fail("sshd is not installed; .ci/run installs openssh-server")
        pytest.skip("OpenSSH server (sshd) is not installed: apt-get install openssh-server")
    d = tmp_path / "sshd"
    d.mkdir()
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "host_key")], d)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "user_key")], d)
    (d / "authorized_keys").write_text((d / "user_key.pub").read_text())
    user = getpass.getuser()
    if os.geteuid() == 0:                    # sshd's privilege separation needs this folder
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    port = _free_port()
    (d / "sshd_config").write_text(f"""Port {port}
ListenAddress 127.0.0.1
HostKey {d / 'host_key'}
PidFile {d / 'sshd.pid'}
AuthorizedKeysFile {d / 'authorized_keys'}
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers {user}
StrictModes no
UsePAM no
Subsystem sftp internal-sftp
""")
    proc = subprocess.Popen([sshd_bin, "-D", "-e", "-f", str(d / "sshd_config")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"sshd exited: {proc.stdout.read()}")
            time.sleep(0.05)
    yield user, port, d / "user_key"
    proc.terminate()
    proc.wait(timeout=10)


def test_ssh_refuses_passwords_and_unknown_keys(sshd, tmp_path):
    user, port, key = sshd
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], tmp_path)
    base = ["ssh", "-p", str(port), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", f"UserKnownHostsFile={tmp_path / 'known'}", f"{user}@127.0.0.1"]
    ok = run([*base[:1], "-i", str(key), "-o", "IdentitiesOnly=yes", *base[1:], "true"], tmp_path, check=False)
    assert "Permission denied" not in ok
    bad = run([*base[:1], "-i", str(tmp_path / "other"), "-o", "IdentitiesOnly=yes", *base[1:], "true"],
              tmp_path, check=False)
    assert "Permission denied (publickey)" in bad


def test_share_through_ssh_remote(sshd, tmp_path):
    user, port, key = sshd
    store = tmp_path / "ssh-store"
    store.mkdir()
    share_roundtrip(tmp_path, f"ssh://{user}@127.0.0.1:{port}{store}", [("keyfile", str(key))])
    assert tree_bytes(store) > 0


def test_shared_cache_holds_one_copy(tmp_path):
    cache = tmp_path / "shared-cache"
    first = copy_repo(tmp_path / "alice")
    for repo in (first,):
        run(["dvc", "cache", "dir", str(cache)], repo)
        run(["dvc", "config", "cache.shared", "group"], repo)
        run(["dvc", "config", "cache.type", "hardlink,symlink"], repo)
    run(["dvc", "repro"], first)
    commit(first, "computed")
    before = tree_bytes(cache)
    second = tmp_path / "bob"
    run(["git", "clone", "-q", str(first), str(second)], tmp_path)
    run(["dvc", "cache", "dir", "--local", str(cache)], second)
    run(["dvc", "checkout"], second)
    assert tree_bytes(cache) == before                      # no new bytes in the cache
    for f in OUTPUTS:
        a, b = (first / f).stat(), (second / f).stat()
        assert (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino), f   # the same file on disk
    assert "up to date" in run(["dvc", "status"], second)


def test_info_prints_provenance(tmp_path):
    repo = copy_repo(tmp_path / "repo")
    run(["dvc", "repro", "frames"], repo)
    source = json.loads((repo / "data/raw/SOURCE.json").read_text())
    out = run(["python", "-m", "pipeline", "info", "data/frames/train.h5"], repo)
    assert '"T": 4' in out and '"dataset": "demo"' in out and '"downsample": 4' in out
    assert source["archives"][0]["md5"] in out and "DvsGesture-demo.tar.gz" in out
    assert "8 samples" in out and "train split" in out
