"""YAML files the pipeline reads (``params.yaml``, ``dvc.lock``, experiments' params), bounded,
and read as DVC reads them.

DVC reads these files with ruamel.yaml (``YAML(typ="safe")``: YAML 1.2 unless the file has a
``%YAML 1.1`` directive). PyYAML reads YAML 1.1, where ``T: 010`` is 8 (octal), ``1:00`` is 60
(base 60) and ``yes``/``off`` are booleans; DVC records 10, ``"1:00"`` and the strings in
``dvc.lock`` and ``dvc params diff``. So :func:`load` uses the same library, loader type and
version rules as DVC (the pure-Python parser), and every value it returns is the one DVC
records for the same file (``tests/core/test_yamlfile.py`` compares them with DVC's own loader).

On top of DVC's rules, while composing, before a value is built:

- no anchors' aliases: 600 bytes of them expand into 9**9 values (minutes, gigabytes);
- collections nested at most :data:`MAX_DEPTH` deep;
- no key twice in one mapping (DVC refuses such a file too; the message names the key and
  both lines);
- integers of at most :data:`MAX_INT_DIGITS` digits (Python refuses to convert more than
  4,300 and no param needs more than 20);
- files: regular files only (a FIFO would block, ``/dev/zero`` never ends), at most
  :data:`MAX_BYTES`, never more read than that.

Errors are :class:`ParamsError` or the caller's class, one line naming the file, the line and,
where there is one, the key.
"""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer, ComposerError
from ruamel.yaml.constructor import ConstructorError, SafeConstructor
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import AliasEvent, MappingStartEvent, SequenceStartEvent
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

from .errors import ParamsError
from .filekind import file_kind

MAX_DEPTH = 64            # collections within collections
MAX_BYTES = 1 << 20       # no params or lock file comes near this (the demo's params.yaml: 4 KB)
MAX_INT_DIGITS = 30       # the largest param (download.max_bytes, a seed) needs 20

_INT = "tag:yaml.org,2002:int"
_STR = "tag:yaml.org,2002:str"


class _Refused(Exception):
    """Valid YAML that these files may not hold; the message names the key and the line."""


def _key(text: str) -> str:
    """A key as a message shows it: as written when it is plain text, else quoted (a key can
    hold a line break or a control character), at most 60 characters."""
    text = text[:60]
    return text if text.isprintable() and text.strip() == text and text else repr(text)


def dotted(path) -> str:
    """``["frames", "filters", 0, "denoise"]`` as ``frames.filters[0].denoise``."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else f".{step}" if text else str(step)
    return text or "(top level)"


class _Composer(Composer):
    """ruamel's composer that refuses aliases, deep nesting, duplicate keys and huge integers,
    and keeps the path of keys to the node it composes (for messages)."""

    def __init__(self, loader=None):
        super().__init__(loader)
        self.warn_double_anchors = False        # an anchor alone is harmless; no warning on stderr
        self._path: list = []
        self._nesting = 0

    def compose_node(self, parent, index):
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            raise ComposerError(None, None, "an alias (*name): YAML anchors and aliases are not allowed here",
                                event.start_mark)
        nested = isinstance(event, (SequenceStartEvent, MappingStartEvent))
        if nested and self._nesting >= MAX_DEPTH:
            raise ComposerError(None, None, f"collections nested more than {MAX_DEPTH} deep", event.start_mark)
        step = None
        if isinstance(parent, SequenceNode):
            step = index
        elif isinstance(parent, MappingNode):   # index: the key node of this value, None for a key
            step = ("(a key)" if index is None else
                    _key(index.value) if isinstance(index, ScalarNode) else "(a complex key)")
        self._nesting += nested
        if parent is not None:
            self._path.append(step)
        try:
            node = super().compose_node(parent, index)
            if isinstance(node, ScalarNode) and node.tag == _INT:
                self._check_int(node, isinstance(parent, MappingNode) and index is None)
        finally:
            self._nesting -= nested
            if parent is not None:
                self._path.pop()
        return node

    def _check_int(self, node: ScalarNode, is_key: bool) -> None:
        text = node.value.replace("_", "").lstrip("+-")
        if text[:2].lower() in ("0x", "0o", "0b"):
            text = text[2:]
        digits = sum(ch.isalnum() for ch in text)       # base 60 (`%YAML 1.1`): the colons are not
        if digits > MAX_INT_DIGITS:
            where = dotted(self._path[:-1] if is_key else self._path)
            what = "a key that is an integer" if is_key else "an integer"
            raise _Refused(f"{where}: {what} of {digits} digits (line {node.start_mark.line + 1}); "
                           f"at most {MAX_INT_DIGITS} are allowed")

    def compose_mapping_node(self, anchor):
        node = super().compose_mapping_node(anchor)
        seen: dict = {}
        for key, _ in node.value:
            if not isinstance(key, ScalarNode):
                continue
            # `T` and `"T"` are one key; other tags (`1` and `0x1`) are left to the constructor
            ident = key.value if key.tag == _STR else (key.tag, key.value)
            line = key.start_mark.line + 1
            if ident in seen:
                raise _Refused(f"{dotted(self._path + [_key(key.value)])}: the key is given twice (lines "
                               f"{seen[ident]} and {line}); DVC refuses a file with a duplicate key: keep one")
            seen[ident] = line
        return node


class _Constructor(SafeConstructor):
    """ruamel's safe constructor, whose own failures on a value its tag cannot hold (``!!int x``,
    ``2001-13-45``, ``!!bool x``: ValueError, KeyError, IndexError, with a traceback in DVC too)
    are errors naming the line."""

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, KeyError, IndexError, TypeError, OverflowError) as e:
            what = f"{type(e).__name__}: {e}" if isinstance(e, KeyError) else str(e)
            raise ConstructorError(None, None, f"the value cannot be read as {node.tag} ({what[:100]})",
                                   node.start_mark) from None


def _yaml() -> YAML:
    """A loader as DVC's (``dvc.utils.serialize.parse_yaml``: ``YAML(typ="safe")``, so YAML 1.2
    unless a ``%YAML 1.1`` directive says otherwise), pure Python, with the limits above."""
    yaml = YAML(typ="safe", pure=True)
    yaml.Composer = _Composer
    yaml.Constructor = _Constructor
    return yaml


def _where(e: YAMLError) -> str:
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e).strip().splitlines()[0]
    at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return " ".join(f"{at}{problem}".split())[:300]


def loads(text: str, where: str, error=ParamsError):
    """The YAML document ``text`` (from ``where``), or ``error`` in one line."""
    try:
        with warnings.catch_warnings():          # ruamel warns on stderr, in several lines, about
            warnings.simplefilter("ignore")      # a float without a dot under `%YAML 1.1`, ...
            return _yaml().load(text)
    except _Refused as e:
        raise error(f"{where}: {e}") from None
    except YAMLError as e:
        raise error(f"{where}: not valid YAML here ({_where(e)})") from None
    except RecursionError:
        raise error(f"{where}: not valid YAML here (nested too deep)") from None
    except AssertionError as e:                  # ruamel's check of a %YAML directive (`%YAML 1.3`)
        raise error(f"{where}: not valid YAML here ({' '.join(str(e).split())[:200]})") from None


def _not_regular(mode: int) -> str | None:
    return None if stat.S_ISREG(mode) else file_kind(mode)


def read_bounded(path: str | Path, error=ParamsError, limit: int = MAX_BYTES) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them, else ``error`` in one
    line. Never blocks (a FIFO is refused, opened without waiting for a writer) and never reads
    more than ``limit + 1`` bytes (``/dev/zero``, a file that grows)."""
    path = Path(path)
    try:
        kind = _not_regular(os.stat(path).st_mode)    # devices are not even opened
        if kind is None:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
            with os.fdopen(fd, "rb", buffering=0) as f:
                kind = _not_regular(os.fstat(fd).st_mode)      # swapped since the stat
                if kind is None:
                    chunks, size = [], 0
                    while size <= limit:
                        chunk = f.read(limit + 1 - size)
                        if not chunk:
                            break
                        chunks.append(chunk)
                        size += len(chunk)
                    data = b"".join(chunks)
    except OSError as e:
        raise error(f"{path}: cannot read it ({e.strerror or e})") from None
    if kind is not None:
        raise error(f"{path}: {kind}, not a regular file (a YAML file here must be one)")
    if len(data) > limit:
        raise error(f"{path}: more than {limit >> 20} MiB; a YAML file here may have at most {limit} bytes")
    return data


def load(path: str | Path, error=ParamsError):
    """The YAML document in ``path``, or ``error`` (a PipelineError class) in one line naming it."""
    data = read_bounded(path, error)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(f"{path}: not UTF-8 text (byte {e.start})") from None
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
