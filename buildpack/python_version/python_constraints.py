"""Does a Python version satisfy what the app's dependency files say about Python?

PEP 440 specifiers (``requires-python``) are read by ``packaging``. Poetry's own forms
(``[tool.poetry.dependencies] python``) are first translated to PEP 440: ``^3.11``
(>=3.11,<4), ``~3.11`` (>=3.11,<3.12), a bare ``3.11`` (==3.11.*), ``*``, space-separated
AND and ``||`` OR. ``satisfies`` answers None for a text it does not understand: the
caller says so and does not guess. (``packaging`` is imported when first used, after
``libraries.ensure``.)
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from buildpack.base import numbers
from buildpack.base.numbers import NumberError, parse_int

if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet

Version = tuple[int, int, int]

_POETRY_RE = re.compile(r"(\^|~(?!=)|=(?!=))?\s*v?([0-9]+(?:\.[0-9]+)*)(\.\*)?")
MAX_PART_DIGITS = 6  # a longer number in a constraint is not understood
_NUMBER_RUN = re.compile(r"\d+")  # any script's digits: packaging would read them


def _poetry_clause(part: str) -> str:
    """One Poetry clause as PEP 440 (operators PEP 440 has pass through)."""
    match = _POETRY_RE.fullmatch(part)
    if match is None:
        return part
    op, text, wildcard = match.groups()
    release = [parse_int(p, max_digits=MAX_PART_DIGITS) for p in text.split(".")]
    if op in ("^", "~"):
        # ^: up to the next change of the first non-zero part; ~: of the minor (~3: of 3)
        keep = (next((i for i, p in enumerate(release) if p), len(release) - 1) + 1 if op == "^"
                else min(len(release), 2))
        upper = release[:keep]
        upper[-1] += 1
        return f">={text},<{'.'.join(map(str, upper))}"
    if wildcard or (not op and len(release) < 3):
        return f"=={text}.*"
    return f"=={text}"


def _specifier(text: str, poetry: bool) -> SpecifierSet:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    parts = [p.replace(" ", "") for p in re.split(r"\s*,\s*|\s+(?=[<>=!~^])", text.strip()) if p]
    if not parts:
        raise InvalidSpecifier(text)
    if poetry:
        parts = [_poetry_clause(p) for p in parts if p != "*"]
    return SpecifierSet(",".join(parts), prereleases=True)


def satisfies(text: str, version: Version, poetry: bool = False) -> bool | None:
    """True/False: ``version`` meets the constraint; None: the text is not understood."""
    from packaging.specifiers import InvalidSpecifier

    shown = ".".join(map(str, version))
    try:
        for run in _NUMBER_RUN.findall(text):
            parse_int(run, max_digits=MAX_PART_DIGITS)
    except NumberError:
        return None
    try:
        alternatives = [_specifier(alt, poetry) for alt in (text.split("||") if poetry else [text])]
    except InvalidSpecifier:
        return None
    return any(spec.contains(shown) for spec in alternatives)


def parse_version(text: str) -> Version:
    major, minor, patch = numbers.parse_version(text, parts=(3,))
    return major, minor, patch
