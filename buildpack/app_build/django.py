"""Django apps: ``collectstatic`` at build time, and where the WSGI application is.

An app is a Django app when it has ``manage.py`` in its folder or in a first-level
subfolder (``src/manage.py``) and Django is installed in the runtime.
``python manage.py collectstatic --noinput`` then runs after the dependencies, in
``manage.py``'s folder, with the app's config vars (``hooks.app_env``), so the
collected files are part of the slug. ``DISABLE_COLLECTSTATIC=1`` skips it; so does the
legacy switch file ``.heroku/collectstatic_disabled`` (at the repository root or in the
app's folder), with a warning that it is deprecated in favour of the config var.
"""
from __future__ import annotations

from pathlib import Path

from buildpack.app.django_project import MANAGE_PY, find_manage_py
from buildpack.base import output
from buildpack.base.children import run_streamed
from buildpack.base.output import BuildError
from buildpack.base.slug_layout import installed

DISABLE_VAR = "DISABLE_COLLECTSTATIC"
LEGACY_SWITCH = Path(".heroku") / "collectstatic_disabled"
_UNKNOWN_COMMAND = "Unknown command: 'collectstatic'"


def collectstatic_disabled(value: str | None) -> bool:
    return (value or "").strip().lower() not in ("", "0", "false", "no")


def django_manage_py(app_dir: Path, prefix: Path) -> Path | None:
    """The app's ``manage.py`` (``find_manage_py``) when Django is installed in ``prefix``:
    a Django app, whose collectstatic runs; else None."""
    manage_py = find_manage_py(app_dir)
    return manage_py if manage_py is not None and installed(prefix, "django") else None


def collectstatic(app_dir: Path, build_dir: Path, python: Path, env: dict[str, str],
                  secrets: list[str], disable_value: str | None) -> None:
    """Run collectstatic for a Django app (nothing for other apps)."""
    manage_py = django_manage_py(app_dir, python.parent.parent)
    if manage_py is None:
        return
    folder = manage_py.parent.relative_to(build_dir)
    where = "" if folder == Path(".") else f" (in {folder}/)"
    output.step("Collecting static files (Django)")
    if collectstatic_disabled(disable_value):
        output.detail(f"Skipped: {DISABLE_VAR} is set. Unset it to run "
                      "`python manage.py collectstatic` during the build.")
        return
    switch = next((folder / LEGACY_SWITCH for folder in (build_dir, app_dir)
                   if (folder / LEGACY_SWITCH).is_file()), None)
    if switch is not None:
        shown = switch.relative_to(build_dir)
        output.detail(f"Skipped: {shown} exists.")
        output.warning(
            f"{shown} is deprecated",
            f"The file {shown} turns collectstatic off, as it did with older buildpacks.\n"
            f"Set the config var {DISABLE_VAR}=1 instead and delete the file:\n\n"
            f"    git rm {shown}")
        return
    output.detail(f"$ python manage.py collectstatic --noinput{where}")
    code, lines = run_streamed([str(python), MANAGE_PY, "collectstatic", "--noinput"], env,
                               manage_py.parent, secrets)
    if code == 0:
        return
    if any(_UNKNOWN_COMMAND in line for line in lines):
        output.detail("django.contrib.staticfiles is not in INSTALLED_APPS: nothing to collect.")
        return
    raise BuildError(
        "Django's collectstatic failed",
        f"`python manage.py collectstatic --noinput`{where} exited with status {code}; Django's\n"
        "own error is shown above. The usual causes:\n"
        "  - STATIC_ROOT is not set in the settings: set it to the folder the files are\n"
        '    collected into, e.g. STATIC_ROOT = BASE_DIR / "staticfiles".\n'
        "  - A setting reads a config var that is not set at build time (for example\n"
        "    SECRET_KEY or DATABASE_URL): set the config var, or give the setting a\n"
        "    default that works without it.\n\n"
        f"To build without collecting static files, set the config var {DISABLE_VAR}=1.",
        error_id="django::collectstatic-failed")
