"""Inputs: simulated DvsGesture-like recordings from the demo sensor, cached under ``--data``.

The full-size corpus imitates DVS128 Gesture's size: 29 users (23 train, 6 test) x 3
lightings = 87 recordings of 16 gestures each (8 classes x 2 repeats), gestures of 6 s on
average and a contrast threshold of 0.1, which gives about 300 k events per gesture (DvsGesture's
samples average a few hundred thousand). Of its 1,392 labelled gestures the first 1,342 in
split order are used (train 1,054, test 288), DvsGesture's sample count. Generating it takes
minutes (the sensor simulation); it is written once, in DvsGesture's layout, and reused.
"""

from __future__ import annotations

import hashlib
import json
import dataclasses
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.core.atomic import atomic_path
from pipeline.datasets import DEMO
from pipeline.download.demo.archive import record, trials, write_recording
from pipeline.download.demo.aedat3_write import write_aedat3
from pipeline.frames.families.trials import split_recordings
from pipeline.params import DemoParams

GENERATOR_VERSION = 1   # bump when the way a corpus is generated changes

FULL = DemoParams(seed=0, train_users=23, test_users=6, lightings=["fluorescent", "led", "lab"], repeats=2,
                  gesture_ms=6000, gap_ms=400, step_us=2000, threshold=0.1, noise_hz=2000.0)
FULL_SAMPLES = 1342
QUICK = DemoParams(seed=0, train_users=1, test_users=1, lightings=["fluorescent"], repeats=1,
                   gesture_ms=300, gap_ms=100, step_us=2000, threshold=0.2, noise_hz=2000.0)
QUICK_SAMPLES = 16


@dataclass(frozen=True)
class Corpus:
    root: Path                 # the DvsGesture/ folder
    params: DemoParams
    samples: int               # samples used (split order, train first)

    def splits(self) -> dict[str, list]:
        """``{"train": units, "test": units}`` as the trials family lists them
        (:func:`pipeline.frames.families.trials.split_recordings`), cut to ``samples`` samples in
        all (the last train recordings lose theirs)."""
        out = {s: split_recordings(self.root, len(DEMO.classes), s) for s in ("train", "test")}
        excess = sum(len(u.items) for units in out.values() for u in units) - self.samples
        train = out["train"]
        while excess > 0 and train:
            unit = train[-1]
            keep = max(0, len(unit.items) - excess)
            excess -= len(unit.items) - keep
            if keep:
                train[-1] = dataclasses.replace(unit, items=unit.items[:keep])
            else:
                train.pop()
        return out

    def describe(self) -> dict:
        p = self.params
        recs = len(p.lightings) * (p.train_users + p.test_users)
        return {"users": p.train_users + p.test_users, "train_users": p.train_users,
                "test_users": p.test_users, "lightings": list(p.lightings), "repeats": p.repeats,
                "gesture_ms": p.gesture_ms, "gap_ms": p.gap_ms, "step_us": p.step_us,
                "threshold": p.threshold, "noise_hz": p.noise_hz, "seed": p.seed, "recordings": recs,
                "gestures": recs * p.repeats * len(DEMO.classes), "samples_used": self.samples}


def _key(params: DemoParams) -> str:
    blob = json.dumps({"v": GENERATOR_VERSION, "params": params.model_dump()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def ensure_corpus(data_dir: str | Path, quick: bool = False, workers: int = 0, log=print) -> Corpus:
    """The corpus under ``data_dir/corpus-<key>/DvsGesture``, generated on first use."""
    params, samples = (QUICK, QUICK_SAMPLES) if quick else (FULL, FULL_SAMPLES)
    base = Path(data_dir) / f"corpus-{_key(params)}"
    root = base / "DvsGesture"
    done = base / "complete.json"
    if not done.is_file():
        train, test = trials(params)
        names = train + test
        log(f"corpus: simulating {len(names)} recordings into {base} (once; cached for later runs)")
        with atomic_path(base) as tmp:         # replaces an incomplete corpus; a killed run leaves none
            folder = tmp / "DvsGesture"
            folder.mkdir(parents=True)
            jobs = [(n, params, folder) for n in names]
            with ProcessPoolExecutor(workers or os.cpu_count() or 1) as pool:
                counts = list(pool.map(write_recording, jobs))
            (folder / "trials_to_train.txt").write_text("".join(f"{n}.aedat\n" for n in train))
            (folder / "trials_to_test.txt").write_text("".join(f"{n}.aedat\n" for n in test))
            (tmp / "complete.json").write_text(json.dumps({"params": params.model_dump(), "events": sum(counts),
                                                           "recordings": len(names)}, indent=1))
    return Corpus(root, params, samples)


def demo_recording(folder: str | Path, quick: bool = False) -> tuple[Path, np.ndarray]:
    """One recording of the corpus's kind (16 gestures, a few M events; quick: 8 short ones),
    written as AEDAT 3.1 into ``folder``; returns its path and its events."""
    params = QUICK if quick else FULL
    name = trials(params)[0][0]
    ev, _ = record(name, params)
    path = Path(folder) / f"{name}.aedat"
    write_aedat3(path, ev)
    return path, ev
