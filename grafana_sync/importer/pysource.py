"""Render Python expressions (calls, dicts, lists, scalars) as readable, ruff-clean source.

Values are laid out flat when they fit in the line width and broken one item per line
otherwise; long strings become implicit concatenations split at newlines and spaces, so no
generated line is longer than WIDTH.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

WIDTH = 100
INDENT = 4


@dataclass
class Call:
    """`func(arg, key=value, ...)`: args are (keyword or None, value) in order."""

    func: str
    args: list[tuple[str | None, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Name:
    """A bare name (a module constant)."""

    name: str


@lru_cache(maxsize=65536)
def pystr(text: str) -> str:
    """A Python literal for `text`: double quotes, or single quotes when that avoids escaping
    the double quotes of a PromQL selector; printable characters are kept as they are."""
    quote = "'" if '"' in text and "'" not in text else '"'
    out = [quote]
    for ch in text:
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == quote:
            out.append("\\" + quote)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif code < 0x20 or 0xD800 <= code <= 0xDFFF or not ch.isprintable():
            out.append(f"\\x{code:02x}" if code < 0x100 else
                       f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(ch)
    out.append(quote)
    return "".join(out)


_FLAT: dict[int, tuple[Any, str]] = {}  # id(container) -> (container, text), while rendering


def flat(value: Any) -> str:
    """The one-line rendering of a value (memoised per container during `render`)."""
    if isinstance(value, (dict, list, tuple, Call)):
        hit = _FLAT.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
        text = _flat(value)
        _FLAT[id(value)] = (value, text)
        return text
    return _flat(value)


def _flat(value: Any) -> str:
    if isinstance(value, Name):
        return value.name
    if isinstance(value, Call):
        parts = [flat(v) if k is None else f"{k}={flat(v)}" for k, v in value.args]
        return f"{value.func}({', '.join(parts)})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{pystr(str(k))}: {flat(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(flat(v) for v in value) + "]"
    if isinstance(value, str):
        return pystr(value)
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError("NaN and infinity have no JSON form")
        return repr(value)
    raise TypeError(f"cannot render a {type(value).__name__} as Python source")


def _string_chunks(text: str, room: int) -> list[str]:
    """Split text into pieces whose literals fit in `room` columns (newlines end a piece)."""
    room = max(room, 20)
    pieces: list[str] = []
    for line in text.splitlines(keepends=True):
        current = ""
        for word in _words(line):
            if current and len(pystr(current + word)) > room:
                pieces.append(current)
                current = ""
            while len(pystr(word)) > room:  # one unbreakable word: cut it
                cut = room - 2
                while cut > 1 and len(pystr(word[:cut])) > room:
                    cut -= 1
                if current:
                    pieces.append(current)
                    current = ""
                pieces.append(word[:cut])
                word = word[cut:]
            current += word
        if current:
            pieces.append(current)
    return pieces or [""]


#: A string piece may end after these characters (PromQL and markdown read well split there).
_BREAK_AFTER = " ,({[|"


def _words(line: str) -> list[str]:
    """Words with their trailing break characters attached, so pieces break after them."""
    words: list[str] = []
    current = ""
    for ch in line:
        if current and current[-1] in _BREAK_AFTER and ch not in _BREAK_AFTER:
            words.append(current)
            current = ""
        current += ch
    if current:
        words.append(current)
    return words


def render(value: Any, indent: int = 0, used: int | None = None, tail: int = 1) -> str:
    """Source for `value` starting at column `used` on a line indented `indent` columns."""
    top = not _FLAT
    try:
        return _render(value, indent, used, tail)
    finally:
        if top:
            _FLAT.clear()


def _render(value: Any, indent: int = 0, used: int | None = None, tail: int = 1) -> str:
    """`render` without the memo bookkeeping.

    `tail` is the number of characters that follow the value on its last line (a comma, a
    closing bracket), so a flat value is only used when it fits with them.
    """
    used = indent if used is None else used
    one = flat(value)
    if used + len(one) + tail <= WIDTH and "\n" not in one:
        return one
    inner = indent + INDENT
    pad = " " * inner
    close = " " * indent
    if isinstance(value, str):
        chunks = _string_chunks(value, WIDTH - inner)
        if len(chunks) == 1:
            return one  # cannot do better (a very long key prefix): ruff E501 is then exempted
        return "(\n" + "\n".join(pad + pystr(c) for c in chunks) + "\n" + close + ")"
    if isinstance(value, dict):
        if not value:
            return "{}"
        lines = []
        for key, item in value.items():
            prefix = f"{pystr(str(key))}: "
            lines.append(pad + prefix + _render(item, inner, inner + len(prefix)) + ",")
        return "{\n" + "\n".join(lines) + "\n" + close + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        lines = [pad + _render(item, inner) + "," for item in value]
        return "[\n" + "\n".join(lines) + "\n" + close + "]"
    if isinstance(value, Call):
        if not value.args:
            return one
        lines = []
        for key, item in value.args:
            prefix = "" if key is None else f"{key}="
            lines.append(pad + prefix + _render(item, inner, inner + len(prefix)) + ",")
        return f"{value.func}(\n" + "\n".join(lines) + "\n" + close + ")"
    return one
