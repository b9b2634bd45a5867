"""Run a script as ``__main__`` and SIGKILL this process when it reads sample N+1 of a train.h5.

    python tests/helpers/kill_after.py N stages/train.py

A real kill, at a chosen point of a chosen epoch: nothing is flushed, nothing cleaned up.
"""

import os
import runpy
import signal
import sys

from pipeline.train.data import H5Frames

limit, reads = int(sys.argv[1]), 0
read = H5Frames.__getitem__


def counting_read(self, i):
    global reads
    if self.path.name == "train.h5":
        reads += 1
        if reads > limit:
            os.kill(os.getpid(), signal.SIGKILL)
    return read(self, i)


H5Frames.__getitem__ = counting_read
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
