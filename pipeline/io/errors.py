"""The readers' exceptions (defined with the pipeline's other expected errors)."""

from ..core.errors import AedatFormatError, EventFormatError

__all__ = ["AedatFormatError", "EventFormatError"]
