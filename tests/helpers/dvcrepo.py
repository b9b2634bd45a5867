"""Temporary copies of this repository for tests that run the real ``dvc`` CLI."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]

TINY = {
    "demo": {"train_users": 1, "test_users": 1, "lightings": ["fluorescent"], "repeats": 1,
             "gesture_ms": 300, "gap_ms": 200},
    "frames": {"T": 4, "downsample": 4, "workers": 2},
    "model": {"channels": 4, "blocks": 2, "hidden": 16},
    # one sample per class: nothing to hold out for validation, so protocol A (test_dvc_pipeline runs B)
    "train": {"epochs": 2, "T_max": 2, "batch_size": 4, "threads": 1, "protocol": "A"},
}


def run(cmd, cwd, check=True):
    """Run a command with this interpreter's bin/ first on PATH (so stages find `python`)."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if check:
        assert r.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout + r.stderr


def set_params(repo, patch):
    p = yaml.safe_load((repo / "params.yaml").read_text())
    for section, values in patch.items():
        if isinstance(values, dict):
            p[section].update(values)
        else:
            p[section] = values
    (repo / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))


def commit(repo, message="update"):
    run(["git", "add", "-A"], repo)
    run(["git", "-c", "user.email=t@localhost", "-c", "user.name=t", "commit", "-qm", message], repo)


def copy_repo(dst: Path, params=TINY) -> Path:
    """The project's tracked and untracked files (not dvc.lock) in a new git repo at ``dst``,
    with ``configs/demo.yaml`` patched by ``params`` as its params.yaml (never the user's own)."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for f in files:
        if f == "dvc.lock" or not (ROOT / f).is_file():
            continue
        (dst / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, dst / f)
    shutil.copy2(ROOT / "configs" / "demo.yaml", dst / "params.yaml")
    set_params(dst, params)
    run(["git", "init", "-q", "-b", "main"], dst)
    commit(dst, "copy")
    return dst


def tree_bytes(path: Path) -> int:
    """Bytes of the distinct files under ``path`` (hard links counted once)."""
    seen, total = set(), 0
    for p in Path(path).rglob("*"):
        if p.is_file() and not p.is_symlink():
            st = p.stat()
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total
