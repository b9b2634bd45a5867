"""Team workflows with the real dvc CLI: experiments and T sweeps, sharing through local-folder
and SSH remotes (run-cache included), one cache shared by two checkouts, provenance.

The tiny demo's stages run once for the module (:func:`baseline`, shared with other modules by
:func:`dvcrepo.reproduced`), and at T=8 once more (:func:`run_cache`); each test starts from a
copy of that repository or of that cache, and restores from DVC's run-cache what it does not
compute itself (the T sweep's experiment in the workspace computes T=12), as a team's clones do."""

import getpass
import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from dvcrepo import commit, copy_repo, copy_tree, repro_in_process, reproduced, run, set_params, tree_bytes

pytestmark = pytest.mark.slow
OUTPUTS = ["data/frames/train.h5", "data/frames/test.h5", "models/model.pt", "results/metrics.json"]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """The tiny demo (TINY, T=4) after `dvc repro`, dvc.lock committed: read it, or copy it
    (:func:`dvcrepo.copy_tree`) to change it."""
    repo = reproduced(tmp_path_factory.mktemp("team") / "baseline", tmp_path_factory)
    commit(repo, "baseline")
    return repo


@pytest.fixture(scope="module")
def run_cache(baseline, tmp_path_factory):
    """A DVC cache (``.dvc/cache``) whose run-cache holds every stage of the tiny demo at T=4
    (the baseline) and at T=8: a clone given it (:func:`use_cache`) restores both instead of
    computing them."""
    repo = copy_tree(baseline, tmp_path_factory.mktemp("team") / "T8")
    set_params(repo, {"frames": {"T": 8}})
    repro_in_process(repo)
    return repo / ".dvc" / "cache"


def use_cache(repo, cache):
    """A copy of ``cache`` as ``repo``'s own DVC cache (the one it had, if any, replaced)."""
    shutil.rmtree(repo / ".dvc" / "cache", ignore_errors=True)
    shutil.copytree(cache, repo / ".dvc" / "cache")


def test_experiments_and_queued_T_sweep(baseline, run_cache, tmp_path):
    # the experiment in the workspace computes T=12 (`download` has not changed: not rerun);
    # the queued ones restore T=8 (computed by the run_cache fixture) and T=12 (just computed)
    repo = copy_tree(baseline, tmp_path / "repo")
    use_cache(repo, run_cache)
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


def share_roundtrip(tmp_path, run_cache, remote_url, remote_config=()):
    """Clone A makes T=4 then T=8 and pushes; clone B pulls, then asks for T=4. A's stages are
    restored from ``run_cache`` (the module computes each T once, not once per remote)."""
    a = copy_repo(tmp_path / "a")
    use_cache(a, run_cache)
    run(["dvc", "remote", "add", "-d", "team", remote_url], a)
    for key, value in remote_config:
        run(["dvc", "remote", "modify", "--local", "team", key, value], a)
    run(["dvc", "repro"], a)
    frames4 = (a / "data/frames/train.h5").read_bytes()
    commit(a, "T=4")
    run(["dvc", "push", "--run-cache"], a)
    set_params(a, {"frames": {"T": 8}})
    run(["dvc", "repro"], a)
    commit(a, "T=8")
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

    # B wants T=4, which A made and pushed earlier: restored, not recomputed
    set_params(b, {"frames": {"T": 4}})
    run(["dvc", "pull", "--run-cache"], b)
    out = run(["dvc", "repro", "--pull"], b)
    assert "Running stage" not in out, out
    assert "Stage 'frames' is cached" in out
    assert (b / "data/frames/train.h5").read_bytes() == frames4


def test_share_through_local_folder_remote(tmp_path, run_cache):
    share_roundtrip(tmp_path, run_cache, str(tmp_path / "shared-disk" / "dvc-remote"))


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


def test_share_through_ssh_remote(sshd, tmp_path, run_cache):
    user, port, key = sshd
    store = tmp_path / "ssh-store"
    store.mkdir()
    share_roundtrip(tmp_path, run_cache, f"ssh://{user}@127.0.0.1:{port}{store}", [("keyfile", str(key))])
    assert tree_bytes(store) > 0


def test_shared_cache_holds_one_copy(baseline, tmp_path):
    # the shared cache starts as the baseline's: `dvc repro` restores every stage from its run-cache
    cache = shutil.copytree(baseline / ".dvc" / "cache", tmp_path / "shared-cache")
    first = tmp_path / "alice"
    run(["git", "clone", "-q", str(baseline), str(first)], tmp_path)
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


def test_info_prints_provenance(baseline):
    repo = baseline
    source = json.loads((repo / "data/raw/SOURCE.json").read_text())
    out = run(["python", "-m", "pipeline", "info", "data/frames/train.h5"], repo)
    assert '"T": 4' in out and '"dataset": "demo"' in out and '"downsample": 4' in out
    assert source["archives"][0]["md5"] in out and "DvsGesture-demo.tar.gz" in out
    assert "8 samples" in out and "train split" in out
