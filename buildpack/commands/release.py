"""``bin/release BUILD_DIR``: the release YAML on stdout.

The platform reads ``default_process_types`` only when the slug has no Procfile at its
root. They are the Procfile's types, or for an app without one the default ``web``
process that compile logged (``processes``), for the app in the folder compile
recorded for ``APP_BASE`` (release gets no config vars). Reading the Procfile here also
means a broken Procfile fails with the same message as in compile, rather than being
written half-understood to ``.release``.
"""
from __future__ import annotations

import sys
from pathlib import Path

from buildpack.app import app_base, processes
from buildpack.app.app_files import AppFiles
from buildpack.base.output import BuildError
from buildpack.base.slug_layout import PYTHON_DIR

USAGE = "Usage: bin/release BUILD_DIR"


def yaml_quote(text: str) -> str:
    """``text`` as a double-quoted YAML scalar that every YAML 1.1/1.2 reader decodes back.

    Printable ASCII stays as is (except ``"`` and ``\\``); everything else is escaped,
    so the output is ASCII whatever the locale, and no raw character can be read as a
    line break (YAML 1.1 treats NEL, U+2028 and U+2029 as such) or rejected as
    non-printable. Escapes are JSON's ``\\uXXXX``, plus YAML's ``\\UXXXXXXXX`` beyond the
    BMP (JSON's surrogate pairs are not decoded by all YAML readers).
    """
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= code < 0x7F:
            out.append(ch)
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def render_release_yaml(process_types: dict[str, str]) -> str:
    """The release document; keys are quoted too (``yes``, ``1`` or ``null`` as a
    process type must stay strings for YAML 1.1 readers such as herokuish's)."""
    lines = ["---", "addons: []", "config_vars: {}"]
    if process_types:
        lines.append("default_process_types:")
        lines.extend(f"  {yaml_quote(name)}: {yaml_quote(command)}"
                     for name, command in process_types.items())
    else:
        lines.append("default_process_types: {}")
    return "\n".join(lines) + "\n"


def _unquote(scalar: str) -> str:
    if len(scalar) >= 2 and scalar[0] == scalar[-1] == '"':
        return scalar[1:-1].encode("ascii").decode("unicode_escape")
    return scalar


def parse_release_yaml(text: str) -> dict[str, str]:
    """``default_process_types`` back from :func:`render_release_yaml`'s output.

    Reads only the form this module writes (the local runner needs no YAML library).
    """
    types: dict[str, str] = {}
    inside = False
    for line in text.splitlines():
        if line.startswith("default_process_types:"):
            inside = line.strip() != "default_process_types: {}"
        elif inside and line.startswith("  "):
            name, _, value = line.strip().partition(": ")
            types[_unquote(name)] = _unquote(value)
        elif inside:
            break
    return types


def main(argv: list[str]) -> int:
    if not argv or not argv[0]:
        raise BuildError("bin/release needs the build directory", USAGE,
                         error_id="usage::release-arguments")
    build_dir = Path(argv[0])
    if not build_dir.is_dir():
        raise BuildError(
            "bin/release was given a build directory that does not exist",
            f"`{build_dir}` is not a directory.\n\n{USAGE}",
            error_id="usage::build-dir-missing",
        )
    files = AppFiles(build_dir)
    procfiles = processes.read(files, app_base.recorded(build_dir))
    process_types = processes.release_types(procfiles, files, build_dir / PYTHON_DIR)
    sys.stdout.write(render_release_yaml(process_types))
    sys.stdout.flush()
    return 0
