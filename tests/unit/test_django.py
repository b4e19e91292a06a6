"""Django apps: finding manage.py and the WSGI module; collectstatic's outcomes, with a fake
Python standing in for the real one (the real run is in tests/integration/e2e/test_app_runtime.py)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from buildpack.app import django_project
from buildpack.app_build import django
from tests.support import raises_id

MANAGE_PY = 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "{}")\n'


def project(app: Path, settings: str = "mysite.settings", wsgi: str = "mysite/wsgi.py",
            folder: str = ".") -> Path:
    root = app / folder
    (root / wsgi).parent.mkdir(parents=True, exist_ok=True)
    (root / wsgi).write_text("application = None\n")
    (root / "manage.py").write_text(MANAGE_PY.format(settings))
    return root / "manage.py"


def test_find_manage_py(tmp_path: Path) -> None:
    assert django_project.find_manage_py(tmp_path) is None
    project(tmp_path, folder="src")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "manage.py").write_text("")
    assert django_project.find_manage_py(tmp_path) == tmp_path / "src" / "manage.py"
    project(tmp_path)
    assert django_project.find_manage_py(tmp_path) == tmp_path / "manage.py"


def test_deeper_manage_py_is_not_looked_for(tmp_path: Path) -> None:
    project(tmp_path, folder="a/b")
    assert django_project.find_manage_py(tmp_path) is None


@pytest.mark.parametrize("settings, wsgi, module", [
    ("mysite.settings", "mysite/wsgi.py", "mysite.wsgi"),
    ("config.settings.production", "config/wsgi.py", "config.wsgi"),
    ("config.settings.production", "config/settings/wsgi.py", "config.settings.wsgi"),
    ("elsewhere.settings", "proj/wsgi.py", "proj.wsgi"),  # the only */wsgi.py
])
def test_wsgi_module(tmp_path: Path, settings: str, wsgi: str, module: str) -> None:
    assert django_project.wsgi_module(project(tmp_path, settings, wsgi)) == module


def test_wsgi_module_ambiguous_or_missing(tmp_path: Path) -> None:
    manage_py = project(tmp_path, "nothing.settings", "one/wsgi.py")
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / "wsgi.py").write_text("")
    assert django_project.wsgi_module(manage_py) is None


@pytest.mark.parametrize("value, disabled", [
    (None, False), ("", False), ("0", False), ("false", False), ("1", True), ("yes", True),
    ("true\n", True),
])
def test_collectstatic_disabled(value, disabled) -> None:
    assert django.collectstatic_disabled(value) is disabled


def fake_runtime(tmp_path: Path, script: str, django_installed: bool = True) -> Path:
    """A prefix whose python3 is a shell script: prints, then exits as told."""
    prefix = tmp_path / ".heroku" / "python"
    (prefix / "bin").mkdir(parents=True)
    python = prefix / "bin" / "python3"
    python.write_text(f"#!/bin/sh\n{script}\n")
    python.chmod(0o755)
    if django_installed:
        package = prefix / "lib" / "python3.13" / "site-packages" / "django"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
    return python


def run(tmp_path: Path, python: Path, disable: str | None = None) -> None:
    django.collectstatic(tmp_path, tmp_path, python, {"PATH": os.environ["PATH"]}, [], disable)


def test_collectstatic_success(tmp_path: Path, capsys) -> None:
    project(tmp_path)
    python = fake_runtime(tmp_path, 'echo "args: $*"; echo "1 static file copied."')
    run(tmp_path, python)
    assert capsys.readouterr().out == (
        "-----> Collecting static files (Django)\n"
        "       $ python manage.py collectstatic --noinput\n"
        "       args: manage.py collectstatic --noinput\n"
        "       1 static file copied.\n")


def test_collectstatic_in_a_subfolder(tmp_path: Path, capsys) -> None:
    project(tmp_path, folder="src")
    python = fake_runtime(tmp_path, 'echo "in $(basename "$PWD")"')
    run(tmp_path, python)
    out = capsys.readouterr().out
    assert "$ python manage.py collectstatic --noinput (in src/)" in out and "in src\n" in out


def test_not_django(tmp_path: Path, capsys) -> None:
    python = fake_runtime(tmp_path, "exit 1")
    run(tmp_path, python)  # no manage.py
    project(tmp_path)
    run(tmp_path, fake_runtime(tmp_path / "other", "exit 1", django_installed=False))
    assert capsys.readouterr().out == ""


def test_disabled(tmp_path: Path, capsys) -> None:
    project(tmp_path)
    run(tmp_path, fake_runtime(tmp_path, "exit 1"), disable="1")
    out = capsys.readouterr().out
    assert "Skipped: DISABLE_COLLECTSTATIC is set." in out


def test_staticfiles_not_installed(tmp_path: Path, capsys) -> None:
    project(tmp_path)
    run(tmp_path, fake_runtime(tmp_path, "echo \"Unknown command: 'collectstatic'\"; exit 1"))
    assert "django.contrib.staticfiles is not in INSTALLED_APPS" in capsys.readouterr().out


def test_failure_shows_djangos_error_then_causes(tmp_path: Path, capsys) -> None:
    project(tmp_path)
    python = fake_runtime(tmp_path, "echo 'django.core.exceptions.ImproperlyConfigured: "
                                    "STATIC_ROOT missing' >&2; exit 1")
    with raises_id("django::collectstatic-failed") as err:
        run(tmp_path, python)
    assert "ImproperlyConfigured: STATIC_ROOT missing" in capsys.readouterr().out
    for words in ("exited with status 1", "STATIC_ROOT", "config var that is not set at build time",
                  "DISABLE_COLLECTSTATIC=1"):
        assert words in err.value.body


@pytest.mark.parametrize("where", ["", "api/"])
def test_legacy_switch_file_skips_with_a_deprecation_warning(tmp_path: Path, capsys, where) -> None:
    app = tmp_path / where if where else tmp_path
    project(app)
    (app / ".heroku").mkdir(parents=True)
    (app / ".heroku" / "collectstatic_disabled").write_text("")
    django.collectstatic(app, tmp_path, fake_runtime(tmp_path, "exit 1"),
                         {"PATH": os.environ["PATH"]}, [], None)
    captured = capsys.readouterr()
    assert f"Skipped: {where}.heroku/collectstatic_disabled exists." in captured.out
    assert f"Warning: {where}.heroku/collectstatic_disabled is deprecated." in captured.err
    assert "DISABLE_COLLECTSTATIC=1" in captured.err
