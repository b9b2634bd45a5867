"""Safe .zip extraction (the tar cases are in test_download.py) and the format dispatch."""

import io
import stat
import tarfile
import zipfile

import pytest

from pipeline.errors import DownloadError
from pipeline.unpack import extract


def make_zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            if mode is not None:
                info.external_attr = mode << 16
            zf.writestr(info, data)
    return path


def test_zip_and_tar_dispatch(tmp_path):
    z = make_zip(tmp_path / "a.zip", [("Train/0/00002.bin", b"abc", None), ("Train/1/x.bin", b"d" * 1000, None)])
    out = extract(z, tmp_path / "z")
    assert (out / "Train/0/00002.bin").read_bytes() == b"abc"
    assert (out / "Train/1/x.bin").read_bytes() == b"d" * 1000
    t = tmp_path / "b.tar.gz"
    with tarfile.open(t, "w:gz") as tf:
        info = tarfile.TarInfo("top/f.txt")
        info.size = 2
        tf.addfile(info, io.BytesIO(b"hi"))
    assert (extract(t, tmp_path / "t") / "top/f.txt").read_text() == "hi"


@pytest.mark.parametrize("name,mode,msg", [
    ("/etc/evil", None, "absolute path"),
    ("ok/../../evil", None, "'..'"),
    ("C:/evil", None, "absolute path"),
    ("link", stat.S_IFLNK | 0o777, "link or device"),
])
def test_unsafe_zip_members(tmp_path, name, mode, msg):
    z = make_zip(tmp_path / "a.zip", [("fine.txt", b"1", None), (name, b"/etc/passwd", mode)])
    with pytest.raises(DownloadError, match=msg) as e:
        extract(z, tmp_path / "out")
    assert "a.zip" in str(e.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zip"]


def test_corrupt_and_truncated_zip(tmp_path):
    z = make_zip(tmp_path / "a.zip", [("f.bin", bytes(range(256)) * 40, None)])
    raw = bytearray(z.read_bytes())
    i = raw.index(b"PK\x03\x04") + 30 + len("f.bin") + 5   # inside the compressed data
    raw[i] ^= 0xFF
    z.write_bytes(bytes(raw))
    with pytest.raises(DownloadError, match="corrupt or truncated"):
        extract(z, tmp_path / "out")
    z2 = make_zip(tmp_path / "b.zip", [("f.bin", b"x" * 5000, None)])
    z2.write_bytes(z2.read_bytes()[:-30])                   # central directory cut: not a zip any more
    with pytest.raises(DownloadError, match="b.zip"):
        extract(z2, tmp_path / "out2")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zip", "b.zip"]
