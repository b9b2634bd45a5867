"""Flip bytes of a frames file one at a time and read it as training and ``info`` do (a subprocess).

    python tests/helpers/byteflip_worker.py ORIGINAL REFERENCE.json OUTDIR FIRST LAST

For each byte offset in [FIRST, LAST), the byte is xor-ed with 0xFF in a copy written to
OUTDIR, and the copy is read: :class:`pipeline.train.data.H5Frames` (metadata, labels, every
sample) and :func:`pipeline.cli.info.describe`. Each outcome is one line, flushed:
``start OFFSET`` before the read (so a hang or a crash names its offset), then
``OFFSET same`` (everything read equals the reference), ``OFFSET refused`` (a
DamagedFileError or another one-line PipelineError), ``OFFSET changed WHAT`` (read without
error but different: a silent change) or ``OFFSET error TYPE: MESSAGE`` (any other
exception: a traceback a user would see).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from pipeline.train.data import H5Frames
from pipeline.core.errors import PipelineError
from pipeline.cli.info import describe


def snapshot(path: Path) -> dict:
    """What the readers give for ``path``: metadata, labels, a digest of every sample, info's text."""
    data = H5Frames(path)
    frames = hashlib.sha256()
    for i in range(len(data)):
        x, _ = data[i]
        frames.update(x.numpy().tobytes())
    text = describe(path)
    return {"attrs": data.attrs, "labels": data.labels.tolist(), "shape": list(data.frame_shape),
            "dtype": str(data.dtype), "frames": frames.hexdigest(),
            "info": text.split("\n", 1)[1]}       # the first line names the file and its size


def main(argv) -> int:
    original, reference, outdir, first, last = Path(argv[0]), Path(argv[1]), Path(argv[2]), int(argv[3]), int(argv[4])
    good = original.read_bytes()
    ref = json.loads(reference.read_text())
    for offset in range(first, min(last, len(good))):
        path = outdir / f"flip{offset}.h5"
        path.write_bytes(good[:offset] + bytes([good[offset] ^ 0xFF]) + good[offset + 1:])
        print(f"start {offset}", flush=True)
        try:
            got = snapshot(path)
        except PipelineError as e:
            outcome = "refused" if "\n" not in str(e) else f"error multi-line {type(e).__name__}"
        except Exception as e:  # noqa: BLE001 - what the sweep looks for
            outcome = f"error {type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''}"
        else:
            diff = [k for k in ref if got[k] != ref[k]]
            outcome = "same" if not diff else f"changed {','.join(diff)}"
        print(f"{offset} {outcome}", flush=True)
        path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
