"""Expected errors, and how stage scripts and the CLI report them.

An expected error is bad input, not a bug: a missing or corrupt file, a bad param, a layout
that does not match the dataset, a download that failed. Each is a :class:`PipelineError`
whose message names the file (and the sample, event index or byte offset, where known) and
says what is wrong. :func:`report_errors` prints that message on one line and exits with
status 1, without a traceback; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager


class PipelineError(Exception):
    """Bad input or a failed external step; the message says which file and what is wrong."""


class ParamsError(PipelineError, ValueError):
    """params.yaml has a missing, unknown or out-of-range value."""


class LayoutError(PipelineError, ValueError):
    """A dataset's files are missing or not laid out as the dataset says; names the file."""


class EventFormatError(PipelineError, ValueError):
    """A file does not follow the event format it claims (or that was asked for).

    Messages name the file and, where one is known, the byte offset of the problem.
    """


class AedatFormatError(EventFormatError):
    """An AEDAT file (2.0 jAER, 3.1 or 4.0) is malformed; the message names file and byte offset."""


class ImageFormatError(PipelineError, ValueError):
    """An image file (MNIST idx, CIFAR-10 batch pickle) is malformed; names the file and,
    where known, the byte offset."""


class FilterError(PipelineError, ValueError):
    """Events an event filter cannot take (pipeline.frames.filters): not an EVENT_DTYPE array, a pixel
    outside the sensor, a timestamp the filter's arithmetic cannot hold; names the filter and the event.
    (A bad filter *list* in params is a :class:`ParamsError`.)"""


class DownloadError(PipelineError, RuntimeError):
    """A file could not be downloaded, verified or extracted; the message says why and where."""


class DamagedFileError(PipelineError, OSError):
    """A stored file fails its checksum or cannot be decoded; names the file and the sample."""


class OutputPathError(PipelineError, ValueError):
    """A path the pipeline will not write to: empty, a FIFO, a device or socket (renaming over it
    would replace it), a folder where a file goes or the reverse, or under something that is not
    a folder (:func:`pipeline.core.atomic.check_target`); names the path and what it is."""


def one_line(message: str) -> str:
    """``message`` with its lines joined by ``; `` (stage errors print on one line)."""
    return "; ".join(part.strip() for part in str(message).splitlines() if part.strip())


@contextmanager
def report_errors(prog: str):
    """Run the body; a :class:`PipelineError` or an ``OSError`` (a full disk, a file that cannot
    be read or written) becomes ``prog: error: <message>`` on stderr and exit status 1, Ctrl-C
    exit status 130. Anything else is a bug and propagates with its traceback."""
    try:
        yield
    except (PipelineError, OSError) as e:
        print(f"{prog}: error: {one_line(e)}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        sys.exit(130)
