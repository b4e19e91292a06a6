"""Config vars from ENV_DIR: one file per variable, file name = name, content = value.

Nothing exports them for us: the buildpack reads them and decides which ones each
step may see.

A name must be a shell identifier (no shell could export anything else); any other
entry is ignored with a warning that shows its name escaped (``ascii()``), so a name
holding a newline cannot forge a line of the build log. A value is read from a regular
file (links are followed: platforms mount config vars through links), at most
``MAX_VALUE_BYTES`` of it, without blocking on a FIFO.
"""
from __future__ import annotations

import re
from pathlib import Path

from buildpack.base import cache_files, output

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
MAX_VALUE_BYTES = 1024 * 1024
MAX_ENTRIES = 10_000


def shown_name(name: str) -> str:
    """``name`` for the log: every character that is not printable ASCII escaped."""
    return ascii(name[:80] + ("..." if len(name) > 80 else ""))[1:-1]


def _shown_path(path: Path) -> str:
    """A path for the log: its end (the part that tells paths apart), escaped like names."""
    text = str(path)
    return ascii(text if len(text) <= 80 else "..." + text[-77:])[1:-1]


def read_env_dir(env_dir: Path | None) -> dict[str, str]:
    """Read ENV_DIR (absent or empty is fine). Odd entries are skipped with a warning; an
    ENV_DIR given but missing gets one warning naming it."""
    if env_dir is None:
        return {}
    if not env_dir.is_dir():
        output.warning("The config vars folder (ENV_DIR) does not exist",
                       f"{_shown_path(env_dir)} is not a folder, so the build runs with no\n"
                       "config vars. Check the path given to the buildpack.")
        return {}
    values: dict[str, str] = {}
    skipped: list[str] = []
    for count, path in enumerate(sorted(env_dir.iterdir())):
        name = path.name
        if count >= MAX_ENTRIES:
            skipped.append(f"(and every entry after the first {MAX_ENTRIES:,})")
            break
        try:
            data = cache_files.read(path, MAX_VALUE_BYTES, follow_links=True) \
                if _NAME_RE.fullmatch(name) else None
        except cache_files.Unusable:
            data = None
        if data is None or b"\0" in data:
            skipped.append(shown_name(name))
            continue
        values[name] = data.decode("utf-8", "surrogateescape")
    if skipped:
        output.warning(
            "Some config vars were ignored",
            "These ENV_DIR entries are not shell variable names, not regular files,\n"
            "larger than 1 MiB or contain NUL bytes, so the build ignores them (names\n"
            "shown escaped):\n"
            + "\n".join(f"  - {name}" for name in skipped),
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
