"""What a path is, in the words every refusal uses: ``a folder``, ``a FIFO (named pipe)``, ...

One table for every edge that refuses what is not a regular file (params and YAML files,
outputs written in place), so a FIFO is called the same thing wherever it is refused.
"""

from __future__ import annotations

import stat

#: ``(stat mode test, name)`` for each kind of thing a path can be
KINDS = ((stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
         (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
         (stat.S_ISLNK, "a symbolic link"))


def file_kind(mode: int) -> str:
    """The name of what ``mode`` (an ``os.stat`` result's ``st_mode``) describes."""
    return next((name for test, name in KINDS if test(mode)), "an unknown kind of file")
