"""What the app needs at run time, written to ``.profile.d/python.sh`` in the slug.

The platform sources ``.profile.d/*.sh`` after exporting config vars, with ``HOME``
set to where the slug is mounted; so everything is relative to ``$HOME`` and every
default is ``${VAR:-default}``, so that a user's config var wins:

- ``PATH`` with the runtime's ``bin``; ``PYTHONUNBUFFERED`` (logs appear at once);
  ``LANG`` (UTF-8). No ``PYTHONHOME``: the runtime is relocatable (it finds its prefix
  from the interpreter's path).
- ``LD_LIBRARY_PATH`` and ``LIBRARY_PATH`` with the runtime's ``lib`` first (``LIBRARY_PATHS``),
  as the leader exports them: the interpreter finds ``libpython`` through its own
  ``$ORIGIN`` rpath, but programs the app compiled against the runtime (uWSGI, embedded
  interpreters) name it with the build path, or not at all, and the build path is gone
  once the slug moves. The runtime's ``lib`` holds ``libpython`` and nothing a system
  program would load instead of its own library. The build sets the same two
  (``installers.subprocess_env``); CNB's launcher and later buildpacks get them from the
  python layer's ``lib`` (a launch and build layer).
- ``WEB_CONCURRENCY``, which gunicorn and uvicorn read as their worker count, computed
  when the process starts from the container's limits (``vendor/web_concurrency.sh``).
- ``FORWARDED_ALLOW_IPS=*``: the platform's router, whose address is not known in
  advance, is the only client, so its ``X-Forwarded-*`` headers are trusted (gunicorn
  and uvicorn read this variable).
- ``GUNICORN_CMD_ARGS=--access-logfile -``: the access log on stdout, into the
  platform's log stream. Only when unset (an empty value opts out), and not at all when
  the app has a ``gunicorn.conf.py``, whose settings GUNICORN_CMD_ARGS would override.
- For ``APP_BASE`` apps, a ``cd`` into the app's folder (see ``app_base``).
"""
from __future__ import annotations

import shlex
from pathlib import Path

from buildpack.app import app_files
from buildpack.base import output, settings
from buildpack.base.slug_layout import PROFILE_NAME, PYTHON_DIR

WEB_CONCURRENCY_SCRIPT = settings.VENDOR_DIR / "web_concurrency.sh"
# The run-time contract's defaults, in one table: the slug's profile script, the CNB
# launch environment (cnb.launch_env) and, for the first two, ``export`` all render it.
# Each applies only when the variable is unset or empty: a config var wins.
DEFAULTS = {"PYTHONUNBUFFERED": "true", "LANG": "C.UTF-8",
            # Only the platform's router connects: trust its X-Forwarded-* headers.
            "FORWARDED_ALLOW_IPS": "*"}
# The runtime's lib, put first on these (what the app compiled against libpython finds it).
LIBRARY_PATHS = ("LD_LIBRARY_PATH", "LIBRARY_PATH")
# gunicorn's access log on stdout, unless the app has a gunicorn.conf.py or sets the
# variable (even empty, in a slug).
GUNICORN_DEFAULTS = {"GUNICORN_CMD_ARGS": "--access-logfile -"}
GUNICORN_CONFIG = "gunicorn.conf.py"
ONLINE_CPUS = "$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null)"


def render_profile(app_base: str = "", gunicorn_access_log: bool = True,
                   nltk_data: bool = False) -> str:
    """The shell script (POSIX sh, leaves no functions or variables of its own behind)."""
    lines = [
        "# Written by buildpack-python: the run-time environment of the app's Python.",
        "# Sourced with HOME at the slug's root; each default yields to a config var.",
        f'export PATH="$HOME/{PYTHON_DIR}/bin:$PATH"',
    ]
    lines += [f'export {name}="${{{name}:-{value}}}"' for name, value in DEFAULTS.items()]
    lines += [f'export {name}="$HOME/{PYTHON_DIR}/lib${{{name}:+:${name}}}"' for name in LIBRARY_PATHS]
    if gunicorn_access_log:
        lines += ["# gunicorn's access log on stdout, unless GUNICORN_CMD_ARGS is set (even empty)."]
        lines += [f'export {name}="${{{name}-{value}}}"' for name, value in GUNICORN_DEFAULTS.items()]
    if nltk_data:
        lines += ["# The NLTK data that nltk.txt named, downloaded during the build.",
                  f'export NLTK_DATA="${{NLTK_DATA:-$HOME/{PYTHON_DIR}/nltk_data}}"']
    lines += [
        WEB_CONCURRENCY_SCRIPT.read_text(encoding="utf-8").rstrip("\n"),
        'if [ -z "${WEB_CONCURRENCY:-}" ]; then',
        "    WEB_CONCURRENCY=$(_python_web_concurrency /sys/fs/cgroup /proc/self/cgroup "
        f'/proc/meminfo "{ONLINE_CPUS}")',
        "    export WEB_CONCURRENCY",
        "fi",
        "unset -f _python_web_concurrency",
    ]
    if app_base:
        folder = shlex.quote(app_base)
        lines += ["# The app is in a folder of the repository (APP_BASE): run from there.",
                  f'cd "$HOME"/{folder} || echo "buildpack-python: cannot change into '
                  f'$HOME"/{folder}" (APP_BASE)" >&2']
    return "\n".join(lines) + "\n"


def write_profile(build_dir: Path, app_base: str = "") -> Path:
    """Write the script into the slug's root (``$HOME`` at run time), logging what it sets."""
    output.step(f"Writing the run-time environment (.profile.d/{PROFILE_NAME})")
    gunicorn_config = app_files.AppFiles(build_dir).is_file(build_dir / app_base / GUNICORN_CONFIG)
    output.detail("WEB_CONCURRENCY from the container's memory and CPUs, FORWARDED_ALLOW_IPS=*"
                  + ("" if gunicorn_config else ",\ngunicorn's access log on stdout")
                  + " (each unless the app sets it)")
    if gunicorn_config:
        output.detail(f"{GUNICORN_CONFIG} found: GUNICORN_CMD_ARGS is left to it")
    if app_base:
        output.detail(f"Processes start in {app_base}/ (APP_BASE)")
    nltk_data = (build_dir / PYTHON_DIR / "nltk_data").is_dir()
    if nltk_data:
        output.detail(f"NLTK_DATA={PYTHON_DIR}/nltk_data (nltk.txt)")
    return app_files.write_text(build_dir, f".profile.d/{PROFILE_NAME}",
                                render_profile(app_base, not gunicorn_config, nltk_data))
