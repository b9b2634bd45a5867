"""The private names of Tonic the pipeline relies on (pipeline/core/tonic_private.py): this fails,
saying which, on a Tonic release that changes them."""

import inspect

import pytest

tonic = pytest.importorskip("tonic")

from pipeline.core import tonic_private  # noqa: E402
from pipeline.datasets import TONIC_DATASETS  # noqa: E402


def test_archive_extractors_is_a_table_of_tar_and_zip():
    table = tonic_private.archive_extractors()
    assert table is not None, "tonic.download_utils._ARCHIVE_EXTRACTORS is gone: safe unpacking cannot hook in"
    assert {".tar", ".zip"} <= set(table), f"_ARCHIVE_EXTRACTORS has {sorted(table)}, not .tar and .zip"
    assert all(callable(f) for f in table.values())


def test_the_table_is_restored_and_a_missing_table_refuses(monkeypatch):
    from tonic import download_utils

    before = dict(download_utils._ARCHIVE_EXTRACTORS)
    marker = object()

    def mine(*a, **k):
        return marker
    with tonic_private.extractors_replaced(mine):
        assert download_utils._ARCHIVE_EXTRACTORS[".zip"] is mine
    assert download_utils._ARCHIVE_EXTRACTORS == before
    monkeypatch.delattr(download_utils, "_ARCHIVE_EXTRACTORS")
    with pytest.raises(RuntimeError, match="no download_utils._ARCHIVE_EXTRACTORS"):
        with tonic_private.extractors_replaced(mine):
            pass


@pytest.mark.parametrize("spec", TONIC_DATASETS, ids=lambda s: s.name)
def test_each_class_has_the_methods_an_offline_class_replaces(spec):
    import tonic.datasets as td

    cls = getattr(td, spec.layout.tonic_class)
    missing = [m for m in ("_check_exists",) if not callable(getattr(cls, m, None))]
    assert not missing, f"Tonic's {cls.__name__} has no {missing}: the frames stage cannot switch its download off"
    offline = tonic_private.offline(cls, lambda self, *a, **k: None, __name__)
    assert offline.__name__ == cls.__name__ and issubclass(offline, cls)
    assert offline._check_exists(object.__new__(offline)) is True
    assert inspect.getmro(offline)[1] is cls
