"""Safe .zip extraction, links, compression bombs (more tar cases are in test_download.py)
and the format dispatch."""

import io
import os
import posixpath
import re
import stat
import tarfile
import time
import zipfile

import pytest

from pipeline.download import unpack
from pipeline.core.errors import DownloadError
from pipeline.download.unpack import extract


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


# --------------------------------------------------------------------------------------------
# links: refused before anything is written
# --------------------------------------------------------------------------------------------


@pytest.fixture
def extractions(monkeypatch):
    """Names of the tarfile / zipfile extraction calls made (each writes files)."""
    calls = []
    for cls in (tarfile.TarFile, zipfile.ZipFile):
        for name in ("extract", "extractall"):
            real = getattr(cls, name)

            def spy(self, *args, _real=real, _name=f"{cls.__name__}.{name}", **kw):
                calls.append(_name)
                return _real(self, *args, **kw)

            monkeypatch.setattr(cls, name, spy)
    return calls


def tar_entry(name, kind=tarfile.REGTYPE, data=b"", linkname=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, data


def write_tar(path, entries, mode="w"):
    with tarfile.open(path, mode) as tf:
        for info, data in entries:
            tf.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def cve_2025_4517_entries(victim_name: str):
    """The published shape of CVE-2025-4517: symlinks a..p each point to a 247-character
    directory, so ``a/b/.../p`` resolves to a path near PATH_MAX; past it ``os.path.realpath``
    stops resolving and ``filter="data"`` (Python 3.11.7) believes ``escape`` stays inside,
    while the kernel follows it to the parent of the target. A hard link through it then
    reaches ``victim_name`` there, and a regular member of the same name overwrites it."""
    comp, steps, path, entries = "d" * 247, "abcdefghijklmnop", "", []
    for step in steps:
        entries.append(tar_entry(posixpath.join(path, comp), tarfile.DIRTYPE))
        entries.append(tar_entry(posixpath.join(path, step), tarfile.SYMTYPE, linkname=comp))
        path = posixpath.join(path, comp)
    deep = posixpath.join(*steps, "l" * 254)
    entries.append(tar_entry(deep, tarfile.SYMTYPE, linkname="../" * len(steps)))
    entries.append(tar_entry("escape", tarfile.SYMTYPE, linkname=deep + "/.."))
    entries.append(tar_entry("flaglink", tarfile.LNKTYPE, linkname=f"escape/{victim_name}"))
    entries.append(tar_entry("flaglink", data=b"pwned"))
    return entries


def test_tar_cve_2025_4517_hardlink_escape_is_refused(tmp_path, extractions):
    victim = tmp_path / "victim.txt"
    victim.write_text("original")
    archive = write_tar(tmp_path / "a.tar", cve_2025_4517_entries(victim.name))
    with pytest.raises(DownloadError, match="unsafe member 'a' in .*a.tar: symbolic link"):
        extract(archive, tmp_path / "out")
    assert victim.read_text() == "original"                                 # nothing outside
    assert sorted(os.listdir(tmp_path)) == ["a.tar", "victim.txt"]          # nor inside
    assert extractions == []                                                # nor ever started


@pytest.mark.parametrize("kind, linkname, reason", [
    (tarfile.LNKTYPE, "data/x.bin", "hard link to 'data/x.bin': links are refused"),
    (tarfile.LNKTYPE, "{victim}", "link to absolute path"),
    (tarfile.LNKTYPE, "data/../../victim.txt", "link target .* leaves the extraction directory"),
    (tarfile.LNKTYPE, "escape/victim.txt", "hard link to 'escape/victim.txt': links are refused"),
    (tarfile.SYMTYPE, "x.bin", "symbolic link to 'x.bin': links are refused"),
])
def test_tar_link_members_are_refused_before_writing(tmp_path, extractions, kind, linkname, reason):
    victim = tmp_path / "victim.txt"
    victim.write_text("original")
    archive = write_tar(tmp_path / "a.tar.gz", [
        tar_entry("data", tarfile.DIRTYPE),
        tar_entry("data/x.bin", data=b"x" * 1000),
        tar_entry("data/link", kind, linkname=linkname.format(victim=victim)),
        tar_entry("data/link", data=b"pwned"),
    ], mode="w:gz")
    with pytest.raises(DownloadError, match=reason) as e:
        extract(archive, tmp_path / "out")
    assert "'data/link'" in str(e.value) and "a.tar.gz" in str(e.value)
    assert victim.read_text() == "original"
    assert sorted(os.listdir(tmp_path)) == ["a.tar.gz", "victim.txt"]
    assert extractions == []  # refused from the index, before the first member was written


def test_zip_symlink_is_refused_before_writing(tmp_path, extractions):
    z = make_zip(tmp_path / "a.zip", [("data/x.bin", b"1", None),
                                      ("data/link", b"x.bin", stat.S_IFLNK | 0o777)])
    with pytest.raises(DownloadError, match="'data/link' in .*a.zip: .*link"):
        extract(z, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zip"]
    assert extractions == []


# --------------------------------------------------------------------------------------------
# compression bombs and size caps: refused from the declared sizes, before writing
# --------------------------------------------------------------------------------------------

BOMB = 64 << 20  # zeros: compresses ~230:1 at level 1


def zero_tar_gz(path, nbytes):
    with tarfile.open(path, "w:gz", compresslevel=1) as tf:
        info = tarfile.TarInfo("zeros.bin")
        info.size = nbytes
        tf.addfile(info, io.BytesIO(bytes(nbytes)))
    return path


def zero_zip(path, nbytes):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("zeros.bin", bytes(nbytes))
    return path


@pytest.mark.parametrize("make, name", [(zero_tar_gz, "bomb.tar.gz"), (zero_zip, "bomb.zip")])
def test_compression_bomb_is_refused(tmp_path, extractions, make, name):
    archive = make(tmp_path / name, BOMB)
    assert BOMB / archive.stat().st_size > 200                   # unpack.MAX_RATIO is 100
    t0 = time.monotonic()
    with pytest.raises(DownloadError, match=r"compression ratio over 100:1") as e:
        extract(archive, tmp_path / "out")
    assert time.monotonic() - t0 < 2
    msg = str(e.value)
    assert name in msg and "'zeros.bin'" in msg
    assert BOMB <= int(re.search(r"declare (\d+) bytes", msg)[1]) <= BOMB + 512   # + a tar header
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]   # no 64 MB file appeared
    assert extractions == []


@pytest.mark.parametrize("make, name", [(zero_tar_gz, "small.tar.gz"), (zero_zip, "small.zip")])
def test_small_compressible_archive_is_fine(tmp_path, make, name):
    # 512 KiB of zeros compress ~500:1, but stay under the floor every archive may unpack to.
    archive = make(tmp_path / name, 512 << 10)
    assert (extract(archive, tmp_path / "out") / "zeros.bin").stat().st_size == 512 << 10


def test_total_size_cap(tmp_path, extractions, monkeypatch):
    monkeypatch.setattr(unpack, "MAX_TOTAL", 1 << 20, raising=False)   # (absent before the cap)
    data = os.urandom(3 << 19)                      # 1.5 MiB, incompressible: ratio ~1
    t = write_tar(tmp_path / "big.tar", [tar_entry("r.bin", data=data)])
    with pytest.raises(DownloadError, match=r"big.tar.*more than the 1048576-byte limit"):
        extract(t, tmp_path / "t")
    z = make_zip(tmp_path / "big.zip", [("r.bin", data, None)])
    with pytest.raises(DownloadError, match=r"big.zip.*more than the 1048576-byte limit"):
        extract(z, tmp_path / "z")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.tar", "big.zip"]
    assert extractions == []
