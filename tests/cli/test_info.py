"""`python -m pipeline info`: the representation a frames file holds (issue 26), from its metadata.
(The frames stage's own files: tests/frames/test_frames_representations_stage.py.)"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.cli.info import describe
from pipeline.core.store import FrameWriter

ROOT = Path(__file__).resolve().parents[2]


def frames_file(path: Path, shape, dtype, meta: dict) -> Path:
    rng = np.random.default_rng(0)
    with FrameWriter(path, 2, shape, {"dataset": "toy", "split": "train", "classes": ["a", "b"], **meta},
                     dtype=dtype) as w:
        for i in range(2):
            w.write((rng.random(shape) * 4).astype(dtype), i, f"rec{i}", i, 10)
    return path


@pytest.mark.parametrize("shape,dtype,meta,lines", [
    ((3, 2, 4, 5), np.uint32, {"split_by": "time"},            # a file of before issue 26: counts
     ["frames:      2 samples x (3, 2, 4, 5) uint32 (T, polarity, height, width)",
      "values:      representation counts, split_by time, overlap 0.0"]),
    ((3, 2, 4, 5), np.uint32, {"split_by": "event_bins", "overlap": 0.5},
     ["frames:      2 samples x (3, 2, 4, 5) uint32 (T, polarity, height, width)",
      "values:      representation counts, split_by event_bins, overlap 0.5"]),
    ((3, 1, 4, 5), np.float32, {"split_by": "number", "representation": "voxel_grid"},
     ["frames:      2 samples x (3, 1, 4, 5) float32 (T, signed polarity, height, width)",
      "values:      representation voxel_grid (Tonic's ToVoxelGrid: T time bins, float32 sums; split_by and "
      "overlap do not apply)"]),
    ((3, 2, 4, 5), np.uint8, {"split_by": "number", "representation": "binarep", "n_bits": 3},
     ["frames:      2 samples x (3, 2, 4, 5) uint8 (T, polarity, height, width)",
      "values:      representation binarep, n_bits 3 (Tonic's ToBinaRep of T x n_bits event bins, stored as "
      "codes: divide by 7 for Tonic's values; split_by and overlap do not apply)"]),
    ((3, 2, 4, 5), np.uint8, {"representation": "binarep", "n_bits": 10**6},     # not a usable n_bits
     ["values:      representation binarep, n_bits ? (Tonic's ToBinaRep of T x n_bits event bins, stored as "
      "codes: divide by 2**n_bits - 1 for Tonic's values; split_by and overlap do not apply)"]),
], ids=["no-keys", "overlap", "voxel_grid", "binarep", "bad-n_bits"])
def test_info_shows_the_representation_and_dtype(tmp_path, shape, dtype, meta, lines):
    text = describe(frames_file(tmp_path / "train.h5", shape, dtype, meta)).splitlines()
    for line in lines:
        assert line in text, "\n".join(text)


def test_info_command_on_a_voxel_grid_file(tmp_path):
    path = frames_file(tmp_path / "train.h5", (3, 1, 4, 5), np.float32, {"representation": "voxel_grid"})
    r = subprocess.run([sys.executable, "-m", "pipeline", "info", str(path)], capture_output=True, text=True,
                       cwd=ROOT, timeout=120)
    assert r.returncode == 0 and "Traceback" not in r.stderr
    assert "float32 (T, signed polarity, height, width)" in r.stdout
    assert "values:      representation voxel_grid" in r.stdout
