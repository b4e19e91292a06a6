"""The one parser of numbers read from outside the build.

Version parts (``.python-version``, ``runtime.txt``, Pipfile.lock, ``requires-python``),
timeouts and other settings from config vars or the environment, ports and versions on
the programs' command lines, HTTP ``Content-Length``, CNB layer metadata: all go through
here. Python's own ``int()`` and ``float()`` take far more than a person means (``²``
passes ``str.isdigit()`` and fails ``int()``; ``٣`` is read as 3; a 5,000-digit string
hits the interpreter's int-digit limit; ``inf``, ``nan`` and ``1e999`` are floats), so:

- digits are ASCII ``0-9`` only, no sign, no spaces, no ``_``;
- a length bound (``max_digits``) is checked before any conversion;
- a range, when the caller gives one.

A bad number raises ``NumberError`` (a ``ValueError``) whose message says what was
wrong; the caller turns it into its input's own error id.
"""
from __future__ import annotations

import re

_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_DECIMAL = re.compile(r"([0-9]+)(?:\.([0-9]+))?", re.ASCII)
MAX_DIGITS = 18  # below 2**63: every caller's number fits


class NumberError(ValueError):
    """``text`` is not a number the caller accepts; ``str()`` says why."""


def shown(text: str, limit: int = 40) -> str:
    """``text`` for a message: quoted, escaped, cut after ``limit`` characters."""
    return repr(text[:limit] + ("..." if len(text) > limit else ""))


def _check_range(value: float, text: str, low: float | None, high: float | None) -> None:
    if low is not None and value < low:
        raise NumberError(f"{shown(text)} is below {low:g}")
    if high is not None and value > high:
        raise NumberError(f"{shown(text)} is above {high:g}")


def parse_int(text: str, *, max_digits: int = 9, low: int | None = None,
              high: int | None = None) -> int:
    """``text`` (ASCII digits only, at most ``max_digits`` of them) as an int in
    ``[low, high]``; NumberError otherwise."""
    if not 0 < max_digits <= MAX_DIGITS:
        raise ValueError(f"max_digits must be 1-{MAX_DIGITS}")
    if len(text) > max_digits:
        raise NumberError(f"{shown(text)} has more than {max_digits} characters")
    if not _DIGITS.fullmatch(text):
        raise NumberError(f"{shown(text)} is not a whole number (digits 0-9 only)")
    value = int(text)
    _check_range(value, text, low, high)
    return value


def parse_seconds(text: str, *, high: float, low: float = 0.0, max_chars: int = 16) -> float:
    """A duration such as ``30`` or ``2.5``: ASCII digits with at most one ``.``, at most
    ``max_chars`` characters, more than ``low`` and at most ``high``; NumberError otherwise."""
    if len(text) > max_chars:
        raise NumberError(f"{shown(text)} has more than {max_chars} characters")
    if not _DECIMAL.fullmatch(text):
        raise NumberError(f"{shown(text)} is not a number of seconds (such as 30 or 2.5)")
    value = float(text)
    if value <= low:
        raise NumberError(f"{shown(text)} is not above {low:g}")
    _check_range(value, text, None, high)
    return value


def parse_version(text: str, *, parts: tuple[int, ...] = (2, 3),
                  max_digits: int = 4) -> tuple[int, ...]:
    """``X.Y`` or ``X.Y.Z`` (``parts`` says how many parts are allowed), each part ASCII
    digits, at most ``max_digits`` long; NumberError otherwise."""
    pieces = text.split(".")
    if len(pieces) not in parts:
        allowed = " or ".join(".".join("XYZW"[:n]) for n in parts)
        raise NumberError(f"{shown(text)} is not a version of the form {allowed}")
    try:
        return tuple(parse_int(p, max_digits=max_digits) for p in pieces)
    except NumberError:
        raise NumberError(f"{shown(text)} is not a version: each part is 1-{max_digits} "
                          f"digits 0-9") from None
