"""Read the app's TOML files (pyproject.toml, Pipfile) with the standard library.

``tomllib`` is in the standard library from Python 3.11. A build host with an older
python3 cannot parse TOML before the runtime is provisioned, so the checks that need
TOML run then, with the provisioned interpreter (every runtime the buildpack supports
for Pipenv, Poetry and uv has ``tomllib``) instead of at plan time.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from buildpack.installers.run import run_quiet
from buildpack.output import BuildError

try:
    import tomllib
except ImportError:  # Python < 3.11 on the build host
    tomllib = None  # type: ignore[assignment]

TomlReader = Callable[[Path], "dict[str, Any]"]

_READ_WITH_INTERPRETER = (
    "import json, sys, tomllib\n"
    "try:\n"
    "    data = tomllib.load(open(sys.argv[1], 'rb'))\n"
    "except tomllib.TOMLDecodeError as exc:\n"
    "    print(exc, file=sys.stderr); sys.exit(3)\n"
    "json.dump(data, sys.stdout, default=str)\n"
)


def host_can_read() -> bool:
    return tomllib is not None


def _invalid(path: Path, reason: str) -> BuildError:
    return BuildError(
        f"{path.name} is not valid TOML",
        f"{path.name} could not be parsed: {reason}\n\n"
        f"Fix the syntax (a TOML checker or the package manager itself shows where)\n"
        "and push again.",
        error_id="toml::invalid",
    )


def read_on_host(path: Path) -> dict[str, Any]:
    """Parse ``path`` in this process (the host must have ``tomllib``)."""
    assert tomllib is not None
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise _invalid(path, str(exc)) from None
    except UnicodeDecodeError:
        raise _invalid(path, "it is not UTF-8 text") from None


def interpreter_reader(python: Path) -> TomlReader:
    """A reader that parses with ``python`` (the provisioned runtime)."""

    def read(path: Path) -> dict[str, Any]:
        proc = run_quiet([str(python), "-I", "-c", _READ_WITH_INTERPRETER, str(path)])
        if proc.returncode != 0:
            reason = proc.stderr.strip().splitlines()[-1:] or ["unknown error"]
            raise _invalid(path, reason[0])
        data: dict[str, Any] = json.loads(proc.stdout)
        return data

    return read
