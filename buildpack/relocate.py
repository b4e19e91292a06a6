"""Make what pip installed independent of the build directory.

The platform builds in one path and runs the slug in another, so console scripts
must not name the build path in their shebang, and bytecode should carry the
run-time path in its file names (tracebacks) instead of the build path.
"""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

RUNTIME_PREFIX = "/app/.heroku/python"

# A script that finds its interpreter next to itself, wherever the slug is mounted
# (the same trick distlib uses for long shebangs): sh runs line 2, Python sees a string.
_TRAMPOLINE = (
    "#!/bin/sh\n"
    "'''exec' \"$(dirname -- \"$(realpath -- \"$0\")\")/{interpreter}\" \"$0\" \"$@\"\n"
    "' '''\n"
)
_SH_EXEC_RE = re.compile(r"^'''exec' (?:'([^']*)'|\"([^\"]*)\"|(\S+))")


def _script_interpreter(head: str, prefix: str) -> tuple[str, int] | None:
    """If ``head`` starts a script run by a python under ``prefix``: (interpreter, lines to drop)."""
    lines = head.split("\n")
    first = lines[0]
    if first.startswith("#!") and not first.startswith("#!/bin/sh"):
        path = first[2:].strip().split(" ")[0]
        if path.startswith(prefix + "/"):
            return path, 1
    if first.strip() == "#!/bin/sh" and len(lines) > 2:
        match = _SH_EXEC_RE.match(lines[1])
        if match:
            path = next(g for g in match.groups() if g)
            if path.startswith(prefix + "/") and lines[2].startswith("' '''"):
                return path, 3
    return None


def rewrite_script(text: str, prefix: str) -> str | None:
    """The script with a relocatable header, or None if it is not ours to change."""
    found = _script_interpreter(text[:4096], prefix)
    if not found:
        return None
    interpreter, drop = found
    rest = text.split("\n", drop)[drop] if text.count("\n") >= drop else ""
    name = Path(interpreter).name
    return _TRAMPOLINE.format(interpreter=name) + rest


def rewrite_console_scripts(bin_dir: Path, prefix: Path) -> int:
    """Rewrite the shebangs of scripts in ``bin_dir`` that point into ``prefix``."""
    changed = 0
    for path in sorted(bin_dir.iterdir()):
        if path.is_symlink() or not path.is_file():
            continue
        with open(path, "rb") as fh:
            if fh.read(2) != b"#!":
                continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        new = rewrite_script(text, str(prefix))
        if new is not None and new != text:
            # Replace, never write in place: the file may be hardlinked into the build cache.
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(new, encoding="utf-8")
            os.chmod(tmp, path.stat().st_mode & 0o7777)
            os.replace(tmp, path)
            changed += 1
    return changed


def compile_bytecode(python: Path, paths: list[Path], strip_prefix: Path, env: dict[str, str],
                     runtime_path: str = RUNTIME_PREFIX, exclude: str | None = None) -> None:
    """Compile ``paths`` once, recording run-time file names (unchecked-hash pycs).

    Files that do not compile (an app's syntax error, a template) are left alone: the
    interpreter reports them, with its own message, when they are imported.
    """
    existing = [str(p) for p in paths if p.exists()]
    if not existing:
        return
    extra = ["-x", exclude] if exclude else []
    subprocess.run(
        # -f: bytecode written while the build ran (timestamp pycs naming the build
        # path) is replaced, not trusted as up to date.
        [str(python), "-E", "-s", "-m", "compileall", "-q", "-f", "-j0",
         "--invalidation-mode", "unchecked-hash", *extra,
         "-s", str(strip_prefix), "-p", runtime_path, *existing],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
    )
