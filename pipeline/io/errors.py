"""Exceptions shared by the event-file readers."""


class EventFormatError(ValueError):
    """A file does not follow the event format it claims (or that was asked for).

    Messages name the file and, where one is known, the byte offset of the problem.
    """


class AedatFormatError(EventFormatError):
    """An AEDAT file (2.0 jAER, 3.1 or 4.0) is malformed; the message names file and byte offset."""
