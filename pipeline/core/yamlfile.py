"""YAML files the pipeline reads (``params.yaml``, ``dvc.lock``, experiments' params), bounded.

YAML anchors and aliases let 600 bytes expand into 9**9 values: ``safe_load`` builds them all
(minutes, gigabytes) before anything can look at the result. None of these files needs an
alias, so :func:`load` refuses the first one, and any collection nested deeper than
:data:`MAX_DEPTH`, while parsing, before a value is built. Errors are :class:`ParamsError` or
the caller's class, one line naming the file and the line.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from .errors import ParamsError

MAX_DEPTH = 64            # collections within collections
MAX_BYTES = 16 << 20      # no params or lock file comes near this


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses aliases and deep nesting while composing (before constructing)."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "an alias (*name): YAML anchors and aliases are "
                                              "not allowed here", event.start_mark)
        if self.check_event(yaml.SequenceStartEvent) or self.check_event(yaml.MappingStartEvent):
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"collections nested more than {MAX_DEPTH} deep",
                                                  self.peek_event().start_mark)
            try:
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1
        return super().compose_node(parent, index)


def _where(e: yaml.YAMLError) -> str:
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"{at}{problem}"[:300]


def loads(text: str, where: str, error=ParamsError):
    """The YAML document ``text`` (from ``where``), or ``error`` in one line."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as e:
        raise error(f"{where}: not valid YAML here ({_where(e)})") from None
    except RecursionError:
        raise error(f"{where}: not valid YAML here (nested too deep)") from None


def load(path: str | Path, error=ParamsError):
    """The YAML document in ``path``, or ``error`` (a PipelineError class) in one line naming it."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise error(f"{path}: {size} bytes, more than the {MAX_BYTES >> 20} MiB a YAML file here may have")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise error(f"{path}: not UTF-8 text (byte {e.start})") from None
    except OSError as e:
        raise error(f"{path}: cannot read it ({e.strerror or e})") from None
    return loads(text, str(path), error)


def shown(value, width: int = 200) -> str:
    """``repr(value)`` cut to ``width`` characters, without building a larger one first where it
    can be helped (a value from a hostile file can be huge or deeply nested)."""
    if isinstance(value, (list, tuple, dict, set)):
        return f"a {type(value).__name__} of {len(value)} item(s)"
    if isinstance(value, str) and len(value) > width:
        value = value[:width]
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return f"an int of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= width else text[:width] + "..."
