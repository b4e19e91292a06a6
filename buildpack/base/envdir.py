"""Config vars from ENV_DIR: one file per variable, file name = name, content = value.

Nothing exports them for us: the buildpack reads them and decides which ones each
step may see.
"""
from __future__ import annotations

import re
from pathlib import Path

from buildpack.base import output

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_VALUE_BYTES = 1024 * 1024


def read_env_dir(env_dir: Path | None) -> dict[str, str]:
    """Read ENV_DIR (absent or empty is fine). Odd entries are skipped with a warning."""
    if env_dir is None or not env_dir.is_dir():
        return {}
    values: dict[str, str] = {}
    skipped: list[str] = []
    for path in sorted(env_dir.iterdir()):
        name = path.name
        if not _NAME_RE.match(name) or not path.is_file():
            skipped.append(name.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace"))
            continue
        data = path.read_bytes()
        if len(data) > MAX_VALUE_BYTES or b"\0" in data:
            skipped.append(name)
            continue
        values[name] = data.decode("utf-8", "surrogateescape")
    if skipped:
        output.warning(
            "Some config vars were ignored",
            "These ENV_DIR entries are not valid variable names, not regular files,\n"
            "larger than 1 MiB or contain NUL bytes, so the build ignores them:\n"
            + "\n".join(f"  - {name[:80]}" for name in skipped),
        )
    return values


def lookup(name: str, config: dict[str, str], environ: dict[str, str]) -> str | None:
    """A setting from the app's config vars, else from the build's environment."""
    value = config.get(name)
    if value is None or not value.strip():
        value = environ.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()
