"""The files a requirements.txt pulls in (``-r``/``-c`` includes), for cache keys.

pip resolves an include relative to the file that names it. pip itself reports
missing or circular includes when it installs; here they only need to be found.
"""
from __future__ import annotations

import re
from pathlib import Path

_INCLUDE_RE = re.compile(r"^\s*(?:-r|-c|--requirement|--constraint)(?:\s*=\s*|\s+|(?=\S))(\S+)")
# A requirement that installs code from the app's own tree (its contents are not in
# any lock or requirements file, so a cached environment cannot be trusted for it).
_LOCAL_RE = re.compile(r"^\s*(?:-e\s+|--editable(?:\s*=\s*|\s+))?(?:\.|/|file:|[^\s#@]+\s*@\s*file:)")


def _lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    text = re.sub(r"\\\r?\n", " ", text)  # pip joins continuation lines
    return [line.split(" #", 1)[0] for line in text.splitlines()]


def included_files(root: Path) -> list[Path]:
    """``root`` and every file it includes, depth first, each once."""
    seen: list[Path] = []

    def visit(path: Path) -> None:
        resolved = path.resolve()
        if resolved in (p.resolve() for p in seen) or not path.is_file():
            return
        seen.append(path)
        for line in _lines(path):
            match = _INCLUDE_RE.match(line)
            if match and "://" not in match.group(1):
                visit(path.parent / match.group(1))

    visit(root)
    return seen


def includes_outside(root: Path, app_dir: Path) -> list[Path]:
    """Included files (links resolved) that lie outside ``app_dir``."""
    from buildpack.app_files import is_inside

    return [p for p in included_files(root) if not is_inside(app_dir, p)]


MAX_LINE = 10_000


def check_text(path: Path) -> None:
    """Raise BuildError unless ``path`` is UTF-8 text with lines of sane length.

    pip would otherwise crash with a traceback on undecodable bytes, or echo a
    megabyte-long line into the build log.
    """
    from buildpack.output import BuildError

    data = path.read_bytes()
    for number, line in enumerate(data.splitlines(), start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BuildError(
                f"{path.name} is not UTF-8 text (line {number})",
                f"Line {number} of {path.name} has the byte {line[exc.start:exc.start + 1]!r}, which is\n"
                "not valid UTF-8. Save the file as UTF-8 (most editors have an encoding\n"
                "option) and push again.",
            ) from None
        if len(line) > MAX_LINE:
            raise BuildError(
                f"{path.name} has an overlong line (line {number})",
                f"Line {number} of {path.name} is {len(line)} characters long. A requirement line\n"
                f"is a package name with a version, markers and hashes: well under {MAX_LINE}\n"
                "characters. Check that the file is really a requirements file.",
            )


def installs_local_code(files: list[Path]) -> bool:
    """True if any requirement installs a local path (``.``, ``-e .``, ``file:``)."""
    return any(_LOCAL_RE.match(line) for path in files for line in _lines(path) if line.strip())
