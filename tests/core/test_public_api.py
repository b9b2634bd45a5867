"""Names users and their scripts rely on keep working through reorganisations.

Moved with the stage packages (0.3): ``pipeline.events`` -> ``pipeline.core.events``,
``pipeline.store`` -> ``pipeline.core.store``, ``pipeline.filters`` ->
``pipeline.frames.filters``, ``pipeline.unpack`` -> ``pipeline.download.unpack``;
``pipeline.frames.integrate`` and ``pipeline.io.read_*`` stay where they were."""

import inspect

import numpy as np


def test_public_names():
    import pipeline.core.events
    import pipeline.core.store
    import pipeline.download.unpack
    import pipeline.frames
    import pipeline.frames.filters
    import pipeline.io
    from pipeline.frames.integration import integrate

    assert pipeline.core.events.EVENT_DTYPE.names == ("t", "x", "y", "p")
    for name in ("read_aedat3", "read_jaer", "read_nmnist", "read_aedat4", "read_events"):
        assert callable(getattr(pipeline.io, name)), name
    assert pipeline.frames.integrate is integrate
    assert callable(pipeline.frames.filters.apply)
    assert inspect.signature(pipeline.frames.filters.apply).parameters["sensor_size"].default is None  # inferred
    assert list(inspect.signature(pipeline.download.unpack.extract).parameters) == ["archive", "dest_dir"]
    writer = inspect.signature(pipeline.core.store.FrameWriter).parameters
    assert list(writer)[:4] == ["path", "n", "frame_shape", "attrs"]      # later ones are optional
    assert all(p.default is not inspect.Parameter.empty for p in list(writer.values())[4:])
    assert list(inspect.signature(pipeline.core.store.FrameWriter.write).parameters) == [
        "self", "frames", "label", "recording", "label_row", "n_events"]
    assert list(inspect.signature(pipeline.core.store.read_sample).parameters) == ["path", "i"]
    from pipeline.train.augment import augment_events               # a user's own loop (docs/training.md)
    augment = inspect.signature(augment_events).parameters
    assert list(augment) == ["frames", "labels", "ops", "seed", "epoch", "indices", "num_classes"]
    assert all(augment[k].kind is inspect.Parameter.KEYWORD_ONLY for k in list(augment)[3:])
    # Tonic's representations (issue 26): the names and argument order
    from pipeline.frames.representations import binarep, voxel_grid
    assert pipeline.frames.voxel_grid is voxel_grid and pipeline.frames.binarep is binarep
    assert list(inspect.signature(integrate).parameters) == ["events", "T", "split_by", "sensor_size",
                                                            "downsample", "overlap"]
    assert list(inspect.signature(voxel_grid).parameters)[:3] == ["events", "T", "sensor_size"]
    assert list(inspect.signature(binarep).parameters)[:4] == ["events", "T", "n_bits", "sensor_size"]


def test_write_then_read_through_the_public_names(tmp_path):
    from pipeline.core.events import make_events
    from pipeline.frames import integrate
    from pipeline.core.store import FrameWriter, read_sample

    ev = make_events([0, 1, 2, 3], [0, 1, 2, 3], [3, 2, 1, 0], [1, 0, 1, 1])
    frames = integrate(ev, 2, "number", (4, 4))
    with FrameWriter(tmp_path / "f.h5", 1, frames.shape, {"classes": ["a"]}) as w:
        w.write(frames, 0, "r.aedat", -1, ev.size)
    got, label = read_sample(tmp_path / "f.h5", 0)
    # frame 0: events 0 (ON at x=0,y=3), 1 (OFF at x=1,y=2); frame 1: events 2, 3 (ON)
    expected = np.zeros((2, 2, 4, 4), np.uint32)
    expected[0, 1, 3, 0] = expected[0, 0, 2, 1] = expected[1, 1, 1, 2] = expected[1, 1, 0, 3] = 1
    assert label == 0 and np.array_equal(got, expected)


def test_one_version_number():
    """The installed distribution's version is pipeline.__version__ (pyproject reads it from there)."""
    import importlib.metadata
    import re
    from pathlib import Path

    import pipeline

    text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    project = text.split("[project]", 1)[1].split("\n[", 1)[0]
    assert not re.search(r"^version\s*=", project, re.M) and re.search(r'^dynamic = \["version"\]', project, re.M)
    assert importlib.metadata.version("dvs-pipeline") == pipeline.__version__
