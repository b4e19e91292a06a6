"""The CNB API's TOML files, written and read without ``tomllib``.

The build host's python3 may be older than 3.11 (no ``tomllib``), and the buildpack uses
only the standard library, so this module covers what the buildpack needs:

- ``dumps`` writes a document made of strings, booleans, integers, lists of those,
  tables (dicts) and arrays of tables (lists of dicts, e.g. ``[[processes]]``);
- ``loads`` reads layer metadata back as the lifecycle restores it (written by Go's
  TOML encoder: indented keys, integers turned into floats, see buildpacks/lifecycle
  issue 884): tables, dotted keys and headers, arrays of tables, basic and literal
  strings, integers, floats, booleans, arrays and inline tables, comments. Anything
  else (multi-line strings, dates) raises ``TomlError``.
"""
from __future__ import annotations

import re
from typing import Any
from collections.abc import Mapping

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f",
            "\r": "\\r"}
_UNESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}
_NUMBER = re.compile(r"[+-]?(?:inf|nan|[0-9][0-9_]*(?:\.[0-9_]+)?(?:[eE][+-]?[0-9_]+)?)")


class TomlError(ValueError):
    """Text that is not TOML, or TOML this reader does not support."""


# --- writing --------------------------------------------------------------------------

def quote(text: str) -> str:
    """``text`` as a TOML basic string. Control characters are escaped; a lone surrogate
    (from a non-UTF-8 file name) becomes U+FFFD, since TOML text must be UTF-8."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else quote(name)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as a TOML value")


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _write_table(lines: list[str], path: list[str], table: Mapping[str, Any]) -> None:
    plain = [(k, v) for k, v in table.items()
             if not isinstance(v, Mapping) and not _is_table_array(v)]
    lines.extend(f"{_key(k)} = {_value(v)}" for k, v in plain)
    for name, value in table.items():
        header = ".".join(_key(part) for part in path + [name])
        if isinstance(value, Mapping):
            lines.extend(["", f"[{header}]"])
            _write_table(lines, path + [name], value)
        elif _is_table_array(value):
            for item in value:
                lines.extend(["", f"[[{header}]]"])
                _write_table(lines, path + [name], item)


def dumps(document: Mapping[str, Any]) -> str:
    lines: list[str] = []
    _write_table(lines, [], document)
    return "\n".join(lines).lstrip("\n") + "\n"


# --- reading --------------------------------------------------------------------------

class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, problem: str) -> TomlError:
        line = self.text.count("\n", 0, self.pos) + 1
        return TomlError(f"line {line}: {problem}")

    def peek(self, length: int = 1) -> str:
        return self.text[self.pos:self.pos + length]

    def skip_blank(self, newlines: bool) -> None:
        """Skip spaces, tabs and comments (and line breaks when ``newlines``)."""
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch in " \t" or (newlines and ch in "\r\n"):
                self.pos += 1
            elif ch == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return

    def expect(self, token: str) -> None:
        if self.peek(len(token)) != token:
            raise self.error(f"expected {token!r}")
        self.pos += len(token)

    def end_of_line(self) -> None:
        self.skip_blank(newlines=False)
        if self.pos < len(self.text) and self.peek() not in "\r\n":
            raise self.error("unexpected text after a value")

    def simple_key(self) -> str:
        ch = self.peek()
        if ch == '"':
            return self.basic_string()
        if ch == "'":
            return self.literal_string()
        match = _BARE_KEY.match(self.text, self.pos)
        if not match:
            raise self.error("expected a key")
        self.pos = match.end()
        return match.group()

    def key(self) -> list[str]:
        parts = [self.simple_key()]
        self.skip_blank(newlines=False)
        while self.peek() == ".":
            self.pos += 1
            self.skip_blank(newlines=False)
            parts.append(self.simple_key())
            self.skip_blank(newlines=False)
        return parts

    def basic_string(self) -> str:
        if self.peek(3) == '"""':
            raise self.error("multi-line strings are not supported")
        self.pos += 1
        out: list[str] = []
        while True:
            ch = self.peek()
            if ch in ("", "\n"):
                raise self.error("unterminated string")
            self.pos += 1
            if ch == '"':
                return "".join(out)
            if ch != "\\":
                out.append(ch)
                continue
            escape = self.peek()
            self.pos += 1
            if escape in _UNESCAPES:
                out.append(_UNESCAPES[escape])
            elif escape in ("u", "U"):
                width = 4 if escape == "u" else 8
                digits = self.peek(width)
                if not re.fullmatch(r"[0-9A-Fa-f]+", digits) or len(digits) != width:
                    raise self.error("bad unicode escape")
                out.append(chr(int(digits, 16)))
                self.pos += width
            else:
                raise self.error(f"unknown escape \\{escape}")

    def literal_string(self) -> str:
        if self.peek(3) == "'''":
            raise self.error("multi-line strings are not supported")
        end = self.text.find("'", self.pos + 1)
        newline = self.text.find("\n", self.pos + 1)
        if end < 0 or 0 <= newline < end:
            raise self.error("unterminated string")
        value = self.text[self.pos + 1:end]
        self.pos = end + 1
        return value

    def value(self) -> Any:
        ch = self.peek()
        if ch == '"':
            return self.basic_string()
        if ch == "'":
            return self.literal_string()
        if ch == "[":
            return self.array()
        if ch == "{":
            return self.inline_table()
        for word, result in (("true", True), ("false", False)):
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return result
        match = _NUMBER.match(self.text, self.pos)
        if not match or self.text[match.end():match.end() + 1] in ("-", ":"):
            raise self.error("unsupported value")  # dates and times, among others
        self.pos = match.end()
        number = match.group().replace("_", "")
        if re.fullmatch(r"[+-]?[0-9]+", number):
            return int(number)
        return float(number)

    def array(self) -> list[Any]:
        self.expect("[")
        items: list[Any] = []
        while True:
            self.skip_blank(newlines=True)
            if self.peek() == "]":
                self.pos += 1
                return items
            items.append(self.value())
            self.skip_blank(newlines=True)
            if self.peek() == ",":
                self.pos += 1
            elif self.peek() != "]":
                raise self.error("expected ',' or ']' in an array")

    def inline_table(self) -> dict[str, Any]:
        self.expect("{")
        table: dict[str, Any] = {}
        self.skip_blank(newlines=False)
        if self.peek() == "}":
            self.pos += 1
            return table
        while True:
            self.key_value(table)
            self.skip_blank(newlines=False)
            if self.peek() == "}":
                self.pos += 1
                return table
            self.expect(",")
            self.skip_blank(newlines=False)

    def key_value(self, table: dict[str, Any]) -> None:
        path = self.key()
        self.expect("=")
        self.skip_blank(newlines=False)
        target = _descend(table, path[:-1], self)
        if path[-1] in target:
            raise self.error(f"key {path[-1]!r} defined twice")
        target[path[-1]] = self.value()


def _descend(table: dict[str, Any], path: list[str], reader: _Reader) -> dict[str, Any]:
    for part in path:
        node = table.setdefault(part, {})
        if isinstance(node, list) and node and isinstance(node[-1], dict):
            node = node[-1]
        if not isinstance(node, dict):
            raise reader.error(f"{part!r} is not a table")
        table = node
    return table


def loads(text: str) -> dict[str, Any]:
    """Parse ``text`` (see the module docstring for what is supported)."""
    reader = _Reader(text[1:] if text.startswith("\ufeff") else text)
    root: dict[str, Any] = {}
    current = root
    while True:
        reader.skip_blank(newlines=True)
        if reader.pos >= len(reader.text):
            return root
        if reader.peek(2) == "[[":
            reader.pos += 2
            reader.skip_blank(newlines=False)
            path = reader.key()
            reader.expect("]]")
            parent = _descend(root, path[:-1], reader)
            items = parent.setdefault(path[-1], [])
            if not isinstance(items, list):
                raise reader.error(f"{path[-1]!r} is not an array of tables")
            current = {}
            items.append(current)
        elif reader.peek() == "[":
            reader.pos += 1
            reader.skip_blank(newlines=False)
            path = reader.key()
            reader.expect("]")
            current = _descend(root, path, reader)
        else:
            reader.key_value(current)
        reader.end_of_line()
