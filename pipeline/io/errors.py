"""The readers' exceptions (defined with the pipeline's other expected errors)."""

from ..errors import AedatFormatError, EventFormatError

__all__ = ["AedatFormatError", "EventFormatError"]
