"""Does a Python version satisfy what the app's dependency files say about Python?

Only release versions are compared (``3.13.0``): the buildpack provides final CPython
releases. Understood forms:

- PEP 440 specifiers (``requires-python``): ``>=3.11,<3.14``, ``==3.12.*``, ``~=3.11``,
  ``!=3.12.1``, ``===3.12.1``; pre-release and post-release suffixes in a specifier
  compare as the release they belong to.
- Poetry constraints (``[tool.poetry.dependencies] python``): additionally ``^3.11``,
  ``~3.11``, a bare ``3.11`` (any 3.11.x), ``*``, space-separated AND and ``||`` OR.

``satisfies`` answers None for a text it does not understand: the caller says so and
does not guess.
"""
from __future__ import annotations

import re

Version = tuple[int, int, int]

_CLAUSE_RE = re.compile(
    r"^(?P<op>===|~=|==|!=|<=|>=|<|>|\^|~|=)?\s*v?"
    r"(?P<release>\d+(?:\.\d+)*)(?P<wild>\.\*)?"
    r"(?:[-_.]?(?:a|b|c|rc|alpha|beta|pre|preview|post|dev)[-_.]?\d*)*$",
    re.IGNORECASE,
)


def _pad(parts: list[int], length: int = 3) -> tuple[int, ...]:
    return tuple(parts + [0] * (length - len(parts)))[:max(length, len(parts))]


def _clause(op: str, release: list[int], wildcard: bool, version: Version) -> bool:
    current = tuple(version)
    if wildcard:
        if op not in ("==", "!="):
            raise ValueError(f"wildcard with {op}")
        match = current[: len(release)] == tuple(release)
        return match if op == "==" else not match
    if op == "^":  # Poetry: up to the next change of the first non-zero part
        first = next((i for i, p in enumerate(release) if p), len(release) - 1)
        upper = release[: first + 1]
        upper[-1] += 1
        return _pad(release) <= current < _pad(upper)
    if op == "~":  # Poetry: ~3.11 and ~3.11.2 allow patch releases, ~3 any 3.x
        upper = release[:2] if len(release) >= 2 else release[:1]
        upper[-1] += 1
        return _pad(release) <= current < _pad(upper)
    if op == "~=":
        if len(release) < 2:
            raise ValueError("~= needs at least two parts")
        prefix = tuple(release[:-1])
        return current >= _pad(release) and current[: len(prefix)] == prefix
    spec = _pad(release)
    return {
        "==": current == spec, "===": current == spec, "=": current == spec,
        "!=": current != spec, "<=": current <= spec, ">=": current >= spec,
        "<": current < spec, ">": current > spec,
    }[op]


def _all(text: str, version: Version, poetry: bool) -> bool:
    parts = [p for p in re.split(r"\s*,\s*|\s+(?=[<>=!~^])", text.strip()) if p]
    if not parts:
        raise ValueError("empty")
    for part in parts:
        if poetry and part == "*":
            continue
        match = _CLAUSE_RE.match(part.replace(" ", ""))
        if not match:
            raise ValueError(part)
        op = match["op"] or ""
        if op in ("^", "~", "=") and not poetry:
            raise ValueError(part)
        release = [int(p) for p in match["release"].split(".")]
        wildcard = bool(match["wild"])
        if not op:
            if not poetry:
                raise ValueError(part)
            op, wildcard = "==", wildcard or len(release) < 3  # Poetry: "3.11" is any 3.11.x
        if not _clause(op, release, wildcard, version):
            return False
    return True


def satisfies(text: str, version: Version, poetry: bool = False) -> bool | None:
    """True/False: ``version`` meets the constraint; None: the text is not understood."""
    try:
        alternatives = text.split("||") if poetry else [text]
        return any([_all(alt, version, poetry) for alt in alternatives])
    except ValueError:
        return None


def parse_version(text: str) -> Version:
    major, minor, patch = (int(p) for p in text.split("."))
    return major, minor, patch
