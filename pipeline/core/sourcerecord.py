"""``data/raw/SOURCE.json``: what the download stage unpacked, as the frames stage reads it.

The record lives here, apart from both stages, so that each imports it without the other's code.
It records what was obtained; how a dataset's files are obtained is its spec's source
(:class:`pipeline.datasets.spec.Source`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from .atomic import write_json
from .errors import LayoutError

SOURCE_FILE = "SOURCE.json"


@dataclass(frozen=True)
class Archive:
    name: str
    md5: str


@dataclass(frozen=True)
class SourceRecord:
    """The dataset in ``data/raw``, the archives it came from, and its samples per split."""

    dataset: str
    archives: tuple[Archive, ...]
    expected: dict[str, int] | None = None     # samples per split; None: not known


def write_source(folder: str | Path, source: SourceRecord) -> None:
    write_json(Path(folder) / SOURCE_FILE, asdict(source))


def read_source(raw_dir: str | Path) -> SourceRecord:
    path = Path(raw_dir) / SOURCE_FILE
    if not path.is_file():
        raise LayoutError(f"{path} not found: {raw_dir} holds no downloaded dataset; run the download "
                          "stage first (dvc repro)")
    try:
        raw = json.loads(path.read_text())
        return SourceRecord(dataset=str(raw["dataset"]),
                            archives=tuple(Archive(str(a["name"]), str(a["md5"])) for a in raw["archives"]),
                            expected=raw.get("expected"))
    except (ValueError, KeyError, TypeError) as e:
        raise LayoutError(f"{path}: not a valid source record ({type(e).__name__}: {e}); "
                          "rerun the download stage (dvc repro --force download)") from None
