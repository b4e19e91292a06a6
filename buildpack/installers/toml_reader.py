"""Read the app's TOML files (pyproject.toml): ``tomllib`` (Python 3.11+), else ``tomli``
(the same parser, one of the buildpack's pinned libraries: imported when first used, after
``libraries.ensure``)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from buildpack.output import BuildError


def read(path: Path) -> dict[str, Any]:
    """Parse ``path``, or raise the error that names the file and the problem."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # the host's Python decides
        import tomli as tomllib
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        reason = "it is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc)
        raise BuildError(
            f"{path.name} is not valid TOML",
            f"{path.name} could not be parsed: {reason}\n\n"
            f"Fix the syntax (a TOML checker or the package manager itself shows where)\n"
            "and push again.",
            error_id="toml::invalid",
        ) from None
