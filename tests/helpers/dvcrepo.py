"""Temporary copies of this repository for tests that run the real ``dvc`` CLI."""

import contextlib
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


def _path() -> str:
    """PATH with this interpreter's bin/ first, so that stages find `python` (and `dvc`)."""
    return f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"


@contextlib.contextmanager
def _inside(repo: Path):
    """Within it, this process runs as the CLI in ``repo`` would: from inside ``repo`` (DVC
    names the stages ``frames``, not ``../repo/dvc.yaml:frames``), with :func:`_path`'s PATH."""
    cwd, path = os.getcwd(), os.environ["PATH"]
    os.environ["PATH"] = _path()
    os.chdir(repo)
    try:
        yield
    finally:
        os.chdir(cwd)
        os.environ["PATH"] = path


def run(cmd, cwd, check=True):
    """Run a command with this interpreter's bin/ first on PATH (so stages find `python`)."""
    env = dict(os.environ, PATH=_path())
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


def dvc_status(repo: Path) -> dict:
    """What `dvc status --json` prints in ``repo``, from DVC's Python API in this process: no
    Python and DVC start per call (about a third of the CLI's time). A fresh ``Repo`` each call,
    so nothing is remembered from an earlier one (DVC's state keys file hashes on inode, mtime
    and size); run :func:`_inside` ``repo``, as the CLI is; through JSON, so the shape is its."""
    import json

    from dvc.repo import Repo

    with _inside(repo), Repo(str(repo)) as r:
        return json.loads(json.dumps(r.status()))


def repro_if_stale(repo: Path) -> None:
    """A finished `dvc repro` in ``repo``, every stage up to date: the precondition of a test
    that changes one thing and reads what reruns. `dvc repro` runs only when DVC's status names
    a stage (when it names none, the CLI would run nothing, in about 4 s)."""
    if dvc_status(repo):
        run(["dvc", "repro"], repo)
        assert dvc_status(repo) == {}, "dvc repro left stages out of date"


def pipeline_params() -> dict:
    """The params of tests/end_to_end/test_dvc_pipeline*.py: TINY with two samples per class, so
    protocol B (the default) can hold one of each out for validation."""
    return {**TINY, "demo": {**TINY["demo"], "repeats": 2}, "train": {**TINY["train"], "protocol": "B"}}


def copy_pipeline_repo(dst: Path) -> Path:
    """:func:`copy_repo` with :func:`pipeline_params`, nothing run yet."""
    return copy_repo(dst, pipeline_params())


def dvc_yaml_parsed_once():
    """A context manager: within it, DVC (in this process) parses each distinct YAML text once
    and hands out deep copies after. `dvc status` parses dvc.yaml twice, dvc.lock once and
    params.yaml once per stage, in pure Python: two thirds of the time of :func:`dvc_status`.
    Keyed on the whole text, so an edited file is parsed again; for a loop of statuses in which
    only source files change (test_dvc_pipeline_checks.py touches every module in turn). A DVC
    whose parser lives elsewhere is left alone: the statuses are the same, only slower."""
    import copy

    try:
        import dvc.utils.serialize as serialize
        import dvc.utils.serialize._yaml as yaml_module
        import dvc.utils.strictyaml as strictyaml
    except ImportError:                 # another DVC's layout: nothing to memoise
        return contextlib.nullcontext({})

    parse, parsed = yaml_module.parse_yaml, {}

    def parse_once(text, path, typ="safe"):
        if (text, typ) not in parsed:
            parsed[text, typ] = parse(text, path, typ)
        return copy.deepcopy(parsed[text, typ])

    @contextlib.contextmanager
    def patched():
        # every name DVC calls it by: load_yaml's global, strictyaml's import, serialize's PARSERS
        modules = (yaml_module, strictyaml, serialize)
        if not all(getattr(m, "parse_yaml", None) is parse for m in modules):
            yield parsed                # another DVC's layout: parse as DVC does (slower, as correct)
            return
        for m in modules:
            m.parse_yaml = parse_once
        try:
            yield parsed
        finally:
            for m in modules:
                m.parse_yaml = parse

    return patched()


def repro_in_process(repo: Path, *targets: str) -> None:
    """`dvc repro [targets]` in ``repo`` through DVC's Python API, in this process: for a test
    (or fixture) that needs the stages' outputs, not what the CLI prints; no Python and DVC
    start per call. The stages run as under the CLI: from inside ``repo``, with this
    interpreter's bin/ first on PATH (so they find `python`), the run-cache on (:func:`_inside`)."""
    from dvc.repo import Repo

    with _inside(repo), Repo(str(repo)) as r:
        r.reproduce(list(targets) or None)


def copy_tree(src: Path, dst: Path) -> Path:
    """A copy of the repository at ``src`` (git history, DVC cache and run-cache, outputs, dvc.lock)
    at ``dst``, without DVC's scratch folder ``.dvc/tmp`` (locks, its index of the old path)."""
    def ignore(folder, names):
        return ["tmp"] if Path(folder).name == ".dvc" and "tmp" in names else []
    shutil.copytree(src, dst, symlinks=True, ignore=ignore)
    return dst


def _session_dir(tmp_path_factory) -> Path:
    """A folder of this test session, shared by its pytest-xdist workers (each has its own basetemp
    below the session's)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def reproduced(dst: Path, tmp_path_factory, params=TINY) -> Path:
    """:func:`copy_repo` at ``dst`` after a finished `dvc repro` (dvc.lock written, not committed;
    the stages' outputs, the cache and the run-cache in place), as ``copy_repo`` then `dvc repro`
    leave it. The repository is reproduced once per test session and ``params``, under a lock,
    and copied (:func:`copy_tree`) for each caller: test modules on any xdist worker that start
    from the same tiny demo share one run of its stages."""
    import hashlib
    import json

    from filelock import FileLock

    shared = _session_dir(tmp_path_factory) / "dvcrepo-reproduced"
    shared.mkdir(exist_ok=True)
    key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    built, ok = shared / key, shared / f"{key}.ok"
    with FileLock(str(shared / f"{key}.lock")):
        if not ok.exists():
            shutil.rmtree(built, ignore_errors=True)
            built.mkdir()
            copy_repo(built, params)
            repro_in_process(built)
            ok.touch()
    return copy_tree(built, dst)
