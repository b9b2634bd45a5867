"""Every reader against seeded mutations of valid files, and the crashes they once found.

Each mutation loop runs in a subprocess (tests/helpers/fuzz_readers_worker.py): a reader that
segfaults or aborts kills that process, not pytest, and the test fails naming the signal
and the mutation. A read must return a 1-D EVENT_DTYPE array or raise EventFormatError.
``PIPELINE_FUZZ_SCALE=N`` multiplies the number of mutations (and varies the seeds) for a
longer run by hand.
"""

import json
import os
import signal
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT
from pipeline.download.demo.aedat3_write import write_aedat3
from pipeline.core.events import make_events

HELPERS = ROOT / "tests" / "helpers"
WORKER = HELPERS / "fuzz_readers_worker.py"
SCALE = int(os.environ.get("PIPELINE_FUZZ_SCALE", "1"))
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(HELPERS)]), "RUST_BACKTRACE": "0"}

JAER = ["aedat2_jaer/dvs128/alex_walking_again.aedat", "aedat2_jaer/davis240c/IMU_translBoxes.aedat",
        "aedat2_jaer/davis346red_header_only/sample_aedat_header.aedat"]
NMNIST = ["nmnist/tonic/sample_nmnist.bin"] + [
    f"nmnist/slayerPytorch_NMNISTsmall/{n}.bs2" for n in (1, 2, 3, 4, 5, 6, 8, 60001)]
AEDAT4 = ["aedat4/sample.aedat4"]


def died(proc: subprocess.CompletedProcess) -> str | None:
    """``"SIGSEGV"`` (etc.) when the child was killed by a signal, else None."""
    if proc.returncode < 0:
        try:
            return signal.Signals(-proc.returncode).name
        except ValueError:
            return f"signal {-proc.returncode}"
    return None


def run_isolated(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter; fail (not crash) this test if it dies by a signal."""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, env=ENV, cwd=ROOT)
    sig = died(proc)
    if sig:
        pytest.fail(f"the reader killed its process with {sig}; stderr tail:\n{proc.stderr[-2000:]}")
    return proc


def fuzz(reader: str, seed: int, count: int, sources, tmp_path: Path) -> dict:
    cmd = [sys.executable, str(WORKER), reader, str(seed * SCALE), str(count * SCALE),
           str(tmp_path / "cases"), *map(str, sources)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300 * SCALE, env=ENV, cwd=ROOT)
    lines = proc.stdout.splitlines()
    sig = died(proc)
    if sig:
        last = next((line for line in reversed(lines) if line.startswith("case ")), "before the first case")
        pytest.fail(f"read_{reader} crashed the process with {sig} on {last}\n"
                    f"(rerun: {' '.join(cmd)})\nstderr tail:\n{proc.stderr[-2000:]}")
    failures = [line for line in lines if line.startswith("FAIL")]
    assert proc.returncode == 0 and not failures, (
        f"read_{reader}: {len(failures)} mutations gave another exception or a bad array:\n"
        + "\n".join(failures[:10]) + f"\nstdout tail:\n{proc.stdout[-3000:]}\nstderr tail:\n{proc.stderr[-2000:]}")
    stats = json.loads(lines[-1])
    assert stats["cases"] == count * SCALE
    # both outcomes occur, so the loop really exercises decoding as well as rejection
    assert stats["events"] > 0 and stats["format_errors"] > 0, stats
    return stats


def demo_aedat3(path: Path) -> Path:
    """An AEDAT 3.1 file from the demo writer: 3000 events in 97-event packets across a
    2**31 µs timestamp overflow, after the writer's special-event packet."""
    rng = np.random.default_rng(7)
    n = 3000
    t = np.sort(rng.integers(2**31 - 400_000, 2**31 + 400_000, n))
    write_aedat3(path, make_events(t, rng.integers(0, 128, n), rng.integers(0, 128, n),
                                   rng.integers(0, 2, n)), packet_events=97)
    return path


# --------------------------------------------------------------------------- fuzzing

def test_fuzz_aedat3_demo_file(tmp_path):
    fuzz("aedat3", 31, 1000, [demo_aedat3(tmp_path / "demo.aedat")], tmp_path)


def test_fuzz_jaer_real_files(tmp_path, real):
    fuzz("jaer", 20, 500, [real(f) for f in JAER], tmp_path)


def test_fuzz_nmnist_real_files(tmp_path, real):
    fuzz("nmnist", 5, 500, [real(f) for f in NMNIST], tmp_path)


def test_fuzz_aedat4_real_file(tmp_path, real):
    fuzz("aedat4", 4, 600, [real(f) for f in AEDAT4], tmp_path)


# --------------------------------------------------------------------------- crash regressions

ISSUE_HEADER = b"#!AER-DAT3.1\r\n#!END-HEADER\r\n"


def test_issue_example_wrapped_packet_size_is_a_format_error(tmp_path):
    """The issue's file: eventSize and eventCapacity/eventNumber 2**32-1 (their product wraps)."""
    path = tmp_path / "wrap.aedat"
    path.write_bytes(ISSUE_HEADER + struct.pack("<HHIIIIII", 2, 1, 2**32 - 1, 4, 0, 2**32 - 1, 2**32 - 1, 0))
    proc = run_isolated(
        "import sys\n"
        "from pipeline.io import AedatFormatError, read_aedat3\n"
        "try:\n"
        f"    ev = read_aedat3({str(path)!r})\n"
        "except AedatFormatError as e:\n"
        "    print('AedatFormatError:', e)\n"
        "else:\n"
        "    print('returned', ev.size, 'events')\n")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.strip()
    assert out.startswith("AedatFormatError:"), out
    assert "wrap.aedat" in out and "byte offset 28" in out and "past the end" in out, out


@pytest.mark.parametrize("fields", [
    # (type, source, size, tsOffset, tsOverflow, capacity, number, valid)
    (2, 1, 2**32 - 1, 4, 0, 2**32 - 1, 2**31 + 1, 0),     # product >= 2**63: negative as int64
    (7, 1, 2**32 - 8, 0, 0, 2**32 - 1, 2**32 - 1, 2**32 - 1),
    (1, 1, 8, 4, 0, 2**32 - 1, 2**32 - 1, 2**32 - 1),      # polarity: 2**35 bytes announced
    (5, 1, 2**31, 0, 0, 2, 2, 0),                          # 2**32: wraps to 0 in u32
])
def test_huge_packet_fields_after_a_valid_packet(tmp_path, fields):
    valid = struct.pack("<HHIIIIII", 1, 1, 8, 4, 0, 1, 1, 1) + struct.pack("<II", (5 << 17) | (6 << 2) | 3, 42)
    path = tmp_path / "huge.aedat"
    path.write_bytes(ISSUE_HEADER + valid + struct.pack("<HHIIIIII", *fields) + b"\0" * 64)
    proc = run_isolated(
        "from pipeline.io import AedatFormatError, read_aedat3\n"
        "try:\n"
        f"    read_aedat3({str(path)!r})\n"
        "except AedatFormatError as e:\n"
        "    print(e)\n")
    assert proc.returncode == 0, proc.stderr
    assert f"byte offset {len(ISSUE_HEADER) + 36}" in proc.stdout, proc.stdout    # the second packet


def test_aedat4_non_utf8_description_is_a_format_error(tmp_path, real):
    """A bad byte in the real file's DV XML once aborted the process from inside the decoder."""
    data = bytearray(real(AEDAT4[0]).read_bytes())
    at = data.index(b"<node name=\"outInfo\"") + 2           # '<n' + 0xE7 'P' + 'de name=...'
    data[at:at + 2] = b"\xe7P"
    path = tmp_path / "bad_xml.aedat4"
    path.write_bytes(bytes(data))
    proc = run_isolated(
        "from pipeline.io import AedatFormatError, read_aedat4\n"
        "try:\n"
        f"    read_aedat4({str(path)!r})\n"
        "except AedatFormatError as e:\n"
        "    print(e)\n")
    assert proc.returncode == 0, proc.stderr
    assert "bad_xml.aedat4" in proc.stdout and "UTF-8" in proc.stdout, proc.stdout
    assert f"byte offset {at}" in proc.stdout, proc.stdout
