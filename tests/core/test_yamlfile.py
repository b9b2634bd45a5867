"""The YAML loader of params.yaml and dvc.lock (pipeline/core/yamlfile.py) against DVC's own.

DVC reads params.yaml with ruamel.yaml (YAML 1.2) and records what it read in dvc.lock and
`dvc params diff`; PyYAML (YAML 1.1), which read them here before, takes `010` for 8, `1:00` for
60 and `yes`/`off` for booleans. The reference in every test is DVC's parser
(``dvc.utils.serialize.parse_yaml``, what ``dvc.dependency.param`` loads a params file with),
never our own output.
"""

import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from dvc.utils.serialize import parse_yaml

from pipeline.core.errors import ParamsError, PipelineError
from pipeline.core.yamlfile import MAX_BYTES, MAX_INT_DIGITS, load, loads

ROOT = Path(__file__).resolve().parents[2]


def dvc_reads(text: str):
    """What DVC records for a params file holding ``text``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")        # ruamel's advice on floats under `%YAML 1.1`
        return parse_yaml(text, "params.yaml")


def assert_dvc_refuses_a_duplicate_key(text: str):
    from ruamel.yaml.constructor import DuplicateKeyError

    with pytest.raises(Exception) as e:
        dvc_reads(text)
    assert isinstance(e.value.__cause__, DuplicateKeyError), repr(e.value)


# plain scalars that YAML 1.1 and 1.2 (or PyYAML and ruamel) read differently, and some that they
# read alike; as values and as the document's only key
SCALARS = ["010", "-010", "08", "0777", "0o20", "0o_7", "1:00", "1:2:3", "190:20:30", "1:00.5", "1_6", "1__0", "0x_1",
           "1_000", "yes", "no", "on", "off", "Yes", "OFF", "y", "n", "true", "FALSE", "1e-3", "1e3", "+.5",
           "1e+3", ".inf", "-.inf", ".NaN", "~", "null", "0", "-0", "00", "+12", "0x10", "0b11", "0.1_0", "2001-12-14",
           "_1", "tRUE", "16"]


def test_every_scalar_is_read_as_dvc_reads_it():
    wrong = []
    for scalar in SCALARS:
        for text in (f"frames:\n  T: {scalar}\n", f"{scalar}: 1\n", f"%YAML 1.1\n---\nT: {scalar}\n"):
            theirs, ours = dvc_reads(text), loads(text, "params.yaml")
            if repr(ours) != repr(theirs):          # repr: True is not 1, 8 is not 8.0, nan is nan
                wrong.append(f"{text!r}: ours {ours!r}, DVC's {theirs!r}")
    assert not wrong, "\n".join(wrong)


def test_the_issues_examples_by_hand():
    """The values issue 24 names, as DVC records them (checked in dvc.lock by
    tests/end_to_end/test_dvc_pipeline.py), written out by hand."""
    read = lambda scalar: loads(f"frames:\n  T: {scalar}\n", "params.yaml")["frames"]["T"]
    assert read("010") == 10 and read("1:00") == "1:00" and read("1_6") == 16
    assert [read(s) for s in ("yes", "no", "on", "off")] == ["yes", "no", "on", "off"]


@pytest.mark.parametrize("text, key, lines", [
    ("frames:\n  T: 16\n  downsample: 4\n  T: 2\n", "frames.T", (2, 4)),
    ("frames:\n  T: 16\ntrain:\n  epochs: 3\nframes:\n  T: 2\n", "frames", (1, 5)),
    ("dataset: demo\nframes: {T: 4}\n'dataset': nmnist\n", "dataset", (1, 3)),       # quoted: the same key
    ("frames:\n  filters:\n  - denoise: {filter_time: 1, filter_time: 2}\n", "frames.filters[0].denoise.filter_time",
     (3, 3)),
], ids=["key", "section", "quoted", "nested"])
def test_a_duplicate_key_is_refused_naming_it_and_both_lines(text, key, lines):
    """PyYAML kept the last value (`T: 2`); DVC refuses the file."""
    assert_dvc_refuses_a_duplicate_key(text)
    with pytest.raises(ParamsError) as e:
        loads(text, "params.yaml")
    message = str(e.value)
    assert message.startswith(f"params.yaml: {key}: ") and "\n" not in message, message
    assert f"lines {lines[0]} and {lines[1]}" in message, message


def test_a_duplicate_key_of_another_spelling_is_one_line():
    """`1` and `0x1` are one key once read: refused (as DVC does) at the second, one line."""
    text = "frames:\n  1: a\n  0x1: b\n"
    assert_dvc_refuses_a_duplicate_key(text)
    with pytest.raises(ParamsError, match=r"^params\.yaml: not valid YAML here \(line 3, .*duplicate key"):
        loads(text, "params.yaml")


@pytest.mark.parametrize("text, key, digits", [
    ("frames:\n  T: " + "1" * 5000 + "\n", "frames.T", 5000),                    # past Python's 4,300
    ("train:\n  seed: " + "9" * (MAX_INT_DIGITS + 1) + "\n", "train.seed", MAX_INT_DIGITS + 1),
    ("train:\n  seed: -0x" + "f" * 40 + "\n", "train.seed", 40),
    ("frames:\n  filters:\n  - drop_pixel: {coordinates: [[1, " + "2" * 99 + "]]}\n",
     "frames.filters[0].drop_pixel.coordinates[0][1]", 99),
    ("train:\n  seed: !!int " + "1_" * 40 + "1\n", "train.seed", 41),
    ("frames:\n  " + "7" * 50 + ": 1\n", "frames", 50),                           # a key
], ids=["5000", "31", "hex", "nested", "tagged", "key"])
def test_an_integer_beyond_30_digits_is_refused_naming_its_key(text, key, digits):
    with pytest.raises(ParamsError) as e:
        loads(text, "params.yaml")
    message = str(e.value)
    assert message.startswith(f"params.yaml: {key}: ") and f"of {digits} digits" in message, message
    assert "\n" not in message and len(message) < 300


@pytest.mark.parametrize("text, what", [
    ("frames:\n  T: !!int x\n", r"line 2, column 6: the value cannot be read as tag:yaml.org,2002:int"),
    ("frames:\n  T: !!int ''\n", r"line 2, column 6: the value cannot be read as tag:yaml.org,2002:int"),
    ("frames:\n  T: !!bool x\n", r"line 2, column 6: the value cannot be read as tag:yaml.org,2002:bool"),
    ("frames:\n  T: !!float ''\n", r"line 2, column 6: the value cannot be read as tag:yaml.org,2002:float"),
    ("frames:\n  T: 2001-13-45\n", r"line 2, column 6: the value cannot be read as tag:yaml.org,2002:timestamp"),
    ("%YAML 1.3\n---\nframes:\n  T: 1\n", r"version minor part can only be 2 or 1"),
], ids=["int", "empty-int", "bool", "empty-float", "date", "yaml-1.3"])
def test_a_value_its_tag_cannot_hold_is_one_line(text, what):
    """DVC's parser ends these with a Python exception (ValueError, KeyError, IndexError,
    AssertionError); ours names the file and the line."""
    with pytest.raises((ValueError, KeyError, IndexError, AssertionError)):
        dvc_reads(text)
    with pytest.raises(ParamsError) as e:
        loads(text, "params.yaml")
    assert str(e.value).startswith("params.yaml: not valid YAML here (") and "\n" not in str(e.value)
    assert re.search(what, str(e.value)), str(e.value)


def test_files_larger_than_the_bound_are_refused_unread(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("frames:\n  T: 16\n" + ("#" * 79 + "\n") * (MAX_BYTES // 80 + 1))
    assert path.stat().st_size > MAX_BYTES == 1 << 20
    with pytest.raises(ParamsError, match=rf"^{re.escape(str(path))}: more than 1 MiB"):
        load(path)
    path.write_text("frames:\n  T: 16\n" + "#" * (MAX_BYTES - 20) + "\n")
    assert load(path) == {"frames": {"T": 16}}


def test_only_regular_files_are_read(tmp_path):
    """A FIFO blocked the reader until a writer came (forever); /dev/zero was read until memory
    ran out. Both are refused by their kind, in one line, before a byte is read."""
    fifo = tmp_path / "params.yaml"
    os.mkfifo(fifo)
    code = ("import sys\nfrom pipeline.core.yamlfile import load\nfrom pipeline.core.errors import PipelineError\n"
            "for p in sys.argv[1:]:\n    try:\n        load(p, PipelineError)\n"
            "    except PipelineError as e:\n        print(e)\n")
    r = subprocess.run([sys.executable, "-c", code, str(fifo), "/dev/zero", str(tmp_path)], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.splitlines() == [f"{fifo}: a FIFO (named pipe), not a regular file (a YAML file here must be one)",
                                     "/dev/zero: a character device, not a regular file (a YAML file here must be one)",
                                     f"{tmp_path}: a folder, not a regular file (a YAML file here must be one)"]
    with pytest.raises(PipelineError, match="cannot read it"):
        load(tmp_path / "missing.yaml", PipelineError)
