"""The datasets the pipeline knows: their specs (:mod:`.spec`), the registry (:mod:`.registry`)
and, apart from any code a stage imports, the prose that says where to get their files
(``help.yaml``, read by :func:`help_text`)."""

from __future__ import annotations

from pathlib import Path

from ..core.errors import LayoutError
from ..core.filterparams import did_you_mean
from .registry import (
    CIFAR10,
    CIFAR10_DVS,
    DATASETS,
    DEMO,
    DEMO_CLASSES,
    DVSGESTURE,
    FASHION_MNIST,
    MNIST,
    NMNIST,
    TONIC_DATASETS,
)
from .spec import DatasetSpec, Remote

__all__ = ["CIFAR10", "CIFAR10_DVS", "DATASETS", "DEMO", "DEMO_CLASSES", "DVSGESTURE", "FASHION_MNIST", "MNIST",
           "NMNIST", "TONIC_DATASETS", "DatasetSpec", "Remote", "get", "help_text"]

HELP = Path(__file__).with_name("help.yaml")


def get(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise LayoutError(f"unknown dataset {str(name)[:60]!r}{did_you_mean(name, DATASETS)}; "
                          "`python -m pipeline datasets` lists them") from None


def help_text(name: str, **fields) -> str:
    """Where to get ``name``'s files (``help.yaml``), with ``{archive_dir}`` etc. filled in;
    "" when it has none or the file cannot be read (it is prose: a message must not fail on it)."""
    import yaml

    try:
        text = (yaml.safe_load(HELP.read_text(encoding="utf-8")) or {}).get(name, "")
    except (OSError, yaml.YAMLError, AttributeError):
        return ""
    try:
        return str(text).format(**fields)
    except (KeyError, IndexError, ValueError):
        return str(text)
