"""Record the demo dataset and pack it exactly as IBM's ``DvsGesture.tar.gz`` is laid out.

``DvsGesture/userNN_<lighting>.aedat`` (AEDAT 3.1), ``userNN_<lighting>_labels.csv``
(``class,startTime_usec,endTime_usec``, classes from 1), ``trials_to_train.txt`` and
``trials_to_test.txt``. Everything derives from ``DemoParams.seed``: the same params give
a byte-identical archive.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ...core.atomic import atomic_path
from ...params import DemoParams
from . import CLASSES
from .aedat3_write import write_aedat3
from .gestures import gesture
from .sensor import simulate

TOP = "DvsGesture"
ARCHIVE = "DvsGesture-demo.tar.gz"
SENSOR = (128, 128)
# lighting -> (background intensity, noise multiplier): brighter scenes give less contrast
LIGHTING = {"fluorescent": (0.2, 1.0), "fluorescent_led": (0.25, 1.0), "lab": (0.3, 1.3),
            "led": (0.35, 0.7), "natural": (0.5, 0.5)}


def trials(params: DemoParams) -> tuple[list[str], list[str]]:
    """Recording names of the train and test splits (users 1.. train, the last users test)."""
    names = [
        [f"user{u:02d}_{light}" for u in users for light in params.lightings]
        for users in (range(1, params.train_users + 1),
                      range(params.train_users + 1, params.train_users + params.test_users + 1))
    ]
    return names[0], names[1]


def expected_samples(params: DemoParams) -> dict[str, int]:
    """Samples per split: every recording shows each class ``repeats`` times."""
    train, test = trials(params)
    per_recording = params.repeats * len(CLASSES)
    return {"train": len(train) * per_recording, "test": len(test) * per_recording}


def record(name: str, params: DemoParams) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """Events and label rows ``(class, start_us, end_us)`` of one simulated recording."""
    user = int(name[4:6])
    light = name[7:]
    rng = np.random.default_rng([params.seed, user, params.lightings.index(light)])
    background, noise = LIGHTING[light]
    order = np.concatenate([rng.permutation(len(CLASSES)) for _ in range(params.repeats)])
    step = params.step_us
    t = int(rng.integers(1_000_000, 3_000_000)) // step * step       # recording starts late, as jAER's do
    pieces, rows = [], []
    for label in order:
        gap = int(params.gap_ms * 1000 * rng.uniform(0.5, 1.5)) // step
        dur = int(params.gesture_ms * 1000 * rng.uniform(0.8, 1.2)) // step
        idle = np.zeros((gap, 2, 4))
        idle[:, :, 2] = 1.0
        pieces += [idle, gesture(int(label), dur, rng, SENSOR)]
        start = t + gap * step
        rows.append((int(label) + 1, start, start + dur * step))
        t = start + dur * step
    blobs = np.concatenate(pieces)
    t_steps = rows[0][1] - len(pieces[0]) * step + np.arange(len(blobs), dtype=np.int64) * step
    ev = simulate(blobs, t_steps, rng, sensor_size=SENSOR, background=background,
                  threshold=params.threshold, noise_hz=params.noise_hz * noise)
    return ev, rows


def write_recording(args) -> int:
    """Simulate recording ``name`` and write its AEDAT file and labels CSV into ``folder``; returns events."""
    name, params, folder = args
    ev, rows = record(name, params)
    write_aedat3(Path(folder) / f"{name}.aedat", ev)
    lines = ["class,startTime_usec,endTime_usec"] + [f"{c},{a},{b}" for c, a, b in rows]
    (Path(folder) / f"{name}_labels.csv").write_text("\n".join(lines) + "\n")
    return int(ev.size)


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644
    tar.addfile(info, io.BytesIO(data))


def build_archive(dest: str | Path, params: DemoParams, workers: int = 0) -> str:
    """Simulate every recording and write ``dest`` (a .tar.gz) atomically; returns its md5."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    train, test = trials(params)
    names = train + test
    workers = workers or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(dir=dest.parent) as folder:
        jobs = [(n, params, folder) for n in names]
        with ProcessPoolExecutor(workers) as pool:
            counts = list(tqdm(pool.map(write_recording, jobs), total=len(jobs),
                               desc="demo: recording", unit="rec"))
        with atomic_path(dest) as tmp, open(tmp, "wb") as raw, \
                gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz, \
                tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            _add(tar, f"{TOP}/trials_to_train.txt", "".join(f"{n}.aedat\n" for n in train).encode())
            _add(tar, f"{TOP}/trials_to_test.txt", "".join(f"{n}.aedat\n" for n in test).encode())
            for n in names:
                for suffix in (".aedat", "_labels.csv"):
                    _add(tar, f"{TOP}/{n}{suffix}", (Path(folder) / f"{n}{suffix}").read_bytes())
    md5 = hashlib.md5(dest.read_bytes()).hexdigest()
    print(f"demo: {len(names)} recordings, {sum(counts):,} events, "
          f"{len(names) * params.repeats * len(CLASSES)} gestures -> {dest} ({dest.stat().st_size / 1e6:.1f} MB)")
    return md5
