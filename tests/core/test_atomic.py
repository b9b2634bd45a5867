"""Writing under a temporary name then renaming: old content or all of the new, never part."""

import os

import pytest

from pipeline.core.atomic import atomic_path, write_json, write_text


def test_success_replaces_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "a" / "out.txt"
    write_text(path, "one")
    write_text(path, "two")
    assert path.read_text() == "two" and os.listdir(path.parent) == ["out.txt"]
    write_json(tmp_path / "m.json", {"x": 1})
    assert (tmp_path / "m.json").read_text() == '{\n  "x": 1\n}\n'


@pytest.mark.parametrize("error", [ValueError, KeyboardInterrupt])
def test_failure_keeps_the_old_content(tmp_path, error):
    path = tmp_path / "out.txt"
    path.write_text("old")
    with pytest.raises(error):
        with atomic_path(path) as tmp:
            tmp.write_text("half of the new")
            raise error()
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["out.txt"]


def test_folders_replace_a_folder_whole(tmp_path):
    out = tmp_path / "raw"
    (out / "old").mkdir(parents=True)
    (out / "old" / "f").write_text("x")
    with atomic_path(out) as tmp:
        (tmp / "new").mkdir(parents=True)
        (tmp / "new" / "g").write_text("y")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == ["new", "new/g"]
    assert os.listdir(tmp_path) == ["raw"]
    with pytest.raises(RuntimeError):
        with atomic_path(out) as tmp:
            tmp.mkdir()
            (tmp / "partial").write_text("z")
            raise RuntimeError
    assert (out / "new" / "g").read_text() == "y" and os.listdir(tmp_path) == ["raw"]


def test_nothing_written_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing was written"):
        with atomic_path(tmp_path / "x"):
            pass
    assert os.listdir(tmp_path) == []
