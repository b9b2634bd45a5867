"""A folder laid out as the train stage expects, and running a stage script in it.

``make_workspace`` links tiny frames (``tinyframes``) into ``data/frames/`` and writes a
params.yaml from ``configs/demo.yaml`` with the tiny network and the given train params;
``run_stage`` runs ``stages/<name>.py`` there (``torchrun`` with ``nproc``), with the project
and the tests on PYTHONPATH.
"""

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tinyframes import MODEL, TRAIN

ROOT = Path(__file__).resolve().parents[2]
HELPERS = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def make_workspace(folder: Path, data, model: dict | None = None, **train) -> Path:
    frames = folder / "data" / "frames"
    frames.mkdir(parents=True)
    for src in data:
        os.link(src, frames / Path(src).name)
    params = yaml.safe_load((ROOT / "configs" / "demo.yaml").read_text())
    params["model"] = {**MODEL.model_dump(), **(model or {})}
    params["train"] = {**TRAIN.model_dump(), **train}
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return folder


def run(args, cwd, nproc=None, env=None, check=True, timeout=300) -> subprocess.CompletedProcess:
    """``python args`` (one process) or ``torchrun --nproc_per_node nproc args`` in ``cwd``."""
    cmd = [str(BIN / "torchrun"), "--standalone", f"--nproc_per_node={nproc}"] if nproc else [sys.executable]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(HELPERS)]), "OMP_NUM_THREADS": "1",
           **(env or {})}
    r = subprocess.run(cmd + [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=timeout)
    if check:
        assert r.returncode == 0, f"{cmd + [str(a) for a in args]} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


def run_stage(name: str, cwd: Path, nproc=None, **kw) -> subprocess.CompletedProcess:
    return run([ROOT / "stages" / f"{name}.py"], cwd, nproc, **kw)
