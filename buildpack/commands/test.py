"""``bin/test BUILD_DIR [ENV_DIR]``: run the app's tests after ``bin/test-compile``.

The tests run as the app runs: from BUILD_DIR with ``HOME`` set to it, the config vars
exported (minus ``hooks.BLOCKLIST``), ``CI=true`` unless a config var says otherwise,
then ``.profile.d/*.sh`` sourced (which also changes into an ``APP_BASE`` folder).
The command is the first that applies (``test_command``):

1. pytest is installed: ``python -m pytest``;
2. a Django app (``manage.py``, Django installed): ``python manage.py test``;
3. otherwise: ``python -m unittest discover`` (which fails when it finds no tests).

The exit code is the tests' own. ``PYTHON_TEST_TIMEOUT`` (seconds, default 3600) bounds
the run: past it the whole process group is stopped and bin/test fails.
"""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from buildpack.app import app_base, django_project
from buildpack.app_build import hooks
from buildpack.base import output
from buildpack.base.envdir import lookup, read_env_dir
from buildpack.base.numbers import NumberError, parse_int, shown
from buildpack.base.output import BuildError
from buildpack.base.slug_layout import PYTHON_DIR, installed

USAGE = "Usage: bin/test BUILD_DIR [ENV_DIR]"
TIMEOUT_VAR = "PYTHON_TEST_TIMEOUT"
DEFAULT_TIMEOUT = 3600
_START = 'for f in "$HOME"/.profile.d/*.sh; do [ -f "$f" ] && . "$f"; done; exec "$@"'


def test_command(app_dir: Path, prefix: Path) -> tuple[list[str], str]:
    """The command that runs the tests (from the app's folder), and why."""
    if installed(prefix, "pytest") or installed(prefix, "_pytest"):
        return ["python", "-m", "pytest"], "pytest is installed"
    manage_py = django_project.find_manage_py(app_dir)
    if manage_py is not None and installed(prefix, "django"):
        folder = manage_py.parent.relative_to(app_dir).as_posix()
        script = "manage.py" if folder == "." else f"{folder}/manage.py"
        return ["python", script, "test"], "a Django app without pytest"
    return (["python", "-m", "unittest", "discover"],
            "neither pytest nor Django is installed: the standard library's unittest")


def _timeout(config: dict[str, str]) -> int:
    value = lookup(TIMEOUT_VAR, config, dict(os.environ))
    if value is None:
        return DEFAULT_TIMEOUT
    try:
        return parse_int(value, max_digits=7, low=1)
    except NumberError as exc:
        raise BuildError(f"{TIMEOUT_VAR} is not a number of seconds",
                         f"{TIMEOUT_VAR}={shown(value)}: {exc}. Set it to a whole number of\n"
                         f"seconds (digits 0-9), e.g. {DEFAULT_TIMEOUT}.",
                         error_id="test::bad-timeout") from None


def _environment(build_dir: Path, config: dict[str, str]) -> dict[str, str]:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "CI": "true"}
    env.update({k: v for k, v in config.items() if k not in hooks.BLOCKLIST})
    env["HOME"] = str(build_dir)
    return env


def main(argv: list[str]) -> int:
    if not argv or not Path(argv[0]).is_dir():
        raise BuildError("bin/test needs the build directory", USAGE, error_id="test::usage")
    build_dir = Path(argv[0]).resolve()
    config = read_env_dir(Path(argv[1]) if len(argv) > 1 and argv[1] else None)
    timeout = _timeout(config)  # before any work
    prefix = build_dir / PYTHON_DIR
    if not (prefix / "bin" / "python3").is_file():
        raise BuildError(
            "The app has not been built",
            f"{build_dir} has no {PYTHON_DIR}. Run `bin/test-compile BUILD_DIR CACHE_DIR ENV_DIR`\n"
            "first: it installs the app's Python with its dev and test dependencies.",
            error_id="test::not-built")
    app_dir = build_dir / app_base.recorded(build_dir)
    command, why = test_command(app_dir, prefix)
    output.step(f"Running the app's tests: {' '.join(command)}")
    output.detail(f"({why}; see the README's CI builds section for the rules.)")
    proc = subprocess.Popen(["/bin/bash", "-c", _START, "bin/test", *command],
                            env=_environment(build_dir, config), cwd=build_dir,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise BuildError(
            f"The tests did not finish within {timeout} seconds",
            f"`{' '.join(command)}` was stopped after {timeout} s. Make the tests faster, or\n"
            f"set the config var {TIMEOUT_VAR} to the seconds they need.",
            error_id="test::timeout") from None
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    output.step("Tests passed" if code == 0 else f"Tests failed (exit status {code})")
    return code
