"""The ``python-env`` layer: the app's environment at launch, as ``.profile.d/python.sh``
gives it in a slug (see ``profile_d``), in the launcher's terms.

- ``env.launch/<NAME>.default`` files: ``PYTHONUNBUFFERED=true``, ``LANG=C.UTF-8``,
  ``FORWARDED_ALLOW_IPS=*`` and, unless the app has a ``gunicorn.conf.py``,
  ``GUNICORN_CMD_ARGS=--access-logfile -``. A default applies when the variable is unset
  or empty, like ``${VAR:-default}``: a value the platform or the user sets wins. (The
  slug's script keeps an empty GUNICORN_CMD_ARGS, to switch the access log off; here a
  single space does that.)
- ``exec.d/web-concurrency``: ``WEB_CONCURRENCY`` computed when the app starts from the
  container's memory and CPUs (``vendor/web_concurrency.sh``), unless it is set.
- ``PATH``: the launcher puts the python layer's ``bin`` on it. ``APP_BASE`` apps get a
  ``working-dir`` in ``launch.toml`` instead of a ``cd``.

A launch-only layer, written afresh on every build: it depends on the app's files
(``gunicorn.conf.py``), not on the installed environment.
"""
from __future__ import annotations

from pathlib import Path

from buildpack.cnb.layers import Layers, LayerTypes
from buildpack.runtime import profile_d

LAYER = "python-env"
EXEC_D_NAME = "web-concurrency"


def defaults(app_dir: Path) -> dict[str, str]:
    """The run-time contract's defaults (``profile_d.DEFAULTS``) for this app."""
    values = dict(profile_d.DEFAULTS)
    if not (app_dir / profile_d.GUNICORN_CONFIG).is_file():
        values.update(profile_d.GUNICORN_DEFAULTS)
    return values


def render_exec_d() -> str:
    """A POSIX sh program that prints ``WEB_CONCURRENCY = "N"`` (TOML) on fd 3."""
    return "\n".join([
        "#!/bin/sh",
        "# Written by buildpack-python: WEB_CONCURRENCY for the CNB launcher (exec.d), unless set.",
        profile_d.WEB_CONCURRENCY_SCRIPT.read_text(encoding="utf-8").rstrip("\n"),
        'if [ -z "${WEB_CONCURRENCY:-}" ]; then',
        "    printf 'WEB_CONCURRENCY = \"%s\"\\n' \"$(_python_web_concurrency /sys/fs/cgroup "
        f'/proc/self/cgroup /proc/meminfo "{profile_d.ONLINE_CPUS}")" >&3',
        "fi",
    ]) + "\n"


def write(layers: Layers, app_dir: Path) -> dict[str, str]:
    """Write the layer; returns the defaults it sets."""
    layer = layers.fresh(LAYER)
    env_dir = layer / "env.launch"
    env_dir.mkdir()
    values = defaults(app_dir)
    for name, value in values.items():
        (env_dir / f"{name}.default").write_text(value, encoding="utf-8")  # used verbatim
    exec_d = layer / "exec.d"
    exec_d.mkdir()
    program = exec_d / EXEC_D_NAME
    program.write_text(render_exec_d(), encoding="utf-8")
    program.chmod(0o755)
    layers.write(LAYER, LayerTypes(launch=True))
    return values
