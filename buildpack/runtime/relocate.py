"""Make what pip installed independent of the build directory.

The platform builds in one path and runs the slug in another, so console scripts
must not name the build path in their shebang, and bytecode should carry the
run-time path in its file names (tracebacks) instead of the build path.
"""
from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

from buildpack.base import atomic_write
from buildpack.base.children import run_quiet
from buildpack.base.fs import walk
from buildpack.base.slug_layout import APP_ROOT, RUNTIME_PREFIX

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
            atomic_write.write_text(path, new, mode=path.stat().st_mode & 0o7777)
            changed += 1
    return changed


WORKER = Path(__file__).resolve().parent / "bytecode_worker.py"


def compile_all(python: Path, targets: list[str], strip: Path, prefix: str, env: dict[str, str],
                cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m compileall`` over ``targets`` (folders, files, or ``-i`` and a list):
    unchecked-hash pycs that name their run-time path (``strip`` becomes ``prefix``). The
    interpreter runs isolated and without ``site`` (``-I -S``: no ``.pth`` code runs, so
    nothing is imported from where it is compiled) and writes no bytecode of its own
    (``-B``); ``-f`` recompiles what exists. Files that do not compile are reported in the
    result, not raised."""

    return run_quiet([str(python), "-I", "-S", "-B", "-m", "compileall", "-q", "-f", "-j0",
                      "--invalidation-mode", "unchecked-hash", "-s", str(strip), "-p", prefix,
                      *targets], env=env, cwd=cwd)


def compile_bytecode(python: Path, paths: list[Path], strip_prefix: Path, env: dict[str, str],
                     runtime_path: str = RUNTIME_PREFIX) -> None:
    """Compile what in the folders ``paths`` (site-packages) has no current bytecode,
    recording run-time file names (unchecked-hash pycs), on all CPUs, and remove the
    bytecode whose source is gone and the installers' (``bytecode_worker --tidy``).

    Bytecode an earlier build wrote for the same source is kept (an incremental install
    starts from the previous environment). Files that do not compile (an app's syntax
    error, a template) are left alone: the interpreter reports them, with its own
    message, when they are imported.
    """
    existing = [str(p) for p in paths if p.exists()]
    if not existing:
        return
    run_worker(python, ["--tidy", str(strip_prefix), runtime_path, *existing], env)


def run_worker(python: Path, args: list[str], env: dict[str, str]) -> None:
    """``bytecode_worker`` run by ``python``: isolated and without ``site`` (no ``.pth``
    code of the environment runs; it imports only the standard library)."""
    run_quiet([str(python), "-I", "-S", str(WORKER), *args], env=env)


def app_sources(build_dir: Path) -> list[Path]:
    """The app's own ``.py`` files that may be compiled: regular files (not links), in
    folders whose ``__pycache__`` is absent or a real folder (never one that is a link:
    the bytecode would be written wherever it points). Iterative, no link followed."""
    found = []
    for dirpath, dirnames, filenames in walk(build_dir):
        if dirpath == str(build_dir):
            dirnames[:] = [d for d in dirnames if d not in (".heroku", ".git")]
        cache = os.path.join(dirpath, "__pycache__")
        if os.path.lexists(cache) and (os.path.islink(cache) or not os.path.isdir(cache)):
            continue
        for name in filenames:
            path = os.path.join(dirpath, name)
            if name.endswith(".py") and not os.path.islink(path) and os.path.isfile(path):
                found.append(Path(path))
    return found


def compile_app_bytecode(python: Path, build_dir: Path, env: dict[str, str],
                         runtime_path: str = APP_ROOT) -> None:
    """Compile the app's own sources (``app_sources``) for the path it runs from (a slug:
    ``/app``; a CNB app stays where it was built)."""
    sources = app_sources(build_dir)
    if not sources:
        return
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8",
                                     errors="surrogateescape") as listing:
        listing.write("".join(f"{p}\n" for p in sources if "\n" not in str(p)))
        listing.flush()
        run_worker(python, ["--force", str(build_dir), runtime_path, f"@{listing.name}"], env)
