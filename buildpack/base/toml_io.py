"""TOML through the buildpack's pinned libraries: ``tomllib`` (Python 3.11+, else
``tomli``) to read, ``tomli_w`` to write. They are imported when first used, after
``libraries.ensure`` has put them on ``sys.path``."""
from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Mapping
from typing import Any

from buildpack.base.output import BuildError

_SURROGATE = re.compile("[\ud800-\udfff]")
# The parser recurses once per nested array or inline table: a few KB of ``[[[[...`` would
# exhaust Python's stack. Real files nest a few levels; the text is checked first.
MAX_DEPTH = 64
_TOKENS = re.compile(r'"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\''
                     r"|#[^\n]*|[\[\]{}]", re.S)


def nesting(text: str) -> int:
    """How deep arrays and inline tables nest in ``text`` (brackets in strings and
    comments do not count)."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth = max(depth - 1, 0)
    return deepest


def available() -> bool:
    """Whether TOML can be read now: Python 3.11+, or ``tomli`` on ``sys.path``."""
    return sys.version_info >= (3, 11) or importlib.util.find_spec("tomli") is not None


def loads(text: str) -> dict[str, Any]:
    """Parse ``text``; a ``ValueError`` (the parser's ``TOMLDecodeError``) when it is not
    TOML, or when it nests deeper than ``MAX_DEPTH`` (checked before parsing)."""
    depth = nesting(text)
    if depth > MAX_DEPTH:
        raise ValueError(f"arrays or inline tables nest {depth} levels deep "
                         f"(at most {MAX_DEPTH} are read)")
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # the host's Python decides
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except RecursionError:  # not reached below MAX_DEPTH; kept as the parser's own bound
        raise ValueError("nested too deeply") from None


def dumps(document: Mapping[str, Any]) -> str:
    """``document`` as TOML text. A lone surrogate (from a file name that is not UTF-8)
    becomes U+FFFD, since TOML text must be UTF-8."""
    import tomli_w

    return _SURROGATE.sub("\ufffd", tomli_w.dumps(document))


def parse(text: str, name: str) -> dict[str, Any]:
    """Parse ``text``, the app's file ``name`` (read by ``app_files.AppFiles``), or raise the
    error that names the file and the problem."""
    try:
        return loads(text)
    except ValueError as exc:
        raise BuildError(
            f"{name} is not valid TOML",
            f"{name} could not be parsed: {exc}\n\n"
            f"Fix the syntax (a TOML checker or the package manager itself shows where)\n"
            "and push again.",
            error_id="toml::invalid",
        ) from None
