"""The dataset registry: everything that differs between datasets is data here, not code."""

from __future__ import annotations

from dataclasses import dataclass, field

from .demo.gestures import CLASSES as DEMO_CLASSES


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    archive: str                       # file name of the downloaded archive
    md5: str | None                    # None: produced locally, md5 recorded when built
    sensor_size: tuple[int, int]       # (H, W)
    classes: tuple[str, ...]
    expected: dict[str, int] | None    # samples per split; a mismatch is an error
    urls: tuple[str, ...] = ()         # known direct-download URLs (none for browser-only hosts)
    help: str = ""                     # where to get the archive by hand
    paper: dict = field(default_factory=dict)


DVSGESTURE = DatasetSpec(
    name="dvsgesture",
    archive="DvsGesture.tar.gz",
    md5="8a5c71fb11e24e5ca5b11866ca6c00a1",
    sensor_size=(128, 128),
    classes=("hand_clap", "right_hand_wave", "left_hand_wave", "right_arm_clockwise",
             "right_arm_counter_clockwise", "left_arm_clockwise", "left_arm_counter_clockwise",
             "arm_roll", "air_drums", "air_guitar", "other_gestures"),
    expected={"train": 1176, "test": 288},
    help=(
        "DVS128 Gesture is distributed by IBM Research as DvsGesture.tar.gz (about 2.7 GB, "
        "md5 8a5c71fb11e24e5ca5b11866ca6c00a1) from https://research.ibm.com/interactive/dvsgesture/ "
        "(the download is a browser-only folder). Download it with a browser and place it at "
        "{archive_path}, or list a mirror you can reach under download.mirrors in params.yaml "
        "(http://, https:// or file:// URLs), then run `dvc repro` again."
    ),
)

DEMO = DatasetSpec(
    name="demo",
    archive="DvsGesture-demo.tar.gz",
    md5=None,
    sensor_size=(128, 128),
    classes=DEMO_CLASSES,
    expected=None,                     # computed from the demo params, see expected_counts()
)

DATASETS = {d.name: d for d in (DVSGESTURE, DEMO)}


def get(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; known: {sorted(DATASETS)}") from None
